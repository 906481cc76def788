#pragma once
// The client's address for per-address limits and logs. Behind a reverse
// proxy every connection comes from the proxy; when the peer is one of the
// configured trusted proxies, the address it (and any trusted proxies before
// it) recorded in X-Forwarded-For is used instead: the rightmost entry that
// is not itself a trusted proxy. Untrusted peers cannot set their address.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace atrium::net {

// Parses "1.2.3.4", "::1", "[::1]", "1.2.3.4:5678" or "[::1]:5678"; nothing
// for anything else. IPv4-mapped IPv6 addresses become IPv4.
std::optional<boost::asio::ip::address> parse_ip(std::string_view text);

// Throws std::runtime_error naming the entry that is not an IP address.
std::vector<boost::asio::ip::address> parse_trusted_proxies(std::span<const std::string> list);

std::string client_address(std::string_view peer, std::optional<std::string_view> forwarded_for,
                           std::span<const boost::asio::ip::address> trusted);

}  // namespace atrium::net
