// Request bodies are attacker-controlled: parsing must either succeed or throw
// MatrixError, and whatever parses must canonicalize or throw MatrixError.
// Any other exception, crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.hpp"
#include "matrix/canonical_json.hpp"
#include "matrix/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  boost::json::object request;
  try {
    request = atrium::matrix::parse_request_object(body, /*allow_empty=*/size % 2 == 0);
  } catch (const atrium::MatrixError&) {
    return 0;
  }
  try {
    (void)atrium::matrix::canonical_json(request);
  } catch (const atrium::MatrixError&) {
  }
  return 0;
}
