// Relations: indexing on append, GET /relations pagination and filters,
// annotation de-duplication, bundled aggregations, redaction.
#include "homeserver/relations.hpp"

#include <chrono>
#include <thread>

#include "fixture.hpp"

namespace atrium::homeserver::testing {
namespace {

class RelationsTest : public HomeserverTest {
 protected:
  std::string send(const Requester& who, const std::string& room, const std::string& type,
                   json::object content) {
    auto out = await<json::object>([&](auto done) {
      hs_->rooms.send_event(who, room, type, "t" + std::to_string(++txn_), content, 0, done);
    });
    return std::string(out.at("event_id").as_string());
  }
  std::string react(const Requester& who, const std::string& room, const std::string& target,
                    const std::string& key) {
    return send(
        who, room, "m.reaction",
        {{"m.relates_to", {{"rel_type", "m.annotation"}, {"event_id", target}, {"key", key}}}});
  }
  std::string reference(const Requester& who, const std::string& room, const std::string& type,
                        const std::string& target) {
    return send(who, room, type,
                {{"m.relates_to", {{"rel_type", "m.reference"}, {"event_id", target}}}});
  }
  void redact(const Requester& who, const std::string& room, const std::string& event_id) {
    await<json::object>([&](auto done) {
      hs_->rooms.redact(who, room, event_id, "r" + std::to_string(++txn_), {}, done);
    });
  }
  json::object list(const Requester& who, const std::string& room, const std::string& parent,
                    RelationsRequest q = {}) {
    return hs_->relations.list(who, room, parent, q);
  }
  static std::vector<std::string> ids(const json::object& answer) {
    std::vector<std::string> out;
    for (const auto& e : answer.at("chunk").as_array())
      out.emplace_back(e.at("event_id").as_string());
    return out;
  }
  int txn_ = 0;
};

TEST_F(RelationsTest, ListsAnnotationsAndReferencesNewestFirstWithFilters) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  join(bob, room);
  auto parent = send_text(alice, room, "hello", "p");
  auto hand = react(bob, room, parent, "🖐️");
  auto emoji = reference(bob, room, "io.element.call.reaction", parent);
  auto thumbs = react(alice, room, parent, "👍");

  auto all = list(bob, room, parent);
  EXPECT_EQ(ids(all), (std::vector<std::string>{thumbs, emoji, hand}));
  EXPECT_FALSE(all.contains("next_batch"));
  EXPECT_FALSE(all.contains("recursion_depth"));

  RelationsRequest annotations;
  annotations.rel_type = "m.annotation";
  EXPECT_EQ(ids(list(bob, room, parent, annotations)), (std::vector<std::string>{thumbs, hand}));
  RelationsRequest call_reactions;
  call_reactions.rel_type = "m.reference";
  call_reactions.event_type = "io.element.call.reaction";
  EXPECT_EQ(ids(list(bob, room, parent, call_reactions)), (std::vector<std::string>{emoji}));
  RelationsRequest none;
  none.rel_type = "m.annotation";
  none.event_type = "m.room.message";
  EXPECT_TRUE(list(bob, room, parent, none).at("chunk").as_array().empty());
}

TEST_F(RelationsTest, PaginatesBothDirections) {
  auto alice = make_user("alice");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  auto parent = send_text(alice, room, "hello", "p");
  std::vector<std::string> refs;
  for (int i = 0; i < 5; ++i)
    refs.push_back(reference(alice, room, "m.room.message", parent));

  RelationsRequest q;
  q.limit = 2;
  auto page1 = list(alice, room, parent, q);
  EXPECT_EQ(ids(page1), (std::vector<std::string>{refs[4], refs[3]}));
  ASSERT_TRUE(page1.contains("next_batch"));
  EXPECT_FALSE(page1.contains("prev_batch"));
  q.from = std::string(page1.at("next_batch").as_string());
  auto page2 = list(alice, room, parent, q);
  EXPECT_EQ(ids(page2), (std::vector<std::string>{refs[2], refs[1]}));
  EXPECT_EQ(page2.at("prev_batch").as_string(), *q.from);
  q.from = std::string(page2.at("next_batch").as_string());
  auto page3 = list(alice, room, parent, q);
  EXPECT_EQ(ids(page3), (std::vector<std::string>{refs[0]}));
  EXPECT_FALSE(page3.contains("next_batch"));

  RelationsRequest fwd;
  fwd.backwards = false;
  fwd.limit = 3;
  auto f1 = list(alice, room, parent, fwd);
  EXPECT_EQ(ids(f1), (std::vector<std::string>{refs[0], refs[1], refs[2]}));
  fwd.from = std::string(f1.at("next_batch").as_string());
  EXPECT_EQ(ids(list(alice, room, parent, fwd)), (std::vector<std::string>{refs[3], refs[4]}));

  // `to` stops the walk: backwards from the newest down to (not including) page 1's end.
  RelationsRequest bounded;
  bounded.to = std::string(page1.at("next_batch").as_string());
  EXPECT_EQ(ids(list(alice, room, parent, bounded)), (std::vector<std::string>{refs[4], refs[3]}));
}

TEST_F(RelationsTest, RecurseFollowsRelationsOfRelations) {
  auto alice = make_user("alice");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  auto parent = send_text(alice, room, "hello", "p");
  auto child = reference(alice, room, "m.room.message", parent);
  auto grandchild = react(alice, room, child, "x");
  EXPECT_EQ(ids(list(alice, room, parent)), (std::vector<std::string>{child}));
  RelationsRequest q;
  q.recurse = true;
  auto deep = list(alice, room, parent, q);
  EXPECT_EQ(ids(deep), (std::vector<std::string>{grandchild, child}));
  EXPECT_EQ(deep.at("recursion_depth").as_int64(), RelationService::kRecursionDepth);
}

TEST_F(RelationsTest, DuplicateAnnotationIsRefusedUntilRedacted) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  join(bob, room);
  auto parent = send_text(alice, room, "hello", "p");
  auto first = react(bob, room, parent, "🖐️");
  EXPECT_EQ(errcode_of([&] { react(bob, room, parent, "🖐️"); }), "M_DUPLICATE_ANNOTATION");
  // Another key, or another sender, is fine.
  react(bob, room, parent, "👍");
  react(alice, room, parent, "🖐️");
  // Lowering the hand (redacting) takes it out of the list; raising it again works.
  redact(bob, room, first);
  RelationsRequest q;
  q.rel_type = "m.annotation";
  EXPECT_EQ(list(bob, room, parent, q).at("chunk").as_array().size(), 2u);
  react(bob, room, parent, "🖐️");
  EXPECT_EQ(list(bob, room, parent, q).at("chunk").as_array().size(), 3u);
}

TEST_F(RelationsTest, BadRelationsAreRefusedAndUnknownParentsAreNotFound) {
  auto alice = make_user("alice");
  auto eve = make_user("eve");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  auto other_room = create_room(alice);
  auto elsewhere = send_text(alice, other_room, "x", "o");
  auto parent = send_text(alice, room, "hello", "p");
  EXPECT_EQ(errcode_of([&] { react(alice, room, "$nope", "x"); }), "M_INVALID_PARAM");
  EXPECT_EQ(errcode_of([&] { react(alice, room, elsewhere, "x"); }), "M_INVALID_PARAM");
  EXPECT_EQ(errcode_of([&] {
              send(alice, room, "m.reaction",
                   {{"m.relates_to", {{"rel_type", "m.annotation"}, {"event_id", parent}}}});
            }),
            "M_INVALID_PARAM");  // no key
  EXPECT_EQ(errcode_of([&] {
              send(alice, room, "m.room.message",
                   {{"m.relates_to", {{"rel_type", "m.reference"}, {"event_id", 5}}}});
            }),
            "M_BAD_JSON");
  // A rich reply without rel_type is no relation and is accepted.
  send(alice, room, "m.room.message",
       {{"body", "re"}, {"m.relates_to", {{"m.in_reply_to", {{"event_id", "$whatever"}}}}}});

  EXPECT_EQ(errcode_of([&] { list(alice, room, "$nope"); }), "M_NOT_FOUND");
  EXPECT_EQ(errcode_of([&] { list(alice, room, elsewhere); }), "M_NOT_FOUND");
  EXPECT_EQ(errcode_of([&] { list(eve, room, parent); }), "M_FORBIDDEN");
  EXPECT_EQ(errcode_of([&] { list(alice, "!unknown:hs", parent); }), "M_NOT_FOUND");
  RelationsRequest bad;
  bad.limit = 0;
  EXPECT_EQ(errcode_of([&] { list(alice, room, parent, bad); }), "M_INVALID_PARAM");
  bad.limit.reset();
  bad.from = "garbage";
  EXPECT_EQ(errcode_of([&] { list(alice, room, parent, bad); }), "M_INVALID_PARAM");
}

TEST_F(RelationsTest, BundlesLatestValidEditAndReferencesButNotAnnotations) {
  auto alice = make_user("alice");
  auto bob = make_user("bob");
  auto room = create_room(alice, {{"preset", "public_chat"}});
  join(bob, room);
  auto parent = send_text(alice, room, "hello", "p");
  auto edit = [&](const Requester& who, const std::string& body) {
    return send(who, room, "m.room.message",
                {{"body", "* " + body},
                 {"m.new_content", {{"body", body}, {"msgtype", "m.text"}}},
                 {"m.relates_to", {{"rel_type", "m.replace"}, {"event_id", parent}}}});
  };
  edit(alice, "first");
  // "Latest" is by origin_server_ts, ties broken by event id: sends within one
  // millisecond would make the winner a coin toss.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto second = edit(alice, "second");
  edit(bob, "not yours");  // an edit by someone else is not valid
  auto ref = reference(bob, room, "org.matrix.msc4310.rtc.decline", parent);
  react(bob, room, parent, "👍");

  auto event = hs_->rooms.get_event(bob, room, parent);
  const auto& rel = event.at("unsigned").at("m.relations").as_object();
  EXPECT_EQ(rel.at("m.replace").at("event_id").as_string(), second);
  EXPECT_FALSE(rel.at("m.replace").at("unsigned").as_object().contains("m.relations"));
  ASSERT_EQ(rel.at("m.reference").at("chunk").as_array().size(), 1u);
  EXPECT_EQ(rel.at("m.reference").at("chunk").at(0).at("event_id").as_string(), ref);
  EXPECT_FALSE(rel.contains("m.annotation"));

  // Redacting the reference drops it from the bundle.
  redact(bob, room, ref);
  auto again = hs_->rooms.get_event(bob, room, parent);
  EXPECT_FALSE(again.at("unsigned").at("m.relations").as_object().contains("m.reference"));
  // An event without relations has no m.relations at all.
  auto plain = send_text(alice, room, "plain", "q");
  EXPECT_FALSE(
      hs_->rooms.get_event(alice, room, plain).at("unsigned").as_object().contains("m.relations"));
}

}  // namespace
}  // namespace atrium::homeserver::testing
