#include "homeserver/push_eval.hpp"

#include <algorithm>
#include <array>
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
  const size_t m = pattern.size(), n = text.size();
  auto star = [&](size_t k) { return !literal && pattern[k] == '*'; };
  auto one = [&](size_t k) { return !literal && pattern[k] == '?'; };
  if (literal || pattern.find_first_of("*?") == std::string_view::npos) {
    // Plain text (type, msgtype, user name, display name): no NFA needed.
    auto equal_at = [&](size_t i) {
      for (size_t k = 0; k < m; ++k)
        if (fold(pattern[k]) != fold(text[i + k])) return false;
      return true;
    };
    if (!word_boundary) return m == n && equal_at(0);
    for (size_t i = 0; i + m <= n; ++i)
      if ((i == 0 || !is_word(text[i - 1])) && (i + m == n || !is_word(text[i + m])) && equal_at(i))
        return true;
    return false;
  }
  // An NFA over pattern positions, advanced one text byte at a time: linear
  // in text length times pattern length, whatever the pattern. The states
  // live on the stack for the usual short patterns.
  constexpr size_t kInline = 128;
  std::array<char, 2 * kInline> inline_states;
  std::vector<char> heap_states;
  char* states = inline_states.data();
  if (m + 1 > kInline) {
    heap_states.resize(2 * (m + 1));
    states = heap_states.data();
  }
  char* cur = states;
  char* next = states + m + 1;
  std::fill(cur, cur + m + 1, 0);
  auto close = [&](char* s) {
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
    std::fill(next, next + m + 1, 0);
    bool alive = false;
    for (size_t k = 0; k < m; ++k) {
      if (!cur[k]) continue;
      if (star(k))
        next[k] = 1, alive = true;
      else if (one(k) || fold(pattern[k]) == fold(text[i]))
        next[k + 1] = 1, alive = true;
    }
    close(next);
    std::swap(cur, next);
    if (!alive && !word_boundary) return false;
  }
}

namespace {

// Looks up a pre-split dotted key.
const json::value* lookup_path(const json::object& event, const std::vector<std::string>& path) {
  const json::object* at = &event;
  const json::value* found = nullptr;
  for (const auto& part : path) {
    if (!at) return nullptr;
    found = at->if_contains(part);
    if (!found) return nullptr;
    at = found->is_object() ? &found->as_object() : nullptr;
  }
  return found;
}

const std::vector<std::string>& body_path() {
  static const std::vector<std::string> path{"content", "body"};
  return path;
}

}  // namespace

CompiledPushCondition::CompiledPushCondition(const json::object& c) {
  auto* kind_name = string_at(c, "kind");
  if (!kind_name) return;
  auto* key = string_at(c, "key");
  if (*kind_name == "event_match") {
    auto* pattern_value = string_at(c, "pattern");
    if (!key || !pattern_value) return;
    kind = Kind::event_match;
    path = split_push_key(*key);
    pattern = std::string(*pattern_value);
    word_boundary = *key == "content.body";
  } else if (*kind_name == "event_property_is" || *kind_name == "event_property_contains") {
    auto* expected = c.if_contains("value");
    if (!key || !expected) return;
    kind = *kind_name == "event_property_is" ? Kind::property_is : Kind::property_contains;
    path = split_push_key(*key);
    value = *expected;
  } else if (*kind_name == "contains_display_name") {
    kind = Kind::display_name;
  } else if (*kind_name == "room_member_count") {
    auto* is = string_at(c, "is");
    if (!is) return;
    kind = Kind::member_count;
    pattern = std::string(*is);
  } else if (*kind_name == "sender_notification_permission") {
    if (!key) return;
    kind = Kind::sender_permission;
    pattern = std::string(*key);
  }
}

bool CompiledPushCondition::matches(const PushContext& ctx) const {
  switch (kind) {
    case Kind::never:
      return false;
    case Kind::event_match: {
      auto* v = lookup_path(ctx.event, path);
      return v && v->is_string() && push_glob_matches(pattern, v->get_string(), word_boundary);
    }
    case Kind::property_is:
    case Kind::property_contains: {
      auto* v = lookup_path(ctx.event, path);
      if (!v) return false;
      if (kind == Kind::property_is) return scalar_equal(*v, value);
      if (!v->is_array()) return false;
      for (const auto& e : v->get_array())
        if (scalar_equal(e, value)) return true;
      return false;
    }
    case Kind::display_name: {
      auto* body = lookup_path(ctx.event, body_path());
      if (!body || !body->is_string() || !ctx.display_name) return false;
      std::string name = ctx.display_name();
      return !name.empty() &&
             push_glob_matches(name, body->get_string(), /*word_boundary=*/true, /*literal=*/true);
    }
    case Kind::member_count:
      return member_count_matches(pattern, ctx.member_count);
    case Kind::sender_permission:
      return ctx.sender_may_notify && ctx.sender_may_notify(pattern);
  }
  return false;
}

CompiledPushRules::CompiledPushRules(const PushRuleset& rules) {
  for (size_t kind = 0; kind < rules.kinds.size(); ++kind) {
    std::string_view kind_name = kPushRuleKinds[kind];
    for (const auto& value : rules.kinds[kind]) {
      if (!value.is_object()) continue;
      const auto& rule = value.as_object();
      auto* enabled = rule.if_contains("enabled");
      if (enabled && enabled->is_bool() && !enabled->get_bool()) continue;
      auto* id = string_at(rule, "rule_id");
      if (!id) continue;
      Rule out;
      out.legacy_mention = is_legacy_mention_rule(*id);
      out.match.rule_id = std::string(*id);
      if (kind_name == "room") {
        out.test = Rule::Test::room;
      } else if (kind_name == "sender") {
        out.test = Rule::Test::sender;
      } else if (kind_name == "content") {
        auto* pattern = string_at(rule, "pattern");
        out.test = pattern ? Rule::Test::body : Rule::Test::never;
        if (pattern) out.pattern = std::string(*pattern);
      } else {
        auto* conditions = rule.if_contains("conditions");
        if (conditions && !conditions->is_array()) {
          out.test = Rule::Test::never;
        } else if (conditions) {
          for (const auto& c : conditions->as_array()) {
            if (!c.is_object()) {
              out.test = Rule::Test::never;
              break;
            }
            out.conditions.emplace_back(c.as_object());
          }
          // All must match and none has side effects: test the ones that read
          // room state (display name, power levels) last, so that
          // .m.rule.roomnotif reads the power levels only for "@room" bodies.
          std::stable_partition(out.conditions.begin(), out.conditions.end(),
                                [](const CompiledPushCondition& c) {
                                  return c.kind != CompiledPushCondition::Kind::display_name &&
                                         c.kind != CompiledPushCondition::Kind::sender_permission;
                                });
        }
      }
      if (auto* a = rule.if_contains("actions"); a && a->is_array())
        out.match.actions = a->as_array();
      for (const auto& action : out.match.actions) {
        if (action == "notify") out.match.notify = true;
        if (!action.is_object()) continue;
        auto* tweak = string_at(action.as_object(), "set_tweak");
        if (!tweak || *tweak != "highlight") continue;
        auto* v = action.as_object().if_contains("value");
        out.match.highlight = !v || (v->is_bool() && v->get_bool());
      }
      rules_.push_back(std::move(out));
    }
  }
}

const PushMatch* CompiledPushRules::evaluate(const PushContext& ctx) const {
  bool has_mentions = content_has_mentions(ctx.event);
  for (const auto& rule : rules_) {
    if (has_mentions && rule.legacy_mention) continue;
    bool matched = false;
    switch (rule.test) {
      case Rule::Test::never:
        break;
      case Rule::Test::room:
      case Rule::Test::sender: {
        auto* v = string_at(ctx.event, rule.test == Rule::Test::room ? "room_id" : "sender");
        matched = v && *v == rule.match.rule_id;
        break;
      }
      case Rule::Test::body: {
        auto* body = lookup_path(ctx.event, body_path());
        matched = body && body->is_string() &&
                  push_glob_matches(rule.pattern, body->get_string(), /*word_boundary=*/true);
        break;
      }
      case Rule::Test::conditions:
        matched = true;
        for (const auto& c : rule.conditions)
          if (!c.matches(ctx)) {
            matched = false;
            break;
          }
        break;
    }
    if (matched) return &rule.match;
  }
  return nullptr;
}

bool push_condition_matches(const json::object& c, const PushContext& ctx) {
  return CompiledPushCondition(c).matches(ctx);
}

std::optional<PushMatch> evaluate_push_rules(const PushRuleset& rules, const PushContext& ctx) {
  CompiledPushRules compiled(rules);
  if (const auto* match = compiled.evaluate(ctx)) return *match;
  return std::nullopt;
}

}  // namespace atrium::homeserver
