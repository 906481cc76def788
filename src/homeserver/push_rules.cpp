#include "homeserver/push_rules.hpp"

#include "base/error.hpp"
#include "homeserver/push_eval.hpp"
#include "matrix/ids.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver {

namespace {

constexpr size_t kOverride = 0, kContent = 1, kRoom = 2, kSender = 3, kUnderride = 4;

// The spec's predefined rules, in the spec's order. "@USER@" and
// "@LOCALPART@" are filled in per user.
constexpr const char* kDefaultRules = R"json({
"override": [
 {"rule_id": ".m.rule.master", "default": true, "enabled": false, "conditions": [], "actions": []},
 {"rule_id": ".m.rule.suppress_notices", "default": true, "enabled": true,
  "conditions": [{"kind": "event_match", "key": "content.msgtype", "pattern": "m.notice"}],
  "actions": []},
 {"rule_id": ".m.rule.invite_for_me", "default": true, "enabled": true,
  "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.room.member"},
                 {"kind": "event_match", "key": "content.membership", "pattern": "invite"},
                 {"kind": "event_match", "key": "state_key", "pattern": "@USER@"}],
  "actions": ["notify", {"set_tweak": "sound", "value": "default"}]},
 {"rule_id": ".m.rule.member_event", "default": true, "enabled": true,
  "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.room.member"}],
  "actions": []},
 {"rule_id": ".m.rule.is_user_mention", "default": true, "enabled": true,
  "conditions": [{"kind": "event_property_contains", "key": "content.m\\.mentions.user_ids",
                  "value": "@USER@"}],
  "actions": ["notify", {"set_tweak": "sound", "value": "default"}, {"set_tweak": "highlight"}]},
 {"rule_id": ".m.rule.contains_display_name", "default": true, "enabled": true,
  "conditions": [{"kind": "contains_display_name"}],
  "actions": ["notify", {"set_tweak": "sound", "value": "default"}, {"set_tweak": "highlight"}]},
 {"rule_id": ".m.rule.is_room_mention", "default": true, "enabled": true,
  "conditions": [{"kind": "event_property_is", "key": "content.m\\.mentions.room", "value": true},
                 {"kind": "sender_notification_permission", "key": "room"}],
  "actions": ["notify", {"set_tweak": "highlight"}]},
 {"rule_id": ".m.rule.roomnotif", "default": true, "enabled": true,
  "conditions": [{"kind": "sender_notification_permission", "key": "room"},
                 {"kind": "event_match", "key": "content.body", "pattern": "@room"}],
  "actions": ["notify", {"set_tweak": "highlight"}]},
 {"rule_id": ".m.rule.tombstone", "default": true, "enabled": true,
  "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.room.tombstone"},
                 {"kind": "event_match", "key": "state_key", "pattern": ""}],
  "actions": ["notify", {"set_tweak": "highlight"}]},
 {"rule_id": ".m.rule.reaction", "default": true, "enabled": true,
  "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.reaction"}],
  "actions": []},
 {"rule_id": ".m.rule.room.server_acl", "default": true, "enabled": true,
  "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.room.server_acl"},
                 {"kind": "event_match", "key": "state_key", "pattern": ""}],
  "actions": []},
 {"rule_id": ".m.rule.suppress_edits", "default": true, "enabled": true,
  "conditions": [{"kind": "event_property_is", "key": "content.m\\.relates_to.rel_type",
                  "value": "m.replace"}],
  "actions": []}
],
"content": [
 {"rule_id": ".m.rule.contains_user_name", "default": true, "enabled": true,
  "pattern": "@LOCALPART@",
  "actions": ["notify", {"set_tweak": "sound", "value": "default"}, {"set_tweak": "highlight"}]}
],
"room": [],
"sender": [],
"underride": [
 {"rule_id": ".m.rule.call", "default": true, "enabled": true,
  "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.call.invite"}],
  "actions": ["notify", {"set_tweak": "sound", "value": "ring"}]},
 {"rule_id": ".m.rule.encrypted_room_one_to_one", "default": true, "enabled": true,
  "conditions": [{"kind": "room_member_count", "is": "2"},
                 {"kind": "event_match", "key": "type", "pattern": "m.room.encrypted"}],
  "actions": ["notify", {"set_tweak": "sound", "value": "default"}]},
 {"rule_id": ".m.rule.room_one_to_one", "default": true, "enabled": true,
  "conditions": [{"kind": "room_member_count", "is": "2"},
                 {"kind": "event_match", "key": "type", "pattern": "m.room.message"}],
  "actions": ["notify", {"set_tweak": "sound", "value": "default"}]},
 {"rule_id": ".m.rule.message", "default": true, "enabled": true,
  "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.room.message"}],
  "actions": ["notify"]},
 {"rule_id": ".m.rule.encrypted", "default": true, "enabled": true,
  "conditions": [{"kind": "event_match", "key": "type", "pattern": "m.room.encrypted"}],
  "actions": ["notify"]}
]})json";

void fill_placeholders(json::value& v, const std::string& user_id, const std::string& localpart) {
  if (v.is_string()) {
    if (v.as_string() == "@USER@")
      v = user_id;
    else if (v.as_string() == "@LOCALPART@")
      v = localpart;
  } else if (v.is_array()) {
    for (auto& e : v.as_array())
      fill_placeholders(e, user_id, localpart);
  } else if (v.is_object()) {
    for (auto& kv : v.as_object())
      fill_placeholders(kv.value(), user_id, localpart);
  }
}

std::string_view rule_id_of(const json::value& rule) {
  if (!rule.is_object()) return {};
  auto* id = rule.as_object().if_contains("rule_id");
  return id && id->is_string() ? std::string_view(id->as_string()) : std::string_view();
}

bool is_default_id(std::string_view id) {
  return !id.empty() && id.front() == '.';
}

void validate_conditions(const json::value& conditions) {
  if (!conditions.is_array()) throw MatrixError(Errc::bad_json, "'conditions' must be an array");
  for (const auto& c : conditions.as_array()) {
    if (!c.is_object()) throw MatrixError(Errc::bad_json, "Each condition must be an object");
    const auto& o = c.as_object();
    auto kind = matrix::get_string(o, "kind");
    if (!kind) throw MatrixError(Errc::bad_json, "A condition needs a string 'kind'");
    // Unknown kinds are kept (they never match), as the spec asks.
    if (*kind == "event_match") {
      matrix::require_string(o, "key");
      matrix::require_string(o, "pattern");
    } else if (*kind == "event_property_is" || *kind == "event_property_contains") {
      matrix::require_string(o, "key");
      auto* value = o.if_contains("value");
      if (!value || value->is_object() || value->is_array() || value->is_double())
        throw MatrixError(Errc::bad_json,
                          *kind + " needs a 'value' that is a string, integer, boolean or null");
    } else if (*kind == "room_member_count") {
      matrix::require_string(o, "is");
    } else if (*kind == "sender_notification_permission") {
      matrix::require_string(o, "key");
    }
  }
}

// Where a user rule goes: before/after another user rule of the same kind.
size_t insertion_index(const json::array& rules, size_t kind,
                       const std::optional<std::string>& before,
                       const std::optional<std::string>& after) {
  const std::optional<std::string>& anchor = before ? before : after;
  if (anchor) {
    if (is_default_id(*anchor))
      throw MatrixError(Errc::invalid_param,
                        "Rules cannot be placed relative to server-default "
                        "rule " +
                            *anchor);
    for (size_t i = 0; i < rules.size(); ++i)
      if (rule_id_of(rules[i]) == *anchor) return before ? i : i + 1;
    throw MatrixError(Errc::not_found, "No rule '" + *anchor + "' to place this rule next to");
  }
  // After the other user rules: before the first default (master aside).
  size_t i = 0;
  if (kind == kOverride)
    while (i < rules.size() && rule_id_of(rules[i]) == ".m.rule.master")
      ++i;
  while (i < rules.size() && !is_default_id(rule_id_of(rules[i])))
    ++i;
  return i;
}

}  // namespace

json::object PushRuleset::to_json() const {
  json::object out;
  for (size_t k = 0; k < kinds.size(); ++k)
    out[kPushRuleKinds[k]] = kinds[k];
  return out;
}

json::object* PushRuleset::find(size_t kind, std::string_view rule_id) {
  for (auto& rule : kinds[kind])
    if (rule_id_of(rule) == rule_id) return &rule.as_object();
  return nullptr;
}

size_t push_rule_kind(std::string_view kind) {
  for (size_t k = 0; k < kPushRuleKinds.size(); ++k)
    if (kPushRuleKinds[k] == kind) return k;
  throw MatrixError(Errc::invalid_param, "Unknown push rule kind '" + std::string(kind) +
                                             "' (override, content, room, sender or underride)");
}

PushRuleset default_push_rules(const std::string& user_id) {
  static const json::value parsed = json::parse(kDefaultRules);
  json::value filled = parsed;
  fill_placeholders(filled, user_id, std::string(matrix::localpart_of(user_id)));
  PushRuleset out;
  for (size_t k = 0; k < kPushRuleKinds.size(); ++k)
    out.kinds[k] = filled.as_object().at(kPushRuleKinds[k]).as_array();
  return out;
}

PushRuleset merge_push_rules(const std::string& user_id, const json::object* stored) {
  PushRuleset defaults = default_push_rules(user_id);
  if (!stored) return defaults;
  PushRuleset out;
  for (size_t k = 0; k < kPushRuleKinds.size(); ++k) {
    json::array user_rules;
    std::unordered_map<std::string, const json::object*> changed_defaults;
    if (auto* v = stored->if_contains(kPushRuleKinds[k]); v && v->is_array()) {
      for (const auto& rule : v->as_array()) {
        auto id = rule_id_of(rule);
        if (id.empty()) continue;
        if (is_default_id(id))
          changed_defaults[std::string(id)] = &rule.as_object();
        else
          user_rules.push_back(rule);
      }
    }
    auto with_changes = [&](json::value rule) {
      auto it = changed_defaults.find(std::string(rule_id_of(rule)));
      if (it != changed_defaults.end()) {
        auto& o = rule.as_object();
        if (auto* e = it->second->if_contains("enabled"); e && e->is_bool()) o["enabled"] = *e;
        if (auto* a = it->second->if_contains("actions"); a && a->is_array()) o["actions"] = *a;
      }
      return rule;
    };
    json::array& merged = out.kinds[k];
    size_t d = 0;
    const json::array& defs = defaults.kinds[k];
    if (k == kOverride)
      for (; d < defs.size() && rule_id_of(defs[d]) == ".m.rule.master"; ++d)
        merged.push_back(with_changes(defs[d]));
    for (auto& rule : user_rules)
      merged.push_back(std::move(rule));
    for (; d < defs.size(); ++d)
      merged.push_back(with_changes(defs[d]));
  }
  return out;
}

void validate_push_actions(const json::value& actions) {
  if (!actions.is_array()) throw MatrixError(Errc::bad_json, "'actions' must be an array");
  for (const auto& a : actions.as_array()) {
    if (a.is_string()) {
      // dont_notify and coalesce are legacy no-ops the spec still accepts.
      if (a != "notify" && a != "dont_notify" && a != "coalesce")
        throw MatrixError(Errc::bad_json,
                          "Unknown push rule action '" + std::string(a.as_string()) + "'");
    } else if (a.is_object()) {
      auto* tweak = a.as_object().if_contains("set_tweak");
      if (!tweak || !tweak->is_string())
        throw MatrixError(Errc::bad_json, "An action object needs a string 'set_tweak'");
    } else {
      throw MatrixError(Errc::bad_json, "A push rule action is a string or a set_tweak object");
    }
  }
}

void put_push_rule(PushRuleset& rules, size_t kind, const std::string& rule_id,
                   const json::object& body, const std::optional<std::string>& before,
                   const std::optional<std::string>& after) {
  if (rule_id.empty() || is_default_id(rule_id))
    throw MatrixError(Errc::invalid_param,
                      "Rule ids starting with '.' are reserved for server-default rules");
  if (rule_id.find_first_of("/\\") != std::string::npos)
    throw MatrixError(Errc::invalid_param, "Rule ids may not contain '/' or '\\'");
  if (kind == kRoom && !matrix::is_valid_room_id(rule_id))
    throw MatrixError(Errc::invalid_param, "A room rule's id is a room id");
  if (kind == kSender && !matrix::is_valid_user_id(rule_id))
    throw MatrixError(Errc::invalid_param, "A sender rule's id is a user id");
  if (before && after) throw MatrixError(Errc::invalid_param, "Give before or after, not both");

  auto* actions = body.if_contains("actions");
  if (!actions) throw MatrixError(Errc::bad_json, "missing field 'actions'");
  validate_push_actions(*actions);
  json::object rule{
      {"rule_id", rule_id}, {"default", false}, {"enabled", true}, {"actions", *actions}};
  if (kind == kContent) {
    rule["pattern"] = matrix::require_string(body, "pattern");
  } else if (kind == kOverride || kind == kUnderride) {
    json::value conditions = json::array{};
    if (auto* c = body.if_contains("conditions")) conditions = *c;
    validate_conditions(conditions);
    rule["conditions"] = std::move(conditions);
  }

  json::array& list = rules.kinds[kind];
  for (size_t i = 0; i < list.size(); ++i) {
    if (rule_id_of(list[i]) != rule_id) continue;
    if (!before && !after) {  // an update keeps its place and its enabled flag
      if (auto* e = list[i].as_object().if_contains("enabled")) rule["enabled"] = *e;
      list[i] = std::move(rule);
      return;
    }
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
    break;
  }
  size_t at = insertion_index(list, kind, before, after);
  list.insert(list.begin() + static_cast<std::ptrdiff_t>(at), std::move(rule));
}

void delete_push_rule(PushRuleset& rules, size_t kind, const std::string& rule_id) {
  if (is_default_id(rule_id))
    throw MatrixError(Errc::invalid_param, "Server-default rules cannot be deleted; disable them");
  json::array& list = rules.kinds[kind];
  for (size_t i = 0; i < list.size(); ++i) {
    if (rule_id_of(list[i]) == rule_id) {
      list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
  throw MatrixError(Errc::not_found, "No push rule '" + rule_id + "'");
}

void set_push_rule_enabled(PushRuleset& rules, size_t kind, const std::string& rule_id,
                           bool enabled) {
  auto* rule = rules.find(kind, rule_id);
  if (!rule) throw MatrixError(Errc::not_found, "No push rule '" + rule_id + "'");
  (*rule)["enabled"] = enabled;
}

void set_push_rule_actions(PushRuleset& rules, size_t kind, const std::string& rule_id,
                           const json::value& actions) {
  validate_push_actions(actions);
  auto* rule = rules.find(kind, rule_id);
  if (!rule) throw MatrixError(Errc::not_found, "No push rule '" + rule_id + "'");
  (*rule)["actions"] = actions;
}

// --- PushRuleService -------------------------------------------------------

namespace {
void require_global(const std::string& scope) {
  if (scope != "global")
    throw MatrixError(Errc::invalid_param, "Unknown push rule scope '" + scope + "' (global)");
}
}  // namespace

PushRuleset PushRuleService::load(store::Reader& r, const std::string& user_id) {
  auto stored = r.account_data(user_id, "", "m.push_rules");
  if (!stored) return default_push_rules(user_id);
  auto content = json::parse(*stored);
  const json::object* global = nullptr;
  if (content.is_object())
    if (auto* g = content.as_object().if_contains("global"); g && g->is_object())
      global = &g->as_object();
  return merge_push_rules(user_id, global);
}

PushRuleService::Cached PushRuleService::cached(store::Reader& r, const std::string& user_id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(user_id); it != cache_.end()) return it->second;
  }
  Cached entry;
  auto rules = std::make_shared<const PushRuleset>(load(r, user_id));
  entry.compiled = std::make_shared<const CompiledPushRules>(*rules);
  entry.rules = std::move(rules);
  std::lock_guard lock(mutex_);
  if (cache_.size() > 10000) cache_.clear();  // a bound, not an LRU: reloads are cheap
  cache_[user_id] = entry;
  return entry;
}

std::shared_ptr<const PushRuleset> PushRuleService::rules_for(store::Reader& r,
                                                              const std::string& user_id) {
  return cached(r, user_id).rules;
}

std::shared_ptr<const CompiledPushRules> PushRuleService::compiled_rules_for(
    store::Reader& r, const std::string& user_id) {
  return cached(r, user_id).compiled;
}

json::object PushRuleService::get(const Requester& who, const std::string& scope,
                                  const std::string& kind, const std::string& rule_id,
                                  const std::string& attribute) {
  PushRuleset rules = load(*store_.read(), who.user_id);
  if (scope.empty()) return json::object{{"global", rules.to_json()}};
  require_global(scope);
  if (kind.empty()) return rules.to_json();
  size_t k = push_rule_kind(kind);
  auto* rule = rules.find(k, rule_id);
  if (!rule) throw MatrixError(Errc::not_found, "No push rule '" + rule_id + "'");
  if (attribute.empty()) return *rule;
  if (attribute == "enabled" || attribute == "actions")
    return json::object{{attribute, rule->at(attribute)}};
  throw MatrixError(Errc::unrecognized, "Unknown push rule attribute '" + attribute + "'");
}

void PushRuleService::modify(const Requester& who, const std::string& scope,
                             std::function<void(PushRuleset&)> change, JsonCompletion done) {
  require_global(scope);
  // Validate against the current rules now, for a synchronous error...
  PushRuleset probe = load(*store_.read(), who.user_id);
  change(probe);
  // ...then apply it inside the job to whatever is stored by then.
  std::string user_id = who.user_id;
  store_.write(
      [this, user_id, change](store::Writer& w) {
        PushRuleset rules = load(w, user_id);
        change(rules);
        w.put_account_data(user_id, "", "m.push_rules",
                           json::serialize(json::object{{"global", rules.to_json()}}));
        {
          std::lock_guard lock(mutex_);
          cache_.erase(user_id);
        }
        w.after_commit([this, user_id] {
          {
            std::lock_guard lock(mutex_);
            cache_.erase(user_id);
          }
          notifier_.notify(user_id);
        });
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

void PushRuleService::put_rule(const Requester& who, const std::string& scope,
                               const std::string& kind, const std::string& rule_id,
                               json::object body, std::optional<std::string> before,
                               std::optional<std::string> after, JsonCompletion done) {
  size_t k = push_rule_kind(kind);
  modify(
      who, scope,
      [=](PushRuleset& rules) { put_push_rule(rules, k, rule_id, body, before, after); },
      std::move(done));
}

void PushRuleService::delete_rule(const Requester& who, const std::string& scope,
                                  const std::string& kind, const std::string& rule_id,
                                  JsonCompletion done) {
  size_t k = push_rule_kind(kind);
  modify(
      who, scope, [=](PushRuleset& rules) { delete_push_rule(rules, k, rule_id); },
      std::move(done));
}

void PushRuleService::put_attribute(const Requester& who, const std::string& scope,
                                    const std::string& kind, const std::string& rule_id,
                                    const std::string& attribute, json::object body,
                                    JsonCompletion done) {
  size_t k = push_rule_kind(kind);
  if (attribute == "enabled") {
    auto enabled = matrix::get_bool(body, "enabled");
    if (!enabled) throw MatrixError(Errc::bad_json, "missing boolean field 'enabled'");
    return modify(
        who, scope, [=](PushRuleset& rules) { set_push_rule_enabled(rules, k, rule_id, *enabled); },
        std::move(done));
  }
  if (attribute == "actions") {
    auto* actions = body.if_contains("actions");
    if (!actions) throw MatrixError(Errc::bad_json, "missing field 'actions'");
    json::value copy = *actions;
    return modify(
        who, scope, [=](PushRuleset& rules) { set_push_rule_actions(rules, k, rule_id, copy); },
        std::move(done));
  }
  throw MatrixError(Errc::unrecognized, "Unknown push rule attribute '" + attribute + "'");
}

}  // namespace atrium::homeserver
