#pragma once
// Per-user data that is not room timeline: account data (global and per
// room), read receipts and read markers, typing notifications, profiles.
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "homeserver/common.hpp"
#include "homeserver/notifier.hpp"
#include "homeserver/rooms.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

// Typing is ephemeral: kept in memory, numbered by its own serial so that
// /sync tokens can say which typing state a client has seen.
class TypingService {
 public:
  TypingService(store::Store& store, Notifier& notifier, net::Scheduler& scheduler)
      : store_(store), notifier_(notifier), scheduler_(scheduler) {}

  void set_typing(const Requester& who, const std::string& room_id, const std::string& user_id,
                  bool typing, int64_t timeout_ms);
  int64_t serial() const;
  // The users typing in the room, if it changed after `since_serial`.
  std::optional<std::vector<std::string>> typing_since(const std::string& room_id,
                                                       int64_t since_serial) const;

 private:
  void expire(const std::string& room_id, const std::string& user_id, int64_t generation);
  void changed(const std::string& room_id);  // caller holds mutex_

  struct RoomTyping {
    std::map<std::string, int64_t> users;  // user -> generation of its timer
    int64_t serial = 0;
  };
  store::Store& store_;
  Notifier& notifier_;
  net::Scheduler& scheduler_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, RoomTyping> rooms_;
  int64_t serial_ = 0;
  int64_t generation_ = 0;
};

class UserDataService {
 public:
  UserDataService(const Config& config, store::Store& store, Notifier& notifier, RoomService& rooms)
      : config_(config), store_(store), notifier_(notifier), rooms_(rooms) {}

  void put_account_data(const Requester& who, const std::string& user_id,
                        const std::string& room_id, const std::string& type, json::object content,
                        JsonCompletion done);
  json::object get_account_data(const Requester& who, const std::string& user_id,
                                const std::string& room_id, const std::string& type);

  void post_receipt(const Requester& who, const std::string& room_id, const std::string& type,
                    const std::string& event_id, json::object body, JsonCompletion done);
  void post_read_markers(const Requester& who, const std::string& room_id, json::object body,
                         JsonCompletion done);

  json::object get_profile(const std::string& user_id);
  json::object get_profile_field(const std::string& user_id, const std::string& field);
  // Sets displayname or avatar_url and updates the user's member events.
  void set_profile_field(const Requester& who, const std::string& user_id, const std::string& field,
                         json::object body, JsonCompletion done);

  // POST /user/{userId}/filter and GET .../filter/{id}.
  void create_filter(const Requester& who, const std::string& user_id, json::object body,
                     JsonCompletion done);
  json::object get_filter(const Requester& who, const std::string& user_id,
                          const std::string& filter_id);

 private:
  void require_self(const Requester& who, const std::string& user_id) const;
  // Writes one receipt row inside a job; m.read is seen by the room, the
  // private kind only by its owner.
  void write_receipt(store::Writer& w, const Requester& who, const std::string& room_id,
                     const std::string& type, const std::string& event_id,
                     const std::string& thread_id);

  const Config& config_;
  store::Store& store_;
  Notifier& notifier_;
  RoomService& rooms_;
};

}  // namespace atrium::homeserver
