#include "homeserver/tokens.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace atrium::homeserver {
namespace {

TEST(StreamTokens, RoundTrip) {
  auto t = parse_stream_token(make_sync_token({42, 7}));
  EXPECT_EQ(t.pos, 42);
  EXPECT_EQ(t.typing, 7);
  EXPECT_EQ(parse_stream_token(make_position_token(9)).pos, 9);
  EXPECT_EQ(parse_stream_token("t5").pos, 5);
}

TEST(StreamTokens, RejectsGarbage) {
  for (const char* bad : {"", "s", "x1", "s-1", "s1_", "s1_x", "s1x", "s99999999999999999999"})
    EXPECT_THROW(parse_stream_token(bad), MatrixError) << bad;
}

}  // namespace
}  // namespace atrium::homeserver
