#pragma once
// Evaluating push rules against an event for one user (Client-Server API
// "Push Rules": conditions, dotted keys, first matching enabled rule wins).
//
// Choices:
// - event_match is a case-insensitive glob (* and ?) over the whole value,
//   except for content.body, where it matches at word boundaries. Case is
//   folded for ASCII only.
// - The legacy mention rules (.m.rule.contains_display_name, .m.rule.roomnotif,
//   .m.rule.contains_user_name) are skipped for events whose content has
//   m.mentions (spec, "Intentional Mentions").
// - Unknown condition kinds never match.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "homeserver/common.hpp"
#include "homeserver/push_rules.hpp"

namespace atrium::homeserver {

struct PushContext {
  const json::object& event;  // the PDU: type, sender, state_key, room_id, content
  std::string user_id;        // whose rules these are
  int64_t member_count = 0;   // joined members of the room
  // The user's display name in the room (empty: none); called only if needed.
  std::function<std::string()> display_name;
  // Whether the sender's power level reaches notifications[key] (default 50).
  std::function<bool(std::string_view key)> sender_may_notify;
};

struct PushMatch {
  std::string rule_id;
  json::array actions;
  bool notify = false;
  bool highlight = false;
};

// One condition with its key split and its kind decided once.
struct CompiledPushCondition {
  enum class Kind {
    never,  // unknown kind or missing fields
    event_match,
    property_is,
    property_contains,
    display_name,
    member_count,
    sender_permission
  };
  explicit CompiledPushCondition(const json::object& condition);
  bool matches(const PushContext& ctx) const;

  Kind kind = Kind::never;
  std::vector<std::string> path;  // the key, split
  std::string pattern;            // event_match pattern, member count "is", permission key
  bool word_boundary = false;     // event_match on content.body
  json::value value;              // event_property_*
};

// A user's ruleset prepared for evaluation (every event, every recipient):
// disabled rules dropped, keys split, actions read. Same results as walking
// the JSON rules.
class CompiledPushRules {
 public:
  explicit CompiledPushRules(const PushRuleset& rules);
  // The first enabled rule that matches, or nullptr.
  const PushMatch* evaluate(const PushContext& ctx) const;

 private:
  struct Rule {
    enum class Test { conditions, room, sender, body, never };
    Test test = Test::conditions;
    bool legacy_mention = false;
    std::string pattern;  // content rules
    std::vector<CompiledPushCondition> conditions;
    PushMatch match;
  };
  std::vector<Rule> rules_;
};

// The first enabled rule that matches, if any. A match without "notify"
// means: do not notify.
std::optional<PushMatch> evaluate_push_rules(const PushRuleset& rules, const PushContext& ctx);

bool push_condition_matches(const json::object& condition, const PushContext& ctx);

// "content.m\.mentions.room" -> {"content", "m.mentions", "room"}: '\.' is a
// literal dot, '\\' a literal backslash; any other backslash is kept.
std::vector<std::string> split_push_key(std::string_view key);
// The value at a dotted key, or nullptr.
const json::value* lookup_push_key(const json::object& event, std::string_view key);
// Glob (or, with `literal`, plain text) match; `word_boundary` finds the
// pattern anywhere bounded by non-word characters or the ends.
bool push_glob_matches(std::string_view pattern, std::string_view text, bool word_boundary,
                       bool literal = false);

}  // namespace atrium::homeserver
