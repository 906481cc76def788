#include "net/client_address.hpp"

#include <algorithm>
#include <stdexcept>

namespace atrium::net {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

boost::asio::ip::address unmapped(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  return a;
}

bool is_trusted(const boost::asio::ip::address& a,
                std::span<const boost::asio::ip::address> trusted) {
  return std::find(trusted.begin(), trusted.end(), a) != trusted.end();
}

}  // namespace

std::optional<boost::asio::ip::address> parse_ip(std::string_view text) {
  text = trim(text);
  if (text.starts_with('[')) {  // [v6] or [v6]:port
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return std::nullopt;
    text = text.substr(1, close - 1);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {  // v4:port
    text = text.substr(0, text.find(':'));
  }
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return unmapped(a);
}

std::vector<boost::asio::ip::address> parse_trusted_proxies(std::span<const std::string> list) {
  std::vector<boost::asio::ip::address> out;
  for (const auto& entry : list) {
    auto a = parse_ip(entry);
    if (!a || entry.find_first_of("[]") != std::string::npos)
      throw std::runtime_error("trusted_proxies: '" + entry + "' is not an IP address");
    out.push_back(*a);
  }
  return out;
}

std::string client_address(std::string_view peer, std::optional<std::string_view> forwarded_for,
                           std::span<const boost::asio::ip::address> trusted) {
  // Every request comes through here: nothing to parse without trusted
  // proxies or the header.
  if (trusted.empty() || !forwarded_for) return std::string(peer);
  auto hop = parse_ip(peer);
  if (!hop || !is_trusted(*hop, trusted)) return std::string(peer);
  // Walk the list from the right (the entry the nearest proxy appended).
  std::string_view list = *forwarded_for;
  while (!list.empty()) {
    auto comma = list.rfind(',');
    auto entry = comma == std::string_view::npos ? list : list.substr(comma + 1);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(0, comma);
    auto a = parse_ip(entry);
    if (!a) break;  // garbage: keep the last address a trusted hop vouched for
    hop = a;
    if (!is_trusted(*hop, trusted)) break;
  }
  return hop->to_string();
}

}  // namespace atrium::net
