#pragma once
// LiveKit room names and participant identities derived from Matrix ids,
// exactly as lk-jwt-service derives them (helper.go), so clients of either
// service meet in the same SFU room: unpadded standard base64 of the SHA-256
// of the JSON array of the inputs, serialised as Go's json.Marshal does.
#include <string>
#include <string_view>
#include <vector>

namespace atrium::rtcauth {

// The slot Element Call uses; /sfu/get (legacy) always uses it.
inline constexpr std::string_view kDefaultSlot = "m.call#ROOM";

// JSON array of strings as Go's json.Marshal writes it: no spaces; <, >, &,
// U+2028 and U+2029 escaped as \u003c...; invalid UTF-8 as \ufffd.
std::string go_json_string_array(const std::vector<std::string>& items);

// [room_id, slot_id]
std::string livekit_room_alias(std::string_view room_id, std::string_view slot_id);
// [user_id, device_id, member_id] (/get_token)
std::string livekit_identity(std::string_view user_id, std::string_view device_id,
                             std::string_view member_id);
// "{user_id}:{device_id}" (/sfu/get)
std::string legacy_livekit_identity(std::string_view user_id, std::string_view device_id);

}  // namespace atrium::rtcauth
