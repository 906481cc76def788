#include "homeserver/push_eval.hpp"

#include <charconv>

namespace atrium::homeserver {

namespace {

char fold(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Letters, digits, '_' and every non-ASCII byte (so UTF-8 letters are words).
bool is_word(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
         u == '_';
}

bool scalar_equal(const json::value& a, const json::value& b) {
  if (a.is_string() && b.is_string()) return a.get_string() == b.get_string();
  if (a.is_bool() && b.is_bool()) return a.get_bool() == b.get_bool();
  if (a.is_null() && b.is_null()) return true;
  if ((a.is_int64() || a.is_uint64()) && (b.is_int64() || b.is_uint64())) return a == b;
  return false;
}

// room_member_count's "is": "2", "==2", "<2", ">2", "<=2", ">=2".
bool member_count_matches(std::string_view is, int64_t count) {
  std::string_view op;
  for (std::string_view candidate : {"==", "<=", ">=", "<", ">"})
    if (is.substr(0, candidate.size()) == candidate) {
      op = candidate;
      break;
    }
  std::string_view digits = is.substr(op.size());
  int64_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty()) return false;
  if (op.empty() || op == "==") return count == n;
  if (op == "<") return count < n;
  if (op == ">") return count > n;
  if (op == "<=") return count <= n;
  return count >= n;
}

bool content_has_mentions(const json::object& event) {
  auto* content = event.if_contains("content");
  return content && content->is_object() && content->as_object().contains("m.mentions");
}

bool is_legacy_mention_rule(std::string_view id) {
  return id == ".m.rule.contains_display_name" || id == ".m.rule.roomnotif" ||
         id == ".m.rule.contains_user_name";
}

const json::string* string_at(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? &v->as_string() : nullptr;
}

bool rule_matches(size_t kind, const json::object& rule, const PushContext& ctx) {
  std::string_view kind_name = kPushRuleKinds[kind];
  auto* id = string_at(rule, "rule_id");
  if (!id) return false;
  if (kind_name == "room") {
    auto* room = string_at(ctx.event, "room_id");
    return room && *room == *id;
  }
  if (kind_name == "sender") {
    auto* sender = string_at(ctx.event, "sender");
    return sender && *sender == *id;
  }
  if (kind_name == "content") {
    auto* pattern = string_at(rule, "pattern");
    auto* body = lookup_push_key(ctx.event, "content.body");
    return pattern && body && body->is_string() &&
           push_glob_matches(*pattern, body->as_string(), /*word_boundary=*/true);
  }
  auto* conditions = rule.if_contains("conditions");
  if (conditions && !conditions->is_array()) return false;
  if (conditions)
    for (const auto& c : conditions->as_array())
      if (!c.is_object() || !push_condition_matches(c.as_object(), ctx)) return false;
  return true;
}

}  // namespace

std::vector<std::string> split_push_key(std::string_view key) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (c == '\\' && i + 1 < key.size() && (key[i + 1] == '.' || key[i + 1] == '\\')) {
      parts.back() += key[++i];
    } else if (c == '.') {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

const json::value* lookup_push_key(const json::object& event, std::string_view key) {
  const json::object* at = &event;
  const json::value* found = nullptr;
  for (const auto& part : split_push_key(key)) {
    if (!at) return nullptr;
    found = at->if_contains(part);
    if (!found) return nullptr;
    at = found->is_object() ? &found->as_object() : nullptr;
  }
  return found;
}

bool push_glob_matches(std::string_view pattern, std::string_view text, bool word_boundary,
                       bool literal) {
  // An NFA over pattern positions, advanced one text byte at a time: linear
  // in text length times pattern length, whatever the pattern.
  const size_t m = pattern.size(), n = text.size();
  auto star = [&](size_t k) { return !literal && pattern[k] == '*'; };
  auto one = [&](size_t k) { return !literal && pattern[k] == '?'; };
  std::vector<char> cur(m + 1, 0), next(m + 1, 0);
  auto close = [&](std::vector<char>& s) {
    for (size_t k = 0; k < m; ++k)
      if (s[k] && star(k)) s[k + 1] = 1;
  };
  for (size_t i = 0;; ++i) {
    bool may_start = word_boundary ? (i == 0 || !is_word(text[i - 1])) : i == 0;
    if (may_start) {
      cur[0] = 1;
      close(cur);
    }
    bool may_end = word_boundary ? (i == n || !is_word(text[i])) : i == n;
    if (may_end && cur[m]) return true;
    if (i == n) return false;
    std::fill(next.begin(), next.end(), 0);
    bool alive = false;
    for (size_t k = 0; k < m; ++k) {
      if (!cur[k]) continue;
      if (star(k))
        next[k] = 1, alive = true;
      else if (one(k) || fold(pattern[k]) == fold(text[i]))
        next[k + 1] = 1, alive = true;
    }
    close(next);
    cur.swap(next);
    if (!alive && !word_boundary) return false;
  }
}

bool push_condition_matches(const json::object& c, const PushContext& ctx) {
  auto* kind = string_at(c, "kind");
  if (!kind) return false;
  if (*kind == "event_match") {
    auto* key = string_at(c, "key");
    auto* pattern = string_at(c, "pattern");
    if (!key || !pattern) return false;
    auto* value = lookup_push_key(ctx.event, *key);
    if (!value || !value->is_string()) return false;
    return push_glob_matches(*pattern, value->as_string(), *key == "content.body");
  }
  if (*kind == "event_property_is" || *kind == "event_property_contains") {
    auto* key = string_at(c, "key");
    auto* expected = c.if_contains("value");
    if (!key || !expected) return false;
    auto* value = lookup_push_key(ctx.event, *key);
    if (!value) return false;
    if (*kind == "event_property_is") return scalar_equal(*value, *expected);
    if (!value->is_array()) return false;
    for (const auto& e : value->as_array())
      if (scalar_equal(e, *expected)) return true;
    return false;
  }
  if (*kind == "contains_display_name") {
    auto* body = lookup_push_key(ctx.event, "content.body");
    if (!body || !body->is_string() || !ctx.display_name) return false;
    std::string name = ctx.display_name();
    return !name.empty() &&
           push_glob_matches(name, body->as_string(), /*word_boundary=*/true, /*literal=*/true);
  }
  if (*kind == "room_member_count") {
    auto* is = string_at(c, "is");
    return is && member_count_matches(*is, ctx.member_count);
  }
  if (*kind == "sender_notification_permission") {
    auto* key = string_at(c, "key");
    return key && ctx.sender_may_notify && ctx.sender_may_notify(*key);
  }
  return false;
}

std::optional<PushMatch> evaluate_push_rules(const PushRuleset& rules, const PushContext& ctx) {
  bool has_mentions = content_has_mentions(ctx.event);
  for (size_t kind = 0; kind < rules.kinds.size(); ++kind) {
    for (const auto& value : rules.kinds[kind]) {
      if (!value.is_object()) continue;
      const auto& rule = value.as_object();
      auto* enabled = rule.if_contains("enabled");
      if (enabled && enabled->is_bool() && !enabled->get_bool()) continue;
      auto* id = string_at(rule, "rule_id");
      if (!id) continue;
      if (has_mentions && is_legacy_mention_rule(*id)) continue;
      if (!rule_matches(kind, rule, ctx)) continue;
      PushMatch match;
      match.rule_id = std::string(*id);
      if (auto* a = rule.if_contains("actions"); a && a->is_array()) match.actions = a->as_array();
      for (const auto& action : match.actions) {
        if (action == "notify") match.notify = true;
        if (!action.is_object()) continue;
        auto* tweak = string_at(action.as_object(), "set_tweak");
        if (!tweak || *tweak != "highlight") continue;
        auto* v = action.as_object().if_contains("value");
        match.highlight = !v || (v->is_bool() && v->get_bool());
      }
      return match;
    }
  }
  return std::nullopt;
}

}  // namespace atrium::homeserver
