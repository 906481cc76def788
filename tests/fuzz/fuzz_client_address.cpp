// X-Forwarded-For parsing: any header value gives back an IP address string
// (the peer's or one from the list), never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/client_address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto trusted =
      atrium::net::parse_trusted_proxies(std::vector<std::string>{"127.0.0.1", "::1", "10.0.0.2"});
  std::string_view header(reinterpret_cast<const char*>(data), size);
  auto address = atrium::net::client_address("127.0.0.1", header, trusted);
  if (!atrium::net::parse_ip(address)) __builtin_trap();
  (void)atrium::net::parse_ip(header);
  return 0;
}
