// RoomService: the write side.
#include "homeserver/rooms.hpp"

#include <set>

#include "base/clock.hpp"
#include "base/error.hpp"
#include "base/random.hpp"
#include "homeserver/client_event.hpp"
#include "homeserver/relations.hpp"
#include "matrix/auth_rules.hpp"
#include "matrix/ids.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver {

RoomService::RoomService(const Config& config, store::Store& store, const matrix::SigningKey& key,
                         Notifier& notifier)
    : config_(config),
      store_(store),
      key_(key),
      notifier_(notifier),
      message_limiter_(config.rc_message) {}

const matrix::RoomVersion& RoomService::version_of(const store::Room& room) const {
  const auto* v = matrix::find_room_version(room.room_version);
  if (!v) throw MatrixError(Errc::unsupported_room_version, "Unsupported room version");
  return *v;
}

store::Room RoomService::require_room(store::Reader& r, const std::string& room_id) const {
  if (!matrix::is_valid_room_id(room_id))
    throw MatrixError(Errc::invalid_param, "'" + room_id + "' is not a valid room id");
  auto room = r.room(room_id);
  if (!room) throw MatrixError(Errc::not_found, "Unknown room " + room_id);
  return *room;
}

json::object RoomService::member_content(store::Reader& r, const std::string& user_id,
                                         const std::string& membership) const {
  json::object content{{"membership", membership}};
  if (membership == "join") {
    if (auto user = r.user(user_id)) {
      if (!user->displayname.empty()) content["displayname"] = user->displayname;
      if (!user->avatar_url.empty()) content["avatar_url"] = user->avatar_url;
    }
  }
  return content;
}

store::Event RoomService::append(store::Writer& w, const store::Room& room, json::object draft,
                                 const std::string& txn_device, const std::string& txn_id) {
  const auto& version = version_of(room);
  draft["room_id"] = room.room_id;
  draft["origin_server_ts"] = now_ms();

  json::array prev_events;
  int64_t depth = 1;
  int64_t previous_pos = 0;  // the room's newest event before this one
  for (const auto& e : w.room_forward_extremities(room.room_id)) {
    prev_events.emplace_back(e.event_id);
    depth = std::max(depth, e.depth + 1);
    previous_pos = std::max(previous_pos, e.pos);
  }
  matrix::StateMap auth_state;
  json::array auth_events;
  for (const auto& [type, key] : matrix::auth_types_for_event(draft)) {
    if (auto e = auth_events_.lookup(w, room.room_id, previous_pos, type, key, auth_pdus_)) {
      auth_state.emplace(matrix::StateKey{type, key}, std::move(e->pdu));
      auth_events.emplace_back(e->event_id);
    }
  }
  draft["auth_events"] = std::move(auth_events);
  draft["prev_events"] = std::move(prev_events);
  draft["depth"] = depth;

  auto verdict = matrix::check_auth(draft, auth_state, version);
  if (!verdict.allowed) throw MatrixError(Errc::forbidden, verdict.reason);

  size_t size = 0;
  std::string event_id = matrix::finalize_event(draft, config_.server_name, key_, version, &size);
  if (size > matrix::kMaxEventBytes)
    throw MatrixError(Errc::too_large, "Event is larger than 65536 bytes");

  store::Event row;
  row.event_id = event_id;
  row.room_id = room.room_id;
  row.type = std::string(draft.at("type").as_string());
  if (auto* sk = draft.if_contains("state_key")) row.state_key = std::string(sk->as_string());
  row.sender = std::string(draft.at("sender").as_string());
  row.origin_server_ts = draft.at("origin_server_ts").as_int64();
  row.depth = depth;
  row.pdu_json = json::serialize(draft);
  row.txn_device = txn_device;
  row.txn_id = txn_id;
  if (auto* sticky = draft.if_contains("msc4354_sticky"); sticky && sticky->is_object())
    if (auto* d = sticky->as_object().if_contains("duration_ms"); d && d->is_int64())
      row.sticky_until = row.origin_server_ts + d->as_int64();
  if (row.state_key) {
    if (auto prev = w.current_state_event(room.room_id, row.type, *row.state_key))
      row.replaces_state = prev->event_id;
    // MSC4140: someone else's write to this state replaces a pending delayed one.
    w.cancel_delayed_state(room.room_id, row.type, *row.state_key, row.sender, now_ms());
  }
  w.insert_event(row);
  index_relation(w, row, draft);

  if (row.type == "m.room.redaction") {
    // v11 keeps the target in content; older versions at the top level.
    std::string target;
    if (auto* r = draft.if_contains("redacts"); r && r->is_string()) target = r->as_string();
    if (auto* c = draft.at("content").as_object().if_contains("redacts"); c && c->is_string())
      target = c->as_string();
    if (auto victim = w.event(target);
        victim && victim->room_id == room.room_id && victim->redacted_by.empty()) {
      w.redact_event(victim->event_id, json::serialize(matrix::redact(parse_pdu(*victim), version)),
                     event_id);
      forget_redacted_event(w, *victim);
    }
  }
  auth_events_.after_insert(row, previous_pos);
  auto members = members_.after_insert(w, row, previous_pos);
  if (append_hook_) append_hook_(w, room, row, draft, members->all);

  // Everyone who can see the room hears about it, including a user who was
  // just invited, kicked or banned.
  std::string target;  // a member event's target that is not joined or invited
  if (row.type == "m.room.member") {
    auto* membership = draft.at("content").as_object().if_contains("membership");
    if (!membership || !membership->is_string() ||
        (membership->as_string() != "join" && membership->as_string() != "invite"))
      target = *row.state_key;
  }
  w.after_commit([this, members, target = std::move(target)] {
    notifier_.notify(members->joined_or_invited);
    if (!target.empty()) notifier_.notify(target);
  });
  return row;
}

void RoomService::write_event(const Requester& who, const std::string& room_id, json::object draft,
                              const std::string& txn_id, JsonCompletion done,
                              bool took_message_token) {
  auto result = std::make_shared<std::string>();
  // The store runs a job once: the draft moves into append instead of a copy.
  store_.write(
      [=, this, draft = std::move(draft)](store::Writer& w) mutable {
        if (!txn_id.empty()) {
          if (auto existing = w.txn_event(who.user_id, who.device_id, txn_id)) {
            *result = *existing;
            // A retry sends nothing: it must not use up the sender's rate.
            if (took_message_token) message_limiter_.give_back(who.user_id);
            return;
          }
        }
        auto room = require_room(w, room_id);
        auto event = append(w, room, std::move(draft), who.device_id, txn_id);
        if (!txn_id.empty()) w.insert_txn(who.user_id, who.device_id, txn_id, event.event_id);
        *result = event.event_id;
      },
      [result, done](std::exception_ptr e) {
        done(e, json::object{{"event_id", *result}});
      });
}

void RoomService::send_event(const Requester& who, const std::string& room_id,
                             const std::string& type, const std::string& txn_id,
                             json::object content, int64_t sticky_duration_ms,
                             JsonCompletion done) {
  // A retried transaction answers with the event it already created: the
  // write job looks it up first, so a send reads nothing here. Over the rate
  // limit, a retry is still answered.
  if (auto wait = message_limiter_.take(who.user_id, now_ms())) {
    if (auto existing = store_.read()->txn_event(who.user_id, who.device_id, txn_id))
      return done(nullptr, json::object{{"event_id", *existing}});
    throw limit_exceeded(wait);
  }
  if (type.empty() || type.size() > 255) throw MatrixError(Errc::invalid_param, "Bad event type");
  json::object draft{{"type", type}, {"sender", who.user_id}, {"content", std::move(content)}};
  if (sticky_duration_ms > 0)
    draft["msc4354_sticky"] = json::object{{"duration_ms", sticky_duration_ms}};
  write_event(who, room_id, std::move(draft), txn_id, std::move(done),
              /*took_message_token=*/true);
}

void RoomService::check_owned_state_key(const std::string& room_id, const std::string& state_key) {
  if (state_key.empty() || state_key[0] != '@') return;
  auto room = store_.read()->room(room_id);
  if (!room || !version_of(*room).owned_state_keys) return;
  // MSC3757: "@user:server" or "@user:server_suffix"; anything else is malformed.
  size_t colon = state_key.find(':');
  size_t underscore = colon == std::string::npos ? std::string::npos : state_key.find('_', colon);
  if (!matrix::is_valid_user_id(std::string_view(state_key).substr(0, underscore)))
    throw MatrixError(Errc::bad_json,
                      "State key '" + state_key + "' starts with '@' but not with a user id");
}

void RoomService::put_state(const Requester& who, const std::string& room_id,
                            const std::string& type, const std::string& state_key,
                            json::object content, JsonCompletion done) {
  if (type.empty() || type.size() > 255) throw MatrixError(Errc::invalid_param, "Bad event type");
  if (state_key.size() > 255) throw MatrixError(Errc::invalid_param, "State key too long");
  if (type == "m.room.member")
    throw MatrixError(Errc::forbidden, "Use the membership endpoints to change membership");
  check_owned_state_key(room_id, state_key);
  json::object draft{{"type", type},
                     {"state_key", state_key},
                     {"sender", who.user_id},
                     {"content", std::move(content)}};
  write_event(who, room_id, std::move(draft), "", std::move(done));
}

void RoomService::redact(const Requester& who, const std::string& room_id,
                         const std::string& event_id, const std::string& txn_id, json::object body,
                         JsonCompletion done) {
  if (auto existing = store_.read()->txn_event(who.user_id, who.device_id, txn_id))
    return done(nullptr, json::object{{"event_id", *existing}});
  auto result = std::make_shared<std::string>();
  store_.write(
      [=, this](store::Writer& w) {
        if (auto existing = w.txn_event(who.user_id, who.device_id, txn_id)) {
          *result = *existing;
          return;
        }
        auto room = require_room(w, room_id);
        auto target = w.event(event_id);
        if (!target || target->room_id != room_id)
          throw MatrixError(Errc::not_found, "Unknown event " + event_id);
        // Redacting someone else's event needs the redact power level.
        if (target->sender != who.user_id) {
          matrix::StateMap state;
          for (const auto& e : w.current_state(room_id))
            if (e.type == "m.room.power_levels" || e.type == "m.room.create")
              state.emplace(matrix::StateKey{e.type, *e.state_key}, parse_pdu(e));
          int64_t mine = matrix::user_power_level(state, who.user_id, version_of(room));
          int64_t needed = 50;
          if (auto pl = state.find({"m.room.power_levels", ""}); pl != state.end())
            if (auto* c = pl->second.if_contains("content"))
              if (auto* r = c->as_object().if_contains("redact"); r && r->is_int64())
                needed = r->as_int64();
          if (mine < needed)
            throw MatrixError(Errc::forbidden, "You may only redact your own events");
        }
        json::object content = body;
        const auto& version = version_of(room);
        json::object draft{{"type", "m.room.redaction"}, {"sender", who.user_id}};
        if (version.v11_rules)
          content["redacts"] = event_id;
        else
          draft["redacts"] = event_id;
        draft["content"] = std::move(content);
        auto event = append(w, room, std::move(draft), who.device_id, txn_id);
        w.insert_txn(who.user_id, who.device_id, txn_id, event.event_id);
        *result = event.event_id;
      },
      [result, done](std::exception_ptr e) {
        done(e, json::object{{"event_id", *result}});
      });
}

void RoomService::join(const Requester& who, const std::string& room_id_or_alias, json::object body,
                       JsonCompletion done) {
  std::string room_id = room_id_or_alias;
  if (!room_id.empty() && room_id[0] == '#') {
    auto target = store_.read()->alias_target(room_id);
    if (!target) throw MatrixError(Errc::not_found, "Room alias " + room_id + " not found");
    room_id = *target;
  }
  auto reason = matrix::get_string(body, "reason");
  store_.write(
      [=, this](store::Writer& w) {
        auto room = require_room(w, room_id);
        auto current = w.membership(room_id, who.user_id);
        if (current && current->membership == "join") return;  // already joined
        auto content = member_content(w, who.user_id, "join");
        if (reason) content["reason"] = *reason;
        append(w, room,
               json::object{{"type", "m.room.member"},
                            {"state_key", who.user_id},
                            {"sender", who.user_id},
                            {"content", std::move(content)}});
      },
      [room_id, done](std::exception_ptr e) {
        done(e, json::object{{"room_id", room_id}});
      });
}

void RoomService::change_membership(const Requester& who, const std::string& room_id,
                                    const std::string& action, json::object body,
                                    JsonCompletion done) {
  std::string target = who.user_id;
  if (action != "leave") {
    target = matrix::require_string(body, "user_id");
    if (!matrix::is_valid_user_id(target))
      throw MatrixError(Errc::invalid_param, "'" + target + "' is not a valid user id");
  }
  if (action == "invite" && matrix::server_name_of(target) != config_.server_name)
    throw MatrixError(Errc::forbidden, "Federation is not supported: cannot invite " + target);
  auto reason = matrix::get_string(body, "reason");
  store_.write(
      [=, this](store::Writer& w) {
        auto room = require_room(w, room_id);
        auto current = w.membership(room_id, target);
        std::string membership;
        if (action == "invite") {
          if (!w.user(target)) throw MatrixError(Errc::not_found, "Unknown user " + target);
          if (current && current->membership == "invite") return;  // idempotent
          membership = "invite";
        } else if (action == "leave") {
          if (!current || current->membership == "leave")
            throw MatrixError(Errc::forbidden, "You are not in room " + room_id);
          membership = "leave";
        } else if (action == "kick") {
          if (!current || (current->membership != "join" && current->membership != "invite" &&
                           current->membership != "knock"))
            throw MatrixError(Errc::forbidden, target + " is not in the room");
          membership = "leave";
        } else if (action == "ban") {
          membership = "ban";
        } else if (action == "unban") {
          if (!current || current->membership != "ban")
            throw MatrixError(Errc::forbidden, target + " is not banned");
          membership = "leave";
        } else {
          throw MatrixError(Errc::unrecognized, "Unknown membership action");
        }
        json::object content{{"membership", membership}};
        if (reason) content["reason"] = *reason;
        if (action == "invite")
          if (auto user = w.user(target); user && !user->displayname.empty())
            content["displayname"] = user->displayname;
        if (auto is_direct = matrix::get_bool(body, "is_direct")) content["is_direct"] = *is_direct;
        append(w, room,
               json::object{{"type", "m.room.member"},
                            {"state_key", target},
                            {"sender", who.user_id},
                            {"content", std::move(content)}});
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

void RoomService::forget(const Requester& who, const std::string& room_id, JsonCompletion done) {
  store_.write(
      [=, this](store::Writer& w) {
        auto m = w.membership(room_id, who.user_id);
        if (!m) throw MatrixError(Errc::not_found, "You have never been in room " + room_id);
        if (m->membership == "join" || m->membership == "invite")
          throw MatrixError(Errc::unknown, 400, "Leave the room before forgetting it");
        w.set_forgotten(room_id, who.user_id);
        members_.forget(room_id);
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

void RoomService::put_alias(const Requester& who, const std::string& alias, json::object body,
                            JsonCompletion done) {
  if (!matrix::is_valid_room_alias(alias) || matrix::server_name_of(alias) != config_.server_name)
    throw MatrixError(Errc::invalid_param, "'" + alias + "' is not a local room alias");
  auto room_id = matrix::require_string(body, "room_id");
  store_.write(
      [=, this](store::Writer& w) {
        require_room(w, room_id);
        if (w.alias_target(alias))
          throw MatrixError(Errc::unknown, 409, "Room alias already exists");
        auto m = w.membership(room_id, who.user_id);
        if (!m || m->membership != "join")
          throw MatrixError(Errc::forbidden, "You must be in the room to add an alias");
        w.insert_alias(alias, room_id, who.user_id);
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

void RoomService::delete_alias(const Requester& who, const std::string& alias,
                               JsonCompletion done) {
  store_.write(
      [=](store::Writer& w) {
        auto target = w.alias_target(alias);
        if (!target) throw MatrixError(Errc::not_found, "Room alias not found");
        auto m = w.membership(*target, who.user_id);
        if (!m || m->membership != "join")
          throw MatrixError(Errc::forbidden, "You must be in the room to remove its alias");
        w.delete_alias(alias);
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

}  // namespace atrium::homeserver
