#pragma once
// Push rules (Client-Server API "Push Rules"): the server-default ruleset,
// a user's own rules and their changes to the defaults, and /pushrules.
//
// Storage: the user's complete ruleset lives in global account data of type
// m.push_rules ({"global": ruleset}), so /sync delivers changes as account
// data. Only the user's own rules and the `enabled`/`actions` they set on
// server-default rules are taken from it; the defaults themselves always come
// from this code, so a server upgrade that changes them reaches every user.
// User rules come before the defaults of their kind, except .m.rule.master,
// which stays first (as Synapse orders them).
#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "homeserver/common.hpp"
#include "homeserver/notifier.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

class CompiledPushRules;  // push_eval.hpp

// In order of evaluation.
inline constexpr std::array<std::string_view, 5> kPushRuleKinds = {"override", "content", "room",
                                                                   "sender", "underride"};

struct PushRuleset {
  std::array<json::array, 5> kinds;  // indexed like kPushRuleKinds; each rule an object

  json::object to_json() const;
  // nullptr when the kind has no rule with that id.
  json::object* find(size_t kind, std::string_view rule_id);
};

// Index in kPushRuleKinds; M_INVALID_PARAM for anything else.
size_t push_rule_kind(std::string_view kind);

// The server-default rules for `user_id` (spec, "Predefined Rules").
PushRuleset default_push_rules(const std::string& user_id);
// The user's rules from the stored {"global": ...} content (nullptr: none stored).
PushRuleset merge_push_rules(const std::string& user_id, const json::object* stored);

// Edits, as the /pushrules endpoints make them. They throw MatrixError:
// M_INVALID_PARAM (bad kind, rule id, before/after naming a default),
// M_BAD_JSON (malformed actions, conditions, pattern), M_NOT_FOUND (no such
// rule, before/after naming no rule).
void put_push_rule(PushRuleset& rules, size_t kind, const std::string& rule_id,
                   const json::object& body, const std::optional<std::string>& before,
                   const std::optional<std::string>& after);
void delete_push_rule(PushRuleset& rules, size_t kind, const std::string& rule_id);
void set_push_rule_enabled(PushRuleset& rules, size_t kind, const std::string& rule_id,
                           bool enabled);
void set_push_rule_actions(PushRuleset& rules, size_t kind, const std::string& rule_id,
                           const json::value& actions);
void validate_push_actions(const json::value& actions);

class PushRuleService {
 public:
  PushRuleService(store::Store& store, Notifier& notifier) : store_(store), notifier_(notifier) {}

  // GET /pushrules/ ({"global": ...}), /pushrules/global/, .../{kind}/{ruleId}
  // and .../{kind}/{ruleId}/{enabled|actions}. `scope` must be "global".
  json::object get(const Requester& who, const std::string& scope, const std::string& kind = {},
                   const std::string& rule_id = {}, const std::string& attribute = {});
  void put_rule(const Requester& who, const std::string& scope, const std::string& kind,
                const std::string& rule_id, json::object body, std::optional<std::string> before,
                std::optional<std::string> after, JsonCompletion done);
  void delete_rule(const Requester& who, const std::string& scope, const std::string& kind,
                   const std::string& rule_id, JsonCompletion done);
  void put_attribute(const Requester& who, const std::string& scope, const std::string& kind,
                     const std::string& rule_id, const std::string& attribute, json::object body,
                     JsonCompletion done);

  // The user's ruleset for evaluating an event (inside write jobs); cached
  // until the user changes their rules.
  std::shared_ptr<const PushRuleset> rules_for(store::Reader& r, const std::string& user_id);
  // The same, prepared for evaluation (push_eval.hpp).
  std::shared_ptr<const CompiledPushRules> compiled_rules_for(store::Reader& r,
                                                              const std::string& user_id);

 private:
  struct Cached {
    std::shared_ptr<const PushRuleset> rules;
    std::shared_ptr<const CompiledPushRules> compiled;
  };
  Cached cached(store::Reader& r, const std::string& user_id);

  PushRuleset load(store::Reader& r, const std::string& user_id);
  // Read-modify-write of the user's rules in one job.
  void modify(const Requester& who, const std::string& scope,
              std::function<void(PushRuleset&)> change, JsonCompletion done);

  store::Store& store_;
  Notifier& notifier_;
  std::mutex mutex_;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace atrium::homeserver
