// The authorization rules of room versions 10 and 11, numbered as in the
// spec's v11 text, plus MSC3757 owned state keys.
#include "matrix/auth_rules.hpp"

#include <algorithm>
#include <exception>
#include <string_view>

#include "matrix/event.hpp"
#include "matrix/ids.hpp"

namespace atrium::matrix {

namespace {

// MSC3757 size limits: a suffix after a leading user id (separator
// included), and a state key without one.
constexpr size_t kMaxOwnedSuffixBytes = 256;
constexpr size_t kMaxStateKeyBytes = 255;

AuthResult allow() {
  return {true, {}};
}
AuthResult refuse(std::string reason) {
  return {false, std::move(reason)};
}

// Non-throwing field access: auth runs on untrusted federation input.
std::string_view string_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return it->value().get_string();
}

bool has_string_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string();
}

const json::object* object_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return nullptr;
  return &it->value().get_object();
}

const json::object* find_state(const StateMap& state, std::string_view type,
                               std::string_view state_key) {
  auto it = state.find(StateKey{std::string(type), std::string(state_key)});
  return it == state.end() ? nullptr : &*it->second;
}

// The user's current membership, or "" when they have no member event.
std::string membership_of(const StateMap& state, std::string_view user_id) {
  const json::object* member = find_state(state, "m.room.member", user_id);
  if (!member) return {};
  const json::object* content = object_field(*member, "content");
  return content ? std::string(string_field(*content, "membership")) : std::string();
}

std::string join_rule_of(const StateMap& state) {
  const json::object* join_rules = find_state(state, "m.room.join_rules", "");
  const json::object* content = join_rules ? object_field(*join_rules, "content") : nullptr;
  // Without a join_rules event (or join_rule) the room is invite-only.
  if (!content || !has_string_field(*content, "join_rule")) return "invite";
  return std::string(string_field(*content, "join_rule"));
}

// Rule 1.
AuthResult check_create(const json::object& event, const RoomVersion& version) {
  auto prev = event.find("prev_events");
  if (prev != event.end() && !(prev->value().is_array() && prev->value().get_array().empty())) {
    return refuse("m.room.create must not have prev_events");
  }
  std::string_view room_id = string_field(event, "room_id");
  std::string_view sender = string_field(event, "sender");
  if (server_name_of(room_id).empty() || server_name_of(room_id) != server_name_of(sender)) {
    return refuse("room id and sender of m.room.create are on different servers");
  }
  const json::object* content = object_field(event, "content");
  if (!content) return refuse("m.room.create has no content");
  auto room_version = content->find("room_version");
  if (room_version != content->end() && (!room_version->value().is_string() ||
                                         !find_room_version(room_version->value().get_string()))) {
    return refuse("unknown room version in m.room.create");
  }
  if (!version.v11_rules && !has_string_field(*content, "creator")) {
    return refuse("m.room.create has no creator");
  }
  return allow();
}

// Rule 4.3.1: the creator's own join right after the create event.
bool is_creator_first_join(const json::object& event, std::string_view target,
                           const StateMap& state, const RoomVersion& version) {
  auto prev = event.find("prev_events");
  if (prev == event.end() || !prev->value().is_array()) return false;
  const json::array& prev_events = prev->value().get_array();
  if (prev_events.size() != 1 || !prev_events[0].is_string()) return false;
  const json::object* create = find_state(state, "m.room.create", "");
  if (!create || prev_events[0].get_string() != compute_event_id(*create, version)) return false;
  std::string creator = room_creator(state, version);
  return !creator.empty() && creator == target;
}

AuthResult check_join(const json::object& event, const json::object& content,
                      std::string_view sender, std::string_view target, const StateMap& state,
                      const RoomVersion& version) {
  if (is_creator_first_join(event, target, state, version)) return allow();
  if (sender != target) return refuse("cannot join on behalf of another user");
  const std::string current = membership_of(state, target);
  if (current == "ban") return refuse("user is banned from the room");
  const std::string join_rule = join_rule_of(state);
  if (join_rule == "invite" || join_rule == "knock") {
    if (current == "invite" || current == "join") return allow();
    return refuse("room is invite-only and the user is not invited");
  }
  if (join_rule == "restricted" || join_rule == "knock_restricted") {
    if (current == "invite" || current == "join") return allow();
    // The resident server that vouched for the join must name a joined user
    // who may invite. Its signature is checked by the caller (rule 4.2.1).
    std::string_view authoriser = string_field(content, "join_authorised_via_users_server");
    if (authoriser.empty() || !is_valid_user_id(authoriser)) {
      return refuse("restricted join without a valid join_authorised_via_users_server");
    }
    if (membership_of(state, authoriser) != "join") {
      return refuse("the authorising user is not joined to the room");
    }
    if (user_power_level(state, authoriser, version) < named_power_level(state, "invite")) {
      return refuse("the authorising user may not invite");
    }
    return allow();
  }
  if (join_rule == "public") return allow();
  return refuse("join rule '" + join_rule + "' does not allow joining");
}

AuthResult check_invite(const json::object& content, std::string_view sender,
                        std::string_view target, const StateMap& state,
                        const RoomVersion& version) {
  if (content.contains("third_party_invite")) return refuse("third party invites not supported");
  if (membership_of(state, sender) != "join") return refuse("inviter is not joined to the room");
  const std::string current = membership_of(state, target);
  if (current == "join") return refuse("invitee is already joined");
  if (current == "ban") return refuse("invitee is banned");
  if (user_power_level(state, sender, version) < named_power_level(state, "invite")) {
    return refuse("inviter's power level is below the invite level");
  }
  return allow();
}

AuthResult check_leave(std::string_view sender, std::string_view target, const StateMap& state,
                       const RoomVersion& version) {
  const std::string target_membership = membership_of(state, target);
  if (sender == target) {
    if (target_membership == "invite" || target_membership == "join" ||
        target_membership == "knock") {
      return allow();
    }
    return refuse("cannot leave a room one is not in, invited to or knocking on");
  }
  if (membership_of(state, sender) != "join") return refuse("sender is not joined to the room");
  const int64_t sender_level = user_power_level(state, sender, version);
  if (target_membership == "ban" && sender_level < named_power_level(state, "ban")) {
    return refuse("sender's power level is below the ban level, so cannot unban");
  }
  if (sender_level >= named_power_level(state, "kick") &&
      user_power_level(state, target, version) < sender_level) {
    return allow();
  }
  return refuse("sender may not kick this user");
}

AuthResult check_ban(std::string_view sender, std::string_view target, const StateMap& state,
                     const RoomVersion& version) {
  if (membership_of(state, sender) != "join") return refuse("sender is not joined to the room");
  const int64_t sender_level = user_power_level(state, sender, version);
  if (sender_level >= named_power_level(state, "ban") &&
      user_power_level(state, target, version) < sender_level) {
    return allow();
  }
  return refuse("sender may not ban this user");
}

AuthResult check_knock(std::string_view sender, std::string_view target, const StateMap& state) {
  const std::string join_rule = join_rule_of(state);
  if (join_rule != "knock" && join_rule != "knock_restricted") {
    return refuse("room does not allow knocking");
  }
  if (sender != target) return refuse("cannot knock on behalf of another user");
  const std::string current = membership_of(state, sender);
  if (current == "ban" || current == "invite" || current == "join") {
    return refuse("cannot knock while " + current);
  }
  return allow();
}

// Rule 4.
AuthResult check_member(const json::object& event, std::string_view sender, const StateMap& state,
                        const RoomVersion& version) {
  const json::object* content = object_field(event, "content");
  if (!has_string_field(event, "state_key") || !content ||
      !has_string_field(*content, "membership")) {
    return refuse("m.room.member needs a state_key and content.membership");
  }
  std::string_view target = string_field(event, "state_key");
  if (!is_valid_user_id(target)) return refuse("m.room.member state_key is not a user id");
  std::string_view membership = string_field(*content, "membership");
  if (membership == "join") return check_join(event, *content, sender, target, state, version);
  if (membership == "invite") return check_invite(*content, sender, target, state, version);
  if (membership == "leave") return check_leave(sender, target, state, version);
  if (membership == "ban") return check_ban(sender, target, state, version);
  if (membership == "knock") return check_knock(sender, target, state);
  return refuse("unknown membership '" + std::string(membership) + "'");
}

// Rule 8, or MSC3757's replacement of it in rooms with owned state keys.
AuthResult check_state_key_owner(std::string_view state_key, std::string_view sender,
                                 const StateMap& state, const RoomVersion& version) {
  if (!version.owned_state_keys) {
    if (!state_key.empty() && state_key[0] == '@' && state_key != sender) {
      return refuse("state key belongs to another user");
    }
    return allow();
  }
  if (state_key.empty() || state_key[0] != '@') {
    if (state_key.size() > kMaxStateKeyBytes) return refuse("state key is too long");
    return allow();
  }
  // The leading user id ends at the first '_' after the first ':'; server
  // names cannot contain '_', so "@a:b.org.evil.com" never matches "@a:b.org".
  size_t colon = state_key.find(':');
  size_t underscore =
      colon == std::string_view::npos ? std::string_view::npos : state_key.find('_', colon);
  std::string_view owner = state_key.substr(0, underscore);
  if (!is_valid_user_id(owner)) return refuse("state key starts with an invalid user id");
  if (state_key.size() - owner.size() > kMaxOwnedSuffixBytes) {
    return refuse("state key suffix is too long");
  }
  if (owner != sender &&
      user_power_level(state, sender, version) <= user_power_level(state, owner, version)) {
    return refuse("state key belongs to a user with at least the sender's power level");
  }
  return allow();
}

AuthResult check_auth_unsafe(const json::object& event, const StateMap& state,
                             const RoomVersion& version) {
  std::string_view type = string_field(event, "type");
  std::string_view sender = string_field(event, "sender");
  if (!has_string_field(event, "type")) return refuse("event has no type");
  if (!is_valid_user_id(sender)) return refuse("event sender is not a valid user id");
  if (!object_field(event, "content")) return refuse("event has no content object");

  if (type == "m.room.create") return check_create(event, version);

  // Rule 2.4.
  const json::object* create = find_state(state, "m.room.create", "");
  if (!create) return refuse("no m.room.create event in the auth events");
  if (string_field(event, "room_id") != string_field(*create, "room_id")) {
    return refuse("event is for a different room than its create event");
  }
  // Rule 3.
  if (const json::object* create_content = object_field(*create, "content")) {
    auto federate = create_content->find("m.federate");
    if (federate != create_content->end() && federate->value().is_bool() &&
        !federate->value().get_bool() &&
        server_name_of(sender) != server_name_of(string_field(*create, "sender"))) {
      return refuse("room is not federated");
    }
  }

  if (type == "m.room.member") return check_member(event, sender, state, version);

  // Rule 5.
  if (membership_of(state, sender) != "join") return refuse("sender is not joined to the room");
  const int64_t sender_level = user_power_level(state, sender, version);

  // Rule 6.
  if (type == "m.room.third_party_invite") {
    if (sender_level >= named_power_level(state, "invite")) return allow();
    return refuse("sender's power level is below the invite level");
  }

  // Rule 7.
  const bool is_state = has_string_field(event, "state_key");
  if (event_power_level(state, type, is_state) > sender_level) {
    return refuse("sender's power level is too low to send " + std::string(type));
  }

  // Rule 8.
  if (is_state) {
    AuthResult owner =
        check_state_key_owner(string_field(event, "state_key"), sender, state, version);
    if (!owner.allowed) return owner;
  }

  // Rule 9.
  if (type == "m.room.power_levels") {
    return check_power_levels_event(*object_field(event, "content"), state, sender, sender_level);
  }
  // Rule 10. (m.room.redaction needs nothing more here: whether the redaction
  // is applied is decided later, against the redacted event.)
  return allow();
}

}  // namespace

std::vector<StateKey> auth_types_for_event(const json::object& event) {
  std::string_view type = string_field(event, "type");
  if (type == "m.room.create") return {};
  std::vector<StateKey> keys = {{"m.room.create", ""},
                                {"m.room.power_levels", ""},
                                {"m.room.member", std::string(string_field(event, "sender"))}};
  auto add = [&keys](std::string_view t, std::string_view state_key) {
    StateKey key{std::string(t), std::string(state_key)};
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  };
  if (type == "m.room.member") {
    const json::object* content = object_field(event, "content");
    std::string_view membership = content ? string_field(*content, "membership") : "";
    if (has_string_field(event, "state_key"))
      add("m.room.member", string_field(event, "state_key"));
    if (membership == "join" || membership == "invite" || membership == "knock") {
      add("m.room.join_rules", "");
    }
    if (content && membership == "invite") {
      const json::object* invite = object_field(*content, "third_party_invite");
      const json::object* signed_part = invite ? object_field(*invite, "signed") : nullptr;
      if (signed_part && has_string_field(*signed_part, "token")) {
        add("m.room.third_party_invite", string_field(*signed_part, "token"));
      }
    }
    if (content && membership == "join" &&
        has_string_field(*content, "join_authorised_via_users_server")) {
      add("m.room.member", string_field(*content, "join_authorised_via_users_server"));
    }
  }
  return keys;
}

StatePdu::StatePdu() {
  static const auto empty = std::make_shared<const json::object>();
  pdu_ = empty;
}

AuthResult check_auth(const json::object& event, const StateMap& auth_state,
                      const RoomVersion& version) {
  try {
    return check_auth_unsafe(event, auth_state, version);
  } catch (const std::exception& e) {
    // e.g. a create event that cannot be canonically encoded for its id.
    return refuse(std::string("malformed event: ") + e.what());
  }
}

}  // namespace atrium::matrix
