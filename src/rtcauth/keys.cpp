#include "rtcauth/keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/random.hpp"

namespace atrium::rtcauth {

namespace json = boost::json;

namespace {

std::string read_trimmed(const std::string& path, const char* key) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error(std::string("config: rtc_auth.") + key + ": cannot read '" + path +
                             "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string s = buffer.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start])))
    ++start;
  return s.substr(start);
}

ApiKeyPair load_or_create(const std::filesystem::path& path) {
  if (std::filesystem::exists(path)) {
    auto text = read_trimmed(path.string(), "key file");
    json::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object() || !v.as_object().contains("key") ||
        !v.as_object().contains("secret") || !v.at("key").is_string() ||
        !v.at("secret").is_string())
      throw std::runtime_error("rtc_auth: '" + path.string() +
                               "' is not a {key, secret} JSON file");
    return {std::string(v.at("key").as_string()), std::string(v.at("secret").as_string())};
  }
  ApiKeyPair pair{"API" + random_token(9), random_token(32)};
  auto tmp = path;
  tmp += ".tmp";
  // Created 0600 from the start: the secret is never readable by others,
  // and it is on disk before the rename makes it the key file.
  std::string text =
      json::serialize(json::object{{"key", pair.key}, {"secret", pair.secret}}) + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("rtc_auth: cannot write '" + tmp.string() + "'");
  bool written = ::fchmod(fd, 0600) == 0 &&
                 ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  if (!written) throw std::runtime_error("rtc_auth: cannot write '" + tmp.string() + "'");
  std::filesystem::rename(tmp, path);
  return pair;
}

}  // namespace

ApiKeyPair load_api_key_pair(const RtcAuthConfig& c, const std::string& data_dir) {
  if (!c.livekit_key.empty() && !c.livekit_key_file.empty())
    throw std::runtime_error("config: set rtc_auth.livekit_key or livekit_key_file, not both");
  if (!c.livekit_secret.empty() && !c.livekit_secret_file.empty())
    throw std::runtime_error(
        "config: set rtc_auth.livekit_secret or livekit_secret_file, not both");
  ApiKeyPair pair;
  pair.key = c.livekit_key_file.empty() ? c.livekit_key
                                        : read_trimmed(c.livekit_key_file, "livekit_key_file");
  pair.secret = c.livekit_secret_file.empty()
                    ? c.livekit_secret
                    : read_trimmed(c.livekit_secret_file, "livekit_secret_file");
  if (pair.key.empty() && pair.secret.empty()) {
    pair = load_or_create(std::filesystem::path(data_dir) / "rtc_auth_key.json");
  } else if (pair.key.empty() || pair.secret.empty()) {
    throw std::runtime_error(
        "config: rtc_auth needs both livekit_key and livekit_secret (or neither)");
  }
  if (pair.secret.size() < kMinSecretBytes)
    throw std::runtime_error("config: rtc_auth.livekit_secret is " +
                             std::to_string(pair.secret.size()) +
                             " bytes; it must be at least 32 (LiveKit refuses shorter secrets)");
  return pair;
}

}  // namespace atrium::rtcauth
