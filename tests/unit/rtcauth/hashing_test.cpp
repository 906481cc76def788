#include "rtcauth/hashing.hpp"

#include <gtest/gtest.h>

namespace atrium::rtcauth {
namespace {

// The test vectors of the spec digest (matrixrtc.md section 7).
TEST(Hashing, RoomAliasVectors) {
  EXPECT_EQ(livekit_room_alias("!roomid:example.com", "slot1234"),
            "O8437W3+jmzMVjoIP3tNwbm+XxHQk2iKpOA7aqw3qSc");
  EXPECT_EQ(livekit_room_alias("!roomid:example.com", "m.call#ROOM"),
            "F4oOprKFBq6JHqy2qYpq6UQQmR7hCvxkQQoUrd0+SbI");
}

TEST(Hashing, IdentityVector) {
  EXPECT_EQ(livekit_identity("@alice:example.com", "DEVICE123", "memberABC"),
            "J+T45tGruxc+HrUOqJJlyQSV33m728Cme4+vt8/SWrU");
}

TEST(Hashing, LegacyIdentity) {
  EXPECT_EQ(legacy_livekit_identity("@alice:example.com", "DEV"), "@alice:example.com:DEV");
}

TEST(Hashing, GoJsonEscaping) {
  EXPECT_EQ(go_json_string_array({"a<b>&c", "q\"\\", "\n\r\t\b\f\x01\x7f"}),
            "[\"a\\u003cb\\u003e\\u0026c\",\"q\\\"\\\\\",\"\\n\\r\\t\\b\\f\\u0001\x7f\"]");
  // U+2028/2029 escaped; other non-ASCII kept; invalid UTF-8 replaced.
  EXPECT_EQ(go_json_string_array({"\xe2\x80\xa8\xc3\xa9", "\xff", "\xed\xa0\x80"}),
            "[\"\\u2028\xc3\xa9\",\"\\ufffd\",\"\\ufffd\\ufffd\\ufffd\"]");
  EXPECT_EQ(go_json_string_array({}), "[]");
}

}  // namespace
}  // namespace atrium::rtcauth
