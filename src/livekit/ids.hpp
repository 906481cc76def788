#pragma once
// LiveKit's identifiers and the version we announce.
#include <string>
#include <string_view>

namespace atrium::livekit {

// What JoinResponse.server_info says. livekit-client refuses some features
// (RPC) below 1.8.0; protocol 16 is what current LiveKit servers speak for
// the two-connection mode.
inline constexpr char kServerVersion[] = "1.9.0";
inline constexpr int kServerProtocol = 16;

// `prefix` + 12 characters of the base-57 alphabet LiveKit's ids use
// (RM_, PA_, TR_...). Clients only look at the prefix.
std::string make_id(std::string_view prefix);

}  // namespace atrium::livekit
