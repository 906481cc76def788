// Properties of canonical JSON on any parseable input: when the value is
// encodable, the output parses back to an equal value, and encoding that
// again gives the same bytes. When it is not, canonical_json must refuse it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "base/error.hpp"
#include "matrix/canonical_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) return 0;

  if (!atrium::matrix::is_canonical_encodable(value)) {
    try {
      (void)atrium::matrix::canonical_json(value);
    } catch (const atrium::MatrixError&) {
      return 0;
    }
    std::abort();  // the two functions disagree
  }

  std::string once = atrium::matrix::canonical_json(value);
  boost::json::value reparsed = boost::json::parse(once, ec);
  if (ec || reparsed != value) std::abort();
  if (atrium::matrix::canonical_json(reparsed) != once) std::abort();
  return 0;
}
