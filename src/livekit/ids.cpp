#include "livekit/ids.hpp"

#include <sodium.h>

namespace atrium::livekit {

std::string make_id(std::string_view prefix) {
  // Base 57: digits and letters without 0, 1, I, O and l.
  static const char kAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  std::string id(prefix);
  for (int i = 0; i < 12; ++i)
    id += kAlphabet[randombytes_uniform(sizeof(kAlphabet) - 1)];
  return id;
}

}  // namespace atrium::livekit
