#pragma once
// The authorization rules of room versions 10 and 11 (spec, "Room Versions",
// "Authorization rules"), applied to a new event against the auth state it
// selects. Owned state keys (MSC3757) when the room version asks for them.
#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "matrix/room_version.hpp"

namespace atrium::matrix {

namespace json = boost::json;

using StateKey = std::pair<std::string, std::string>;  // (type, state_key)

// The full PDU of a state event, shared and immutable: a caller that keeps
// parsed PDUs (RoomService does, for the auth events of every new event)
// hands them in without a deep copy per check.
class StatePdu {
 public:
  StatePdu();  // an empty object
  StatePdu(json::object pdu) : pdu_(std::make_shared<const json::object>(std::move(pdu))) {}
  StatePdu(std::shared_ptr<const json::object> pdu) : pdu_(std::move(pdu)) {}

  const json::object& operator*() const { return *pdu_; }
  const json::object* operator->() const { return pdu_.get(); }
  operator const json::object&() const { return *pdu_; }
  // The lookups callers made when this was a json::object.
  const json::value* if_contains(std::string_view key) const { return pdu_->if_contains(key); }
  const json::value& at(std::string_view key) const { return pdu_->at(key); }

 private:
  std::shared_ptr<const json::object> pdu_;
};

using StateMap = std::map<StateKey, StatePdu>;

struct AuthResult {
  bool allowed = false;
  std::string reason;  // why it was refused, for the client and the log
};

// The (type, state_key) pairs the auth events of `event` are chosen from:
// create, power_levels, the sender's member, and for m.room.member the
// target's member, join_rules (join/invite/knock),
// third_party_invite (when content.third_party_invite is present), and the
// member event of content.join_authorised_via_users_server (restricted joins).
// An m.room.create event has none.
std::vector<StateKey> auth_types_for_event(const json::object& event);

// `auth_state` holds the current room state for (at least) those pairs.
// Never throws. Signatures are not checked here: the caller verifies the
// sender's server signature and, for restricted joins, that of the server of
// join_authorised_via_users_server (rule 4.2.1). Third-party invites are
// refused. m.room.redaction is authorized like any other event; whether a
// redaction applies is decided when it is applied.
AuthResult check_auth(const json::object& event, const StateMap& auth_state,
                      const RoomVersion& version);

// Power-level helpers over a state map (defaults per spec when no
// m.room.power_levels: creator 100, others 0).
int64_t user_power_level(const StateMap& state, std::string_view user_id,
                         const RoomVersion& version);
int64_t event_power_level(const StateMap& state, std::string_view type, bool is_state);
// A named level of m.room.power_levels: "ban", "kick", "redact" (default 50)
// or "invite" (default 0).
int64_t named_power_level(const StateMap& state, std::string_view name);
// The room creator: content.creator of m.room.create in v10, its sender in v11.
// Empty when there is no create event.
std::string room_creator(const StateMap& state, const RoomVersion& version);

// Auth rule for m.room.power_levels (rule 9 of v10/v11): integer-only levels,
// `users` keyed by valid user ids, and what `sender` (at `sender_level`) may
// change relative to the current power levels in `state`.
AuthResult check_power_levels_event(const json::object& content, const StateMap& state,
                                    std::string_view sender, int64_t sender_level);

}  // namespace atrium::matrix
