#include "matrix/room_version.hpp"

namespace atrium::matrix {

const std::vector<RoomVersion>& supported_room_versions() {
  static const std::vector<RoomVersion> versions = {
      {"10", /*v11_rules=*/false, /*owned_state_keys=*/false},
      {"11", /*v11_rules=*/true, /*owned_state_keys=*/false},
      {"org.matrix.msc3757.10", /*v11_rules=*/false, /*owned_state_keys=*/true},
      {"org.matrix.msc3757.11", /*v11_rules=*/true, /*owned_state_keys=*/true},
  };
  return versions;
}

const RoomVersion* find_room_version(std::string_view id) {
  for (const RoomVersion& version : supported_room_versions()) {
    if (version.id == id) return &version;
  }
  return nullptr;
}

}  // namespace atrium::matrix
