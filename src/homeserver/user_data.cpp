#include "homeserver/user_data.hpp"

#include "base/clock.hpp"
#include "base/error.hpp"
#include "homeserver/client_event.hpp"
#include "homeserver/filter.hpp"
#include "matrix/ids.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver {

// ---- typing ----

void TypingService::set_typing(const Requester& who, const std::string& room_id,
                               const std::string& user_id, bool typing, int64_t timeout_ms) {
  if (who.user_id != user_id)
    throw MatrixError(Errc::forbidden, "You may only set your own typing state");
  auto m = store_.read()->membership(room_id, user_id);
  if (!m || m->membership != "join")
    throw MatrixError(Errc::forbidden, "You are not joined to room " + room_id);
  timeout_ms = std::clamp<int64_t>(timeout_ms, 1000, 120000);
  int64_t generation;
  {
    std::lock_guard lock(mutex_);
    auto& room = rooms_[room_id];
    generation = ++generation_;
    bool was = room.users.count(user_id) > 0;
    if (typing)
      room.users[user_id] = generation;
    else
      room.users.erase(user_id);
    if (was != typing) changed(room_id);
  }
  if (typing)
    scheduler_.after(
        timeout_ms, [this, room_id, user_id, generation] { expire(room_id, user_id, generation); });
  std::vector<std::string> wake;
  for (const auto& member : store_.read()->room_members(room_id))
    if (member.membership == "join") wake.push_back(member.user_id);
  notifier_.notify(wake);
}

void TypingService::expire(const std::string& room_id, const std::string& user_id,
                           int64_t generation) {
  {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room_id);
    if (it == rooms_.end()) return;
    auto u = it->second.users.find(user_id);
    if (u == it->second.users.end() || u->second != generation) return;  // renewed since
    it->second.users.erase(u);
    changed(room_id);
  }
  std::vector<std::string> wake;
  for (const auto& member : store_.read()->room_members(room_id))
    if (member.membership == "join") wake.push_back(member.user_id);
  notifier_.notify(wake);
}

void TypingService::changed(const std::string& room_id) {
  rooms_[room_id].serial = ++serial_;
}

int64_t TypingService::serial() const {
  std::lock_guard lock(mutex_);
  return serial_;
}

std::optional<std::vector<std::string>> TypingService::typing_since(const std::string& room_id,
                                                                    int64_t since_serial) const {
  std::lock_guard lock(mutex_);
  auto it = rooms_.find(room_id);
  if (it == rooms_.end() || it->second.serial <= since_serial) return std::nullopt;
  std::vector<std::string> users;
  for (const auto& [user, gen] : it->second.users)
    users.push_back(user);
  return users;
}

// ---- account data, receipts, profiles, filters ----

void UserDataService::require_self(const Requester& who, const std::string& user_id) const {
  if (who.user_id != user_id)
    throw MatrixError(Errc::forbidden, "Cannot access another user's data");
}

void UserDataService::put_account_data(const Requester& who, const std::string& user_id,
                                       const std::string& room_id, const std::string& type,
                                       json::object content, JsonCompletion done) {
  require_self(who, user_id);
  if (type.empty() || type.size() > 255) throw MatrixError(Errc::invalid_param, "Bad type");
  if (type == "m.fully_read" || type == "m.push_rules")
    throw MatrixError(Errc::bad_json, "Cannot set " + type + " through the account data API");
  if (!room_id.empty() && !matrix::is_valid_room_id(room_id))
    throw MatrixError(Errc::invalid_param, "Bad room id");
  std::string body = json::serialize(content);
  if (body.size() > 65536) throw MatrixError(Errc::too_large, "Account data too large");
  store_.write(
      [=, this](store::Writer& w) {
        if (!room_id.empty() && !w.room(room_id))
          throw MatrixError(Errc::not_found, "Unknown room " + room_id);
        w.put_account_data(user_id, room_id, type, body);
        w.after_commit([this, user_id] { notifier_.notify(user_id); });
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

json::object UserDataService::get_account_data(const Requester& who, const std::string& user_id,
                                               const std::string& room_id,
                                               const std::string& type) {
  require_self(who, user_id);
  auto data = store_.read()->account_data(user_id, room_id, type);
  if (!data) throw MatrixError(Errc::not_found, "No account data of type " + type);
  return json::parse(*data).as_object();
}

void UserDataService::write_receipt(store::Writer& w, const Requester& who,
                                    const std::string& room_id, const std::string& type,
                                    const std::string& event_id, const std::string& thread_id) {
  auto event = w.event(event_id);
  if (!event || event->room_id != room_id) throw MatrixError(Errc::not_found, "Unknown event");
  store::Receipt receipt{room_id, who.user_id, type, thread_id, event_id, now_ms(), 0};
  w.put_receipt(receipt);
  std::vector<std::string> wake{who.user_id};
  if (type == "m.read")
    for (const auto& m : w.room_members(room_id))
      if (m.membership == "join") wake.push_back(m.user_id);
  w.after_commit([this, wake] { notifier_.notify(wake); });
}

void UserDataService::post_receipt(const Requester& who, const std::string& room_id,
                                   const std::string& type, const std::string& event_id,
                                   json::object body, JsonCompletion done) {
  if (type != "m.read" && type != "m.read.private" && type != "m.fully_read")
    throw MatrixError(Errc::invalid_param, "Unknown receipt type '" + type + "'");
  auto thread_id = matrix::get_string(body, "thread_id").value_or("");
  if (thread_id == "main") thread_id.clear();
  {
    auto m = store_.read()->membership(room_id, who.user_id);
    if (!m || m->membership != "join")
      throw MatrixError(Errc::forbidden, "You are not joined to room " + room_id);
  }
  store_.write(
      [=, this](store::Writer& w) {
        if (type == "m.fully_read") {
          if (!w.event(event_id)) throw MatrixError(Errc::not_found, "Unknown event");
          w.put_account_data(who.user_id, room_id, "m.fully_read",
                             json::serialize(json::object{{"event_id", event_id}}));
          w.after_commit([this, who] { notifier_.notify(who.user_id); });
          return;
        }
        write_receipt(w, who, room_id, type, event_id, thread_id);
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

void UserDataService::post_read_markers(const Requester& who, const std::string& room_id,
                                        json::object body, JsonCompletion done) {
  auto fully_read = matrix::get_string(body, "m.fully_read");
  auto read = matrix::get_string(body, "m.read");
  auto read_private = matrix::get_string(body, "m.read.private");
  {
    auto m = store_.read()->membership(room_id, who.user_id);
    if (!m || m->membership != "join")
      throw MatrixError(Errc::forbidden, "You are not joined to room " + room_id);
  }
  store_.write(
      [=, this](store::Writer& w) {
        if (fully_read) {
          if (!w.event(*fully_read)) throw MatrixError(Errc::not_found, "Unknown event");
          w.put_account_data(who.user_id, room_id, "m.fully_read",
                             json::serialize(json::object{{"event_id", *fully_read}}));
          w.after_commit([this, who] { notifier_.notify(who.user_id); });
        }
        if (read) write_receipt(w, who, room_id, "m.read", *read, "");
        if (read_private) write_receipt(w, who, room_id, "m.read.private", *read_private, "");
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

json::object UserDataService::get_profile(const std::string& user_id) {
  auto user = store_.read()->user(user_id);
  if (!user || user->deactivated) throw MatrixError(Errc::not_found, "Profile not found");
  json::object out;
  if (!user->displayname.empty()) out["displayname"] = user->displayname;
  if (!user->avatar_url.empty()) out["avatar_url"] = user->avatar_url;
  return out;
}

json::object UserDataService::get_profile_field(const std::string& user_id,
                                                const std::string& field) {
  if (field != "displayname" && field != "avatar_url")
    throw MatrixError(Errc::not_found, "Unknown profile field");
  auto profile = get_profile(user_id);
  if (!profile.contains(field)) throw MatrixError(Errc::not_found, "Profile field not set");
  return json::object{{field, profile.at(field)}};
}

void UserDataService::set_profile_field(const Requester& who, const std::string& user_id,
                                        const std::string& field, json::object body,
                                        JsonCompletion done) {
  require_self(who, user_id);
  if (field != "displayname" && field != "avatar_url")
    throw MatrixError(Errc::bad_json, "Unknown profile field");
  std::string value = matrix::get_string(body, field).value_or("");
  if (value.size() > 256) throw MatrixError(Errc::bad_json, field + " is too long");
  store_.write(
      [=, this](store::Writer& w) {
        auto user = w.user(user_id);
        if (!user) throw MatrixError(Errc::not_found, "No such user");
        (field == "displayname" ? user->displayname : user->avatar_url) = value;
        w.update_user(*user);
        // The profile shows in each joined room through the member event.
        for (const auto& m : w.memberships_of_user(user_id)) {
          if (m.membership != "join") continue;
          auto room = w.room(m.room_id);
          auto current = w.event(m.event_id);
          if (!room || !current) continue;
          json::object content = parse_pdu(*current).at("content").as_object();
          if (value.empty())
            content.erase(field);
          else
            content[field] = value;
          rooms_.append(w, *room,
                        json::object{{"type", "m.room.member"},
                                     {"state_key", user_id},
                                     {"sender", user_id},
                                     {"content", std::move(content)}});
        }
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

void UserDataService::create_filter(const Requester& who, const std::string& user_id,
                                    json::object body, JsonCompletion done) {
  require_self(who, user_id);
  validate_filter(body);
  auto id = std::make_shared<int64_t>(0);
  std::string text = json::serialize(body);
  store_.write([=](store::Writer& w) { *id = w.insert_filter(user_id, text); },
               [id, done](std::exception_ptr e) {
                 done(e, json::object{{"filter_id", std::to_string(*id)}});
               });
}

json::object UserDataService::get_filter(const Requester& who, const std::string& user_id,
                                         const std::string& filter_id) {
  require_self(who, user_id);
  int64_t id = 0;
  try {
    id = std::stoll(filter_id);
  } catch (...) {
    throw MatrixError(Errc::not_found, "No such filter");
  }
  auto text = store_.read()->filter(user_id, id);
  if (!text) throw MatrixError(Errc::not_found, "No such filter");
  return json::parse(*text).as_object();
}

}  // namespace atrium::homeserver
