#include "membership.hpp"

#include <algorithm>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <vector>

#include "http_client.hpp"
#include "stats.hpp"

namespace json = boost::json;

namespace hs_bench {
namespace {

constexpr const char* kCallMember = "org.matrix.msc3401.call.member";
constexpr const char* kDelayedEvents =
    "/_matrix/client/unstable/org.matrix.msc4140/delayed_events/";
// MatrixRTC clients schedule their delayed leave about this far ahead and restart it in time.
constexpr int kLeaveDelayMs = 10000;

// What matrix-js-sdk's MembershipManager sends on joining a room call (legacy per-device state
// event, as Element Call sends by default); `created_ts` is only on updates, so not here.
json::object join_content(const User& user, const std::string& room_id) {
  json::object focus_active{{"type", "livekit"}, {"focus_selection", "multi_sfu"}};
  json::object focus{{"type", "livekit"},
                     {"livekit_service_url", "https://rtc.localhost/livekit/jwt"},
                     {"livekit_alias", room_id}};
  return {{"application", "m.call"},
          {"call_id", ""},
          {"scope", "m.room"},
          {"device_id", user.device_id},
          {"membershipID", user.user_id + ":" + user.device_id},
          {"expires", 14400000},
          {"m.call.intent", "video"},
          {"focus_active", std::move(focus_active)},
          {"foci_preferred", json::array{std::move(focus)}}};
}

// The event id of the `type`/`state_key` state event in `room_id` if a /sync answer carries it,
// in the room's timeline or its state block.
std::optional<std::string> find_state_event(const std::string& body, const std::string& room_id,
                                            const std::string& state_key) {
  json::value parsed = json::parse(body);
  const json::value* room = &parsed;
  for (const std::string& key : {std::string("rooms"), std::string("join"), room_id}) {
    room = room->is_object() ? room->as_object().if_contains(key) : nullptr;
    if (!room) return std::nullopt;
  }
  if (!room->is_object()) return std::nullopt;
  for (const char* block : {"timeline", "state"}) {
    const auto* section = room->as_object().if_contains(block);
    const auto* events =
        section && section->is_object() ? section->as_object().if_contains("events") : nullptr;
    if (!events || !events->is_array()) continue;
    for (const auto& event : events->as_array()) {
      const auto& e = event.as_object();
      const auto* type = e.if_contains("type");
      const auto* key = e.if_contains("state_key");
      if (type && key && type->is_string() && key->is_string() &&
          type->as_string() == kCallMember && key->as_string() == state_key)
        return json::value_to<std::string>(e.at("event_id"));
    }
  }
  return std::nullopt;
}

// A member's /sync long-poll on its own connection.
struct Poll {
  HttpConnection connection;
  const User* user;
  std::string since;
  bool armed = false;
};

// Times `rounds` round trips of each step of MatrixRTC's delayed-leave heartbeat.
json::object run_heartbeat(uint16_t port, const User& caller, const std::string& state_path,
                           int rounds) {
  HttpConnection connection(port);
  std::vector<int64_t> schedule_ns, restart_ns, cancel_ns;
  auto timed = [&](std::vector<int64_t>& samples, const HttpRequest& request, const char* what) {
    const int64_t start = now_ns();
    HttpResponse response = connection.round_trip(request);
    samples.push_back(now_ns() - start);
    return expect_ok(response, what);
  };
  for (int round = 0; round < rounds; ++round) {
    auto scheduled =
        timed(schedule_ns,
              {"PUT", state_path + "?org.matrix.msc4140.delay=" + std::to_string(kLeaveDelayMs),
               caller.token, "{}"},
              "delayed leave");
    const std::string delay_path =
        kDelayedEvents + url_encode(json::value_to<std::string>(scheduled.at("delay_id")));
    timed(restart_ns, {"POST", delay_path + "/restart", caller.token, "{}"}, "restart");
    timed(cancel_ns, {"POST", delay_path + "/cancel", caller.token, "{}"}, "cancel");
  }
  return {{"schedule", to_json(summarize(schedule_ns))},
          {"restart", to_json(summarize(restart_ns))},
          {"cancel", to_json(summarize(cancel_ns))}};
}

}  // namespace

json::object run_membership_benchmark(uint16_t port, int server_pid, const User& caller,
                                      const User& watcher, const std::string& room_id, int rounds) {
  const std::string sync_path = std::string(kClientApi) + "/sync";
  const std::string state_key = "_" + caller.user_id + "_" + caller.device_id + "_m.call";
  const std::string state_path = std::string(kClientApi) + "/rooms/" + url_encode(room_id) +
                                 "/state/" + kCallMember + "/" + url_encode(state_key);
  const std::string join_body = json::serialize(join_content(caller, room_id));

  // Both members' clients keep a /sync parked, as they would in a call.
  std::vector<Poll> polls;
  for (const User* user : {&caller, &watcher}) {
    HttpConnection connection(port);
    auto initial = expect_ok(
        connection.round_trip({"GET", sync_path + "?timeout=0", user->token, ""}), "initial sync");
    polls.push_back(
        {std::move(connection), user, json::value_to<std::string>(initial.at("next_batch"))});
  }
  Poll& own_poll = polls[0];
  Poll& watcher_poll = polls[1];
  HttpConnection put_connection(port);
  enum Key : uint64_t { kOwnPoll, kWatcherPoll, kPut };
  Epoll epoll;
  epoll.add(own_poll.connection.fd(), kOwnPoll);
  epoll.add(watcher_poll.connection.fd(), kWatcherPoll);
  epoll.add(put_connection.fd(), kPut);

  auto arm = [&](Poll& poll) {
    poll.connection.send({"GET", sync_path + "?timeout=30000&since=" + url_encode(poll.since),
                          poll.user->token, ""});
    poll.armed = true;
  };
  // Reads one poll's answer if it is complete.
  auto read_poll = [&](Poll& poll) -> std::optional<HttpResponse> {
    bool open = poll.connection.read_available();
    auto response = poll.connection.next_response();
    if (!response) {
      if (!open) throw std::runtime_error("membership: server closed a /sync connection");
      return std::nullopt;
    }
    if (response->status != 200)
      throw std::runtime_error("membership: /sync HTTP " + std::to_string(response->status) + " " +
                               response->body.substr(0, 200));
    poll.armed = false;
    return response;
  };

  std::vector<int64_t> put_ns, after_write_ns, after_reply_ns;
  int before_reply = 0, early = 0, without_event = 0, wrong_event = 0, settle_ms_total = 0;
  for (int round = 0; round < rounds; ++round) {
    for (Poll& poll : polls) {
      if (!poll.armed) arm(poll);
    }
    settle_ms_total +=
        wait_until_parked(server_pid, epoll, 20, 20, [&](const std::vector<uint64_t>& ready) {
          for (uint64_t key : ready) {
            if (key == kPut) throw std::runtime_error("membership: unexpected PUT response");
            Poll& poll = polls[key];
            if (auto response = read_poll(poll)) {
              if (&poll == &watcher_poll) ++early;
              poll.since = next_batch_of(response->body);
              arm(poll);
            }
          }
        });

    const int64_t write_ns = now_ns();
    put_connection.send({"PUT", state_path, caller.token, round % 2 == 0 ? join_body : "{}"});
    int64_t put_done_ns = 0, seen_ns = 0;
    std::string put_event_id, seen_event_id;
    while (put_done_ns == 0 || seen_ns == 0) {
      const auto& ready = epoll.wait(10000);
      if (ready.empty())
        throw std::runtime_error("membership: no PUT answer or /sync with the event within 10 s");
      for (uint64_t key : ready) {
        if (key == kPut) {
          put_connection.read_available();
          const int64_t read_ns = now_ns();
          if (auto response = put_connection.next_response()) {
            put_done_ns = read_ns;
            put_event_id =
                json::value_to<std::string>(expect_ok(*response, "state PUT").at("event_id"));
          }
          continue;
        }
        Poll& poll = polls[key];
        auto response = read_poll(poll);
        const int64_t read_ns = now_ns();
        if (!response) continue;
        poll.since = next_batch_of(response->body);
        if (&poll == &own_poll) {
          arm(poll);
        } else if (auto id = find_state_event(response->body, room_id, state_key)) {
          seen_ns = read_ns;
          seen_event_id = *id;
        } else {
          // Woken by something else: keep waiting for the membership.
          ++without_event;
          arm(poll);
        }
      }
    }
    if (seen_event_id != put_event_id) ++wrong_event;
    put_ns.push_back(put_done_ns - write_ns);
    after_write_ns.push_back(seen_ns - write_ns);
    if (seen_ns < put_done_ns) ++before_reply;
    after_reply_ns.push_back(std::max<int64_t>(seen_ns - put_done_ns, 0));
  }
  if (wrong_event > 0)
    std::cerr << "hs_load: " << wrong_event << " /sync answers carried another membership event\n";

  json::object result;
  result["rounds"] = rounds;
  result["members"] = polls.size();
  result["join_content_bytes"] = join_body.size();
  result["put"] = to_json(summarize(put_ns));
  result["after_put_write"] = to_json(summarize(after_write_ns));
  result["after_put_reply"] = to_json(summarize(after_reply_ns));
  result["answered_before_put_reply"] = before_reply;
  result["woken_early"] = early;
  result["answers_without_event"] = without_event;
  result["wrong_event"] = wrong_event;
  result["mean_settle_ms"] = settle_ms_total / std::max(rounds, 1);
  result["heartbeat"] = run_heartbeat(port, caller, state_path, rounds);
  result["leave_delay_ms"] = kLeaveDelayMs;
  return result;
}

}  // namespace hs_bench
