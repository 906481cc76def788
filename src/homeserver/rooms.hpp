#pragma once
// Rooms: creating them, appending events (built, authorized against the
// current state, signed, stored durably), memberships, redactions, aliases,
// and the read side (events, state, members, history).
#include <optional>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "base/rate_limiter.hpp"
#include "homeserver/append_caches.hpp"
#include "homeserver/common.hpp"
#include "homeserver/filter.hpp"
#include "homeserver/notifier.hpp"
#include "matrix/event.hpp"
#include "matrix/room_version.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

// Positions of a room's timeline a user may see: (lower, upper].
struct VisibleRange {
  int64_t lower = 0;
  int64_t upper = INT64_MAX;
};

struct MessagesQuery {
  std::optional<std::string> from;
  std::optional<std::string> to;
  bool backwards = true;
  int limit = 10;
  EventFilter filter;
};

class RoomService {
 public:
  RoomService(const Config& config, store::Store& store, const matrix::SigningKey& key,
              Notifier& notifier);

  // Writes (answer after the commit is durable).
  void create_room(const Requester& who, json::object body, JsonCompletion done);
  // sticky_duration_ms > 0 makes it a sticky event (MSC4354), capped by the caller.
  void send_event(const Requester& who, const std::string& room_id, const std::string& type,
                  const std::string& txn_id, json::object content, int64_t sticky_duration_ms,
                  JsonCompletion done);
  void put_state(const Requester& who, const std::string& room_id, const std::string& type,
                 const std::string& state_key, json::object content, JsonCompletion done);
  void redact(const Requester& who, const std::string& room_id, const std::string& event_id,
              const std::string& txn_id, json::object body, JsonCompletion done);
  void join(const Requester& who, const std::string& room_id_or_alias, json::object body,
            JsonCompletion done);
  // invite, leave (target == sender), kick (leave of another), ban, unban.
  void change_membership(const Requester& who, const std::string& room_id,
                         const std::string& action, json::object body, JsonCompletion done);
  void forget(const Requester& who, const std::string& room_id, JsonCompletion done);
  void put_alias(const Requester& who, const std::string& alias, json::object body,
                 JsonCompletion done);
  void delete_alias(const Requester& who, const std::string& alias, JsonCompletion done);

  // Reads.
  json::object resolve_alias(const std::string& alias);
  json::object room_aliases(const Requester& who, const std::string& room_id);
  json::object joined_rooms(const Requester& who);
  json::object get_event(const Requester& who, const std::string& room_id,
                         const std::string& event_id);
  json::array get_state(const Requester& who, const std::string& room_id);
  json::object get_state_event(const Requester& who, const std::string& room_id,
                               const std::string& type, const std::string& state_key,
                               bool full_event);
  json::object members(const Requester& who, const std::string& room_id,
                       std::optional<std::string> membership,
                       std::optional<std::string> not_membership);
  json::object joined_members(const Requester& who, const std::string& room_id);
  json::object messages(const Requester& who, const std::string& room_id,
                        const MessagesQuery& query);
  json::object context(const Requester& who, const std::string& room_id,
                       const std::string& event_id, int limit, const EventFilter& filter);

  // Shared with sync: what part of a room's timeline `user_id` may see.
  // Throws M_FORBIDDEN when none.
  static VisibleRange visible_range(store::Reader& reader, const std::string& room_id,
                                    const std::string& user_id);

  // Builds, authorizes, signs and appends one event inside a write job.
  // `draft` holds type, sender, content and optionally state_key. Wakes the
  // room's members after the commit.
  store::Event append(store::Writer& w, const store::Room& room, json::object draft,
                      const std::string& txn_device = {}, const std::string& txn_id = {});

  const Config& config() const { return config_; }

  // Called inside the write job after each appended event (push rules are
  // evaluated there); may throw to refuse the event. Set once, at start.
  // `members` is the room's membership after the event (RoomMembersCache).
  using AppendHook =
      std::function<void(store::Writer&, const store::Room&, const store::Event&,
                         const json::object& pdu, const std::vector<store::Membership>& members)>;
  void set_append_hook(AppendHook hook) { append_hook_ = std::move(hook); }

  // MSC3757 rooms: a state key starting with '@' must start with a user id
  // (M_BAD_JSON otherwise); whether the sender may write it is an auth rule.
  void check_owned_state_key(const std::string& room_id, const std::string& state_key);

 private:
  const matrix::RoomVersion& version_of(const store::Room& room) const;
  store::Room require_room(store::Reader& r, const std::string& room_id) const;
  json::object member_content(store::Reader& r, const std::string& user_id,
                              const std::string& membership) const;
  // Sends an event and answers {"event_id": ...}. took_message_token: the
  // caller took a message_limiter_ token, returned if txn_id is a retry.
  void write_event(const Requester& who, const std::string& room_id, json::object draft,
                   const std::string& txn_id, JsonCompletion done, bool took_message_token = false);

  const Config& config_;
  store::Store& store_;
  const matrix::SigningKey& key_;
  Notifier& notifier_;
  RateLimiter message_limiter_;
  AppendHook append_hook_;
  ParsedPduCache auth_pdus_;
  RoomStateCache auth_events_;
  RoomMembersCache members_;
};

}  // namespace atrium::homeserver
