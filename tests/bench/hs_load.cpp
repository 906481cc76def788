// hs_load: black-box load tool for the homeserver's Client-Server API.
//
//   hs_load run --port P [--server-pid PID] [--json FILE] [--quick] [--only PHASE]
//       Registers users, then measures event send latency and throughput at 1
//       and 10 concurrent senders, /sync wake-up latency with 100 and 1000
//       parked long-polls, and MatrixRTC membership propagation (membership.cpp).
//       Prints a table; --json writes the numbers. --only runs one phase.
//   hs_load report [--config SERVER.yaml] [--revision TEXT] RUN.json...
//       Prints the homeserver section of BENCHMARKS.md (median of the runs).
//
// Everything goes over 127.0.0.1 with keep-alive HTTP/1.1; one thread, one
// epoll loop, so the tool takes as little of the machine's CPU as it can.
#include <sys/resource.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "load_common.hpp"
#include "membership.hpp"
#include "report.hpp"
#include "stats.hpp"

namespace json = boost::json;

namespace hs_bench {
namespace {

struct RunOptions {
  uint16_t port = 0;
  int server_pid = 0;  // lets the wake-up benchmark see when the server has gone idle
  std::string json_path;
  bool quick = false;  // small workload, to try the tool out
  std::string only;    // one phase (send, wake, membership), to profile it; empty: all
};

std::string message_body(int64_t sequence) {
  return R"({"msgtype":"m.text","body":"load test message )" + std::to_string(sequence) + "\"}";
}

// CPU time the whole machine spent busy (including steal), in clock ticks, from /proc/stat.
int64_t machine_busy_ticks() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  int64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return user + nice + system + irq + softirq + steal;
}

double client_cpu_s() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// ---- send benchmark -------------------------------------------------------------------------

struct SendPhase {
  std::vector<int64_t> latencies_ns;
  int64_t elapsed_ns = 0;
  int errors = 0;
  std::string first_error;
};

// Sends `count` messages back to back, one in flight per connection; connection i sends as
// senders[i]. Times each PUT from request written to its 200 read in full.
SendPhase run_send_phase(std::vector<HttpConnection>& connections, std::span<const User> senders,
                         const std::string& room_id, int count, const std::string& txn_prefix) {
  const std::string send_path =
      std::string(kClientApi) + "/rooms/" + url_encode(room_id) + "/send/m.room.message/";
  SendPhase phase;
  phase.latencies_ns.reserve(static_cast<size_t>(count));
  Epoll epoll;
  std::vector<int64_t> started_ns(connections.size());
  std::vector<bool> busy(connections.size());
  int issued = 0;
  auto issue = [&](size_t i) {
    busy[i] = true;
    HttpRequest request{"PUT", send_path + txn_prefix + std::to_string(issued), senders[i].token,
                        message_body(issued)};
    ++issued;
    started_ns[i] = now_ns();
    connections[i].send(request);
  };
  const int64_t phase_start = now_ns();
  for (size_t i = 0; i < connections.size() && issued < count; ++i) {
    epoll.add(connections[i].fd(), i);
    issue(i);
  }
  int done = 0;
  while (done < count) {
    const auto& ready = epoll.wait(30000);
    if (ready.empty()) throw std::runtime_error("send: no response within 30 s");
    for (uint64_t key : ready) {
      bool open = connections[key].read_available();
      const int64_t read_ns = now_ns();
      while (auto response = connections[key].next_response()) {
        phase.latencies_ns.push_back(read_ns - started_ns[key]);
        busy[key] = false;
        ++done;
        if (response->status != 200) {
          if (phase.errors++ == 0)
            phase.first_error =
                "HTTP " + std::to_string(response->status) + " " + response->body.substr(0, 200);
        }
        if (issued < count) issue(key);
      }
      if (!open && busy[key]) throw std::runtime_error("send: server closed a connection");
    }
  }
  phase.elapsed_ns = now_ns() - phase_start;
  for (auto& connection : connections)
    epoll.remove(connection.fd());
  return phase;
}

json::object run_send_benchmark(uint16_t port, int server_pid, std::span<const User> senders,
                                const std::string& room_id, int warmup, int count,
                                const std::string& run_id) {
  std::vector<HttpConnection> connections;
  for (size_t i = 0; i < senders.size(); ++i)
    connections.emplace_back(port);
  const std::string tag = run_id + "c" + std::to_string(senders.size());
  run_send_phase(connections, senders, room_id, warmup, tag + "w");
  const int64_t server_ticks_before = server_pid ? server_cpu_ticks(server_pid) : 0;
  const double client_cpu_before = client_cpu_s();
  SendPhase phase = run_send_phase(connections, senders, room_id, count, tag + "m");
  const double elapsed_s = static_cast<double>(phase.elapsed_ns) / 1e9;
  const double client_cores = (client_cpu_s() - client_cpu_before) / elapsed_s;
  auto summary = summarize(phase.latencies_ns);
  double events_per_s = count / (static_cast<double>(phase.elapsed_ns) / 1e9);
  json::object result = to_json(summary);
  result["senders"] = senders.size();
  result["warmup"] = warmup;
  result["elapsed_s"] = round_us(static_cast<double>(phase.elapsed_ns) / 1e9);
  result["events_per_s"] = std::round(events_per_s);
  // CPU use in cores: tells a CPU-bound server from one waiting on fsync.
  result["client_cpu_cores"] = std::round(client_cores * 100) / 100;
  if (server_pid) {
    double server_s = static_cast<double>(server_cpu_ticks(server_pid) - server_ticks_before) /
                      static_cast<double>(sysconf(_SC_CLK_TCK));
    result["server_cpu_cores"] = std::round(server_s / elapsed_s * 100) / 100;
    result["server_cpu_us_per_event"] = std::round(server_s / count * 1e6);
  }
  result["errors"] = phase.errors;
  if (phase.errors > 0) {
    result["first_error"] = phase.first_error;
    std::cerr << "hs_load: " << phase.errors << " failed sends, first: " << phase.first_error
              << "\n";
  }
  return result;
}

// ---- /sync wake-up benchmark ----------------------------------------------------------------

struct PollState {
  HttpConnection connection;
  const User* user;
  std::string since;
  bool armed = false;
  int64_t answered_ns = 0;
  std::string body;
};

json::object run_wake_benchmark(uint16_t port, int server_pid, std::span<const User> pollers,
                                const User& waker, const std::string& room_id, int parked,
                                int rounds, const std::string& run_id) {
  const std::string sync_path = std::string(kClientApi) + "/sync";
  // One initial sync per user; all of that user's polls start from its token.
  std::vector<HttpRequest> initial;
  for (const User& user : pollers)
    initial.push_back({"GET", sync_path + "?timeout=0", user.token, ""});
  std::vector<std::string> user_since;
  for (const auto& response : run_batch(port, initial, 4)) {
    user_since.push_back(
        json::value_to<std::string>(expect_ok(response, "initial sync").at("next_batch")));
  }

  std::vector<PollState> polls;
  polls.reserve(static_cast<size_t>(parked));
  Epoll epoll;
  for (int i = 0; i < parked; ++i) {
    size_t user_index = static_cast<size_t>(i) % pollers.size();
    polls.push_back({HttpConnection(port), &pollers[user_index], user_since[user_index]});
    epoll.add(polls.back().connection.fd(), static_cast<uint64_t>(i));
  }
  HttpConnection waker_connection(port);
  const uint64_t waker_key = static_cast<uint64_t>(parked);
  epoll.add(waker_connection.fd(), waker_key);

  auto arm = [&](PollState& poll) {
    poll.connection.send({"GET", sync_path + "?timeout=30000&since=" + url_encode(poll.since),
                          poll.user->token, ""});
    poll.armed = true;
    poll.answered_ns = 0;
  };
  // Reads every ready poll; returns how many answers were read.
  // Stamps each answer as it is read: one epoll wake-up can carry many of them.
  auto drain_polls = [&](const std::vector<uint64_t>& ready, HttpResponse* waker_response,
                         int64_t* waker_done_ns) {
    int answered = 0;
    for (uint64_t key : ready) {
      if (key == waker_key) {
        waker_connection.read_available();
        const int64_t read_ns = now_ns();
        if (auto response = waker_connection.next_response()) {
          *waker_done_ns = read_ns;
          *waker_response = std::move(*response);
        }
        continue;
      }
      PollState& poll = polls[key];
      bool open = poll.connection.read_available();
      const int64_t read_ns = now_ns();
      if (auto response = poll.connection.next_response()) {
        if (response->status != 200)
          throw std::runtime_error("sync: HTTP " + std::to_string(response->status) + " " +
                                   response->body.substr(0, 200));
        poll.answered_ns = read_ns;
        poll.armed = false;
        poll.body = std::move(response->body);
        ++answered;
      } else if (!open) {
        throw std::runtime_error("sync: server closed a parked poll's connection");
      }
    }
    return answered;
  };

  std::vector<int64_t> after_reply_ns, after_write_ns, after_first_answer_ns;
  std::vector<int64_t> all_answered_ns, send_during_wake_ns;
  int negative = 0, early = 0, missing_event = 0, settle_ms_total = 0;
  for (int round = 0; round < rounds; ++round) {
    for (auto& poll : polls)
      arm(poll);
    // Let the server park every poll: wait until its CPU time stops moving (or a fixed delay).
    settle_ms_total += wait_until_parked(server_pid, epoll, 30, 50 + 0.5 * parked,
                                         [&](const std::vector<uint64_t>& ready) {
                                           HttpResponse unused;
                                           int64_t unused_ns = 0;
                                           early += drain_polls(ready, &unused, &unused_ns);
                                           for (auto& poll : polls) {
                                             if (!poll.armed && poll.answered_ns) {
                                               poll.since = next_batch_of(poll.body);
                                               arm(poll);
                                             }
                                           }
                                         });

    const int64_t write_ns = now_ns();
    waker_connection.send({"PUT",
                           std::string(kClientApi) + "/rooms/" + url_encode(room_id) +
                               "/send/m.room.message/" + run_id + "wake" + std::to_string(parked) +
                               "r" + std::to_string(round),
                           waker.token, message_body(round)});
    HttpResponse waker_response;
    int64_t waker_done_ns = 0;
    int answered = 0;
    while (answered < parked || waker_done_ns == 0) {
      const auto& ready = epoll.wait(10000);
      if (ready.empty())
        throw std::runtime_error("wake-up: " + std::to_string(parked - answered) +
                                 " polls not answered within 10 s of the send");
      answered += drain_polls(ready, &waker_response, &waker_done_ns);
    }
    std::string event_id =
        json::value_to<std::string>(expect_ok(waker_response, "wake-up send").at("event_id"));
    int64_t first_answer_ns = INT64_MAX, last_answer_ns = 0;
    for (const auto& poll : polls)
      first_answer_ns = std::min(first_answer_ns, poll.answered_ns);
    for (auto& poll : polls) {
      // Spread of the fan-out: how long after the first answer each poll got its own.
      after_first_answer_ns.push_back(poll.answered_ns - first_answer_ns);
      int64_t after_reply = poll.answered_ns - waker_done_ns;
      if (after_reply < 0) ++negative;
      after_reply_ns.push_back(std::max<int64_t>(after_reply, 0));
      after_write_ns.push_back(poll.answered_ns - write_ns);
      last_answer_ns = std::max(last_answer_ns, poll.answered_ns);
      if (poll.body.find(event_id) == std::string::npos) ++missing_event;
      poll.since = next_batch_of(poll.body);
    }
    all_answered_ns.push_back(last_answer_ns - write_ns);
    send_during_wake_ns.push_back(waker_done_ns - write_ns);
  }

  json::object result;
  result["parked"] = parked;
  result["rounds"] = rounds;
  result["users"] = pollers.size();
  result["after_send_reply"] = to_json(summarize(after_reply_ns));
  result["after_send_write"] = to_json(summarize(after_write_ns));
  result["after_first_answer"] = to_json(summarize(after_first_answer_ns));
  result["all_answered"] = to_json(summarize(all_answered_ns));
  result["send_during_wake"] = to_json(summarize(send_during_wake_ns));
  result["answered_before_send_reply"] = negative;
  result["woken_early"] = early;
  result["missing_event"] = missing_event;
  result["mean_settle_ms"] = settle_ms_total / std::max(rounds, 1);
  if (missing_event > 0)
    std::cerr << "hs_load: " << missing_event << " poll answers lacked the sent event\n";
  return result;
}

// ---- driver ---------------------------------------------------------------------------------

void wait_until_ready(uint16_t port) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    try {
      HttpConnection connection(port);
      if (connection.round_trip({"GET", "/health", "", ""}).status == 200) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("server on port " + std::to_string(port) + " not ready after 10 s");
}

void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void print_send(const json::array& send) {
  std::printf("\nevent send (PUT -> 200, durable)\n");
  std::printf("%8s %9s %8s %8s %8s %8s %10s %7s %11s\n", "senders", "messages", "p50 ms", "p90 ms",
              "p99 ms", "max ms", "events/s", "errors", "server CPU");
  for (const auto& entry : send) {
    const auto& s = entry.as_object();
    const auto* server_cpu = s.if_contains("server_cpu_cores");
    std::printf("%8lld %9lld %8.3f %8.3f %8.3f %8.3f %10.0f %7lld %11.2f\n",
                static_cast<long long>(s.at("senders").to_number<int64_t>()),
                static_cast<long long>(s.at("count").to_number<int64_t>()),
                s.at("p50_ms").to_number<double>(), s.at("p90_ms").to_number<double>(),
                s.at("p99_ms").to_number<double>(), s.at("max_ms").to_number<double>(),
                s.at("events_per_s").to_number<double>(),
                static_cast<long long>(s.at("errors").to_number<int64_t>()),
                server_cpu ? server_cpu->to_number<double>() : 0.0);
  }
}

void print_wake(const json::array& wake) {
  std::printf(
      "\n/sync wake-up, ms to each poll answered: after the send written, after the\n"
      "first poll answered (spread), after the send's 200 (before-200 answers count as 0)\n");
  std::printf("%6s %7s | %7s %7s %7s | %7s %7s | %7s %7s %6s | %9s %9s\n", "parked", "samples",
              "p50", "p99", "max", "p50", "p99", "p50", "p99", "<200", "last poll", "send 200");
  for (const auto& entry : wake) {
    const auto& w = entry.as_object();
    auto ms = [&](const char* measure, const char* key) {
      return w.at(measure).as_object().at(key).to_number<double>();
    };
    std::printf("%6lld %7lld | %7.3f %7.3f %7.3f | %7.3f %7.3f | %7.3f %7.3f %6lld | %9.3f %9.3f\n",
                static_cast<long long>(w.at("parked").to_number<int64_t>()),
                static_cast<long long>(
                    w.at("after_send_write").as_object().at("count").to_number<int64_t>()),
                ms("after_send_write", "p50_ms"), ms("after_send_write", "p99_ms"),
                ms("after_send_write", "max_ms"), ms("after_first_answer", "p50_ms"),
                ms("after_first_answer", "p99_ms"), ms("after_send_reply", "p50_ms"),
                ms("after_send_reply", "p99_ms"),
                static_cast<long long>(w.at("answered_before_send_reply").to_number<int64_t>()),
                ms("all_answered", "p50_ms"), ms("send_during_wake", "p50_ms"));
  }
}

void print_membership(const json::object& m) {
  std::printf(
      "\nMatrixRTC membership: call.member state PUT, the other member's /sync carrying it, and\n"
      "the delayed-leave heartbeat (%lld rounds each)\n",
      static_cast<long long>(m.at("rounds").to_number<int64_t>()));
  std::printf("%-44s %8s %8s %8s\n", "ms", "p50", "p99", "max");
  auto row = [](const char* label, const json::value& summary) {
    const auto& s = summary.as_object();
    std::printf("%-44s %8.3f %8.3f %8.3f\n", label, s.at("p50_ms").to_number<double>(),
                s.at("p99_ms").to_number<double>(), s.at("max_ms").to_number<double>());
  };
  row("state PUT -> 200", m.at("put"));
  row("PUT written -> other member's /sync answer", m.at("after_put_write"));
  row("PUT's 200 -> other member's /sync answer", m.at("after_put_reply"));
  const auto& heartbeat = m.at("heartbeat").as_object();
  row("delayed leave scheduled (PUT ?delay)", heartbeat.at("schedule"));
  row("delayed leave restarted (POST restart)", heartbeat.at("restart"));
  row("delayed leave cancelled (POST cancel)", heartbeat.at("cancel"));
  std::printf("/sync answers before the PUT's 200: %lld\n",
              static_cast<long long>(m.at("answered_before_put_reply").to_number<int64_t>()));
}

void print_table(const json::object& result) {
  if (const auto* send = result.if_contains("send")) print_send(send->as_array());
  if (const auto* wake = result.if_contains("wake")) print_wake(wake->as_array());
  if (const auto* membership = result.if_contains("membership"))
    print_membership(membership->as_object());
  if (const auto* other = result.if_contains("other_work_cores"))
    std::printf("\nother work on the machine meanwhile: %.2f cores\n", other->to_number<double>());
  std::fflush(stdout);
}

int run(const RunOptions& options) {
  raise_file_limit();
  wait_until_ready(options.port);
  const int senders = 10;
  const int poller_users = 20;
  const int send_warmup = options.quick ? 50 : 300;
  const int send_one = options.quick ? 300 : 3000;
  const int send_ten = options.quick ? 2000 : 20000;
  const int rounds = options.quick ? 3 : 20;
  const int membership_rounds = options.quick ? 20 : 200;
  // Unique names and transaction ids, so a rerun against the same server does not collide.
  const std::string run_id = "r" + std::to_string(now_ns() % 1000000007);

  int64_t setup_start = now_ns();
  const int user_count = senders + poller_users + 3;
  auto users = register_users(options.port, "bench" + run_id + "u", user_count);
  std::span<const User> sender_users(users.data(), senders);
  std::span<const User> poll_users(users.data() + senders, poller_users);
  const User& waker = users[senders + poller_users];
  const User& caller = users[senders + poller_users + 1];
  const User& watcher = users.back();
  std::string send_room = create_room(options.port, sender_users[0], sender_users.subspan(1));
  std::string wake_room = create_room(options.port, waker, poll_users);
  // The caller creates the call room, so its power level lets it send the membership state.
  std::string call_room = create_room(options.port, caller, std::span(&watcher, 1));
  double setup_s = static_cast<double>(now_ns() - setup_start) / 1e9;
  std::fprintf(stderr, "hs_load: setup (%d users, 3 rooms) took %.1f s\n", user_count, setup_s);

  // Other work on the machine skews every number: measure how much CPU it took meanwhile.
  const int64_t measure_start = now_ns();
  const int64_t machine_ticks_before = machine_busy_ticks();
  const int64_t server_ticks_before = options.server_pid ? server_cpu_ticks(options.server_pid) : 0;
  const double client_cpu_before = client_cpu_s();

  json::object result;
  result["setup_s"] = round_us(setup_s);
  auto selected = [&](const char* phase) { return options.only.empty() || options.only == phase; };
  if (selected("send")) {
    json::array send;
    send.push_back(run_send_benchmark(options.port, options.server_pid, sender_users.first(1),
                                      send_room, send_warmup, send_one, run_id));
    send.push_back(run_send_benchmark(options.port, options.server_pid, sender_users, send_room,
                                      send_warmup, send_ten, run_id));
    result["send"] = std::move(send);
  }
  if (selected("wake")) {
    json::array wake;
    for (int parked : {100, 1000}) {
      wake.push_back(run_wake_benchmark(options.port, options.server_pid, poll_users, waker,
                                        wake_room, parked, rounds, run_id));
    }
    result["wake"] = std::move(wake);
  }
  if (selected("membership")) {
    result["membership"] = run_membership_benchmark(options.port, options.server_pid, caller,
                                                    watcher, call_room, membership_rounds);
  }

  const double measured_s = static_cast<double>(now_ns() - measure_start) / 1e9;
  const double ticks_per_s = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double machine_cores =
      static_cast<double>(machine_busy_ticks() - machine_ticks_before) / ticks_per_s / measured_s;
  const double server_cores =
      options.server_pid
          ? static_cast<double>(server_cpu_ticks(options.server_pid) - server_ticks_before) /
                ticks_per_s / measured_s
          : 0;
  const double client_cores = (client_cpu_s() - client_cpu_before) / measured_s;
  result["machine_busy_cores"] = std::round(machine_cores * 100) / 100;
  result["other_work_cores"] =
      std::round(std::max(0.0, machine_cores - server_cores - client_cores) * 100) / 100;

  print_table(result);
  if (!options.json_path.empty()) {
    std::ofstream out(options.json_path);
    out << json::serialize(result) << "\n";
    if (!out) throw std::runtime_error("cannot write " + options.json_path);
  }
  return 0;
}

int usage() {
  std::cerr << "usage: hs_load run --port P [--server-pid PID] [--json FILE] [--quick]\n"
               "                  [--only send|wake|membership]\n"
               "       hs_load report [--config SERVER.yaml] [--revision TEXT] RUN.json...\n";
  return 2;
}

}  // namespace
}  // namespace hs_bench

int main(int argc, char** argv) {
  using namespace hs_bench;
  if (argc < 2) return usage();
  std::string command = argv[1];
  try {
    if (command == "report") {
      std::string config_path, revision;
      std::vector<std::string> paths;
      for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--config" && i + 1 < argc)
          config_path = argv[++i];
        else if (arg == "--revision" && i + 1 < argc)
          revision = argv[++i];
        else
          paths.push_back(arg);
      }
      if (paths.empty()) return usage();
      return write_report(paths, config_path, revision, std::cout);
    }
    if (command != "run") return usage();
    RunOptions options;
    for (int i = 2; i < argc; ++i) {
      std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--port")
        options.port = static_cast<uint16_t>(std::stoi(value()));
      else if (arg == "--server-pid")
        options.server_pid = std::stoi(value());
      else if (arg == "--json")
        options.json_path = value();
      else if (arg == "--quick")
        options.quick = true;
      else if (arg == "--only")
        options.only = value();
      else
        return usage();
    }
    if (options.port == 0) return usage();
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "hs_load: " << e.what() << "\n";
    return 1;
  }
}
