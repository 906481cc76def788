#pragma once
// hs_load's MatrixRTC phase: how fast a call membership state event reaches the other member's
// parked /sync, and what the delayed-leave heartbeat (MSC4140) costs per request.
#include <boost/json.hpp>

#include <cstdint>
#include <string>

#include "load_common.hpp"

namespace hs_bench {

// `caller` (who must be allowed to send the state event) and `watcher` are the two members of
// `room_id`. Each round: both members' /sync long-polls are parked, then the caller PUTs its
// org.matrix.msc3401.call.member state, alternately the join content and the leave `{}`; the
// round ends when the caller has its 200 and the watcher's /sync has answered with the event.
// Then `rounds` times: schedule a delayed leave, restart it, cancel it.
boost::json::object run_membership_benchmark(uint16_t port, int server_pid, const User& caller,
                                             const User& watcher, const std::string& room_id,
                                             int rounds);

}  // namespace hs_bench
