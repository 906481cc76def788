#pragma once
// What hs_load's phases share: users and rooms for the setup, and a look at the server's CPU
// time to tell when every long-poll it was sent is parked.
#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "http_client.hpp"

namespace hs_bench {

inline constexpr const char* kClientApi = "/_matrix/client/v3";

struct User {
  std::string user_id;
  std::string device_id;
  std::string token;
};

// The body of a 200 response as a JSON object; throws with `what` and the status otherwise.
boost::json::object expect_ok(const HttpResponse& response, const std::string& what);

// Runs `requests` over `parallel` keep-alive connections, one in flight on each,
// and returns the responses in request order.
std::vector<HttpResponse> run_batch(uint16_t port, const std::vector<HttpRequest>& requests,
                                    size_t parallel);

// Registers `count` users named prefix0, prefix1, ... (each with one device).
std::vector<User> register_users(uint16_t port, const std::string& prefix, int count);

// Creates a room owned by `owner` with the createRoom body `create_body` and joins `members`.
std::string create_room(uint16_t port, const User& owner, std::span<const User> members,
                        const std::string& create_body = R"({"preset":"public_chat"})");

// The `next_batch` token of a /sync response body.
std::string next_batch_of(const std::string& body);

// Server CPU time (user + system) in clock ticks, from /proc/PID/stat; -1 if unreadable.
int64_t server_cpu_ticks(int pid);

// Waits until the server's CPU time has stopped moving for three samples and at least
// `min_ms` have passed (every request sent to it is parked), at most 5 s; without a pid, waits
// `fallback_ms`. Whatever `epoll` reports meanwhile goes to `on_ready`. Returns the ms waited.
int wait_until_parked(int server_pid, Epoll& epoll, double min_ms, double fallback_ms,
                      const std::function<void(const std::vector<uint64_t>&)>& on_ready);

}  // namespace hs_bench
