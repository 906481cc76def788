#include "load_common.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace json = boost::json;

namespace hs_bench {

json::object expect_ok(const HttpResponse& response, const std::string& what) {
  if (response.status != 200)
    throw std::runtime_error(what + ": HTTP " + std::to_string(response.status) + " " +
                             response.body.substr(0, 300));
  return json::parse(response.body).as_object();
}

std::vector<HttpResponse> run_batch(uint16_t port, const std::vector<HttpRequest>& requests,
                                    size_t parallel) {
  std::vector<HttpResponse> responses(requests.size());
  parallel = std::min(parallel, requests.size());
  std::vector<HttpConnection> connections;
  std::vector<size_t> in_flight(parallel);
  std::vector<bool> busy(parallel, true);
  Epoll epoll;
  size_t next = 0;
  size_t done = 0;
  for (size_t i = 0; i < parallel; ++i) {
    connections.emplace_back(port);
    epoll.add(connections[i].fd(), i);
    in_flight[i] = next;
    connections[i].send(requests[next++]);
  }
  while (done < requests.size()) {
    const auto& ready = epoll.wait(120000);
    if (ready.empty()) throw std::runtime_error("setup: no response within 120 s");
    for (uint64_t key : ready) {
      HttpConnection& connection = connections[key];
      bool open = connection.read_available();
      while (auto response = connection.next_response()) {
        responses[in_flight[key]] = std::move(*response);
        ++done;
        busy[key] = next < requests.size();
        if (busy[key]) {
          in_flight[key] = next;
          connection.send(requests[next++]);
        }
      }
      if (!open && busy[key]) throw std::runtime_error("setup: server closed a connection");
    }
  }
  return responses;
}

std::vector<User> register_users(uint16_t port, const std::string& prefix, int count) {
  std::vector<HttpRequest> requests;
  for (int i = 0; i < count; ++i) {
    json::object body{{"username", prefix + std::to_string(i)},
                      {"password", "bench-password-" + std::to_string(i)},
                      {"auth", json::object{{"type", "m.login.dummy"}}}};
    requests.push_back({"POST", std::string(kClientApi) + "/register", "", json::serialize(body)});
  }
  // Password hashing runs on the server's blocking pool: a few requests in flight keep it busy.
  auto responses = run_batch(port, requests, 4);
  std::vector<User> users;
  for (auto& response : responses) {
    auto body = expect_ok(response, "register");
    users.push_back({json::value_to<std::string>(body.at("user_id")),
                     json::value_to<std::string>(body.at("device_id")),
                     json::value_to<std::string>(body.at("access_token"))});
  }
  return users;
}

std::string create_room(uint16_t port, const User& owner, std::span<const User> members,
                        const std::string& create_body) {
  HttpConnection connection(port);
  auto created = expect_ok(connection.round_trip({"POST", std::string(kClientApi) + "/createRoom",
                                                  owner.token, create_body}),
                           "createRoom");
  std::string room_id = json::value_to<std::string>(created.at("room_id"));
  std::vector<HttpRequest> joins;
  for (const User& member : members) {
    joins.push_back({"POST", std::string(kClientApi) + "/rooms/" + url_encode(room_id) + "/join",
                     member.token, "{}"});
  }
  for (auto& response : run_batch(port, joins, 4))
    expect_ok(response, "join");
  return room_id;
}

std::string next_batch_of(const std::string& body) {
  return json::value_to<std::string>(json::parse(body).as_object().at("next_batch"));
}

int64_t server_cpu_ticks(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  // Fields after the command name start at field 3 (state); utime and stime are fields 14, 15.
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::stoll(field);
    if (index == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

int wait_until_parked(int server_pid, Epoll& epoll, double min_ms, double fallback_ms,
                      const std::function<void(const std::vector<uint64_t>&)>& on_ready) {
  const int64_t start = now_ns();
  int64_t last_ticks = server_pid ? server_cpu_ticks(server_pid) : -1;
  int quiet_samples = 0;
  for (;;) {
    const auto& ready = epoll.wait(10);
    if (!ready.empty()) on_ready(ready);
    const double waited_ms = static_cast<double>(now_ns() - start) / 1e6;
    if (server_pid) {
      int64_t ticks = server_cpu_ticks(server_pid);
      quiet_samples = ticks == last_ticks ? quiet_samples + 1 : 0;
      last_ticks = ticks;
      if (quiet_samples >= 3 && waited_ms >= min_ms) break;
    } else if (waited_ms >= fallback_ms) {
      break;
    }
    if (waited_ms > 5000) break;
  }
  return static_cast<int>((now_ns() - start) / 1000000);
}

}  // namespace hs_bench
