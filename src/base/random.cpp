#include "base/random.hpp"

#include <sodium.h>

#include <vector>

#include "base/encoding.hpp"

namespace atrium {

std::string random_letters(size_t len) {
  static constexpr char kLetters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out(len, 'A');
  for (auto& c : out)
    c = kLetters[randombytes_uniform(52)];
  return out;
}

std::string random_token(size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  randombytes_buf(buf.data(), buf.size());
  return base64_encode(buf, /*url_safe=*/true);
}

}  // namespace atrium
