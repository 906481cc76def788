#include "report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace json = boost::json;

namespace hs_bench {
namespace {

// Published figures (see shared/design/performance.md): BridgerB/matrix-server-performance,
// 2 CPUs. Not measured here: neither server is packaged for Debian 12.
constexpr double kConduitSendP50Ms = 0.81;
constexpr double kConduitSequentialPerS = 1177;
constexpr double kConduitTenConcurrentPerS = 2498;
constexpr double kSynapseSendP50Ms = 18;
constexpr double kSynapseTenConcurrentPerS = 108;

// Targets from the same design note.
constexpr double kTargetSendP99Ms = 2;
constexpr double kTargetEventsPerS = 5000;
constexpr double kTargetWakeP99Ms = 1;
constexpr double kTargetMembershipP99Ms = 20;

struct Metric {
  std::vector<double> runs;
  double median = 0;
};

using Getter = std::function<double(const json::object& run)>;

Metric collect(const std::vector<json::object>& runs, const Getter& get) {
  Metric metric;
  for (const auto& run : runs)
    metric.runs.push_back(get(run));
  std::vector<double> sorted = metric.runs;
  std::sort(sorted.begin(), sorted.end());
  size_t n = sorted.size();
  metric.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return metric;
}

const json::object& entry(const json::object& run, const char* section, const char* key,
                          int64_t value) {
  for (const auto& item : run.at(section).as_array()) {
    if (item.as_object().at(key).to_number<int64_t>() == value) return item.as_object();
  }
  throw std::runtime_error(std::string("run has no ") + section + " entry with " + key + " " +
                           std::to_string(value));
}

// Optional keys (the server's CPU use needs its pid) read as 0 when absent.
Getter send_metric(int64_t senders, const char* key) {
  return [=](const json::object& run) {
    const auto* value = entry(run, "send", "senders", senders).if_contains(key);
    return value ? value->to_number<double>() : 0.0;
  };
}

Getter wake_metric(int64_t parked, const char* measure, const char* key) {
  return [=](const json::object& run) {
    const auto& wake = entry(run, "wake", "parked", parked);
    if (!measure) return wake.at(key).to_number<double>();
    return wake.at(measure).as_object().at(key).to_number<double>();
  };
}

// `measure` of the membership phase (a latency summary, or one of the heartbeat's with `step`).
Getter membership_metric(const char* measure, const char* step, const char* key) {
  return [=](const json::object& run) {
    const auto& m = run.at("membership").as_object().at(measure).as_object();
    return (step ? m.at(step).as_object() : m).at(key).to_number<double>();
  };
}

// About three significant digits, without trailing zeros.
std::string number(double value) {
  char text[32];
  int decimals = value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3;
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  std::string result = text;
  if (result.find('.') != std::string::npos) {
    while (result.back() == '0')
      result.pop_back();
    if (result.back() == '.') result.pop_back();
  }
  return result;
}

std::string with_runs(const Metric& metric, const std::string& unit) {
  std::string text = "**" + number(metric.median) + unit + "**";
  if (metric.runs.size() > 1) {
    text += " (";
    for (size_t i = 0; i < metric.runs.size(); ++i)
      text += (i ? " / " : "") + number(metric.runs[i]);
    text += ")";
  }
  return text;
}

std::string ratio(double value, double reference, bool lower_is_better) {
  double r = value / reference;
  char text[96];
  bool better = lower_is_better ? r < 1 : r > 1;
  double factor = r >= 1 ? r : 1 / r;
  const char* word = lower_is_better ? (better ? "faster" : "slower") : (better ? "more" : "fewer");
  std::snprintf(text, sizeof text, "%.2fx (%.1fx %s)", r, factor, word);
  return text;
}

std::string verdict_at_most(double value, double target) {
  if (value <= target) return "met";
  char text[96];
  std::snprintf(text, sizeof text, "**missed** by %s ms (%.1fx the target)",
                number(value - target).c_str(), value / target);
  return text;
}

std::string verdict_at_least(double value, double target) {
  if (value >= target) return "met";
  char text[96];
  std::snprintf(text, sizeof text, "**missed** by %s/s (%.0f%% of the target)",
                number(target - value).c_str(), 100 * value / target);
  return text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

std::string machine_line() {
  utsname name{};
  uname(&name);
  std::ostringstream text;
  text << cpu_model() << ", nproc " << sysconf(_SC_NPROCESSORS_ONLN) << ", " << name.sysname << " "
       << name.release << " " << name.machine;
  return text.str();
}

// The MatrixRTC rows of the table: membership propagation and the delayed-leave heartbeat.
void write_membership_rows(const std::vector<json::object>& runs, std::ostream& out) {
  auto pair = [&](const char* measure, const char* step) {
    return with_runs(collect(runs, membership_metric(measure, step, "p50_ms")), " ms") + " / " +
           with_runs(collect(runs, membership_metric(measure, step, "p99_ms")), " ms");
  };
  Metric propagation_p99 = collect(runs, membership_metric("after_put_write", nullptr, "p99_ms"));
  double before_reply = 0, samples = 0;
  for (const auto& run : runs) {
    const auto& m = run.at("membership").as_object();
    before_reply += m.at("answered_before_put_reply").to_number<double>();
    samples += m.at("after_put_write").as_object().at("count").to_number<double>();
  }
  char share[64];
  std::snprintf(share, sizeof share, "%.1f%%", samples > 0 ? 100 * before_reply / samples : 0.0);
  out << "| MatrixRTC membership state PUT -> 200, p50 / p99 | " << pair("put", nullptr)
      << " | | |\n"
      << "| membership propagation p50 / p99, from the PUT written to the other member's /sync "
         "answer carrying it | "
      << pair("after_put_write", nullptr) << " | p99 <= " << number(kTargetMembershipP99Ms)
      << " ms | " << verdict_at_most(propagation_p99.median, kTargetMembershipP99Ms) << " |\n"
      << "| membership propagation p50 / p99, from the PUT's 200 | "
      << pair("after_put_reply", nullptr) << "; " << share
      << " of the answers came before that 200 | | |\n"
      << "| delayed leave scheduled (`PUT .../state/...?org.matrix.msc4140.delay`), p50 / p99 | "
      << pair("heartbeat", "schedule") << " | | |\n"
      << "| delayed leave restarted (`POST .../delayed_events/{id}/restart`, the heartbeat), "
         "p50 / p99 | "
      << pair("heartbeat", "restart") << " | | |\n"
      << "| delayed leave cancelled (`POST .../delayed_events/{id}/cancel`), p50 / p99 | "
      << pair("heartbeat", "cancel") << " | | |\n";
}

std::string today_utc() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return text;
}

}  // namespace

int write_report(const std::vector<std::string>& run_paths, const std::string& server_config_path,
                 const std::string& revision, std::ostream& out) {
  std::vector<json::object> runs;
  runs.reserve(run_paths.size());
  for (const auto& path : run_paths)
    runs.push_back(json::parse(read_text(path)).as_object());
  const auto& first = runs.front();
  auto sent = [&](int64_t senders) {
    return entry(first, "send", "senders", senders).at("count").to_number<int64_t>();
  };
  const int64_t rounds = entry(first, "wake", "parked", 1000).at("rounds").to_number<int64_t>();
  const int64_t poll_users = entry(first, "wake", "parked", 1000).at("users").to_number<int64_t>();
  const int64_t warmup = entry(first, "send", "senders", 1).at("warmup").to_number<int64_t>();
  const auto& membership = first.at("membership").as_object();
  const int64_t membership_rounds = membership.at("rounds").to_number<int64_t>();
  const int64_t membership_bytes = membership.at("join_content_bytes").to_number<int64_t>();
  const int64_t leave_delay_ms = membership.at("leave_delay_ms").to_number<int64_t>();

  Metric p50_one = collect(runs, send_metric(1, "p50_ms"));
  Metric p99_one = collect(runs, send_metric(1, "p99_ms"));
  Metric rate_one = collect(runs, send_metric(1, "events_per_s"));
  Metric p50_ten = collect(runs, send_metric(10, "p50_ms"));
  Metric p99_ten = collect(runs, send_metric(10, "p99_ms"));
  Metric rate_ten = collect(runs, send_metric(10, "events_per_s"));
  Metric cpu_ten = collect(runs, send_metric(10, "server_cpu_cores"));
  Metric cpu_per_event_ten = collect(runs, send_metric(10, "server_cpu_us_per_event"));
  Metric other_work = collect(runs, [](const json::object& run) {
    const auto* value = run.if_contains("other_work_cores");
    return value ? value->to_number<double>() : 0.0;
  });
  double failed_sends = 0;
  for (const auto& run : runs) {
    for (const auto& s : run.at("send").as_array())
      failed_sends += s.as_object().at("errors").to_number<double>();
  }

  out << "<!-- homeserver:begin -->\n"
      << "<!-- Generated by scripts/bench; edits between these markers are overwritten. -->\n"
      << "## Homeserver: event send, /sync wake-up and MatrixRTC membership\n\n"
      << "Measured " << today_utc() << " by `scripts/bench`: median of " << runs.size()
      << " runs, each against a freshly started `atrium serve` with an empty data folder; "
      << "the individual runs follow in brackets.\n\n"
      << "Machine: " << machine_line() << ". The server and the load tool share these cores. "
      << "CPU taken by other work on the machine while each run measured (busy cores from "
         "/proc/stat, steal included, minus the server and the load tool): "
      << with_runs(other_work, " cores") << "; anything above 0 shows up as noise.";
  if (!revision.empty()) out << " Server source: " << revision << ".";
  out << "\n\n";

  out << "| metric | Atrium | target | |\n|---|---|---|---|\n"
      << "| send p50, 1 sender | " << with_runs(p50_one, " ms") << " | | |\n"
      << "| send p99, 1 sender | " << with_runs(p99_one, " ms") << " | | |\n"
      << "| events/s, 1 sender | " << with_runs(rate_one, "") << " | | |\n"
      << "| send p50, 10 senders | " << with_runs(p50_ten, " ms") << " | | |\n"
      << "| send p99, 10 senders | " << with_runs(p99_ten, " ms")
      << " | <= " << number(kTargetSendP99Ms) << " ms | "
      << verdict_at_most(p99_ten.median, kTargetSendP99Ms) << " |\n"
      << "| events/s, 10 senders | " << with_runs(rate_ten, "")
      << " | >= " << number(kTargetEventsPerS) << " | "
      << verdict_at_least(rate_ten.median, kTargetEventsPerS) << " |\n"
      << "| server CPU while 10 senders send (cores / us per event) | " << with_runs(cpu_ten, "")
      << " / " << with_runs(cpu_per_event_ten, " us") << " | | |\n";
  // The commit is invisible from outside: estimate it as the send written plus an unloaded
  // send's p50 (parse, event building, fsync, reply), and subtract that from each answer.
  const double commit_ms = p50_one.median;
  for (int64_t parked : {100, 1000}) {
    const std::string p = std::to_string(parked);
    auto wake = [&](const char* measure, const char* key) {
      return collect(runs, wake_metric(parked, measure, key));
    };
    Metric upper_p50 = wake("after_send_write", "p50_ms");
    Metric upper_p99 = wake("after_send_write", "p99_ms");
    Metric spread_p99 = wake("after_first_answer", "p99_ms");
    Metric reply_p99 = wake("after_send_reply", "p99_ms");
    Metric send_p50 = wake("send_during_wake", "p50_ms");
    Metric all = wake("all_answered", "p50_ms");
    double before_reply = 0, samples = 0;
    for (const auto& run : runs) {
      const auto& w = entry(run, "wake", "parked", parked);
      before_reply += w.at("answered_before_send_reply").to_number<double>();
      samples += w.at("after_send_write").as_object().at("count").to_number<double>();
    }
    const double estimate_p50 = std::max(0.0, upper_p50.median - commit_ms);
    const double estimate_p99 = std::max(0.0, upper_p99.median - commit_ms);
    char share[64];
    std::snprintf(share, sizeof share, "%.1f%%", samples > 0 ? 100 * before_reply / samples : 0.0);
    out << "| /sync wake-up p50 / p99, " << p << " parked, from the send written | "
        << with_runs(upper_p50, " ms") << " / " << with_runs(upper_p99, " ms") << " | | |\n"
        << "| /sync wake-up p50 / p99, " << p << " parked, from the commit (estimated) | **"
        << number(estimate_p50) << " ms** / **" << number(estimate_p99) << " ms** | "
        << (parked == 1000 ? "p99 <= 1 ms" : "") << " | "
        << (parked == 1000 ? verdict_at_most(estimate_p99, kTargetWakeP99Ms) : "") << " |\n"
        << "| /sync wake-up p99, " << p << " parked, from the first poll answered | "
        << with_runs(spread_p99, " ms") << " | | |\n"
        << "| /sync wake-up p99, " << p << " parked, from the send's 200 | "
        << with_runs(reply_p99, " ms") << "; " << share << " of the answers came before that 200"
        << " | | |\n"
        << "| last of " << p << " polls answered, from the send written (median round) | "
        << with_runs(all, " ms") << " | | |\n"
        << "| the waking send's own PUT -> 200 with " << p << " parked (p50) | "
        << with_runs(send_p50, " ms") << " | | |\n";
  }
  write_membership_rows(runs, out);
  out << "\nFailed sends over all runs: " << number(failed_sends) << ".\n\n";

  out << "### Against published anchors\n\n"
      << "No Synapse or Conduit is packaged for Debian 12 (bookworm), so no peer ran next to "
      << "Atrium here. The anchors below are published figures from "
      << "BridgerB/matrix-server-performance (2 CPUs, a different machine and client); read the "
      << "ratios as a rough position, not as a side-by-side result.\n\n"
      << "| metric | Atrium | Conduit | Atrium / Conduit | Synapse | Atrium / Synapse |\n"
      << "|---|---|---|---|---|---|\n"
      << "| send p50 (1 sender) | " << number(p50_one.median) << " ms | "
      << number(kConduitSendP50Ms) << " ms | " << ratio(p50_one.median, kConduitSendP50Ms, true)
      << " | " << number(kSynapseSendP50Ms) << " ms | "
      << ratio(p50_one.median, kSynapseSendP50Ms, true) << " |\n"
      << "| events/s, sequential | " << number(rate_one.median) << " | "
      << number(kConduitSequentialPerS) << " | "
      << ratio(rate_one.median, kConduitSequentialPerS, false) << " | | |\n"
      << "| events/s, 10 concurrent | " << number(rate_ten.median) << " | "
      << number(kConduitTenConcurrentPerS) << " | "
      << ratio(rate_ten.median, kConduitTenConcurrentPerS, false) << " | "
      << number(kSynapseTenConcurrentPerS) << " | "
      << ratio(rate_ten.median, kSynapseTenConcurrentPerS, false) << " |\n\n"
      << "In words: send p50 " << number(p50_one.median) << " ms vs Conduit "
      << number(kConduitSendP50Ms) << " ms => " << ratio(p50_one.median, kConduitSendP50Ms, true)
      << "; 10 concurrent " << number(rate_ten.median) << " events/s vs Conduit "
      << number(kConduitTenConcurrentPerS) << " => "
      << ratio(rate_ten.median, kConduitTenConcurrentPerS, false) << ", vs Synapse "
      << number(kSynapseTenConcurrentPerS) << " => "
      << ratio(rate_ten.median, kSynapseTenConcurrentPerS, false) << ".\n\n";

  out << "### Method\n\n"
      << "- Load tool: `build/bin/hs_load` (`tests/bench/hs_load.cpp`), a black-box client: one "
         "thread, one epoll loop, keep-alive HTTP/1.1 over 127.0.0.1 with TCP_NODELAY, one "
         "connection per sender or poll. Times are CLOCK_MONOTONIC in the client.\n"
      << "- Durability: SQLite in WAL mode with `synchronous=FULL` and one writer thread doing "
         "group commit, so every 200 to a send means the event is on disk (fsynced) first.\n"
      << "- Send: `PUT /rooms/{room}/send/m.room.message/{txn}` with a 40-byte text body, all "
         "into one room whose members are the senders. Timed from the request written to the "
         "socket to its 200 response read in full. Each sender has its own user and connection "
         "and keeps one request in flight, back to back. "
      << sent(1) << " messages with 1 sender, " << sent(10) << " with 10, each after " << warmup
      << " warm-up messages; events/s = messages / wall time of the measured phase.\n"
      << "- /sync wake-up: N parked `GET /sync?since=...&timeout=30000` (N = 100, 1000), spread "
         "over "
      << poll_users << " users (N / " << poll_users
      << " polls per user, one connection each) in a separate room of " << poll_users + 1
      << " members, every poll caught up with a fresh `since` token. The tool waits until the "
         "server's CPU time stops moving (every poll parked), then one more member sends a "
         "message. Per poll the tool records the time from the send request written to that "
         "poll's response read in full. The commit itself is invisible from outside, so the "
         "\"from the commit\" row subtracts the unloaded 1-sender send p50 (the send's parse, "
         "event building, fsync and reply) from that. Also recorded: the time from the first "
         "poll answered in the round (the fan-out spread), and, as the issue asks, from the "
         "send's 200 arriving, with answers that came before that 200 counted as 0 and their "
         "share given. "
      << rounds
      << " rounds per N, polls re-armed with their new `next_batch` each round; percentiles "
         "are over all polls of all rounds; every answer is checked to hold the sent event.\n"
      << "- MatrixRTC membership: a room of 2 members, created by the caller; both keep a "
         "`/sync?since=...&timeout=30000` parked on its own connection, as their clients would "
         "in a call. Each round the tool waits until the server's CPU time stops moving, then "
         "the caller PUTs `org.matrix.msc3401.call.member` at state key "
         "`_@caller:localhost_DEVICE_m.call`, alternately with matrix-js-sdk's join content ("
      << membership_bytes
      << " bytes: application, call_id, scope, device_id, membershipID, expires, "
         "m.call.intent, focus_active, foci_preferred) and the leave content `{}`. Timed: the "
         "PUT to its 200, and the PUT written (or its 200 read) to the other member's /sync "
         "answer read in full; the answer is checked to carry that event (same event id) in "
         "`rooms.join[room].timeline` or `.state`. "
      << membership_rounds
      << " rounds. Then, as many times: schedule the delayed leave (`{}` at the same state key, "
         "delay "
      << leave_delay_ms / 1000
      << " s), restart it, cancel it, each timed as one round trip on a keep-alive "
         "connection; the restart is what a MatrixRTC client sends every few seconds while in "
         "a call.\n"
      << "- Setup (not timed): registration (argon2id password hashing) and room joins.\n";
  if (!server_config_path.empty()) {
    out << "- Server: `build/bin/atrium` (CMake preset `default`, RelWithDebInfo `-O2`), started "
           "with `--config` holding:\n\n```yaml\n"
        << read_text(server_config_path) << "```\n";
  }
  out << "<!-- homeserver:end -->\n";
  return 0;
}

}  // namespace hs_bench
