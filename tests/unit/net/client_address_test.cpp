// X-Forwarded-For is believed only from trusted proxies, from the right.
#include "net/client_address.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace atrium::net {
namespace {

std::vector<boost::asio::ip::address> trusted(std::vector<std::string> list) {
  return parse_trusted_proxies(list);
}

TEST(ClientAddress, PeerIsTheClientWithoutTrustedProxies) {
  EXPECT_EQ(client_address("203.0.113.7", "198.51.100.1", {}), "203.0.113.7");
  EXPECT_EQ(client_address("127.0.0.1", std::nullopt, trusted({"127.0.0.1"})), "127.0.0.1");
}

TEST(ClientAddress, UntrustedPeerCannotSetItsAddress) {
  auto t = trusted({"127.0.0.1"});
  EXPECT_EQ(client_address("203.0.113.7", "127.0.0.1", t), "203.0.113.7");
}

TEST(ClientAddress, RightmostUntrustedEntryFromATrustedProxy) {
  auto t = trusted({"127.0.0.1", "10.0.0.2"});
  EXPECT_EQ(client_address("127.0.0.1", "198.51.100.9", t), "198.51.100.9");
  // A client that sends its own header cannot pick the address: the proxy
  // appends what it saw, and that is the rightmost untrusted entry.
  EXPECT_EQ(client_address("127.0.0.1", "1.1.1.1, 198.51.100.9", t), "198.51.100.9");
  // A chain of trusted proxies is walked through.
  EXPECT_EQ(client_address("127.0.0.1", "198.51.100.9, 10.0.0.2", t), "198.51.100.9");
  EXPECT_EQ(client_address("127.0.0.1", "10.0.0.2", t), "10.0.0.2");
}

TEST(ClientAddress, FormsAndGarbage) {
  auto t = trusted({"::1", "127.0.0.1"});
  EXPECT_EQ(client_address("::1", "[2001:db8::5]:443", t), "2001:db8::5");
  EXPECT_EQ(client_address("::ffff:127.0.0.1", "198.51.100.9:5000", t), "198.51.100.9");
  EXPECT_EQ(client_address("127.0.0.1", "unknown", t), "127.0.0.1");
  EXPECT_EQ(client_address("127.0.0.1", "198.51.100.9, garbage", t), "127.0.0.1");
  EXPECT_EQ(client_address("127.0.0.1", "", t), "127.0.0.1");
  EXPECT_EQ(client_address("127.0.0.1", ",,", t), "127.0.0.1");
}

TEST(ClientAddress, TrustedProxiesMustBeAddresses) {
  EXPECT_THROW(trusted({"proxy.example.org"}), std::runtime_error);
  EXPECT_THROW(trusted({"[::1]"}), std::runtime_error);
  EXPECT_EQ(trusted({"::1", "10.0.0.1"}).size(), 2u);
}

}  // namespace
}  // namespace atrium::net
