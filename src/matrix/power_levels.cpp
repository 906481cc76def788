// Power levels: the defaults the spec gives when values or the whole
// m.room.power_levels event are missing, and auth rule 9 (changes to them).
#include <array>
#include <limits>
#include <optional>

#include "matrix/auth_rules.hpp"
#include "matrix/ids.hpp"

namespace atrium::matrix {

namespace {

constexpr int64_t kCreatorDefaultLevel = 100;
constexpr int64_t kStateDefaultLevel = 50;
constexpr int64_t kModerationDefaultLevel = 50;  // ban, kick, redact

// The top-level levels whose changes rule 9.5 limits.
constexpr std::array<std::string_view, 7> kNamedLevels = {
    "users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"};
// Maps of levels whose entries rules 9.6 and 9.7 limit.
constexpr std::array<std::string_view, 2> kLevelMaps = {"events", "notifications"};

AuthResult allow() {
  return {true, {}};
}
AuthResult refuse(std::string reason) {
  return {false, std::move(reason)};
}

// JSON integers only: a float such as 50.0 is not a power level in v10+.
std::optional<int64_t> as_int(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() &&
      v.get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(v.get_uint64());
  }
  return std::nullopt;
}

std::optional<int64_t> int_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  return as_int(it->value());
}

const json::object* object_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return nullptr;
  return &it->value().get_object();
}

const json::object* state_content(const StateMap& state, std::string_view type) {
  auto it = state.find(StateKey{std::string(type), ""});
  if (it == state.end()) return nullptr;
  return object_field(it->second, "content");
}

const json::object* power_levels_content(const StateMap& state) {
  return state_content(state, "m.room.power_levels");
}

bool is_int_map(const json::value& v) {
  if (!v.is_object()) return false;
  for (const auto& kv : v.get_object()) {
    if (!as_int(kv.value())) return false;
  }
  return true;
}

// Rules 9.1 to 9.3: the shape of the new content.
AuthResult check_power_levels_shape(const json::object& content) {
  for (std::string_view name : kNamedLevels) {
    auto it = content.find(name);
    if (it != content.end() && !as_int(it->value())) {
      return refuse("power level '" + std::string(name) + "' is not an integer");
    }
  }
  for (std::string_view name : kLevelMaps) {
    auto it = content.find(name);
    if (it != content.end() && !is_int_map(it->value())) {
      return refuse("power levels '" + std::string(name) + "' must map to integers");
    }
  }
  auto users = content.find("users");
  if (users != content.end()) {
    if (!is_int_map(users->value())) return refuse("power levels 'users' must map to integers");
    for (const auto& kv : users->value().get_object()) {
      if (!is_valid_user_id(kv.key())) {
        return refuse("power levels 'users' has an invalid user id: " + std::string(kv.key()));
      }
    }
  }
  return allow();
}

// Rules 9.6 and 9.7 for one map ("events" or "notifications").
AuthResult check_level_map_changes(std::string_view name, const json::object& old_content,
                                   const json::object& new_content, int64_t sender_level) {
  static const json::object kEmpty;
  const json::object* old_map = object_field(old_content, name);
  const json::object* new_map = object_field(new_content, name);
  if (!old_map) old_map = &kEmpty;
  if (!new_map) new_map = &kEmpty;
  for (const auto& kv : *old_map) {
    auto old_level = as_int(kv.value());
    auto new_level = int_field(*new_map, kv.key());
    if (old_level == new_level) continue;
    if (old_level && *old_level > sender_level) {
      return refuse("cannot change the '" + std::string(name) + "' level of " +
                    std::string(kv.key()) + ", which is above the sender's");
    }
  }
  for (const auto& kv : *new_map) {
    auto new_level = as_int(kv.value());
    if (int_field(*old_map, kv.key()) == new_level) continue;
    if (new_level && *new_level > sender_level) {
      return refuse("cannot set the '" + std::string(name) + "' level of " + std::string(kv.key()) +
                    " above the sender's");
    }
  }
  return allow();
}

// Rules 9.8 and 9.9.
AuthResult check_user_level_changes(const json::object& old_content,
                                    const json::object& new_content, std::string_view sender,
                                    int64_t sender_level) {
  static const json::object kEmpty;
  const json::object* old_users = object_field(old_content, "users");
  const json::object* new_users = object_field(new_content, "users");
  if (!old_users) old_users = &kEmpty;
  if (!new_users) new_users = &kEmpty;
  for (const auto& kv : *old_users) {
    if (kv.key() == sender) continue;  // anyone may lower (or keep) their own level
    auto old_level = as_int(kv.value());
    if (int_field(*new_users, kv.key()) == old_level) continue;
    if (old_level && *old_level >= sender_level) {
      return refuse("cannot change the power level of " + std::string(kv.key()) +
                    ", which is not below the sender's");
    }
  }
  for (const auto& kv : *new_users) {
    auto new_level = as_int(kv.value());
    if (int_field(*old_users, kv.key()) == new_level) continue;
    if (new_level && *new_level > sender_level) {
      return refuse("cannot raise " + std::string(kv.key()) + " above the sender's power level");
    }
  }
  return allow();
}

}  // namespace

std::string room_creator(const StateMap& state, const RoomVersion& version) {
  auto it = state.find(StateKey{"m.room.create", ""});
  if (it == state.end()) return {};
  const json::object& create = it->second;
  if (version.v11_rules) {
    auto sender = create.find("sender");
    return sender != create.end() && sender->value().is_string()
               ? std::string(sender->value().get_string())
               : std::string();
  }
  const json::object* content = object_field(create, "content");
  if (!content) return {};
  auto creator = content->find("creator");
  return creator != content->end() && creator->value().is_string()
             ? std::string(creator->value().get_string())
             : std::string();
}

int64_t user_power_level(const StateMap& state, std::string_view user_id,
                         const RoomVersion& version) {
  const json::object* levels = power_levels_content(state);
  if (!levels) {
    std::string creator = room_creator(state, version);
    return !creator.empty() && creator == user_id ? kCreatorDefaultLevel : 0;
  }
  if (const json::object* users = object_field(*levels, "users")) {
    if (auto level = int_field(*users, user_id)) return *level;
  }
  return int_field(*levels, "users_default").value_or(0);
}

int64_t event_power_level(const StateMap& state, std::string_view type, bool is_state) {
  const json::object* levels = power_levels_content(state);
  if (!levels) return 0;  // no power levels at all: anyone joined may send anything
  if (const json::object* events = object_field(*levels, "events")) {
    if (auto level = int_field(*events, type)) return *level;
  }
  if (is_state) return int_field(*levels, "state_default").value_or(kStateDefaultLevel);
  return int_field(*levels, "events_default").value_or(0);
}

int64_t named_power_level(const StateMap& state, std::string_view name) {
  const int64_t fallback = name == "invite" ? 0 : kModerationDefaultLevel;
  const json::object* levels = power_levels_content(state);
  if (!levels) return fallback;
  return int_field(*levels, name).value_or(fallback);
}

AuthResult check_power_levels_event(const json::object& content, const StateMap& state,
                                    std::string_view sender, int64_t sender_level) {
  if (AuthResult shape = check_power_levels_shape(content); !shape.allowed) return shape;
  const json::object* old_content = power_levels_content(state);
  if (!old_content) return allow();  // the room's first power levels

  for (std::string_view name : kNamedLevels) {
    auto old_level = int_field(*old_content, name);
    auto new_level = int_field(content, name);
    if (old_level == new_level) continue;
    if (old_level && *old_level > sender_level) {
      return refuse("cannot change '" + std::string(name) + "', which is above the sender's level");
    }
    if (new_level && *new_level > sender_level) {
      return refuse("cannot set '" + std::string(name) + "' above the sender's level");
    }
  }
  for (std::string_view name : kLevelMaps) {
    if (AuthResult r = check_level_map_changes(name, *old_content, content, sender_level);
        !r.allowed) {
      return r;
    }
  }
  return check_user_level_changes(*old_content, content, sender, sender_level);
}

}  // namespace atrium::matrix
