#include "base/encoding.hpp"

#include <gtest/gtest.h>

namespace atrium {
namespace {

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(std::string_view(""), false, true), "");
  EXPECT_EQ(base64_encode(std::string_view("f"), false, true), "Zg==");
  EXPECT_EQ(base64_encode(std::string_view("fo"), false, true), "Zm8=");
  EXPECT_EQ(base64_encode(std::string_view("foo"), false, true), "Zm9v");
  EXPECT_EQ(base64_encode(std::string_view("foob"), false, true), "Zm9vYg==");
  EXPECT_EQ(base64_encode(std::string_view("fooba")), "Zm9vYmE");  // unpadded by default
}

TEST(Base64, UrlSafeAlphabetAndRoundTrip) {
  std::vector<uint8_t> bytes{0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64_encode(bytes), "+/+/");
  EXPECT_EQ(base64_encode(bytes, true), "-_-_");
  for (auto* s : {"+/+/", "-_-_"}) {
    auto back = base64_decode(s);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_FALSE(base64_decode("ab$d"));
  EXPECT_FALSE(base64_decode("a"));  // a lone trailing character is not base64
}

TEST(Sha256, KnownDigest) {
  auto d = sha256("abc");
  EXPECT_EQ(hex_encode(d), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace atrium
