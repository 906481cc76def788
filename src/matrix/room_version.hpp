#pragma once
#include <string_view>
#include <vector>

namespace atrium::matrix {

struct RoomVersion {
  std::string_view id;
  // v11: m.room.create has no `creator`; redaction keeps create's content,
  // power_levels' `invite`, and m.room.redaction's `redacts` in content.
  bool v11_rules;
  // MSC3757: state keys starting with '@' are owned by that user (or
  // `@user:server_suffix`); others may only write them with higher power.
  bool owned_state_keys;
};

// "10", "11", "org.matrix.msc3757.10", "org.matrix.msc3757.11"; nullptr otherwise.
const RoomVersion* find_room_version(std::string_view id);
const std::vector<RoomVersion>& supported_room_versions();
inline constexpr std::string_view kDefaultRoomVersion = "11";

}  // namespace atrium::matrix
