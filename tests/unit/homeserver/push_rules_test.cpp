// Push rules: the default ruleset, each condition kind, key escaping, the
// room-mention power check, editing rules, and the /pushrules service.
#include "homeserver/push_rules.hpp"
#include "fixture.hpp"
#include "homeserver/push_eval.hpp"

namespace atrium::homeserver::testing {
namespace {

const std::string kUser = "@bob:hs";

json::object event(json::object content, std::string type = "m.room.message") {
  return json::object{{"type", type},
                      {"sender", "@alice:hs"},
                      {"room_id", "!room:hs"},
                      {"content", std::move(content)}};
}

struct Eval {
  int64_t members = 3;
  std::string display_name = "Bobby";
  bool sender_may_notify_room = false;

  std::optional<PushMatch> operator()(const json::object& ev,
                                      const PushRuleset& rules = default_push_rules(kUser)) const {
    PushContext ctx{
        ev, kUser, members, [this] { return display_name; },
        [this](std::string_view key) { return key == "room" && sender_may_notify_room; }};
    return evaluate_push_rules(rules, ctx);
  }
  std::string rule(const json::object& ev,
                   const PushRuleset& rules = default_push_rules(kUser)) const {
    auto m = (*this)(ev, rules);
    return m ? m->rule_id : "";
  }
};

TEST(PushRules, DefaultOrderFollowsTheSpec) {
  auto rules = default_push_rules(kUser);
  std::vector<std::string> override_ids, underride_ids;
  for (const auto& r : rules.kinds[0])
    override_ids.emplace_back(r.at("rule_id").as_string());
  for (const auto& r : rules.kinds[4])
    underride_ids.emplace_back(r.at("rule_id").as_string());
  EXPECT_EQ(override_ids,
            (std::vector<std::string>{
                ".m.rule.master", ".m.rule.suppress_notices", ".m.rule.invite_for_me",
                ".m.rule.member_event", ".m.rule.is_user_mention", ".m.rule.contains_display_name",
                ".m.rule.is_room_mention", ".m.rule.roomnotif", ".m.rule.tombstone",
                ".m.rule.reaction", ".m.rule.room.server_acl", ".m.rule.suppress_edits"}));
  EXPECT_EQ(underride_ids, (std::vector<std::string>{
                               ".m.rule.call", ".m.rule.encrypted_room_one_to_one",
                               ".m.rule.room_one_to_one", ".m.rule.message", ".m.rule.encrypted"}));
  EXPECT_EQ(rules.kinds[1].at(0).at("pattern").as_string(), "bob");
  EXPECT_FALSE(rules.kinds[0].at(0).at("enabled").as_bool());  // master is off
}

TEST(PushRules, DottedKeysWithEscapes) {
  EXPECT_EQ(split_push_key("content.m\\.mentions.room"),
            (std::vector<std::string>{"content", "m.mentions", "room"}));
  EXPECT_EQ(split_push_key("a\\\\.b"), (std::vector<std::string>{"a\\", "b"}));
  EXPECT_EQ(split_push_key("a\\xb"), (std::vector<std::string>{"a\\xb"}));
  auto ev = event({{"m.mentions", {{"room", true}}}, {"m", {{"mentions", 1}}}});
  ASSERT_NE(lookup_push_key(ev, "content.m\\.mentions.room"), nullptr);
  EXPECT_TRUE(lookup_push_key(ev, "content.m\\.mentions.room")->as_bool());
  EXPECT_EQ(lookup_push_key(ev, "content.m.mentions")->as_int64(), 1);
  EXPECT_EQ(lookup_push_key(ev, "content.nope"), nullptr);
}

TEST(PushRules, GlobMatching) {
  EXPECT_TRUE(push_glob_matches("m.room.*", "m.room.message", false));
  EXPECT_TRUE(push_glob_matches("M.ROOM.MESS?GE", "m.room.message", false));
  EXPECT_FALSE(push_glob_matches("m.room", "m.room.message", false));
  EXPECT_TRUE(push_glob_matches("", "", false));
  EXPECT_FALSE(push_glob_matches("", "x", false));
  // Word boundaries (content.body).
  EXPECT_TRUE(push_glob_matches("lunch", "Lunch time!", true));
  EXPECT_TRUE(push_glob_matches("@room", "hey @room, look", true));
  EXPECT_FALSE(push_glob_matches("lunch", "lunchtime", true));
  EXPECT_FALSE(push_glob_matches("room", "x@roomy", true));
  EXPECT_TRUE(push_glob_matches("lun*", "go lunching now", true));
  // Literal mode treats * and ? as text.
  EXPECT_FALSE(push_glob_matches("B*b", "Bob", true, true));
  EXPECT_TRUE(push_glob_matches("B*b", "hi B*b!", true, true));
  // A long text with a pathological pattern stays fast (linear NFA).
  std::string long_text(60000, 'a');
  EXPECT_FALSE(push_glob_matches("*a*a*a*a*a*b", long_text, true));
}

TEST(PushRules, EachConditionKind) {
  PushContext ctx{event({{"body", "hi Bobby"}, {"n", 2}, {"list", {"x", 3, true}}}), kUser, 2,
                  [] { return std::string("Bobby"); },
                  [](std::string_view key) { return key == "room"; }};
  auto cond = [&](json::object c) { return push_condition_matches(c, ctx); };
  EXPECT_TRUE(cond({{"kind", "event_match"}, {"key", "type"}, {"pattern", "m.room.*"}}));
  EXPECT_FALSE(
      cond({{"kind", "event_match"}, {"key", "content.n"}, {"pattern", "*"}}));  // not a string
  EXPECT_TRUE(cond({{"kind", "event_property_is"}, {"key", "content.n"}, {"value", 2}}));
  EXPECT_FALSE(cond({{"kind", "event_property_is"}, {"key", "content.n"}, {"value", "2"}}));
  EXPECT_TRUE(cond({{"kind", "event_property_contains"}, {"key", "content.list"}, {"value", 3}}));
  EXPECT_TRUE(
      cond({{"kind", "event_property_contains"}, {"key", "content.list"}, {"value", true}}));
  EXPECT_FALSE(cond({{"kind", "event_property_contains"}, {"key", "content.n"}, {"value", 2}}));
  EXPECT_TRUE(cond({{"kind", "contains_display_name"}}));
  EXPECT_TRUE(cond({{"kind", "room_member_count"}, {"is", "2"}}));
  EXPECT_TRUE(cond({{"kind", "room_member_count"}, {"is", "==2"}}));
  EXPECT_TRUE(cond({{"kind", "room_member_count"}, {"is", ">=2"}}));
  EXPECT_FALSE(cond({{"kind", "room_member_count"}, {"is", "<2"}}));
  EXPECT_FALSE(cond({{"kind", "room_member_count"}, {"is", "two"}}));
  EXPECT_TRUE(cond({{"kind", "sender_notification_permission"}, {"key", "room"}}));
  EXPECT_FALSE(cond({{"kind", "sender_notification_permission"}, {"key", "other"}}));
  EXPECT_FALSE(cond({{"kind", "something_new"}}));
}

TEST(PushRules, DefaultRulesOnTypicalEvents) {
  Eval eval;
  // Plain message in a 3-member room: notify, no highlight.
  auto m = eval(event({{"msgtype", "m.text"}, {"body", "hello"}}));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule_id, ".m.rule.message");
  EXPECT_TRUE(m->notify);
  EXPECT_FALSE(m->highlight);
  // One-to-one rooms.
  Eval dm;
  dm.members = 2;
  EXPECT_EQ(dm.rule(event({{"body", "hello"}})), ".m.rule.room_one_to_one");
  EXPECT_EQ(dm.rule(event({{"ciphertext", "x"}}, "m.room.encrypted")),
            ".m.rule.encrypted_room_one_to_one");
  // Notices, reactions, edits are silent.
  EXPECT_FALSE(eval(event({{"msgtype", "m.notice"}, {"body", "bot"}}))->notify);
  EXPECT_EQ(eval.rule(event({{"m.relates_to", {{"rel_type", "m.annotation"}}}}, "m.reaction")),
            ".m.rule.reaction");
  EXPECT_EQ(eval.rule(event({{"body", "* x"}, {"m.relates_to", {{"rel_type", "m.replace"}}}})),
            ".m.rule.suppress_edits");
  // Intentional user mention highlights.
  auto mention = eval(event({{"body", "hey"}, {"m.mentions", {{"user_ids", {kUser}}}}}));
  EXPECT_EQ(mention->rule_id, ".m.rule.is_user_mention");
  EXPECT_TRUE(mention->highlight);
  // With m.mentions present, the legacy display-name rule is skipped...
  EXPECT_EQ(eval.rule(event({{"body", "hey Bobby"}, {"m.mentions", json::object{}}})),
            ".m.rule.message");
  // ...without it, it applies; the user name (content rule) too.
  EXPECT_EQ(eval.rule(event({{"body", "hey Bobby"}})), ".m.rule.contains_display_name");
  EXPECT_EQ(eval.rule(event({{"body", "hey bob!"}})), ".m.rule.contains_user_name");
  // Unknown event types match no default rule.
  EXPECT_FALSE(eval(event({}, "org.example.custom")));
  // An invite for me notifies; other member events do not.
  auto invite = event({{"membership", "invite"}}, "m.room.member");
  invite["state_key"] = kUser;
  EXPECT_EQ(eval.rule(invite), ".m.rule.invite_for_me");
  invite["state_key"] = "@carol:hs";
  EXPECT_FALSE(eval(invite)->notify);
  // Tombstones highlight.
  auto tomb = event({{"body", "moved"}}, "m.room.tombstone");
  tomb["state_key"] = "";
  EXPECT_TRUE(eval(tomb)->highlight);
}

TEST(PushRules, RoomMentionNeedsTheSendersPowerLevel) {
  auto rtc = event({{"m.mentions", {{"user_ids", json::array{}}, {"room", true}}},
                    {"notification_type", "ring"}},
                   "org.matrix.msc4075.rtc.notification");
  Eval unprivileged;
  EXPECT_FALSE(unprivileged(rtc));  // nothing matches: not notified
  Eval privileged;
  privileged.sender_may_notify_room = true;
  auto m = privileged(rtc);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rule_id, ".m.rule.is_room_mention");
  EXPECT_TRUE(m->notify);
  EXPECT_TRUE(m->highlight);
  // Legacy @room in the body works only without m.mentions.
  EXPECT_EQ(privileged.rule(event({{"body", "@room lunch"}})), ".m.rule.roomnotif");
  EXPECT_EQ(privileged.rule(event({{"body", "@room lunch"}, {"m.mentions", json::object{}}})),
            ".m.rule.message");
}

TEST(PushRules, MasterAndUserRulesComeFirst) {
  auto rules = default_push_rules(kUser);
  set_push_rule_enabled(rules, 0, ".m.rule.master", true);
  Eval eval;
  auto m = eval(event({{"body", "hello"}}), rules);
  EXPECT_EQ(m->rule_id, ".m.rule.master");
  EXPECT_FALSE(m->notify);

  rules = default_push_rules(kUser);
  put_push_rule(
      rules, 0, "mute-bots",
      json::object{
          {"actions", json::array{}},
          {"conditions", {{{"kind", "event_match"}, {"key", "sender"}, {"pattern", "@alice:hs"}}}}},
      std::nullopt, std::nullopt);
  EXPECT_EQ(rules.kinds[0].at(0).at("rule_id").as_string(), ".m.rule.master");
  EXPECT_EQ(rules.kinds[0].at(1).at("rule_id").as_string(), "mute-bots");
  EXPECT_EQ(eval.rule(event({{"body", "x"}, {"m.mentions", {{"user_ids", {kUser}}}}}), rules),
            "mute-bots");
  // before/after place among user rules.
  put_push_rule(rules, 0, "first", json::object{{"actions", {"notify"}}}, "mute-bots",
                std::nullopt);
  put_push_rule(rules, 0, "last", json::object{{"actions", {"notify"}}}, std::nullopt, "mute-bots");
  std::vector<std::string> ids;
  for (size_t i = 1; i < 4; ++i)
    ids.emplace_back(rules.kinds[0].at(i).at("rule_id").as_string());
  EXPECT_EQ(ids, (std::vector<std::string>{"first", "mute-bots", "last"}));
  // A room rule matches by room id.
  rules = default_push_rules(kUser);
  put_push_rule(rules, 2, "!room:hs", json::object{{"actions", {"notify"}}}, std::nullopt,
                std::nullopt);
  EXPECT_EQ(eval.rule(event({{"custom", 1}}, "org.example.custom"), rules), "!room:hs");
}

TEST(PushRules, MalformedRulesAreRefusedWithClearErrcodes) {
  auto rules = default_push_rules(kUser);
  auto put = [&](size_t kind, const std::string& id, json::object body,
                 std::optional<std::string> before = std::nullopt) {
    return errcode_of([&] { put_push_rule(rules, kind, id, body, before, std::nullopt); });
  };
  EXPECT_EQ(put(0, ".m.rule.mine", {{"actions", json::array{}}}), "M_INVALID_PARAM");
  EXPECT_EQ(put(0, "a/b", {{"actions", json::array{}}}), "M_INVALID_PARAM");
  EXPECT_EQ(put(0, "x", {}), "M_BAD_JSON");
  EXPECT_EQ(put(0, "x", {{"actions", "notify"}}), "M_BAD_JSON");
  EXPECT_EQ(put(0, "x", {{"actions", {"shout"}}}), "M_BAD_JSON");
  EXPECT_EQ(put(0, "x", {{"actions", {json::object{{"value", 1}}}}}), "M_BAD_JSON");
  EXPECT_EQ(put(0, "x", {{"actions", json::array{}}, {"conditions", {"nope"}}}), "M_BAD_JSON");
  EXPECT_EQ(put(0, "x", {{"actions", json::array{}}, {"conditions", {{{"kind", "event_match"}}}}}),
            "M_BAD_JSON");
  EXPECT_EQ(put(0, "x",
                {{"actions", json::array{}},
                 {"conditions",
                  {{{"kind", "event_property_is"}, {"key", "k"}, {"value", json::object{}}}}}}),
            "M_BAD_JSON");
  EXPECT_EQ(put(1, "x", {{"actions", json::array{}}}), "M_BAD_JSON");  // content needs pattern
  EXPECT_EQ(put(2, "not-a-room", {{"actions", json::array{}}}), "M_INVALID_PARAM");
  EXPECT_EQ(put(3, "not-a-user", {{"actions", json::array{}}}), "M_INVALID_PARAM");
  EXPECT_EQ(put(0, "x", {{"actions", json::array{}}}, "missing"), "M_NOT_FOUND");
  EXPECT_EQ(put(0, "x", {{"actions", json::array{}}}, ".m.rule.master"), "M_INVALID_PARAM");
  EXPECT_EQ(errcode_of([&] { push_rule_kind("global"); }), "M_INVALID_PARAM");
  EXPECT_EQ(errcode_of([&] { delete_push_rule(rules, 0, ".m.rule.master"); }), "M_INVALID_PARAM");
  EXPECT_EQ(errcode_of([&] { delete_push_rule(rules, 0, "missing"); }), "M_NOT_FOUND");
  EXPECT_EQ(errcode_of([&] { set_push_rule_enabled(rules, 0, "missing", true); }), "M_NOT_FOUND");
  // Nothing of that changed the rules.
  EXPECT_EQ(rules.to_json(), default_push_rules(kUser).to_json());
}

class PushRuleServiceTest : public HomeserverTest {};

TEST_F(PushRuleServiceTest, ChangesAreStoredInAccountDataAndMergedWithDefaults) {
  auto bob = make_user("bob");
  auto all = hs_->push_rules.get(bob, "");
  EXPECT_EQ(all.at("global").at("override").as_array().size(), 12u);
  await<json::object>([&](auto done) {
    hs_->push_rules.put_attribute(bob, "global", "override", ".m.rule.master", "enabled",
                                  {{"enabled", true}}, done);
  });
  await<json::object>([&](auto done) {
    hs_->push_rules.put_rule(bob, "global", "underride", "quiet",
                             {{"actions", json::array{}}, {"conditions", json::array{}}},
                             std::nullopt, std::nullopt, done);
  });
  EXPECT_TRUE(hs_->push_rules.get(bob, "global", "override", ".m.rule.master", "enabled")
                  .at("enabled")
                  .as_bool());
  auto quiet = hs_->push_rules.get(bob, "global", "underride", "quiet");
  EXPECT_FALSE(quiet.at("default").as_bool());
  EXPECT_EQ(hs_->push_rules.get(bob, "global").at("underride").at(0).at("rule_id").as_string(),
            "quiet");
  // Stored as m.push_rules account data (so /sync delivers it).
  auto stored = store_->read()->account_data(bob.user_id, "", "m.push_rules");
  ASSERT_TRUE(stored);
  EXPECT_NE(stored->find("quiet"), std::string::npos);
  // The evaluation cache sees the change.
  auto cached = hs_->push_rules.rules_for(*store_->read(), bob.user_id);
  EXPECT_TRUE(cached->kinds[0].at(0).at("enabled").as_bool());

  await<json::object>(
      [&](auto done) { hs_->push_rules.delete_rule(bob, "global", "underride", "quiet", done); });
  EXPECT_EQ(errcode_of([&] { hs_->push_rules.get(bob, "global", "underride", "quiet"); }),
            "M_NOT_FOUND");
  EXPECT_EQ(errcode_of([&] { hs_->push_rules.get(bob, "device"); }), "M_INVALID_PARAM");
  EXPECT_EQ(errcode_of([&] {
              hs_->push_rules.get(bob, "global", "override", ".m.rule.master", "colour");
            }),
            "M_UNRECOGNIZED");
  EXPECT_EQ(errcode_of([&] {
              hs_->push_rules.put_attribute(bob, "global", "override", ".m.rule.master", "enabled",
                                            {{"enabled", "yes"}},
                                            [](std::exception_ptr, json::object) {});
            }),
            "M_BAD_JSON");
}

}  // namespace
}  // namespace atrium::homeserver::testing
