#include "homeserver/pushers.hpp"

#include "base/clock.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "homeserver/client_event.hpp"
#include "homeserver/notifications.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver {

namespace {

constexpr std::string_view kNotifyPath = "/_matrix/push/v1/notify";

std::string required_string(const json::object& body, std::string_view key) {
  auto v = matrix::get_string(body, key);  // M_BAD_JSON when not a string
  if (!v) throw MatrixError(Errc::missing_param, "missing field '" + std::string(key) + "'");
  return *v;
}

// http(s)://host[:port]/_matrix/push/v1/notify, nothing else.
void check_gateway_url(const std::string& url) {
  std::string_view rest(url);
  if (rest.substr(0, 7) == "http://")
    rest.remove_prefix(7);
  else if (rest.substr(0, 8) == "https://")
    rest.remove_prefix(8);
  else
    throw MatrixError(Errc::invalid_param, "data.url must be an http(s) URL, not '" + url + "'");
  size_t slash = rest.find('/');
  std::string_view host = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (host.empty() || host.find_first_of(" \t@?#") != std::string_view::npos)
    throw MatrixError(Errc::invalid_param, "data.url has no valid host: '" + url + "'");
  if (path != kNotifyPath)
    throw MatrixError(Errc::invalid_param, "data.url must have the path " +
                                               std::string(kNotifyPath) + ": '" + url + "'");
}

std::string state_string(store::Reader& r, const std::string& room_id, const char* type,
                         const std::string& state_key, const char* field) {
  auto e = r.current_state_event(room_id, type, state_key);
  if (!e) return {};
  auto pdu = parse_pdu(*e);
  auto* content = pdu.if_contains("content");
  if (!content || !content->is_object()) return {};
  auto* v = content->as_object().if_contains(field);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

json::object push_gateway_body(store::Reader& r, const store::Pusher& pusher,
                               const store::Notification& n) {
  auto event = r.event(n.event_id);
  if (!event) return {};
  auto data = json::parse(pusher.data_json).as_object();
  bool ids_only = false;
  if (auto* f = data.if_contains("format"); f && f->is_string())
    ids_only = f->as_string() == "event_id_only";
  data.erase("url");  // the gateway knows its own URL

  json::object tweaks;
  json::value actions = json::parse(n.actions_json);
  for (const auto& action : actions.as_array()) {
    if (!action.is_object()) continue;
    auto* name = action.as_object().if_contains("set_tweak");
    if (!name || !name->is_string()) continue;
    auto* value = action.as_object().if_contains("value");
    tweaks[name->as_string()] = value ? *value : json::value(true);
  }
  bool urgent = event->type == "m.room.encrypted" || tweaks.contains("sound") ||
                (tweaks.contains("highlight") && tweaks.at("highlight") == true);

  json::object device{{"app_id", pusher.app_id},
                      {"pushkey", pusher.pushkey},
                      {"pushkey_ts", pusher.pushkey_ts / 1000},
                      {"data", std::move(data)},
                      {"tweaks", std::move(tweaks)}};
  json::object out{
      {"event_id", event->event_id},
      {"room_id", event->room_id},
      {"prio", urgent ? "high" : "low"},
      {"counts", json::object{{"unread", unread_notification_total(r, pusher.user_id)}}},
      {"devices", json::array{std::move(device)}}};
  if (!ids_only) {
    auto pdu = parse_pdu(*event);
    out["type"] = event->type;
    out["sender"] = event->sender;
    auto sender_name =
        state_string(r, event->room_id, "m.room.member", event->sender, "displayname");
    if (!sender_name.empty()) out["sender_display_name"] = sender_name;
    auto room_name = state_string(r, event->room_id, "m.room.name", "", "name");
    if (!room_name.empty()) out["room_name"] = room_name;
    if (auto* c = pdu.if_contains("content")) out["content"] = *c;
    if (event->type == "m.room.member" && event->state_key == pusher.user_id)
      out["user_is_target"] = true;
  }
  return json::object{{"notification", std::move(out)}};
}

PusherService::PusherService(store::Store& store, net::Scheduler& scheduler)
    : store_(store), scheduler_(scheduler), now_([] { return now_ms(); }) {}

PusherService::~PusherService() {
  alive_->store(false);
  std::lock_guard lock(mutex_);
  for (auto& [key, d] : deliveries_)
    if (d.timer) d.timer->cancel();
}

void PusherService::later(std::function<void()> fn) {
  scheduler_.post([alive = alive_, fn = std::move(fn)] {
    if (*alive) fn();
  });
}

void PusherService::set_http_client(net::HttpClient* client) {
  client_.store(client);
  if (!client) return;
  // Resume every pusher: what was committed while no client was set, or
  // before a restart, is still waiting after its last_pos.
  later([this] {
    for (const auto& p : store_.read()->all_pushers())
      kick({p.user_id, p.app_id, p.pushkey});
  });
}

void PusherService::set_pusher(const Requester& who, json::object body, JsonCompletion done) {
  auto* kind = body.if_contains("kind");
  if (!kind) throw MatrixError(Errc::missing_param, "missing field 'kind'");
  std::string app_id = required_string(body, "app_id");
  std::string pushkey = required_string(body, "pushkey");
  if (app_id.empty() || app_id.size() > 64)
    throw MatrixError(Errc::invalid_param, "app_id must be 1 to 64 characters");
  if (pushkey.empty() || pushkey.size() > 512)
    throw MatrixError(Errc::invalid_param, "pushkey must be 1 to 512 bytes");
  if (kind->is_null()) {  // deletion
    store_.write([=](store::Writer& w) { w.delete_pusher(who.user_id, app_id, pushkey); },
                 [done](std::exception_ptr e) { done(e, json::object{}); });
    return;
  }
  if (!kind->is_string()) throw MatrixError(Errc::bad_json, "'kind' must be a string or null");
  if (kind->as_string() != "http")
    throw MatrixError(Errc::invalid_param, "Unsupported pusher kind '" +
                                               std::string(kind->as_string()) + "' (http only)");
  store::Pusher p;
  p.user_id = who.user_id;
  p.app_id = app_id;
  p.pushkey = pushkey;
  p.kind = "http";
  p.app_display_name = required_string(body, "app_display_name");
  p.device_display_name = required_string(body, "device_display_name");
  p.lang = required_string(body, "lang");
  p.profile_tag = matrix::get_string(body, "profile_tag").value_or("");
  const json::object* data = matrix::get_object(body, "data");
  if (!data) throw MatrixError(Errc::missing_param, "missing field 'data'");
  auto url = matrix::get_string(*data, "url");
  if (!url) throw MatrixError(Errc::missing_param, "an http pusher needs data.url");
  check_gateway_url(*url);
  if (auto format = matrix::get_string(*data, "format"); format && *format != "event_id_only")
    throw MatrixError(Errc::invalid_param, "data.format may only be 'event_id_only'");
  p.data_json = json::serialize(*data);
  p.pushkey_ts = now_ms();
  p.last_pos = store_.committed_pos();  // only what happens from now on is pushed
  bool append = matrix::get_bool(body, "append").value_or(false);
  store_.write(
      [p, append](store::Writer& w) {
        if (!append) w.delete_pushers_of_others(p.app_id, p.pushkey, p.user_id);
        w.upsert_pusher(p);
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

json::object PusherService::list(const Requester& who) {
  json::array out;
  for (const auto& p : store_.read()->pushers_of_user(who.user_id)) {
    json::object o{{"app_id", p.app_id},
                   {"pushkey", p.pushkey},
                   {"kind", p.kind},
                   {"app_display_name", p.app_display_name},
                   {"device_display_name", p.device_display_name},
                   {"lang", p.lang},
                   {"data", json::parse(p.data_json)}};
    if (!p.profile_tag.empty()) o["profile_tag"] = p.profile_tag;
    out.push_back(std::move(o));
  }
  return json::object{{"pushers", std::move(out)}};
}

void PusherService::poke(const std::vector<std::string>& user_ids) {
  // Called after a commit, on the store's writer thread: hop off it at once.
  later([this, user_ids] {
    auto r = store_.read();
    for (const auto& user : user_ids)
      for (const auto& p : r->pushers_of_user(user))
        kick({p.user_id, p.app_id, p.pushkey});
  });
}

void PusherService::kick(const Key& key) {
  {
    std::lock_guard lock(mutex_);
    auto& d = deliveries_[key];
    if (d.busy) {
      d.again = true;
      return;
    }
    d.busy = true;
  }
  deliver_next(key);
}

void PusherService::release(const Key& key) {
  bool again = false;
  {
    std::lock_guard lock(mutex_);
    auto it = deliveries_.find(key);
    if (it == deliveries_.end()) return;
    it->second.busy = false;
    again = std::exchange(it->second.again, false);
  }
  if (again) later([this, key] { kick(key); });
}

void PusherService::forget(const Key& key) {
  std::lock_guard lock(mutex_);
  deliveries_.erase(key);
}

void PusherService::deliver_next(const Key& key) {
  auto* client = client_.load();
  if (!client) return release(key);  // waits in the store until a client is set
  const auto& [user_id, app_id, pushkey] = key;
  json::object body;
  int64_t pos = 0;
  std::string url;
  try {
    auto r = store_.read();
    auto pusher = r->pusher(user_id, app_id, pushkey);
    if (!pusher) return forget(key);
    auto next = r->notifications_after(user_id, pusher->last_pos, 1);
    if (next.empty()) return release(key);
    pos = next.front().pos;
    body = push_gateway_body(*r, *pusher, next.front());
    url = std::string(json::parse(pusher->data_json).as_object().at("url").as_string());
  } catch (const std::exception& e) {
    log::get("push")->error("msg=\"cannot prepare push\" user={} error=\"{}\"", user_id, e.what());
    return release(key);
  }
  if (body.empty()) return advance(key, pos);  // the event is gone: nothing to push

  net::ClientRequest request;
  request.method = net::Method::post;
  request.url = url;
  request.headers = {{"Content-Type", "application/json"}};
  request.body = json::serialize(body);
  request.timeout_ms = kRequestTimeoutMs;
  client->request(std::move(request), [this, alive = alive_, key, pos](
                                          std::string error, net::ClientResponse response) {
    if (*alive) on_response(key, pos, error, response);
  });
}

void PusherService::on_response(const Key& key, int64_t pos, const std::string& error,
                                const net::ClientResponse& response) {
  const auto& [user_id, app_id, pushkey] = key;
  auto log = log::get("push");
  if (error.empty() && response.status >= 200 && response.status < 300) {
    bool rejected = false;
    try {
      auto answer = json::parse(response.body);
      if (auto* list = answer.is_object() ? answer.as_object().if_contains("rejected") : nullptr;
          list && list->is_array())
        for (const auto& k : list->as_array())
          rejected |= k.is_string() && k.as_string() == pushkey;
    } catch (const std::exception&) {
      // A 2xx without a JSON body still counts as delivered.
    }
    if (rejected) {
      log->info("msg=\"push gateway rejected pushkey; removing pusher\" user={} app_id={}", user_id,
                app_id);
      store_.write(
          [key](store::Writer& w) {
            w.delete_pusher(std::get<0>(key), std::get<1>(key), std::get<2>(key));
          },
          [this, alive = alive_, key](std::exception_ptr) {
            if (*alive) forget(key);
          });
      return;
    }
    {
      std::lock_guard lock(mutex_);
      auto& d = deliveries_[key];
      d.retry_ms = 0;
      d.failing_since = 0;
    }
    return advance(key, pos);
  }

  std::string why = error.empty() ? "HTTP " + std::to_string(response.status) : error;
  int64_t now = now_();
  int64_t wait = 0;
  {
    std::lock_guard lock(mutex_);
    auto& d = deliveries_[key];
    if (d.failing_since == 0) d.failing_since = now;
    if (now - d.failing_since >= kGiveUpAfterMs) {
      d.retry_ms = 0;
      d.failing_since = 0;
    } else {
      d.retry_ms = d.retry_ms == 0 ? kFirstRetryMs : std::min(d.retry_ms * 2, kMaxRetryMs);
      wait = d.retry_ms;
    }
  }
  if (wait == 0) {
    log->warn("msg=\"push failed for a day; skipping notification\" user={} app_id={} pos={}",
              user_id, app_id, pos);
    return advance(key, pos);
  }
  log->warn("msg=\"push failed; retrying\" user={} app_id={} error=\"{}\" retry_ms={}", user_id,
            app_id, why, wait);
  auto timer = scheduler_.after(wait, [this, alive = alive_, key] {
    if (*alive) deliver_next(key);
  });
  std::lock_guard lock(mutex_);
  deliveries_[key].timer = std::move(timer);
}

void PusherService::advance(const Key& key, int64_t pos) {
  store_.write(
      [key, pos](store::Writer& w) {
        w.set_pusher_last_pos(std::get<0>(key), std::get<1>(key), std::get<2>(key), pos);
      },
      [this, alive = alive_, key](std::exception_ptr e) {
        if (!*alive) return;
        if (e) {
          log::get("push")->error("msg=\"cannot record push progress\"");
          return release(key);
        }
        later([this, key] { deliver_next(key); });
      });
}

}  // namespace atrium::homeserver
