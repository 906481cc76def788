#pragma once
// Unguessable identifiers from the OS CSPRNG (libsodium).
#include <cstddef>
#include <string>

namespace atrium {

// `len` characters from [A-Za-z], suitable for device ids and room localparts.
std::string random_letters(size_t len);
// `bytes` random bytes as URL-safe unpadded base64: tokens, delay ids.
std::string random_token(size_t bytes = 24);

}  // namespace atrium
