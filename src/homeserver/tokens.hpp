#pragma once
// Stream tokens. A position token "s<pos>" means "everything up to and
// including stream position pos"; sync adds the typing serial: "s<pos>_<t>".
// /messages accepts either form.
#include <cstdint>
#include <string>
#include <string_view>

namespace atrium::homeserver {

struct StreamToken {
  int64_t pos = 0;
  int64_t typing = 0;
};

std::string make_sync_token(const StreamToken& t);
std::string make_position_token(int64_t pos);
// Throws M_INVALID_PARAM on anything else.
StreamToken parse_stream_token(std::string_view token);

}  // namespace atrium::homeserver
