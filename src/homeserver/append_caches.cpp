#include "homeserver/append_caches.hpp"

#include "homeserver/client_event.hpp"

namespace atrium::homeserver {

std::shared_ptr<const json::object> ParsedPduCache::parsed(const store::Event& event) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(event.event_id);
        it != entries_.end() && it->second.pdu_json == event.pdu_json)
      return it->second.pdu;
  }
  auto pdu = std::make_shared<const json::object>(parse_pdu(event));
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(event.event_id); it != entries_.end()) {
    bytes_ -= it->second.pdu_json.size();
    entries_.erase(it);
  }
  if (entries_.size() >= capacity_ || bytes_ + event.pdu_json.size() > max_bytes_) {
    entries_.clear();  // a bound, not an LRU
    bytes_ = 0;
  }
  bytes_ += event.pdu_json.size();
  entries_.emplace(event.event_id, Entry{event.pdu_json, pdu});
  return pdu;
}

size_t ParsedPduCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::optional<StateEventRef> RoomStateCache::lookup(store::Reader& r, const std::string& room_id,
                                                    int64_t newest_pos, const std::string& type,
                                                    const std::string& state_key,
                                                    ParsedPduCache& pdus) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it != rooms_.end()) {
    Entry& entry = it->second;
    if (entry.pos != newest_pos || newest_pos == 0) {
      drop_events(entry);
      entry.pos = newest_pos;
    }
    if (auto found = entry.events.find({type, state_key}); found != entry.events.end())
      return found->second.ref;
  }
  Cached cached;
  if (auto e = r.current_state_event(room_id, type, state_key)) {
    cached.ref = StateEventRef{e->event_id, pdus.parsed(*e)};
    cached.bytes = e->pdu_json.size();
  }
  if ((it == rooms_.end() && rooms_.size() >= max_rooms_) || bytes_ + cached.bytes > max_bytes_) {
    rooms_.clear();  // a bound, not an LRU
    bytes_ = 0;
    it = rooms_.end();
  }
  if (it == rooms_.end()) it = rooms_.emplace(room_id, Entry{newest_pos, 0, {}}).first;
  it->second.bytes += cached.bytes;
  bytes_ += cached.bytes;
  auto ref = cached.ref;
  it->second.events.emplace(std::make_pair(type, state_key), std::move(cached));
  return ref;
}

void RoomStateCache::drop_events(Entry& entry) {
  bytes_ -= entry.bytes;
  entry.bytes = 0;
  entry.events.clear();
}

void RoomStateCache::after_insert(const store::Event& event, int64_t previous_pos) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(event.room_id);
  if (it == rooms_.end()) return;
  Entry& entry = it->second;
  if (entry.pos != previous_pos || previous_pos == 0 || event.type == "m.room.redaction") {
    drop_events(entry);
  } else if (event.state_key) {
    if (auto found = entry.events.find({event.type, *event.state_key});
        found != entry.events.end()) {
      entry.bytes -= found->second.bytes;
      bytes_ -= found->second.bytes;
      entry.events.erase(found);
    }
  }
  entry.pos = event.pos;
}

std::shared_ptr<const RoomMembers> RoomMembersCache::after_insert(store::Reader& r,
                                                                  const store::Event& event,
                                                                  int64_t previous_pos) {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(event.room_id);
  if (it != rooms_.end() && event.type != "m.room.member" && previous_pos != 0 &&
      it->second.pos == previous_pos) {
    it->second.pos = event.pos;
    return it->second.members;
  }
  auto members = std::make_shared<RoomMembers>();
  members->all = r.room_members(event.room_id);
  for (const auto& m : members->all)
    if (m.membership == "join" || m.membership == "invite")
      members->joined_or_invited.push_back(m.user_id);
  if (it != rooms_.end()) rows_ -= it->second.members->all.size();
  if (rows_ + members->all.size() > max_rows_) {  // a bound, not an LRU
    rooms_.clear();
    rows_ = 0;
  }
  rows_ += members->all.size();
  rooms_[event.room_id] = Entry{event.pos, members};
  return members;
}

void RoomMembersCache::forget(const std::string& room_id) {
  std::lock_guard lock(mutex_);
  if (auto it = rooms_.find(room_id); it != rooms_.end()) {
    rows_ -= it->second.members->all.size();
    rooms_.erase(it);
  }
}

}  // namespace atrium::homeserver
