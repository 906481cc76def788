#include "homeserver/tokens.hpp"

#include <charconv>

#include "base/error.hpp"

namespace atrium::homeserver {

std::string make_sync_token(const StreamToken& t) {
  return "s" + std::to_string(t.pos) + "_" + std::to_string(t.typing) + "_" +
         std::to_string(t.to_device);
}

std::string make_position_token(int64_t pos) {
  return "s" + std::to_string(pos);
}

StreamToken parse_stream_token(std::string_view token) {
  auto bad = [&] { return MatrixError(Errc::invalid_param, "Invalid stream token"); };
  if (token.size() < 2 || (token[0] != 's' && token[0] != 't')) throw bad();
  StreamToken out;
  const char* p = token.data() + 1;
  const char* end = token.data() + token.size();
  auto r = std::from_chars(p, end, out.pos);
  if (r.ec != std::errc() || out.pos < 0) throw bad();
  if (r.ptr == end) return out;
  if (*r.ptr != '_') throw bad();
  auto r2 = std::from_chars(r.ptr + 1, end, out.typing);
  if (r2.ec != std::errc() || out.typing < 0) throw bad();
  if (r2.ptr == end) return out;
  if (*r2.ptr != '_') throw bad();
  auto r3 = std::from_chars(r2.ptr + 1, end, out.to_device);
  if (r3.ec != std::errc() || r3.ptr != end || out.to_device < 0) throw bad();
  return out;
}

}  // namespace atrium::homeserver
