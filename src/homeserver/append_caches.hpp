#pragma once
// Caches for RoomService::append, which otherwise re-reads and re-parses the
// same rows for every event sent to a busy room. Each entry is checked
// against what the write job reads from the store before it is used, so a
// job that rolls back, or a batch whose commit fails, cannot leave a wrong
// entry in use. append runs on the store's writer thread only; the locks are
// there for safety and are never contended.
#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/store.hpp"

namespace atrium::homeserver {

namespace json = boost::json;

// Parsed PDUs of stored events (the auth events of each new event), by event
// id. A stored PDU changes only when its event is redacted, and an entry is
// used only while the row's pdu_json is the text it was parsed from.
class ParsedPduCache {
 public:
  // Bounds: entries, and bytes of PDU text (state events may be 64 KiB each).
  explicit ParsedPduCache(size_t capacity = 4096, size_t max_bytes = 8 << 20)
      : capacity_(capacity), max_bytes_(max_bytes) {}

  std::shared_ptr<const json::object> parsed(const store::Event& event);
  size_t size() const;

 private:
  struct Entry {
    std::string pdu_json;
    std::shared_ptr<const json::object> pdu;
  };
  const size_t capacity_;
  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  size_t bytes_ = 0;
};

// A state event as the auth checks use it.
struct StateEventRef {
  std::string event_id;
  std::shared_ptr<const json::object> pdu;
};

// The current state events append looks up (its auth events), per room, so
// that a message does not query them again. Entries follow the rule of
// RoomMembersCache below: those of a room hold while its newest event is the
// one they were read at or carried to. A non-state event carries them to
// itself, a state event drops its own (type, state_key), a redaction (it may
// rewrite a cached PDU) drops them all.
class RoomStateCache {
 public:
  // Bounds: rooms, and bytes of the PDU text of the events held.
  explicit RoomStateCache(size_t max_rooms = 10000, size_t max_bytes = 32 << 20)
      : max_rooms_(max_rooms), max_bytes_(max_bytes) {}

  // Inside the write job: the current (type, state_key) event of the room,
  // whose newest event is at `newest_pos`; read (and parsed through `pdus`)
  // on a miss. nullopt when the room has none.
  std::optional<StateEventRef> lookup(store::Reader& r, const std::string& room_id,
                                      int64_t newest_pos, const std::string& type,
                                      const std::string& state_key, ParsedPduCache& pdus);
  // After `event` was inserted, as RoomMembersCache::after_insert.
  void after_insert(const store::Event& event, int64_t previous_pos);

 private:
  struct Cached {
    std::optional<StateEventRef> ref;
    size_t bytes = 0;
  };
  struct Entry {
    int64_t pos = 0;
    size_t bytes = 0;
    std::map<std::pair<std::string, std::string>, Cached> events;
  };
  void drop_events(Entry& entry);

  const size_t max_rooms_;
  const size_t max_bytes_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> rooms_;
  size_t bytes_ = 0;
};

// A room's memberships as Reader::room_members returns them, and the users a
// new event in the room wakes (joined and invited members).
struct RoomMembers {
  std::vector<store::Membership> all;
  std::vector<std::string> joined_or_invited;
};

// Rooms' memberships, so that a message does not read every member. An entry
// says "while the room's newest event is at position P, its memberships are
// these"; it is written just after the event at P was inserted. A non-member
// event leaves the memberships alone, so the entry of the room's previous
// newest event moves on to it; a member event, a missing entry or one for
// another position (its append rolled back, or a failed commit handed its
// position to another event, which replaced the entry) reads them again.
// The `forgotten` flags are as good as the last read (forget() drops the room).
class RoomMembersCache {
 public:
  explicit RoomMembersCache(size_t max_rows = 200000) : max_rows_(max_rows) {}

  // Inside the write job, after `event` was inserted (event.pos set);
  // `previous_pos` is the position of the room's newest event before it
  // (0 when it is the first).
  std::shared_ptr<const RoomMembers> after_insert(store::Reader& r, const store::Event& event,
                                                  int64_t previous_pos);
  void forget(const std::string& room_id);

 private:
  struct Entry {
    int64_t pos = 0;
    std::shared_ptr<const RoomMembers> members;
  };
  const size_t max_rows_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> rooms_;
  size_t rows_ = 0;  // memberships held, for the bound
};

}  // namespace atrium::homeserver
