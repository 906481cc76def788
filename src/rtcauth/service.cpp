#include "rtcauth/service.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

#include "base/error.hpp"
#include "base/log.hpp"
#include "matrix/ids.hpp"
#include "rtcauth/hashing.hpp"
#include "rtcauth/webhook.hpp"

namespace atrium::rtcauth {

namespace json = boost::json;

namespace {

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

net::Response json_reply(const json::object& body) {
  return net::Response::json(200, json::serialize(body));
}

net::Response error_reply(Errc errc, const std::string& message) {
  return net::Response::json(errc_info(errc).http_status, MatrixError(errc, message).to_json());
}

// lk-jwt-service gives no detail to the client on purpose; the log has it.
net::Response unauthorised() {
  return error_reply(Errc::unauthorized, "The request could not be authorised.");
}

}  // namespace

void LoggingRoomCreator::create_room(const std::string& room_alias) {
  log::get("rtcauth")->info("msg=\"SFU room wanted (no SFU role yet)\" room={}", room_alias);
}

AuthService::AuthService(AuthServiceOptions options, MatrixVerifier& verifier,
                         DelegationManager& delegations, RoomCreator& rooms)
    : options_(std::move(options)), verifier_(verifier), delegations_(delegations), rooms_(rooms) {}

bool AuthService::is_full_access(const std::string& server_name) const {
  if (server_name == options_.server_name) return true;
  const auto& list = options_.full_access_homeservers;
  return std::find(list.begin(), list.end(), "*") != list.end() ||
         std::find(list.begin(), list.end(), server_name) != list.end();
}

std::optional<std::string> AuthService::secret_for(std::string_view api_key) const {
  if (api_key == options_.api_key) return options_.api_secret;
  return std::nullopt;
}

void AuthService::register_routes(net::Router& router, const std::string& prefix) {
  using net::Method;
  router.add(Method::post, prefix + "/get_token", [this](net::Request& req, Respond respond) {
    handle_get_token(req, std::move(respond));
  });
  router.add(Method::post, prefix + "/sfu/get", [this](net::Request& req, Respond respond) {
    handle_legacy(req, std::move(respond));
  });
  router.add(
      Method::post, prefix + "/delegate_delayed_leave",
      [this](net::Request& req, Respond respond) { handle_delegate(req, std::move(respond)); });
  router.add(Method::post, prefix + "/sfu_webhook", [this](net::Request& req, Respond respond) {
    handle_webhook(req, std::move(respond));
  });
  router.add(Method::get, prefix + "/healthz", [](net::Request&, Respond respond) {
    net::Response ok;
    ok.content_type = "text/plain";
    respond(std::move(ok));
  });
}

std::string AuthService::mint(const std::string& room_alias, const std::string& identity,
                              bool can_publish) const {
  AccessClaims claims;
  claims.api_key = options_.api_key;
  claims.identity = identity;
  claims.not_before = now_s();
  claims.expires = claims.not_before + options_.token_lifetime_s;
  VideoGrant video;
  video.room = room_alias;
  video.room_join = true;
  video.room_create = false;  // MSC4195: roomCreate would also let the holder delete rooms
  video.can_publish = can_publish;
  video.can_subscribe = true;
  video.can_update_own_metadata = true;
  claims.video = std::move(video);
  return mint_token(claims, options_.api_secret);
}

void AuthService::handle_get_token(net::Request& req, Respond respond) {
  auto request = parse_token_request(req.body);
  authorise(
      request.openid_token, request.member.claimed_user_id, request.room_id,
      [request](const std::string& user_id) {
        return Grant{request.room_id, livekit_room_alias(request.room_id, request.slot_id),
                     livekit_identity(user_id, request.member.claimed_device_id, request.member.id),
                     request.delay, false};
      },
      std::move(respond));
}

void AuthService::handle_legacy(net::Request& req, Respond respond) {
  auto request = parse_legacy_token_request(req.body);
  authorise(
      request.openid_token, "", request.room,
      [request](const std::string& user_id) {
        return Grant{request.room, livekit_room_alias(request.room, kDefaultSlot),
                     legacy_livekit_identity(user_id, request.device_id), request.delay, false};
      },
      std::move(respond));
}

void AuthService::handle_delegate(net::Request& req, Respond respond) {
  auto request = parse_delegate_request(req.body);
  authorise(
      request.openid_token, request.member.claimed_user_id, request.room_id,
      [request](const std::string& user_id) {
        return Grant{request.room_id, livekit_room_alias(request.room_id, request.slot_id),
                     livekit_identity(user_id, request.member.claimed_device_id, request.member.id),
                     request.delay, true};
      },
      std::move(respond));
}

void AuthService::authorise(const OpenIdToken& token, const std::string& claimed_user_id,
                            const std::string& matrix_room,
                            std::function<Grant(const std::string&)> make_grant, Respond respond) {
  const std::string server = token.matrix_server_name;
  verifier_.userinfo(
      server, token.access_token,
      [this, server, claimed_user_id, matrix_room, make_grant = std::move(make_grant),
       respond = std::move(respond)](std::string user_id, std::string error) mutable {
        auto log = log::get("rtcauth");
        if (user_id.empty()) {
          log->info("msg=\"OpenID token refused\" server={} reason=\"{}\"", server, error);
          return respond(unauthorised());
        }
        // A server may only vouch for its own users.
        if (!matrix::is_valid_user_id(user_id) || matrix::server_name_of(user_id) != server) {
          log->warn("msg=\"OpenID sub not on its server\" server={} sub={}", server, user_id);
          return respond(unauthorised());
        }
        if (!claimed_user_id.empty() && claimed_user_id != user_id) {
          log->warn("msg=\"claimed_user_id differs from OpenID sub\" claimed={} sub={}",
                    claimed_user_id, user_id);
          return respond(unauthorised());
        }
        verifier_.membership(
            matrix_room, user_id,
            [this, user_id, server, grant = make_grant(user_id),
             respond = std::move(respond)](Membership m) mutable {
              if (m == Membership::not_joined) {
                return respond(error_reply(Errc::forbidden, "You are not joined to this room"));
              }
              if (m == Membership::unknown) {
                log::get("rtcauth")->debug(
                    "msg=\"membership unknown, not checked\" room={} user={}", grant.matrix_room,
                    user_id);
              }
              finish(user_id, server, std::move(grant), std::move(respond));
            });
      });
}

void AuthService::finish(const std::string& user_id, const std::string& server_name, Grant grant,
                         Respond respond) {
  try {
    bool full_access = is_full_access(server_name);
    if (grant.delay.requested() && !full_access) {
      // The legacy client retries without the delay fields on this 400.
      return respond(
          grant.delegate_only
              ? error_reply(Errc::forbidden,
                            "Delegation of delayed events is only supported for full access users")
              : error_reply(
                    Errc::bad_json,
                    "Delegation of delayed events is only supported for full access users"));
    }
    json::object body;
    if (!grant.delegate_only) {
      std::string jwt = mint(grant.room_alias, grant.identity, full_access);
      if (full_access) rooms_.create_room(grant.room_alias);
      body = json::object{{"url", options_.livekit_url}, {"jwt", jwt}};
    }
    if (grant.delay.requested()) {
      DelegationRecord record;
      record.room = grant.room_alias;
      record.identity = grant.identity;
      record.user_id = user_id;
      record.delay_id = grant.delay.delay_id;
      record.delay_timeout_ms = grant.delay.timeout_ms;
      // A delegating client is already on the SFU; a token requester is not yet.
      record.state = grant.delegate_only ? "connected" : "waiting";
      delegations_.add(std::move(record));
    }
    log::get("rtcauth")->info("msg=\"{}\" user={} room={} identity={} access={}",
                              grant.delegate_only ? "delegated leave" : "token issued", user_id,
                              grant.room_alias, grant.identity,
                              full_access ? "full" : "restricted");
    respond(json_reply(body));
  } catch (...) {
    log::get("rtcauth")->error("msg=\"token request failed\" user={}", user_id);
    respond(error_reply(Errc::unknown, "Internal Server Error"));
  }
}

void AuthService::handle_webhook(net::Request& req, Respond respond) {
  auto authorization = req.header("authorization").value_or("");
  auto result = verify_webhook(
      req.body, authorization, [this](std::string_view key) { return secret_for(key); }, now_s());
  if (!result.event) {
    log::get("rtcauth")->warn("msg=\"webhook refused\" reason=\"{}\"", result.error);
    return respond(error_reply(Errc::unauthorized, "Bad webhook signature"));
  }
  delegations_.on_sfu_event(*result.event);
  respond(json_reply({}));
}

}  // namespace atrium::rtcauth
