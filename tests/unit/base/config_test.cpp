#include "base/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace atrium {
namespace {

std::string write_temp(const std::string& text) {
  auto path =
      std::filesystem::temp_directory_path() /
      ("atrium-config-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

TEST(Config, DefaultsListenOnLoopbackWithOpenRegistration) {
  Config c;
  EXPECT_EQ(c.listen_host(), "127.0.0.1");
  EXPECT_EQ(c.listen_port(), 8008);
  EXPECT_TRUE(c.registration_enabled());
  c.listen = "0.0.0.0:8008";
  EXPECT_FALSE(c.registration_enabled());
  c.enable_registration = true;
  EXPECT_TRUE(c.registration_enabled());
}

TEST(Config, UrlAuthorityFillsDefaultPorts) {
  auto a = url_authority("HTTPS://user@matrix.example.org/path?q");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->scheme, "https");
  EXPECT_EQ(a->host, "matrix.example.org");
  EXPECT_EQ(a->port, "443");
  EXPECT_EQ(url_authority("http://[2001:db8::1]:8008")->host, "[2001:db8::1]");
  EXPECT_EQ(url_authority("http://[2001:db8::1]:8008")->port, "8008");
  EXPECT_EQ(url_authority("http://[2001:db8::1]")->port, "80");
  EXPECT_EQ(url_authority("example.org:8448")->port, "8448");
  EXPECT_EQ(url_authority("ftp://example.org")->port, "");
  EXPECT_FALSE(url_authority("https://"));
  EXPECT_FALSE(url_authority(""));
}

TEST(Config, RegistrationStaysClosedBehindAPublicUrl) {
  Config c;  // loopback listener, as behind a reverse proxy
  for (const char* url : {"http://127.0.0.1:8008", "http://localhost", "https://[::1]:8448/x"}) {
    c.public_baseurl = url;
    EXPECT_TRUE(c.public_url_is_loopback()) << url;
    EXPECT_TRUE(c.registration_enabled()) << url;
  }
  for (const char* url :
       {"https://matrix.example.org", "https://user@example.org:443/", "http://10.0.0.1:8008",
        "https://[2001:db8::1]/", "https://127.example.org"}) {
    c.public_baseurl = url;
    EXPECT_FALSE(c.registration_enabled()) << url;
  }
  c.enable_registration = true;
  EXPECT_TRUE(c.registration_enabled());
}

TEST(Config, ReadsYamlKeys) {
  auto c = load_config_file(
      write_temp("server_name: example.org\nlisten: '[::1]:9000'\nenable_registration: false\n"
                 "trusted_proxies: [127.0.0.1, '::1']\n"
                 "rate_limits:\n  message: {per_second: 2, burst: 3}\n"));
  EXPECT_EQ(c.server_name, "example.org");
  EXPECT_EQ(c.listen_host(), "::1");
  EXPECT_EQ(c.listen_port(), 9000);
  EXPECT_FALSE(c.registration_enabled());
  EXPECT_EQ(c.trusted_proxies, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_DOUBLE_EQ(c.rc_message.per_second, 2);
  EXPECT_DOUBLE_EQ(c.rc_message.burst, 3);
}

TEST(Config, RejectsUnknownKeysAndBadValues) {
  EXPECT_THROW(load_config_file(write_temp("sever_name: typo\n")), std::runtime_error);
  EXPECT_THROW(load_config_file(write_temp("http_threads: many\n")), std::runtime_error);
  EXPECT_THROW(load_config_file(write_temp("- a list\n")), std::runtime_error);
  EXPECT_THROW(load_config_file("/nonexistent/atrium.yaml"), std::runtime_error);
  Config c;
  c.listen = "localhost";
  EXPECT_THROW(validate_config(c), std::runtime_error);
  c.listen = "127.0.0.1:99999";
  EXPECT_THROW(validate_config(c), std::runtime_error);
  c = Config{};
  c.server_name = "bad name";
  EXPECT_THROW(validate_config(c), std::runtime_error);
  c = Config{};
  c.log_level = "loud";
  EXPECT_THROW(validate_config(c), std::runtime_error);
  for (const char* level : {"warn", "warning", "debug"}) {
    c.log_level = level;
    EXPECT_NO_THROW(validate_config(c)) << level;
  }
  EXPECT_NO_THROW(validate_config(Config{}));
}

}  // namespace
}  // namespace atrium
