#include "homeserver/filter.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver {

namespace {

bool glob_match(std::string_view pattern, std::string_view value) {
  // Filters only use a trailing '*' in practice; support '*' anywhere.
  size_t p = 0, v = 0, star = std::string_view::npos, mark = 0;
  while (v < value.size()) {
    if (p < pattern.size() && pattern[p] == value[v]) {
      ++p;
      ++v;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool any_match(const std::vector<std::string>& patterns, std::string_view value) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return glob_match(p, value); });
}

std::vector<std::string> string_list(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::array* a = matrix::get_array(o, key);
  if (!a) return out;
  for (const auto& v : *a) {
    if (!v.is_string())
      throw MatrixError(Errc::bad_json,
                        "filter field '" + std::string(key) + "' must hold strings");
    out.emplace_back(v.as_string());
  }
  return out;
}

std::optional<std::vector<std::string>> opt_list(const json::object& o, std::string_view key) {
  if (!o.contains(key) || o.at(key).is_null()) return std::nullopt;
  return string_list(o, key);
}

const json::object* sub(const json::object& o, std::string_view key) {
  return matrix::get_object(o, key);
}

}  // namespace

bool EventFilter::matches(const store::Event& event) const {
  if (types && !any_match(*types, event.type)) return false;
  if (any_match(not_types, event.type)) return false;
  if (senders && std::find(senders->begin(), senders->end(), event.sender) == senders->end())
    return false;
  if (std::find(not_senders.begin(), not_senders.end(), event.sender) != not_senders.end())
    return false;
  return allows_room(event.room_id);
}

bool EventFilter::allows_room(const std::string& room_id) const {
  if (rooms && std::find(rooms->begin(), rooms->end(), room_id) == rooms->end()) return false;
  return std::find(not_rooms.begin(), not_rooms.end(), room_id) == not_rooms.end();
}

bool SyncFilter::allows_room(const std::string& room_id) const {
  if (rooms && std::find(rooms->begin(), rooms->end(), room_id) == rooms->end()) return false;
  return std::find(not_rooms.begin(), not_rooms.end(), room_id) == not_rooms.end();
}

EventFilter parse_event_filter(const json::object& o) {
  EventFilter f;
  if (auto limit = matrix::get_int(o, "limit")) {
    if (*limit < 0) throw MatrixError(Errc::bad_json, "filter limit must not be negative");
    f.limit = static_cast<int>(std::min<int64_t>(*limit, 1000));
  }
  f.types = opt_list(o, "types");
  f.not_types = string_list(o, "not_types");
  f.senders = opt_list(o, "senders");
  f.not_senders = string_list(o, "not_senders");
  f.rooms = opt_list(o, "rooms");
  f.not_rooms = string_list(o, "not_rooms");
  f.lazy_load_members = matrix::get_bool(o, "lazy_load_members").value_or(false);
  return f;
}

SyncFilter parse_sync_filter(const json::object& o) {
  SyncFilter f;
  if (auto* ad = sub(o, "account_data")) f.account_data = parse_event_filter(*ad);
  if (auto* p = sub(o, "presence")) f.presence = parse_event_filter(*p);
  if (auto* room = sub(o, "room")) {
    f.rooms = opt_list(*room, "rooms");
    f.not_rooms = string_list(*room, "not_rooms");
    f.include_leave = matrix::get_bool(*room, "include_leave").value_or(false);
    if (auto* t = sub(*room, "timeline")) f.timeline = parse_event_filter(*t);
    if (auto* s = sub(*room, "state")) f.state = parse_event_filter(*s);
    if (auto* e = sub(*room, "ephemeral")) f.ephemeral = parse_event_filter(*e);
    if (auto* a = sub(*room, "account_data")) f.room_account_data = parse_event_filter(*a);
  }
  return f;
}

void validate_filter(const json::object& o) {
  (void)parse_sync_filter(o);
  if (auto* ef = o.if_contains("event_format"); ef) {
    if (!ef->is_string() || (ef->as_string() != "client" && ef->as_string() != "federation"))
      throw MatrixError(Errc::bad_json, "event_format must be 'client' or 'federation'");
  }
}

}  // namespace atrium::homeserver
