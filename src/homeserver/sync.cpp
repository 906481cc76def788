#include "homeserver/sync.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "base/clock.hpp"
#include "base/error.hpp"
#include "homeserver/client_event.hpp"
#include "homeserver/e2ee.hpp"
#include "homeserver/notifications.hpp"
#include "homeserver/rooms.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver {

namespace {

constexpr int kDefaultTimelineLimit = 10;

// Sync builds one of these per room; only non-empty parts are sent.
struct RoomWindow {
  int64_t after = 0;  // timeline positions (after, upto]
  int64_t upto = 0;
  bool full_state = false;  // send the state at the start of the timeline
};

class SyncBuilder {
 public:
  SyncBuilder(store::Reader& r, const Requester& who, const SyncFilter& filter,
              std::optional<StreamToken> since, int64_t bound, TypingService& typing,
              UnreadCounts& unread)
      : r_(r),
        who_(who),
        filter_(filter),
        since_(since),
        bound_(bound),
        typing_(typing),
        unread_(unread) {
    opts_ = FormatOptions{who.user_id, who.device_id, false};
    for (auto& ad : r_.account_data_changes(who.user_id, since ? since->pos : 0, bound))
      (ad.room_id.empty() ? global_account_data_ : room_account_data_[ad.room_id])
          .push_back(json::object{{"type", ad.type}, {"content", json::parse(ad.content_json)}});
  }

  json::array global_account_data() {
    json::array out;
    for (auto& e : global_account_data_)
      if (type_allowed(filter_.account_data, e.at("type").as_string())) out.push_back(e);
    return out;
  }

  // A joined or left room; nullopt when nothing is new.
  std::optional<json::object> room(const store::Membership& m, const RoomWindow& w, bool joined) {
    const auto& tf = filter_.timeline;
    int limit = tf.limit.value_or(kDefaultTimelineLimit);
    // Newest first, filtered, one more than the limit to learn `limited`.
    std::vector<store::Event> picked;
    int64_t hi = w.upto;
    bool more = false;
    while (hi > w.after) {
      int batch = std::max(limit + 1, 50);
      auto page = r_.room_events(m.room_id, w.after, hi, true, batch);
      for (auto& e : page) {
        hi = e.pos - 1;
        if (!tf.matches(e)) continue;
        if (static_cast<int>(picked.size()) == limit) {
          more = true;
          break;
        }
        picked.push_back(std::move(e));
      }
      if (more || static_cast<int>(page.size()) < batch) break;
    }
    std::reverse(picked.begin(), picked.end());
    bool limited = more;
    int64_t timeline_start = picked.empty() ? w.upto + 1 : picked.front().pos;

    std::vector<store::Event> state;
    if (w.full_state) {
      state = r_.state_before(m.room_id, timeline_start);
    } else if (limited) {
      state = r_.state_changes(m.room_id, w.after, timeline_start - 1);
    }
    std::set<std::string> senders;
    for (const auto& e : picked)
      senders.insert(e.sender);
    std::erase_if(state, [&](const store::Event& e) {
      if (!filter_.state.matches(e)) return true;
      if (filter_.state.lazy_load_members && e.type == "m.room.member")
        return !senders.count(*e.state_key) && *e.state_key != who_.user_id;
      return false;
    });

    // MSC4354: live sticky events the client would not see in this timeline.
    std::vector<store::Event> sticky =
        r_.sticky_events(m.room_id, w.full_state ? 0 : w.after, w.upto, now_ms());
    std::set<std::string> in_timeline;
    for (const auto& e : picked)
      in_timeline.insert(e.event_id);
    std::erase_if(sticky, [&](const store::Event& e) { return in_timeline.count(e.event_id) > 0; });

    json::object room;
    if (!sticky.empty())
      room["msc4354_sticky"] = json::object{{"events", client_events(sticky, r_, opts_)}};
    json::object timeline{{"events", client_events(picked, r_, opts_)},
                          {"limited", limited},
                          {"prev_batch", make_position_token(timeline_start - 1)}};
    bool news = !picked.empty() || !state.empty() || !sticky.empty() || w.full_state;
    room["timeline"] = std::move(timeline);
    room["state"] = json::object{{"events", client_events(state, r_, opts_)}};

    json::array account_data;
    if (auto it = room_account_data_.find(m.room_id); it != room_account_data_.end())
      for (auto& e : it->second)
        if (type_allowed(filter_.room_account_data, e.at("type").as_string()))
          account_data.push_back(e);
    news |= !account_data.empty();
    room["account_data"] = json::object{{"events", std::move(account_data)}};

    if (joined) {
      json::array ephemeral = ephemeral_events(m.room_id);
      news |= !ephemeral.empty();
      room["ephemeral"] = json::object{{"events", std::move(ephemeral)}};
      room["unread_notifications"] = unread_counts(m.room_id);
      if (w.full_state || has_member_change(state, picked)) room["summary"] = summary(m.room_id);
    }
    if (!news) return std::nullopt;
    return room;
  }

  json::object invite(const store::Membership& m) {
    json::array events;
    for (const auto& e : r_.current_state(m.room_id)) {
      static const std::set<std::string> kStripped = {
          "m.room.create",          "m.room.join_rules", "m.room.name", "m.room.avatar",
          "m.room.canonical_alias", "m.room.encryption", "m.room.topic"};
      if (kStripped.count(e.type) || (e.type == "m.room.member" && e.state_key == who_.user_id) ||
          (e.type == "m.room.member" && m.event_id == e.event_id))
        events.push_back(stripped_state_event(e));
    }
    // The invite itself, in full, so clients see who invited them and when.
    if (auto inv = r_.event(m.event_id)) {
      events.push_back(client_event(*inv, r_, opts_));
    }
    return json::object{{"invite_state", json::object{{"events", std::move(events)}}}};
  }

 private:
  static bool type_allowed(const EventFilter& f, std::string_view type) {
    store::Event probe;
    probe.type = std::string(type);
    EventFilter without_rooms = f;
    without_rooms.rooms.reset();
    without_rooms.not_rooms.clear();
    return without_rooms.matches(probe);
  }

  json::array ephemeral_events(const std::string& room_id) {
    json::array out;
    int64_t typing_since = since_ ? since_->typing : 0;
    if (auto users = typing_.typing_since(room_id, typing_since)) {
      json::array ids;
      for (auto& u : *users)
        ids.emplace_back(u);
      out.push_back(json::object{{"type", "m.typing"},
                                 {"content", json::object{{"user_ids", std::move(ids)}}}});
    }
    auto receipts =
        since_ ? r_.receipt_changes(room_id, since_->pos, bound_) : r_.receipts_of_room(room_id);
    json::object content;
    for (const auto& rc : receipts) {
      if (rc.pos > bound_) continue;
      if (rc.type == "m.read.private" && rc.user_id != who_.user_id) continue;
      json::object info{{"ts", rc.ts}};
      if (!rc.thread_id.empty()) info["thread_id"] = rc.thread_id;
      auto& by_event = content[rc.event_id];
      if (!by_event.is_object()) by_event = json::object{};
      auto& by_type = by_event.as_object()[rc.type];
      if (!by_type.is_object()) by_type = json::object{};
      by_type.as_object()[rc.user_id] = std::move(info);
    }
    if (!content.empty())
      out.push_back(json::object{{"type", "m.receipt"}, {"content", std::move(content)}});
    if (!filter_.ephemeral.types && filter_.ephemeral.not_types.empty()) return out;
    json::array filtered;
    for (auto& e : out)
      if (type_allowed(filter_.ephemeral, e.at("type").as_string())) filtered.push_back(e);
    return filtered;
  }

  // Notifications the push rules raised after the user's read receipt.
  json::object unread_counts(const std::string& room_id) {
    return unread_notifications(r_, room_id, who_.user_id, bound_, unread_);
  }

  static bool has_member_change(const std::vector<store::Event>& state,
                                const std::vector<store::Event>& timeline) {
    auto is_member = [](const store::Event& e) { return e.type == "m.room.member"; };
    return std::any_of(state.begin(), state.end(), is_member) ||
           std::any_of(timeline.begin(), timeline.end(), is_member);
  }

  json::object summary(const std::string& room_id) {
    int64_t joined = 0, invited = 0;
    json::array heroes;
    for (const auto& m : r_.room_members(room_id)) {
      if (m.membership == "join") ++joined;
      if (m.membership == "invite") ++invited;
      if ((m.membership == "join" || m.membership == "invite") && m.user_id != who_.user_id &&
          heroes.size() < 5)
        heroes.emplace_back(m.user_id);
    }
    return json::object{{"m.joined_member_count", joined},
                        {"m.invited_member_count", invited},
                        {"m.heroes", std::move(heroes)}};
  }

  store::Reader& r_;
  const Requester& who_;
  const SyncFilter& filter_;
  std::optional<StreamToken> since_;
  int64_t bound_;
  TypingService& typing_;
  UnreadCounts& unread_;
  FormatOptions opts_;
  std::vector<json::object> global_account_data_;
  std::map<std::string, std::vector<json::object>> room_account_data_;
};

}  // namespace

SyncFilter SyncService::load_filter(const Requester& who,
                                    const std::optional<std::string>& filter) {
  if (!filter || filter->empty()) return SyncFilter{};
  if ((*filter)[0] == '{') {
    auto o = matrix::parse_request_object(*filter);
    return parse_sync_filter(o);
  }
  int64_t id = 0;
  try {
    size_t used = 0;
    id = std::stoll(*filter, &used);
    if (used != filter->size()) throw std::invalid_argument("trailing");
  } catch (...) {
    throw MatrixError(Errc::invalid_param, "filter must be JSON or a filter id");
  }
  auto text = store_.read()->filter(who.user_id, id);
  if (!text) throw MatrixError(Errc::not_found, "No such filter");
  return parse_sync_filter(json::parse(*text).as_object());
}

SyncService::Result SyncService::compute(const Requester& who,
                                         const std::optional<StreamToken>& since,
                                         const SyncFilter& filter, bool full_state) {
  Result result;
  result.typing = typing_.serial();
  result.bound = store_.committed_pos();
  auto r = store_.read();
  SyncBuilder builder(*r, who, filter, since, result.bound, typing_, unread_);

  json::object join, invite, leave;
  for (const auto& m : r->memberships_of_user(who.user_id)) {
    if (m.pos > result.bound || !filter.allows_room(m.room_id)) continue;
    bool changed_since = !since || m.pos > since->pos;
    if (m.membership == "join") {
      RoomWindow w;
      w.upto = result.bound;
      bool fresh = !since || changed_since;  // first sync, or joined since the last
      w.after = fresh ? 0 : since->pos;
      // A joined member sees at least from their join (m.pos) on, so only a
      // window that starts before it can need the history visibility.
      if (w.after < m.pos) {
        try {
          w.after = std::max(w.after, RoomService::visible_range(*r, m.room_id, who.user_id).lower);
        } catch (const MatrixError&) {
        }
      }
      w.full_state = fresh || full_state;
      if (auto room = builder.room(m, w, true)) join[m.room_id] = std::move(*room);
    } else if (m.membership == "invite") {
      if (changed_since || full_state) invite[m.room_id] = builder.invite(m);
    } else if ((m.membership == "leave" || m.membership == "ban") && !m.forgotten) {
      bool wanted =
          since ? (changed_since || (full_state && filter.include_leave)) : filter.include_leave;
      if (!wanted) continue;
      RoomWindow w;
      w.upto = m.pos;
      w.after = since && !full_state ? std::min(since->pos, m.pos - 1) : 0;
      w.full_state = !since || full_state;
      if (auto room = builder.room(m, w, false)) leave[m.room_id] = std::move(*room);
    }
  }
  json::array account_data = builder.global_account_data();
  result.has_updates = !join.empty() || !invite.empty() || !leave.empty() || !account_data.empty();

  // To-device inbox: delivered from where the last token left off; the next
  // sync's token acknowledges (and deletes) what this one delivered.
  constexpr int kToDeviceBatch = 100;
  int64_t delivered_from = since ? since->to_device : 0;
  auto inbox = r->to_device_messages(who.user_id, who.device_id, delivered_from, result.bound,
                                     kToDeviceBatch);
  int64_t delivered_to =
      static_cast<int>(inbox.size()) == kToDeviceBatch ? inbox.back().pos : result.bound;
  json::array to_device;
  for (const auto& m : inbox)
    to_device.push_back(json::object{
        {"sender", m.sender}, {"type", m.type}, {"content", json::parse(m.content_json)}});
  json::object device_lists =
      since ? E2eeService::device_list_delta(*r, who.user_id, since->pos, result.bound)
            : json::object{{"changed", json::array{}}, {"left", json::array{}}};
  result.has_updates |= !to_device.empty() || !device_lists.at("changed").as_array().empty() ||
                        !device_lists.at("left").as_array().empty();
  json::object otk_counts;
  for (const auto& [alg, n] : r->one_time_key_counts(who.user_id, who.device_id))
    otk_counts[alg] = n;
  json::array fallback_types;
  for (auto& alg : r->unused_fallback_key_algorithms(who.user_id, who.device_id))
    fallback_types.emplace_back(alg);
  result.delivered_to_device = delivered_to;

  json::object& body = result.body;
  body["next_batch"] = make_sync_token({result.bound, result.typing, delivered_to});
  body["rooms"] = json::object{{"join", std::move(join)},
                               {"invite", std::move(invite)},
                               {"leave", std::move(leave)},
                               {"knock", json::object{}}};
  body["account_data"] = json::object{{"events", std::move(account_data)}};
  body["presence"] = json::object{{"events", json::array{}}};
  body["to_device"] = json::object{{"events", std::move(to_device)}};
  body["device_lists"] = std::move(device_lists);
  body["device_one_time_keys_count"] = std::move(otk_counts);
  body["device_unused_fallback_key_types"] = fallback_types;
  body["org.matrix.msc2732.device_unused_fallback_key_types"] = std::move(fallback_types);
  return result;
}

void SyncService::sync(const Requester& who, const SyncRequest& request, JsonCompletion done) {
  std::optional<StreamToken> since;
  if (request.since && !request.since->empty()) since = parse_stream_token(*request.since);
  auto filter = load_filter(who, request.filter);
  // The client has what the previous answer delivered: drop it from the inbox.
  if (since && since->to_device > 0) {
    store_.write([who, upto = since->to_device](
                     store::Writer& w) { w.ack_to_device(who.user_id, who.device_id, upto); },
                 [](std::exception_ptr) {});
  }
  int64_t timeout = std::clamp<int64_t>(request.timeout_ms, 0, 300000);
  wait_and_compute(who, since, std::move(filter), request.full_state, now_ms() + timeout,
                   /*timed_out=*/false, std::move(done));
}

void SyncService::wait_and_compute(const Requester& who, std::optional<StreamToken> since,
                                   SyncFilter filter, bool full_state, int64_t deadline_ms,
                                   bool timed_out, JsonCompletion done) {
  // A poll that is caught up on every stream (the usual re-armed long-poll)
  // parks without computing: nothing in (since, bound] can be news.
  bool caught_up = since && !full_state && !timed_out && since->pos == store_.committed_pos() &&
                   since->typing == typing_.serial() && since->to_device >= since->pos;
  Result result;
  auto run_compute = [&]() -> bool {
    try {
      result = compute(who, since, filter, full_state);
      return true;
    } catch (...) {
      done(std::current_exception(), {});
      return false;
    }
  };
  if (caught_up) {
    result.bound = since->pos;
    result.typing = since->typing;
  } else if (!run_compute()) {
    return;
  }
  int64_t remaining = deadline_ms - now_ms();
  // A full_state or initial sync answers at once; so does one that has news,
  // and a token from before a restart or another stream (typing serial ahead
  // of ours), so the client moves on to the current position.
  bool answer_now = !since || full_state || result.has_updates || remaining <= 0 || timed_out ||
                    notifier_.shutting_down() || result.typing < since->typing;
  if (answer_now) {
    if (caught_up && !run_compute()) return;
    return done(nullptr, std::move(result.body));
  }
  auto resume = [this, who, since, filter, full_state, deadline_ms, done](bool timed_out) {
    wait_and_compute(who, since, filter, full_state, deadline_ms, timed_out, done);
  };
  auto waiter = notifier_.wait(who.user_id, remaining, resume);
  // Something may have committed between compute() and wait(): look again
  // rather than sleep through it.
  if (store_.committed_pos() != result.bound || typing_.serial() != result.typing) {
    waiter->cancel();
    resume(false);
  }
}

}  // namespace atrium::homeserver
