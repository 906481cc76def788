#pragma once
// Stream tokens. A position token "s<pos>" means "everything up to and
// including stream position pos"; sync adds the typing serial and how far the
// device's to-device inbox was delivered: "s<pos>_<typing>_<to_device>".
// /messages accepts any of these forms.
#include <cstdint>
#include <string>
#include <string_view>

namespace atrium::homeserver {

struct StreamToken {
  int64_t pos = 0;
  int64_t typing = 0;
  int64_t to_device = 0;  // inbox delivered up to here (acknowledged by the next sync)
};

std::string make_sync_token(const StreamToken& t);
std::string make_position_token(int64_t pos);
// Throws M_INVALID_PARAM on anything else.
StreamToken parse_stream_token(std::string_view token);

}  // namespace atrium::homeserver
