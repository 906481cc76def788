#pragma once
// Accounts, devices, access tokens, login and registration.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/config.hpp"
#include "base/rate_limiter.hpp"
#include "base/thread_pool.hpp"
#include "homeserver/common.hpp"
#include "net/http.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

// Argon2id (libsodium's interactive limits); the hash string embeds its parameters.
std::string hash_password(const std::string& password);
bool verify_password(const std::string& password, const std::string& hash);

class AccountService {
 public:
  AccountService(const Config& config, store::Store& store, ThreadPool& blocking);

  // The requester behind the request's access token (Authorization: Bearer,
  // or the access_token query parameter). Throws M_MISSING_TOKEN / M_UNKNOWN_TOKEN.
  Requester authenticate(const net::Request& request);

  // POST /register. `body` is the request object; answers with the
  // user-interactive-auth 401 body through MatrixError-free JSON when needed.
  void register_user(json::object body, const std::string& remote, Completion<net::Response> done);
  // GET /register/available.
  void check_username_available(const std::string& username);
  // POST /login with m.login.password.
  void login(json::object body, const std::string& remote, JsonCompletion done);
  void logout(const Requester& who, JsonCompletion done);
  void logout_all(const Requester& who, JsonCompletion done);

  json::object list_devices(const Requester& who);
  json::object get_device(const Requester& who, const std::string& device_id);
  void update_device(const Requester& who, const std::string& device_id, json::object body,
                     JsonCompletion done);
  // DELETE /devices/{id} and POST /delete_devices: user-interactive auth with the password.
  void delete_devices(const Requester& who, std::vector<std::string> device_ids, json::object body,
                      Completion<net::Response> done);
  void change_password(const Requester& who, json::object body, Completion<net::Response> done);

  // For `atrium register-user`: creates the account directly. Throws
  // MatrixError(M_USER_IN_USE / M_INVALID_USERNAME).
  void create_account(const std::string& localpart, const std::string& password, bool admin,
                      JsonCompletion done);

  std::string user_id_for(const std::string& localpart_or_id) const;

  // The requester if the request carries a token (which must be valid).
  std::optional<Requester> authenticate_if_present(const net::Request& request);

  // OpenID: a short-lived token a third party (the RTC auth service) can
  // exchange for the user's id through the federation userinfo endpoint.
  void request_openid_token(const Requester& who, const std::string& user_id, JsonCompletion done);
  // Throws M_UNKNOWN_TOKEN for unknown or expired tokens.
  json::object openid_userinfo(const std::string& token);

 private:
  // Checks the password of `user_id` off the I/O thread; calls done(ok).
  void check_password(const std::string& user_id, const std::string& password,
                      std::function<void(bool)> done);
  // The 401 body asking for (more) user-interactive auth.
  net::Response uia_challenge(const std::string& stage) const;
  void issue_login(const std::string& user_id, std::optional<std::string> device_id,
                   std::string display_name, const std::string& remote, JsonCompletion done);

  const Config& config_;
  store::Store& store_;
  ThreadPool& blocking_;
  RateLimiter login_limiter_;
  RateLimiter register_limiter_;

  // Access tokens already looked up, with the store's token epoch read
  // before the lookup: an entry is used only while the epoch has not moved,
  // i.e. while no token can have been deleted since (store::Store::token_epoch).
  struct KnownToken {
    std::string user_id;
    std::string device_id;
    uint64_t epoch = 0;
  };
  std::mutex tokens_mutex_;
  std::unordered_map<std::string, KnownToken> tokens_;
};

}  // namespace atrium::homeserver
