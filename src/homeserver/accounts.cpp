#include "homeserver/accounts.hpp"

#include <sodium.h>

#include "base/clock.hpp"
#include "base/error.hpp"
#include "base/random.hpp"
#include "matrix/ids.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver {

std::string hash_password(const std::string& password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    throw MatrixError(Errc::unknown, "password hashing ran out of memory");
  return out;
}

bool verify_password(const std::string& password, const std::string& hash) {
  if (hash.empty()) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

AccountService::AccountService(const Config& config, store::Store& store, ThreadPool& blocking)
    : config_(config),
      store_(store),
      blocking_(blocking),
      login_limiter_(config.rc_login),
      register_limiter_(config.rc_registration) {}

std::string AccountService::user_id_for(const std::string& localpart_or_id) const {
  if (!localpart_or_id.empty() && localpart_or_id[0] == '@') return localpart_or_id;
  return "@" + localpart_or_id + ":" + config_.server_name;
}

Requester AccountService::authenticate(const net::Request& request) {
  std::string token;
  if (auto h = request.header("authorization")) {
    constexpr std::string_view kBearer = "Bearer ";
    if (h->size() <= kBearer.size() || h->substr(0, kBearer.size()) != kBearer)
      throw MatrixError(Errc::unknown_token, "Authorization header must be 'Bearer <token>'");
    token = std::string(h->substr(kBearer.size()));
  } else if (auto q = request.query_param("access_token")) {
    token = std::string(*q);
  } else {
    throw MatrixError(Errc::missing_token, "Missing access token");
  }
  // Every request names its token: a lookup in its own read transaction was
  // an eighth of a woken /sync poll's work.
  const uint64_t epoch = store_.token_epoch();
  {
    std::lock_guard lock(tokens_mutex_);
    if (auto it = tokens_.find(token); it != tokens_.end() && it->second.epoch == epoch)
      return Requester{it->second.user_id, it->second.device_id, token};
  }
  auto owner = store_.read()->token_owner(token);
  if (!owner) throw MatrixError(Errc::unknown_token, "Unknown access token");
  {
    constexpr size_t kMaxKnownTokens = 100000;
    std::lock_guard lock(tokens_mutex_);
    if (tokens_.size() >= kMaxKnownTokens) tokens_.clear();
    tokens_[token] = KnownToken{owner->user_id, owner->device_id, epoch};
  }
  return Requester{owner->user_id, owner->device_id, token};
}

std::optional<Requester> AccountService::authenticate_if_present(const net::Request& request) {
  if (!request.header("authorization") && !request.query_param("access_token")) return std::nullopt;
  return authenticate(request);
}

void AccountService::request_openid_token(const Requester& who, const std::string& user_id,
                                          JsonCompletion done) {
  if (who.user_id != user_id)
    throw MatrixError(Errc::forbidden, "Cannot request an OpenID token for another user");
  std::string token = random_token(32);
  int64_t lifetime = config_.openid_token_lifetime_ms;
  store_.write(
      [=](store::Writer& w) { w.insert_openid_token(token, user_id, now_ms() + lifetime); },
      [=, this](std::exception_ptr e) {
        done(e, json::object{{"access_token", token},
                             {"token_type", "Bearer"},
                             {"matrix_server_name", config_.server_name},
                             {"expires_in", lifetime / 1000}});
      });
}

json::object AccountService::openid_userinfo(const std::string& token) {
  auto user = store_.read()->openid_token_user(token, now_ms());
  if (!user) throw MatrixError(Errc::unknown_token, "Unknown or expired OpenID token");
  return json::object{{"sub", *user}};
}

net::Response AccountService::uia_challenge(const std::string& stage) const {
  json::object body;
  body["flows"] = json::array{json::object{{"stages", json::array{json::string(stage)}}}};
  body["params"] = json::object{};
  body["session"] = random_token(16);
  return net::Response::json(401, json::serialize(body));
}

void AccountService::check_username_available(const std::string& username) {
  if (!matrix::is_valid_new_localpart(username))
    throw MatrixError(Errc::invalid_username, "User ID may only contain a-z, 0-9, . _ = - / +");
  if (store_.read()->user(user_id_for(username)))
    throw MatrixError(Errc::user_in_use, "User ID already taken");
}

void AccountService::register_user(json::object body, const std::string& remote,
                                   Completion<net::Response> done) {
  if (!config_.registration_enabled())
    throw MatrixError(Errc::forbidden, "Registration is disabled on this server");
  if (auto wait = register_limiter_.take(remote, now_ms())) throw limit_exceeded(wait);
  auto username = matrix::get_string(body, "username").value_or("");
  if (username.empty()) username = "u" + random_letters(10);
  for (auto& c : username)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  check_username_available(username);
  if (auto pw = matrix::get_string(body, "password"); pw && pw->size() > 512)
    throw MatrixError(Errc::invalid_param, "Password too long");

  const json::object* auth = matrix::get_object(body, "auth");
  if (!auth) {
    done(nullptr, uia_challenge("m.login.dummy"));
    return;
  }
  auto auth_type = matrix::get_string(*auth, "type").value_or("");
  if (auth_type != "m.login.dummy")
    throw MatrixError(Errc::unrecognized, 400,
                      "Unsupported authentication type '" + auth_type + "'");

  auto password = matrix::get_string(body, "password").value_or("");
  auto device_id = matrix::get_string(body, "device_id");
  auto display_name = matrix::get_string(body, "initial_device_display_name").value_or("");
  bool inhibit_login = matrix::get_bool(body, "inhibit_login").value_or(false);
  std::string user_id = user_id_for(username);

  blocking_.post([this, user_id, password, device_id, display_name, inhibit_login, remote,
                  done = std::move(done)]() mutable {
    std::string hash = password.empty() ? "" : hash_password(password);
    auto result = std::make_shared<json::object>();
    std::string token = random_token(32);
    std::string device = device_id.value_or(random_letters(10));
    store_.write(
        [=, this](store::Writer& w) {
          if (w.user(user_id)) throw MatrixError(Errc::user_in_use, "User ID already taken");
          w.insert_user(store::User{user_id, hash, now_ms(), false, false,
                                    std::string(matrix::localpart_of(user_id)), ""});
          (*result)["user_id"] = user_id;
          (*result)["home_server"] = config_.server_name;
          if (inhibit_login) return;
          w.upsert_device(store::Device{user_id, device, display_name, now_ms(), remote});
          w.insert_token(token, user_id, device);
          (*result)["access_token"] = token;
          (*result)["device_id"] = device;
        },
        [result, done](std::exception_ptr e) {
          if (e) return done(e, net::Response{});
          done(nullptr, net::Response::json(200, json::serialize(*result)));
        });
  });
}

void AccountService::create_account(const std::string& localpart, const std::string& password,
                                    bool admin, JsonCompletion done) {
  check_username_available(localpart);
  std::string user_id = user_id_for(localpart);
  std::string hash = hash_password(password);
  store_.write(
      [=](store::Writer& w) {
        if (w.user(user_id)) throw MatrixError(Errc::user_in_use, "User ID already taken");
        w.insert_user(store::User{user_id, hash, now_ms(), false, admin, localpart, ""});
      },
      [user_id, done](std::exception_ptr e) {
        done(e, json::object{{"user_id", user_id}});
      });
}

void AccountService::check_password(const std::string& user_id, const std::string& password,
                                    std::function<void(bool)> done) {
  auto user = store_.read()->user(user_id);
  std::string hash = user && !user->deactivated ? user->password_hash : "";
  blocking_.post(
      [password, hash, done = std::move(done)] { done(verify_password(password, hash)); });
}

void AccountService::login(json::object body, const std::string& remote, JsonCompletion done) {
  auto type = matrix::require_string(body, "type");
  if (type != "m.login.password")
    throw MatrixError(Errc::unknown, 400, "Unknown login type '" + type + "'");
  if (auto wait = login_limiter_.take(remote, now_ms())) throw limit_exceeded(wait);
  std::string user;
  if (const json::object* identifier = matrix::get_object(body, "identifier")) {
    auto id_type = matrix::require_string(*identifier, "type");
    if (id_type != "m.id.user")
      throw MatrixError(Errc::unknown, 400, "Unsupported identifier type '" + id_type + "'");
    user = matrix::require_string(*identifier, "user");
  } else if (auto legacy = matrix::get_string(body, "user")) {
    user = *legacy;
  } else {
    throw MatrixError(Errc::bad_json, "missing field 'identifier'");
  }
  auto password = matrix::require_string(body, "password");
  std::string user_id = user_id_for(user);
  if (!user.empty() && user[0] != '@')
    for (auto& c : user_id)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto device_id = matrix::get_string(body, "device_id");
  auto display_name = matrix::get_string(body, "initial_device_display_name").value_or("");
  check_password(
      user_id, password, [this, user_id, device_id, display_name, remote, done](bool ok) {
        if (!ok)
          return done(
              std::make_exception_ptr(MatrixError(Errc::forbidden, "Invalid username or password")),
              {});
        issue_login(user_id, device_id, display_name, remote, done);
      });
}

void AccountService::issue_login(const std::string& user_id, std::optional<std::string> device_id,
                                 std::string display_name, const std::string& remote,
                                 JsonCompletion done) {
  std::string device = device_id.value_or(random_letters(10));
  std::string token = random_token(32);
  store_.write(
      [=](store::Writer& w) {
        auto existing = w.device(user_id, device);
        // Logging in again with a known device id replaces that device's tokens.
        if (existing) w.delete_device_tokens(user_id, device);
        w.upsert_device(
            store::Device{user_id, device,
                          existing && display_name.empty() ? existing->display_name : display_name,
                          now_ms(), remote});
        w.insert_token(token, user_id, device);
      },
      [=, this](std::exception_ptr e) {
        json::object out{{"user_id", user_id},
                         {"access_token", token},
                         {"device_id", device},
                         {"home_server", config_.server_name}};
        done(e, std::move(out));
      });
}

void AccountService::logout(const Requester& who, JsonCompletion done) {
  store_.write([who](store::Writer& w) { w.delete_device(who.user_id, who.device_id); },
               [done](std::exception_ptr e) { done(e, json::object{}); });
}

void AccountService::logout_all(const Requester& who, JsonCompletion done) {
  store_.write(
      [who](store::Writer& w) {
        for (const auto& d : w.devices(who.user_id))
          w.delete_device(who.user_id, d.device_id);
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

namespace {
json::object device_json(const store::Device& d) {
  json::object o{{"device_id", d.device_id}, {"display_name", d.display_name}};
  if (d.last_seen_ts) o["last_seen_ts"] = d.last_seen_ts;
  if (!d.last_seen_ip.empty()) o["last_seen_ip"] = d.last_seen_ip;
  return o;
}
}  // namespace

json::object AccountService::list_devices(const Requester& who) {
  json::array devices;
  for (const auto& d : store_.read()->devices(who.user_id))
    devices.push_back(device_json(d));
  return json::object{{"devices", std::move(devices)}};
}

json::object AccountService::get_device(const Requester& who, const std::string& device_id) {
  auto d = store_.read()->device(who.user_id, device_id);
  if (!d) throw MatrixError(Errc::not_found, "No such device");
  return device_json(*d);
}

void AccountService::update_device(const Requester& who, const std::string& device_id,
                                   json::object body, JsonCompletion done) {
  auto name = matrix::get_string(body, "display_name");
  store_.write(
      [=](store::Writer& w) {
        auto d = w.device(who.user_id, device_id);
        if (!d) throw MatrixError(Errc::not_found, "No such device");
        if (name) d->display_name = *name;
        w.upsert_device(*d);
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

void AccountService::delete_devices(const Requester& who, std::vector<std::string> device_ids,
                                    json::object body, Completion<net::Response> done) {
  const json::object* auth = matrix::get_object(body, "auth");
  if (!auth) return done(nullptr, uia_challenge("m.login.password"));
  if (matrix::get_string(*auth, "type").value_or("") != "m.login.password")
    return done(nullptr, uia_challenge("m.login.password"));
  auto password = matrix::get_string(*auth, "password").value_or("");
  check_password(who.user_id, password, [this, who, device_ids, done](bool ok) {
    if (!ok)
      return done(std::make_exception_ptr(MatrixError(Errc::forbidden, "Invalid password")), {});
    store_.write(
        [who, device_ids](store::Writer& w) {
          for (const auto& id : device_ids)
            w.delete_device(who.user_id, id);
        },
        [done](std::exception_ptr e) { done(e, net::Response::json(200, "{}")); });
  });
}

void AccountService::change_password(const Requester& who, json::object body,
                                     Completion<net::Response> done) {
  auto new_password = matrix::require_string(body, "new_password");
  bool logout_devices = matrix::get_bool(body, "logout_devices").value_or(true);
  const json::object* auth = matrix::get_object(body, "auth");
  if (!auth || matrix::get_string(*auth, "type").value_or("") != "m.login.password")
    return done(nullptr, uia_challenge("m.login.password"));
  auto password = matrix::get_string(*auth, "password").value_or("");
  check_password(who.user_id, password, [=, this](bool ok) {
    if (!ok)
      return done(std::make_exception_ptr(MatrixError(Errc::forbidden, "Invalid password")), {});
    std::string hash = hash_password(new_password);
    store_.write(
        [=](store::Writer& w) {
          auto user = w.user(who.user_id);
          if (!user) throw MatrixError(Errc::not_found, "No such user");
          user->password_hash = hash;
          w.update_user(*user);
          if (logout_devices)
            for (const auto& d : w.devices(who.user_id))
              if (d.device_id != who.device_id) w.delete_device(who.user_id, d.device_id);
        },
        [done](std::exception_ptr e) { done(e, net::Response::json(200, "{}")); });
  });
}

}  // namespace atrium::homeserver
