#include "matrix/ids.hpp"

#include <gtest/gtest.h>

#include <string>

#include "matrix/room_version.hpp"

namespace atrium::matrix {
namespace {

TEST(ServerName, Valid) {
  for (std::string_view s :
       {"matrix.org", "matrix.org:8888", "localhost", "1.2.3.4", "1.2.3.4:1234",
        "[1234:5678::abcd]", "[1234:5678::abcd]:5678", "[::1]", "a-b.c", "x", "example.org:1"}) {
    EXPECT_TRUE(is_valid_server_name(s)) << s;
  }
}

TEST(ServerName, Invalid) {
  for (std::string_view s : {"", ":8448", "matrix.org:", "matrix.org:123456", "matrix.org:80a",
                             "under_score.org", "exa mple.org", "[1234:5678::abcd", "[]", "[g::1]",
                             "[::1]8448", "[::1]:", "a:b:c", "ex@mple.org"}) {
    EXPECT_FALSE(is_valid_server_name(s)) << s;
  }
  EXPECT_TRUE(is_valid_server_name(std::string(255, 'a')));
  EXPECT_FALSE(is_valid_server_name(std::string(256, 'a')));
}

TEST(UserId, Grammar) {
  EXPECT_TRUE(is_valid_user_id("@alice:example.org"));
  EXPECT_TRUE(is_valid_user_id("@alice:example.org:8448"));
  EXPECT_TRUE(is_valid_user_id("@a.b_c=d-e/f+g:[::1]:80"));
  // Historical localparts: printable ASCII except ':'.
  EXPECT_TRUE(is_valid_user_id("@Alice!#$:example.org"));
  EXPECT_FALSE(is_valid_user_id("alice:example.org"));
  EXPECT_FALSE(is_valid_user_id("@:example.org"));
  EXPECT_FALSE(is_valid_user_id("@alice"));
  EXPECT_FALSE(is_valid_user_id("@alice:"));
  EXPECT_FALSE(is_valid_user_id("@al ice:example.org"));
  EXPECT_FALSE(is_valid_user_id("@al\x7f:example.org"));
  EXPECT_FALSE(is_valid_user_id("@alice:bad_server"));
  EXPECT_FALSE(is_valid_user_id("@alice:example.org_device"));
}

TEST(UserId, LengthLimitCountsTheWholeId) {
  std::string server = ":example.org";
  std::string at_limit = "@" + std::string(255 - 1 - server.size(), 'a') + server;
  ASSERT_EQ(at_limit.size(), 255u);
  EXPECT_TRUE(is_valid_user_id(at_limit));
  EXPECT_FALSE(is_valid_user_id("@a" + at_limit.substr(1)));
}

TEST(NewLocalpart, StrictGrammar) {
  EXPECT_TRUE(is_valid_new_localpart("alice"));
  EXPECT_TRUE(is_valid_new_localpart("a.b_c=d-e/f+g0"));
  EXPECT_FALSE(is_valid_new_localpart(""));
  EXPECT_FALSE(is_valid_new_localpart("Alice"));
  EXPECT_FALSE(is_valid_new_localpart("a!b"));
  EXPECT_FALSE(is_valid_new_localpart("a:b"));
  EXPECT_FALSE(is_valid_new_localpart("a b"));
}

TEST(RoomId, Grammar) {
  EXPECT_TRUE(is_valid_room_id("!abcDEF:example.org"));
  EXPECT_TRUE(is_valid_room_id("!a:example.org:8448"));
  EXPECT_FALSE(is_valid_room_id("!:example.org"));
  EXPECT_FALSE(is_valid_room_id("!abc"));
  EXPECT_FALSE(is_valid_room_id("!abc:"));
  EXPECT_FALSE(is_valid_room_id("#abc:example.org"));
  EXPECT_FALSE(is_valid_room_id("!abc:bad host"));
}

TEST(RoomAlias, Grammar) {
  EXPECT_TRUE(is_valid_room_alias("#room:example.org"));
  EXPECT_TRUE(is_valid_room_alias("#日本:example.org"));
  EXPECT_FALSE(is_valid_room_alias("#:example.org"));
  EXPECT_FALSE(is_valid_room_alias("#room"));
  EXPECT_FALSE(is_valid_room_alias("!room:example.org"));
}

TEST(EventIdGrammar, SigilAndLength) {
  EXPECT_TRUE(is_valid_event_id("$x"));
  EXPECT_TRUE(is_valid_event_id("$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk"));
  EXPECT_TRUE(is_valid_event_id("$old:example.org"));
  EXPECT_FALSE(is_valid_event_id("$"));
  EXPECT_FALSE(is_valid_event_id("x"));
  EXPECT_FALSE(is_valid_event_id(""));
  EXPECT_FALSE(is_valid_event_id("$" + std::string(255, 'a')));
}

TEST(IdParts, LocalpartAndServer) {
  EXPECT_EQ(localpart_of("@alice:example.org:8448"), "alice");
  EXPECT_EQ(server_name_of("@alice:example.org:8448"), "example.org:8448");
  EXPECT_EQ(server_name_of("!room:[::1]:80"), "[::1]:80");
  EXPECT_EQ(localpart_of("#room:example.org"), "room");
  EXPECT_EQ(server_name_of("$opaque"), "");
  EXPECT_EQ(localpart_of("$opaque"), "opaque");
  EXPECT_EQ(localpart_of(""), "");
}

TEST(RoomVersions, KnownVersions) {
  ASSERT_EQ(supported_room_versions().size(), 4u);
  const RoomVersion* v10 = find_room_version("10");
  const RoomVersion* v11 = find_room_version("11");
  const RoomVersion* owned10 = find_room_version("org.matrix.msc3757.10");
  const RoomVersion* owned11 = find_room_version("org.matrix.msc3757.11");
  ASSERT_TRUE(v10 && v11 && owned10 && owned11);
  EXPECT_FALSE(v10->v11_rules);
  EXPECT_FALSE(v10->owned_state_keys);
  EXPECT_TRUE(v11->v11_rules);
  EXPECT_FALSE(v11->owned_state_keys);
  EXPECT_FALSE(owned10->v11_rules);
  EXPECT_TRUE(owned10->owned_state_keys);
  EXPECT_TRUE(owned11->v11_rules);
  EXPECT_TRUE(owned11->owned_state_keys);
  EXPECT_EQ(find_room_version("9"), nullptr);
  EXPECT_EQ(find_room_version("org.matrix.msc3757"), nullptr);
  EXPECT_NE(find_room_version(kDefaultRoomVersion), nullptr);
}

}  // namespace
}  // namespace atrium::matrix
