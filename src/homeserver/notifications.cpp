#include "homeserver/notifications.hpp"

#include <charconv>
#include <limits>
#include <map>

#include "base/error.hpp"
#include "homeserver/client_event.hpp"
#include "homeserver/push_eval.hpp"
#include "matrix/auth_rules.hpp"

namespace atrium::homeserver {

namespace {

constexpr int64_t kDefaultNotifyLevel = 50;  // power_levels.notifications.* default

// Whether the sender's power level reaches power_levels.notifications[key];
// the room state is read on first use only.
class SenderPermission {
 public:
  SenderPermission(store::Reader& r, const store::Room& room, std::string sender)
      : r_(r), room_(room), sender_(std::move(sender)) {}

  bool operator()(std::string_view key) {
    if (!level_) {
      matrix::StateMap state;
      for (const char* type : {"m.room.create", "m.room.power_levels"})
        if (auto e = r_.current_state_event(room_.room_id, type, ""))
          state.emplace(matrix::StateKey{type, ""}, parse_pdu(*e));
      const auto* version = matrix::find_room_version(room_.room_version);
      level_ = version ? matrix::user_power_level(state, sender_, *version) : 0;
      if (auto it = state.find({"m.room.power_levels", ""}); it != state.end())
        if (auto* c = it->second.if_contains("content"); c && c->is_object())
          if (auto* n = c->as_object().if_contains("notifications"); n && n->is_object())
            notifications_ = n->as_object();
    }
    int64_t needed = kDefaultNotifyLevel;
    if (auto* v = notifications_.if_contains(key); v && v->is_int64()) needed = v->as_int64();
    return *level_ >= needed;
  }

 private:
  store::Reader& r_;
  const store::Room& room_;
  std::string sender_;
  std::optional<int64_t> level_;
  json::object notifications_;
};

std::string display_name_in_room(store::Reader& r, const std::string& room_id,
                                 const std::string& user_id) {
  auto member = r.current_state_event(room_id, "m.room.member", user_id);
  if (!member) return {};
  auto pdu = parse_pdu(*member);
  auto* content = pdu.if_contains("content");
  if (!content || !content->is_object()) return {};
  auto* name = content->as_object().if_contains("displayname");
  return name && name->is_string() ? std::string(name->as_string()) : std::string();
}

}  // namespace

std::string NotificationService::display_name(store::Reader& r, const std::string& room_id,
                                              const store::Membership& member) {
  // A member event's content never changes (a redaction clears the cache),
  // so its event id keys the name: one query per member event, not per message.
  std::lock_guard lock(names_mutex_);
  if (auto it = names_.find(member.event_id); it != names_.end()) return it->second;
  auto name = display_name_in_room(r, room_id, member.user_id);
  if (names_.size() > 100000) names_.clear();  // a bound, not an LRU
  names_.emplace(member.event_id, name);
  return name;
}

void NotificationService::on_appended(store::Writer& w, const store::Room& room,
                                      const store::Event& event, const json::object& pdu,
                                      const std::vector<store::Membership>& members) {
  if (event.type == "m.room.redaction") {
    std::lock_guard lock(names_mutex_);
    names_.clear();
  }
  std::vector<const store::Membership*> recipients;
  int64_t joined = 0;
  for (const auto& m : members) {
    if (m.membership == "join") ++joined;
    if (m.user_id == event.sender) continue;
    if (m.membership == "join" || (m.membership == "invite" && m.event_id == event.event_id))
      recipients.push_back(&m);
  }
  if (recipients.empty()) return;

  SenderPermission permission(w, room, event.sender);
  const store::Membership* current = nullptr;
  PushContext ctx{pdu,
                  {},
                  joined,
                  [&] { return display_name(w, room.room_id, *current); },
                  [&](std::string_view key) { return permission(key); }};
  std::vector<std::string> notified;
  std::vector<store::Notification> rows;
  for (const auto* m : recipients) {
    current = m;
    ctx.user_id = m->user_id;
    auto rules = rules_.compiled_rules_for(w, m->user_id);
    const auto* match = rules->evaluate(ctx);
    if (!match || !match->notify) continue;
    store::Notification row;
    row.user_id = m->user_id;
    row.room_id = room.room_id;
    row.event_id = event.event_id;
    row.pos = event.pos;
    row.ts = event.origin_server_ts;
    row.highlight = match->highlight;
    row.actions_json = json::serialize(match->actions);
    rows.push_back(std::move(row));
    notified.push_back(m->user_id);
  }
  if (!rows.empty()) w.insert_notifications(rows);
  if (!notified.empty())
    w.after_commit([this, notified = std::move(notified)] { pushers_.poke(notified); });
}

json::object NotificationService::list(const Requester& who, const std::optional<std::string>& from,
                                       std::optional<int64_t> limit, bool only_highlight) {
  int64_t before = INT64_MAX;
  if (from && !from->empty()) {
    auto [p, ec] = std::from_chars(from->data(), from->data() + from->size(), before);
    if (ec != std::errc() || p != from->data() + from->size())
      throw MatrixError(Errc::invalid_param, "'from' is not a token this server gave out");
  }
  int64_t n = limit.value_or(20);
  if (n < 1) throw MatrixError(Errc::invalid_param, "limit must be at least 1");
  n = std::min<int64_t>(n, 100);

  auto r = store_.read();
  auto rows = r->notifications(who.user_id, before, static_cast<int>(n), only_highlight);
  std::map<std::string, int64_t> read_pos;  // per room
  FormatOptions options{who.user_id, who.device_id};
  json::array out;
  for (const auto& row : rows) {
    auto event = r->event(row.event_id);
    if (!event) continue;
    auto it = read_pos.find(row.room_id);
    if (it == read_pos.end())
      it = read_pos.emplace(row.room_id, read_up_to(*r, row.room_id, who.user_id)).first;
    out.push_back(json::object{{"actions", json::parse(row.actions_json)},
                               {"event", client_event(*event, *r, options)},
                               {"read", row.pos <= it->second},
                               {"room_id", row.room_id},
                               {"ts", row.ts}});
  }
  json::object body{{"notifications", std::move(out)}};
  if (static_cast<int64_t>(rows.size()) == n) body["next_token"] = std::to_string(rows.back().pos);
  return body;
}

int64_t read_up_to(store::Reader& r, const std::string& room_id, const std::string& user_id) {
  int64_t pos = 0;
  for (const char* type : {"m.read", "m.read.private"})
    if (auto receipt = r.receipt(room_id, user_id, type))
      if (auto e = r.event(receipt->event_id)) pos = std::max(pos, e->pos);
  return pos;
}

json::object unread_notifications(store::Reader& r, const std::string& room_id,
                                  const std::string& user_id, int64_t upto, UnreadCounts& unread) {
  int64_t after = read_up_to(r, room_id, user_id);
  // What came before the current membership (the invite, once joined) is old news.
  if (auto m = r.membership(room_id, user_id)) after = std::max(after, m->pos - 1);
  auto counts = unread.count(r, user_id, room_id, after, std::max(after, upto));
  return json::object{{"notification_count", counts.notifications},
                      {"highlight_count", counts.highlights}};
}

int64_t unread_notification_total(store::Reader& r, const std::string& user_id) {
  int64_t total = 0;
  for (const auto& m : r.memberships_of_user(user_id))
    if (m.membership == "join")
      total += r.notification_counts(user_id, m.room_id,
                                     std::max(read_up_to(r, m.room_id, user_id), m.pos - 1),
                                     std::numeric_limits<int64_t>::max())
                   .notifications;
  return total;
}

}  // namespace atrium::homeserver
