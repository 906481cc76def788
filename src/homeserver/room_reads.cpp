// RoomService: the read side (events, state, members, history).
#include <algorithm>
#include <set>

#include "base/error.hpp"
#include "homeserver/client_event.hpp"
#include "homeserver/rooms.hpp"
#include "homeserver/tokens.hpp"
#include "matrix/ids.hpp"

namespace atrium::homeserver {

namespace {

std::string history_visibility(store::Reader& r, const std::string& room_id) {
  if (auto e = r.current_state_event(room_id, "m.room.history_visibility", "")) {
    auto pdu = parse_pdu(*e);
    if (auto* c = pdu.if_contains("content"); c && c->is_object())
      if (auto* v = c->as_object().if_contains("history_visibility"); v && v->is_string())
        return std::string(v->as_string());
  }
  return "shared";
}

FormatOptions format_for(const Requester& who) {
  return {who.user_id, who.device_id, true};
}

}  // namespace

VisibleRange RoomService::visible_range(store::Reader& reader, const std::string& room_id,
                                        const std::string& user_id) {
  auto m = reader.membership(room_id, user_id);
  auto visibility = history_visibility(reader, room_id);
  VisibleRange range;
  if (!m) {
    if (visibility == "world_readable") return range;
    throw MatrixError(Errc::forbidden, "You are not in room " + room_id);
  }
  if (m->membership == "join") {
    if (visibility == "joined" || visibility == "invited") range.lower = m->pos - 1;
    return range;
  }
  if (m->membership == "invite" || m->membership == "knock") {
    if (visibility == "world_readable") return range;
    if (visibility == "invited") {
      range.lower = m->pos - 1;
      return range;
    }
    throw MatrixError(Errc::forbidden, "You are not in room " + room_id);
  }
  // leave or ban: history up to and including the event that ended it.
  if (visibility != "world_readable") range.upper = m->pos;
  if (visibility == "joined" || visibility == "invited") {
    // The start of the last stay is unknown here; the membership rows keep
    // only the latest, so a departed user in a "joined" room sees nothing.
    range.lower = m->pos - 1;
  }
  return range;
}

json::object RoomService::resolve_alias(const std::string& alias) {
  if (!matrix::is_valid_room_alias(alias))
    throw MatrixError(Errc::invalid_param, "'" + alias + "' is not a valid room alias");
  auto target = store_.read()->alias_target(alias);
  if (!target) throw MatrixError(Errc::not_found, "Room alias " + alias + " not found");
  return json::object{{"room_id", *target},
                      {"servers", json::array{json::string(config_.server_name)}}};
}

json::object RoomService::room_aliases(const Requester& who, const std::string& room_id) {
  auto r = store_.read();
  require_room(*r, room_id);
  visible_range(*r, room_id, who.user_id);
  json::array aliases;
  for (auto& a : r->room_aliases(room_id))
    aliases.emplace_back(a);
  return json::object{{"aliases", std::move(aliases)}};
}

json::object RoomService::joined_rooms(const Requester& who) {
  json::array rooms;
  for (const auto& m : store_.read()->memberships_of_user(who.user_id))
    if (m.membership == "join") rooms.emplace_back(m.room_id);
  return json::object{{"joined_rooms", std::move(rooms)}};
}

json::object RoomService::get_event(const Requester& who, const std::string& room_id,
                                    const std::string& event_id) {
  auto r = store_.read();
  require_room(*r, room_id);
  auto event = r->event(event_id);
  if (!event || event->room_id != room_id) throw MatrixError(Errc::not_found, "Event not found");
  auto range = visible_range(*r, room_id, who.user_id);
  if (event->pos <= range.lower || event->pos > range.upper)
    throw MatrixError(Errc::not_found, "Event not found");
  return client_event(*event, *r, format_for(who));
}

json::array RoomService::get_state(const Requester& who, const std::string& room_id) {
  auto r = store_.read();
  require_room(*r, room_id);
  auto range = visible_range(*r, room_id, who.user_id);
  if (range.upper != INT64_MAX)  // departed: the state as they left it
    return client_events(r->state_before(room_id, range.upper + 1), *r, format_for(who));
  return client_events(r->current_state(room_id), *r, format_for(who));
}

json::object RoomService::get_state_event(const Requester& who, const std::string& room_id,
                                          const std::string& type, const std::string& state_key,
                                          bool full_event) {
  auto r = store_.read();
  require_room(*r, room_id);
  auto range = visible_range(*r, room_id, who.user_id);
  std::optional<store::Event> event;
  if (range.upper == INT64_MAX) {
    event = r->current_state_event(room_id, type, state_key);
  } else {
    for (auto& e : r->state_before(room_id, range.upper + 1))
      if (e.type == type && e.state_key == state_key) event = std::move(e);
  }
  if (!event) throw MatrixError(Errc::not_found, "Event not found");
  auto formatted = client_event(*event, *r, format_for(who));
  if (full_event) return formatted;
  return formatted.at("content").as_object();
}

json::object RoomService::members(const Requester& who, const std::string& room_id,
                                  std::optional<std::string> membership,
                                  std::optional<std::string> not_membership) {
  auto r = store_.read();
  require_room(*r, room_id);
  auto range = visible_range(*r, room_id, who.user_id);
  auto state = range.upper == INT64_MAX ? r->current_state(room_id)
                                        : r->state_before(room_id, range.upper + 1);
  json::array chunk;
  for (const auto& e : state) {
    if (e.type != "m.room.member") continue;
    auto formatted = client_event(e, *r, format_for(who));
    auto m = formatted.at("content").as_object().if_contains("membership");
    std::string value = m && m->is_string() ? std::string(m->as_string()) : "";
    if (membership && value != *membership) continue;
    if (not_membership && value == *not_membership) continue;
    chunk.push_back(std::move(formatted));
  }
  return json::object{{"chunk", std::move(chunk)}};
}

json::object RoomService::joined_members(const Requester& who, const std::string& room_id) {
  auto r = store_.read();
  require_room(*r, room_id);
  auto mine = r->membership(room_id, who.user_id);
  if (!mine || mine->membership != "join")
    throw MatrixError(Errc::forbidden, "You are not joined to room " + room_id);
  json::object joined;
  for (const auto& m : r->room_members(room_id)) {
    if (m.membership != "join") continue;
    json::object info;
    if (auto e = r->event(m.event_id)) {
      auto pdu = parse_pdu(*e);
      const auto& content = pdu.at("content").as_object();
      if (auto* d = content.if_contains("displayname"); d && d->is_string())
        info["display_name"] = *d;
      if (auto* a = content.if_contains("avatar_url"); a && a->is_string()) info["avatar_url"] = *a;
    }
    joined[m.user_id] = std::move(info);
  }
  return json::object{{"joined", std::move(joined)}};
}

json::object RoomService::messages(const Requester& who, const std::string& room_id,
                                   const MessagesQuery& q) {
  auto r = store_.read();
  require_room(*r, room_id);
  auto range = visible_range(*r, room_id, who.user_id);
  int64_t from =
      q.from ? parse_stream_token(*q.from).pos : (q.backwards ? store_.committed_pos() : 0);
  int limit = std::clamp(q.limit, 1, 1000);

  // The open interval of positions to walk: (lower, upper].
  int64_t lower, upper;
  if (q.backwards) {
    upper = std::min(from, range.upper);
    lower = range.lower;
    if (q.to) lower = std::max(lower, parse_stream_token(*q.to).pos);
  } else {
    lower = std::max(from, range.lower);
    upper = std::min(range.upper, store_.committed_pos());
    if (q.to) upper = std::min(upper, parse_stream_token(*q.to).pos);
  }

  std::vector<store::Event> chunk;
  bool exhausted = false;
  int64_t cursor_lo = lower, cursor_hi = upper;
  while (static_cast<int>(chunk.size()) < limit && cursor_lo < cursor_hi) {
    int batch = std::max(limit * 2, 50);
    auto page = r->room_events(room_id, cursor_lo, cursor_hi, q.backwards, batch);
    for (auto& e : page) {
      if (q.backwards)
        cursor_hi = e.pos - 1;
      else
        cursor_lo = e.pos;
      if (!q.filter.matches(e)) continue;
      chunk.push_back(std::move(e));
      if (static_cast<int>(chunk.size()) == limit) break;
    }
    if (static_cast<int>(page.size()) < batch) {
      if (static_cast<int>(chunk.size()) < limit) exhausted = true;
      break;
    }
  }
  if (cursor_lo >= cursor_hi) exhausted = true;

  json::object out;
  out["start"] = q.from ? *q.from : make_position_token(from);
  if (!exhausted) out["end"] = make_position_token(q.backwards ? cursor_hi : cursor_lo);
  auto opts = format_for(who);
  out["chunk"] = client_events(chunk, *r, opts);
  if (q.filter.lazy_load_members) {
    std::set<std::string> senders;
    for (const auto& e : chunk)
      senders.insert(e.sender);
    json::array state;
    for (const auto& s : senders)
      if (auto m = r->current_state_event(room_id, "m.room.member", s))
        state.push_back(client_event(*m, *r, opts));
    out["state"] = std::move(state);
  }
  return out;
}

json::object RoomService::context(const Requester& who, const std::string& room_id,
                                  const std::string& event_id, int limit,
                                  const EventFilter& filter) {
  auto r = store_.read();
  require_room(*r, room_id);
  auto range = visible_range(*r, room_id, who.user_id);
  auto event = r->event(event_id);
  if (!event || event->room_id != room_id || event->pos <= range.lower || event->pos > range.upper)
    throw MatrixError(Errc::not_found, "Event not found");
  limit = std::clamp(limit, 0, 100);
  int before_n = limit / 2, after_n = limit - before_n;
  auto opts = format_for(who);

  std::vector<store::Event> before, after;
  for (auto& e : r->room_events(room_id, range.lower, event->pos - 1, true, before_n * 4 + 10))
    if (static_cast<int>(before.size()) < before_n && filter.matches(e)) before.push_back(e);
  int64_t upper = std::min(range.upper, store_.committed_pos());
  for (auto& e : r->room_events(room_id, event->pos, upper, false, after_n * 4 + 10))
    if (static_cast<int>(after.size()) < after_n && filter.matches(e)) after.push_back(e);

  json::object out;
  out["event"] = client_event(*event, *r, opts);
  out["events_before"] = client_events(before, *r, opts);
  out["events_after"] = client_events(after, *r, opts);
  out["start"] = make_position_token(before.empty() ? event->pos - 1 : before.back().pos - 1);
  out["end"] = make_position_token(after.empty() ? event->pos : after.back().pos);
  out["state"] = client_events(r->state_before(room_id, event->pos + 1), *r, opts);
  return out;
}

}  // namespace atrium::homeserver
