#include "homeserver/filter.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace atrium::homeserver {
namespace {

store::Event event(std::string type, std::string sender, std::string room = "!r:hs") {
  store::Event e;
  e.type = std::move(type);
  e.sender = std::move(sender);
  e.room_id = std::move(room);
  return e;
}

TEST(EventFilter, TypesWithWildcardsAndExclusions) {
  auto f = parse_event_filter(
      json::parse(R"({"types":["m.room.*"],"not_types":["m.room.member"],"limit":5})").as_object());
  EXPECT_EQ(f.limit, 5);
  EXPECT_TRUE(f.matches(event("m.room.message", "@a:hs")));
  EXPECT_FALSE(f.matches(event("m.room.member", "@a:hs")));
  EXPECT_FALSE(f.matches(event("m.reaction", "@a:hs")));
}

TEST(EventFilter, SendersAndRooms) {
  auto f =
      parse_event_filter(json::parse(R"({"senders":["@a:hs"],"not_rooms":["!x:hs"]})").as_object());
  EXPECT_TRUE(f.matches(event("t", "@a:hs")));
  EXPECT_FALSE(f.matches(event("t", "@b:hs")));
  EXPECT_FALSE(f.matches(event("t", "@a:hs", "!x:hs")));
  auto empty_types = parse_event_filter(json::parse(R"({"types":[]})").as_object());
  EXPECT_FALSE(empty_types.matches(event("t", "@a:hs"))) << "an empty list allows nothing";
}

TEST(SyncFilter, NestedSections) {
  auto f = parse_sync_filter(json::parse(R"({"room":{"timeline":{"limit":20},
      "include_leave":true,"rooms":["!a:hs"],"state":{"lazy_load_members":true}}})")
                                 .as_object());
  EXPECT_EQ(f.timeline.limit, 20);
  EXPECT_TRUE(f.include_leave);
  EXPECT_TRUE(f.state.lazy_load_members);
  EXPECT_TRUE(f.allows_room("!a:hs"));
  EXPECT_FALSE(f.allows_room("!b:hs"));
}

TEST(SyncFilter, RejectsWrongTypes) {
  EXPECT_THROW(parse_sync_filter(json::parse(R"({"room":{"timeline":{"limit":"x"}}})").as_object()),
               MatrixError);
  EXPECT_THROW(parse_event_filter(json::parse(R"({"types":[1]})").as_object()), MatrixError);
  EXPECT_THROW(parse_event_filter(json::parse(R"({"limit":-1})").as_object()), MatrixError);
  EXPECT_THROW(validate_filter(json::parse(R"({"event_format":"xml"})").as_object()), MatrixError);
}

}  // namespace
}  // namespace atrium::homeserver
