#include "homeserver/delayed_events.hpp"

#include "base/clock.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/random.hpp"

namespace atrium::homeserver {

namespace {

json::object scheduled_json(const store::DelayedEvent& d) {
  json::object o{{"delay_id", d.delay_id},
                 {"room_id", d.room_id},
                 {"type", d.type},
                 {"delay", d.delay_ms},
                 {"running_since", d.running_since},
                 {"content", json::parse(d.content_json)}};
  if (d.state_key) o["state_key"] = *d.state_key;
  return o;
}

json::object finalised_json(const store::DelayedEvent& d) {
  json::object o{{"delayed_event", scheduled_json(d)},
                 {"outcome", d.status == "sent" ? "send" : "cancel"},
                 {"reason", d.status == "failed" ? "error" : "action"},
                 {"origin_server_ts", d.finalised_ts}};
  if (!d.event_id.empty()) o["event_id"] = d.event_id;
  if (!d.error.empty()) o["error"] = json::object{{"errcode", d.error}};
  return o;
}

MatrixError not_scheduled() {
  return MatrixError(Errc::not_found, "No scheduled delayed event with that id");
}

}  // namespace

DelayedEventService::DelayedEventService(const Config& config, store::Store& store,
                                         RoomService& rooms, net::Scheduler& scheduler)
    : config_(config),
      store_(store),
      rooms_(rooms),
      scheduler_(scheduler),
      mgmt_limiter_(config.rc_delayed_event_mgmt) {}

void DelayedEventService::start() {
  // MSC4140 keeps finalised events for about a week for clients to look up.
  constexpr int64_t kRetentionMs = 7LL * 24 * 3600 * 1000;
  store_.write([](store::Writer& w) { w.prune_expired(now_ms() - kRetentionMs); },
               [](std::exception_ptr) {});
  auto pending = store_.read()->scheduled_delayed_events();
  for (const auto& d : pending)
    arm(d.delay_id, d.send_at());
  if (!pending.empty())
    log::get("delayed")->info("msg=\"re-armed delayed events\" count={}", pending.size());
}

void DelayedEventService::arm(const std::string& delay_id, int64_t send_at) {
  int64_t wait = std::max<int64_t>(0, send_at - now_ms());
  auto timer = scheduler_.after(
      wait, [this, delay_id] { fire(delay_id, false, [](std::exception_ptr, json::object) {}); });
  std::lock_guard lock(mutex_);
  if (auto it = timers_.find(delay_id); it != timers_.end()) it->second->cancel();
  timers_[delay_id] = std::move(timer);
}

void DelayedEventService::disarm(const std::string& delay_id) {
  std::lock_guard lock(mutex_);
  if (auto it = timers_.find(delay_id); it != timers_.end()) {
    it->second->cancel();
    timers_.erase(it);
  }
}

void DelayedEventService::schedule(const Requester& who, const std::string& room_id,
                                   const std::string& type, std::optional<std::string> state_key,
                                   json::object content, int64_t delay_ms,
                                   int64_t sticky_duration_ms, const std::string& txn_id,
                                   JsonCompletion done) {
  if (delay_ms < 0) throw MatrixError(Errc::invalid_param, "The delay must not be negative");
  if (delay_ms > config_.max_event_delay_ms) {
    // The form matrix-js-sdk's MembershipManager recognises and adapts to.
    MatrixError e(Errc::unknown, 400, "The requested delay exceeds the allowed maximum");
    e.extra["org.matrix.msc4140.errcode"] = "M_MAX_DELAY_EXCEEDED";
    e.extra["org.matrix.msc4140.max_delay"] = config_.max_event_delay_ms;
    throw e;
  }
  if (type.empty() || type.size() > 255) throw MatrixError(Errc::invalid_param, "Bad event type");
  if (state_key) rooms_.check_owned_state_key(room_id, *state_key);
  std::string body = json::serialize(content);
  if (body.size() > 65000) throw MatrixError(Errc::too_large, "Event content too large");

  store::DelayedEvent d;
  d.delay_id = "syd_" + random_token(18);
  d.user_id = who.user_id;
  d.device_id = who.device_id;
  d.room_id = room_id;
  d.type = type;
  d.state_key = std::move(state_key);
  d.content_json = std::move(body);
  d.delay_ms = delay_ms;
  d.sticky_duration_ms = sticky_duration_ms;
  // Transaction ids of delayed sends live beside those of ordinary sends.
  std::string txn_key = txn_id.empty() ? "" : "msc4140:" + txn_id;
  auto result = std::make_shared<std::string>(d.delay_id);
  store_.write(
      [this, d, txn_key, result](store::Writer& w) mutable {
        if (!txn_key.empty()) {
          if (auto earlier = w.txn_event(d.user_id, d.device_id, txn_key)) {
            *result = *earlier;
            return;
          }
          w.insert_txn(d.user_id, d.device_id, txn_key, d.delay_id);
        }
        if (!w.room(d.room_id)) throw MatrixError(Errc::not_found, "Unknown room " + d.room_id);
        auto m = w.membership(d.room_id, d.user_id);
        if (!m || m->membership != "join")
          throw MatrixError(Errc::forbidden, "You are not joined to room " + d.room_id);
        if (static_cast<int>(w.delayed_events_of_user(d.user_id, "scheduled").size()) >=
            config_.max_delayed_events_per_user)
          throw limit_exceeded(1000);
        d.running_since = now_ms();
        w.upsert_delayed_event(d);
        w.after_commit([this, id = d.delay_id, at = d.send_at()] { arm(id, at); });
      },
      [done, result](std::exception_ptr e) {
        done(e, json::object{{"delay_id", *result}});
      });
}

void DelayedEventService::manage(const std::optional<Requester>& who, const std::string& remote,
                                 const std::string& delay_id, const std::string& action,
                                 JsonCompletion done) {
  if (action != "cancel" && action != "restart" && action != "send")
    throw MatrixError(Errc::invalid_param, "action must be one of cancel, restart, send");
  std::string key = who ? who->user_id : "ip:" + remote;
  if (auto wait = mgmt_limiter_.take(key, now_ms())) throw limit_exceeded(wait);
  if (action == "send") return fire(delay_id, true, std::move(done));

  store_.write(
      [this, delay_id, action](store::Writer& w) {
        auto d = w.delayed_event(delay_id);
        if (!d || d->status != "scheduled") throw not_scheduled();
        int64_t now = now_ms();
        if (action == "cancel") {
          d->status = "cancelled";
          d->finalised_ts = now;
          w.upsert_delayed_event(*d);
          w.after_commit([this, delay_id] { disarm(delay_id); });
        } else {
          d->running_since = now;
          w.upsert_delayed_event(*d);
          w.after_commit([this, delay_id, at = d->send_at()] { arm(delay_id, at); });
        }
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

void DelayedEventService::fire(const std::string& delay_id, bool force, JsonCompletion done) {
  auto log = log::get("delayed");
  store_.write(
      [this, delay_id, force, log](store::Writer& w) {
        auto d = w.delayed_event(delay_id);
        if (!d || d->status != "scheduled") {
          if (force) throw not_scheduled();
          return;
        }
        int64_t now = now_ms();
        if (!force && now < d->send_at()) {
          // Restarted since this timer was set (or woken early): never send early.
          w.after_commit([this, delay_id, at = d->send_at()] { arm(delay_id, at); });
          return;
        }
        json::object draft{
            {"type", d->type}, {"sender", d->user_id}, {"content", json::parse(d->content_json)}};
        if (d->state_key) draft["state_key"] = *d->state_key;
        if (d->sticky_duration_ms > 0)
          draft["msc4354_sticky"] = json::object{{"duration_ms", d->sticky_duration_ms}};
        try {
          auto room = w.room(d->room_id);
          if (!room) throw MatrixError(Errc::not_found, "Room no longer exists");
          // In a savepoint: an append refused after it inserted the event
          // (a bad relation, say) must not leave the event behind.
          w.atomically([&] {
            d->event_id = rooms_.append(w, *room, std::move(draft), d->device_id).event_id;
          });
          d->status = "sent";
        } catch (const MatrixError& e) {
          // Finalised with the error, as MSC4140 asks: not retried.
          d->status = "failed";
          d->error = std::string(e.code());
          log->warn("msg=\"delayed event refused\" delay_id={} errcode={} reason=\"{}\"", delay_id,
                    e.code(), e.what());
        }
        d->finalised_ts = now;
        w.upsert_delayed_event(*d);
        w.after_commit([this, delay_id] { disarm(delay_id); });
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

json::object DelayedEventService::list(const Requester& who,
                                       const std::optional<std::string>& status,
                                       const std::optional<std::string>& delay_id) {
  if (status && *status != "scheduled" && *status != "finalised")
    throw MatrixError(Errc::invalid_param, "status must be scheduled or finalised");
  auto r = store_.read();
  json::array scheduled, finalised;
  if (!status || *status == "scheduled")
    for (const auto& d : r->delayed_events_of_user(who.user_id, "scheduled"))
      if (!delay_id || d.delay_id == *delay_id) scheduled.push_back(scheduled_json(d));
  if (!status || *status == "finalised")
    for (const char* s : {"sent", "cancelled", "failed"})
      for (const auto& d : r->delayed_events_of_user(who.user_id, s))
        if (!delay_id || d.delay_id == *delay_id) finalised.push_back(finalised_json(d));
  // `delayed_events` is the older name of the scheduled list.
  return json::object{
      {"delayed_events", scheduled}, {"scheduled", scheduled}, {"finalised", std::move(finalised)}};
}

json::object DelayedEventService::get(const Requester& who, const std::string& delay_id) {
  auto d = store_.read()->delayed_event(delay_id);
  if (!d || d->user_id != who.user_id) throw MatrixError(Errc::not_found, "No such delayed event");
  return d->status == "scheduled" ? scheduled_json(*d) : finalised_json(*d);
}

}  // namespace atrium::homeserver
