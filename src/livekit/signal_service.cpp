#include "livekit/signal_service.hpp"

#include <google/protobuf/util/json_util.h>

#include <ctime>
#include <vector>

#include "base/log.hpp"

namespace atrium::livekit {

namespace lk = ::livekit;

namespace {

net::Response plain(int status, std::string text) {
  net::Response response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body = std::move(text);
  return response;
}

bool truthy(std::optional<std::string_view> value, bool fallback) {
  if (!value) return fallback;
  return *value == "1" || *value == "true";
}

// Destroys a room on its own worker: its transports and timers live there.
std::shared_ptr<SignalRoom> on_worker(SignalRoom* room) {
  return std::shared_ptr<SignalRoom>(room, [](SignalRoom* r) {
    if (r->loop().in_loop_thread()) {
      delete r;
    } else {
      r->loop().post([r] { delete r; });
    }
  });
}

std::string to_json(const google::protobuf::Message& message) {
  std::string out;
  // protojson's defaults, as LiveKit writes it: lowerCamelCase names, enum
  // names, 64-bit integers as strings, default values left out.
  (void)google::protobuf::util::MessageToJsonString(message, &out);
  return out;
}

// The signal socket as the room sees it (the room sends protobuf bytes).
// It notes the ids of the subscriber offers sent, in order, so that an answer
// without an id (id 0: the Rust SDK, hence @livekit/rtc-node, and clients
// before offer ids) can be matched to the offer it answers: clients answer
// server offers one by one, in order. For a client that speaks protojson it
// re-encodes every response as a JSON text frame.
class OfferTrackingSocket : public net::WebSocket {
 public:
  explicit OfferTrackingSocket(std::shared_ptr<net::WebSocket> inner) : inner_(std::move(inner)) {}

  void send_binary(std::string bytes) override {
    bool json = json_.load();
    // Field 3 (offer), length-delimited: the tag byte 0x1a leads the message.
    bool offer = !bytes.empty() && static_cast<uint8_t>(bytes[0]) == 0x1a;
    if (!offer && !json) {
      inner_->send_binary(std::move(bytes));
      return;
    }
    lk::SignalResponse response;
    if (!response.ParseFromString(bytes)) {
      inner_->send_binary(std::move(bytes));
      return;
    }
    if (response.has_offer()) {
      std::lock_guard lock(mutex_);
      offers_.push_back(response.offer().id());
      if (offers_.size() > 64) offers_.erase(offers_.begin());
    }
    if (json) {
      inner_->send_text(to_json(response));
    } else {
      inner_->send_binary(std::move(bytes));
    }
  }
  // Text frames from the client switch replies to JSON, binary ones back.
  void set_json(bool json) { json_.store(json); }
  // A response in the given encoding, whatever the mode (refusals answer in
  // the encoding of the frame they refuse).
  void send_as(const lk::SignalResponse& response, bool json) {
    if (json)
      inner_->send_text(to_json(response));
    else
      inner_->send_binary(response.SerializeAsString());
  }
  void send_text(std::string text) override { inner_->send_text(std::move(text)); }
  void close(uint16_t code, std::string reason) override { inner_->close(code, std::move(reason)); }
  const std::string& remote_address() const override { return inner_->remote_address(); }

  // The id of the oldest offer not yet answered (0 if none is known).
  uint32_t answered_offer_id() {
    std::lock_guard lock(mutex_);
    if (offers_.empty()) return 0;
    uint32_t id = offers_.front();
    offers_.erase(offers_.begin());
    return id;
  }

 private:
  std::shared_ptr<net::WebSocket> inner_;
  std::atomic<bool> json_{false};
  std::mutex mutex_;
  std::vector<uint32_t> offers_;  // a few at most; a deque took ~600 bytes per socket
};

}  // namespace

// One signal WebSocket. Its messages are decoded on the socket's strand and
// handled on the room's worker, in order (the loop's queue is FIFO).
struct SignalService::Session : std::enable_shared_from_this<Session> {
  std::shared_ptr<SignalRoom> room;
  JoinParameters parameters;
  bool reconnect = false;
  std::shared_ptr<OfferTrackingSocket> socket;
  // Set and read on the room's worker only.
  std::string sid;
  bool left = false;
};

SignalService::SignalService(SignalServiceOptions options, media::MediaServer& media)
    : options_(std::move(options)), media_(media), join_tokens_(options_.max_joins_per_second) {
  if (!options_.room.secrets) options_.room.secrets = options_.secrets;
  options_.room.on_expired = [this](SignalRoom& room) { return forget_expired(room); };
}

SignalService::~SignalService() {
  shutdown();
}

SignalService::Verified SignalService::verify(const net::Request& request) const {
  Verified result;
  std::string token;
  if (auto header = request.header("authorization"); header && header->starts_with("Bearer ")) {
    token = std::string(header->substr(7));
  } else if (auto query = request.query_param("access_token")) {
    token = std::string(*query);
  }
  if (token.empty()) {
    result.status = 401;
    result.error = "no access token: pass access_token or Authorization: Bearer";
    return result;
  }
  auto verified = verify_token(token, options_.secrets, static_cast<int64_t>(std::time(nullptr)));
  if (!verified.claims) {
    result.status = 401;
    result.error = "invalid token: " + verified.error;
    return result;
  }
  result.claims = std::move(*verified.claims);
  if (!result.claims.video || !result.claims.video->room_join) {
    result.status = 401;
    result.error = "permissions denied: the token does not grant roomJoin";
  } else if (result.claims.video->room.empty()) {
    result.status = 400;
    result.error = "the token names no room";
  } else if (result.claims.identity.empty()) {
    result.status = 400;
    result.error = "the token has no identity (sub)";
  }
  return result;
}

bool SignalService::take_join_slot() {
  std::lock_guard lock(rate_mutex_);
  auto now = std::chrono::steady_clock::now();
  double rate = options_.max_joins_per_second;
  if (rate <= 0) return true;
  join_tokens_ = std::min(
      rate, join_tokens_ + rate * std::chrono::duration<double>(now - join_refill_).count());
  join_refill_ = now;
  if (join_tokens_ < 1) return false;
  join_tokens_ -= 1;
  return true;
}

std::shared_ptr<SignalRoom> SignalService::room(const std::string& name, bool create) {
  std::lock_guard lock(mutex_);
  return room_locked(name, create);
}

std::shared_ptr<SignalRoom> SignalService::room_locked(const std::string& name, bool create) {
  if (auto it = rooms_.find(name); it != rooms_.end()) return it->second;
  if (!create) return nullptr;
  size_t worker = next_worker_++ % media_.worker_count();
  auto room = on_worker(new SignalRoom(name, media_, worker, options_.events, options_.room));
  rooms_[name] = room;
  log::get("sfu")->info("msg=\"room created\" room={} sid={}", name, room->info().sid());
  return room;
}

lk::Room SignalService::create_room(const lk::CreateRoomRequest& request) {
  // A room whose timeout passed a moment ago is closed: take a new one.
  for (int attempt = 0;; ++attempt) {
    auto room = this->room(request.name(), true);
    auto info = on_room(room, [&](SignalRoom& r) -> std::optional<lk::Room> {
      if (r.closed()) return std::nullopt;
      r.apply(request);
      return r.info();
    });
    if (info || attempt == 3) return info.value_or(lk::Room());
  }
}

bool SignalService::forget_expired(SignalRoom& room) {
  std::shared_ptr<SignalRoom> keep;
  {
    std::lock_guard lock(mutex_);
    const std::string& name = room.info().name();
    if (pending_joins_.count(name)) return false;  // a join is on its way: it stays
    auto it = rooms_.find(name);
    if (it != rooms_.end() && it->second.get() == &room) {
      keep = std::move(it->second);
      rooms_.erase(it);
    }
  }
  log::get("sfu")->info("msg=\"room closed\" room={} sid={} reason=timeout", room.info().name(),
                        room.info().sid());
  // The map may have held the last reference: release it after the caller
  // (the room's own timer) has returned.
  if (keep) room.loop().post([keep] {});
  return true;
}

std::shared_ptr<SignalRoom> SignalService::claim_for_join(const std::string& name, bool create) {
  std::lock_guard lock(mutex_);
  auto room = room_locked(name, create);
  if (room) ++pending_joins_[name];
  return room;
}

void SignalService::release_join(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = pending_joins_.find(name);
  if (it != pending_joins_.end() && --it->second == 0) pending_joins_.erase(it);
}

std::vector<std::shared_ptr<SignalRoom>> SignalService::rooms() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<SignalRoom>> out;
  for (const auto& [name, room] : rooms_)
    out.push_back(room);
  return out;
}

bool SignalService::delete_room(const std::string& name) {
  std::shared_ptr<SignalRoom> room;
  {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(name);
    if (it == rooms_.end()) return false;
    room = std::move(it->second);
    rooms_.erase(it);
  }
  room->loop().post([room] { room->close(lk::ROOM_DELETED); });
  return true;
}

void SignalService::shutdown() {
  std::map<std::string, std::shared_ptr<SignalRoom>> rooms;
  {
    std::lock_guard lock(mutex_);
    rooms.swap(rooms_);
  }
  for (auto& [name, room] : rooms) {
    std::promise<void> done;
    auto future = done.get_future();
    room->loop().post([&] {
      room->close(lk::SERVER_SHUTDOWN);
      done.set_value();
    });
    future.wait_for(std::chrono::seconds(2));
  }
}

void SignalService::register_routes(net::Router& router, const std::string& prefix) {
  router.add_websocket(prefix + "/rtc", [this](net::Request& request) { return upgrade(request); });
  router.add(net::Method::get, prefix + "/rtc/validate",
             [this](net::Request& request, net::Respond respond) {
               Verified verified = verify(request);
               if (verified.status != 200) {
                 respond(plain(verified.status, verified.error));
                 return;
               }
               if (!options_.auto_create_rooms && !room(verified.claims.video->room, false)) {
                 respond(plain(404, "requested room does not exist"));
                 return;
               }
               respond(plain(200, "success"));
             });
  // The single-PeerConnection protocol is not served: a plain 404 (without
  // "requested room does not exist") makes clients fall back to /rtc.
  for (const char* path : {"/rtc/v1", "/rtc/v1/validate"}) {
    router.add(net::Method::get, prefix + path,
               [](net::Request&, net::Respond respond) { respond(plain(404, "not found")); });
  }
}

net::UpgradeDecision SignalService::upgrade(net::Request& request) {
  Verified verified = verify(request);
  if (verified.status != 200) {
    log::get("sfu")->info("msg=\"signal connection refused\" status={} reason=\"{}\" remote={}",
                          verified.status, verified.error, request.remote_address);
    return net::UpgradeDecision::refuse(plain(verified.status, verified.error));
  }
  // The room is created only once the WebSocket is open: a refused (503) or
  // abandoned handshake must not leave an empty room behind.
  std::string room_name = verified.claims.video->room;
  auto existing = room(room_name, false);
  if (!options_.auto_create_rooms && !existing)
    return net::UpgradeDecision::refuse(plain(404, "requested room does not exist"));
  if (existing && !existing->admits(verified.claims.identity)) {
    // LiveKit refuses before the upgrade, with rtc.ErrMaxParticipantsExceeded.
    log::get("sfu")->info(
        "msg=\"signal connection refused\" status=500 reason=\"room full\" room={} remote={}",
        room_name, request.remote_address);
    return net::UpgradeDecision::refuse(plain(500, "room has exceeded its max participants"));
  }
  if (!take_join_slot()) {
    log::get("sfu")->info(
        "msg=\"signal connection refused\" status=503 reason=\"join rate\" remote={}",
        request.remote_address);
    return net::UpgradeDecision::refuse(plain(503, "too many joins: try again shortly"));
  }

  auto session = std::make_shared<Session>();
  JoinParameters& p = session->parameters;
  p.api_key = verified.claims.api_key;
  p.identity = verified.claims.identity;
  p.name = verified.claims.name;
  p.metadata = verified.claims.metadata;
  p.grant = *verified.claims.video;
  p.auto_subscribe = truthy(request.query_param("auto_subscribe"), true);
  if (auto protocol = request.query_param("protocol")) {
    try {
      p.client_protocol = std::stoi(std::string(*protocol));
    } catch (const std::exception&) {
      p.client_protocol = 0;
    }
  }
  session->reconnect = truthy(request.query_param("reconnect"), false);

  return net::UpgradeDecision::accept([this, session, room_name = std::move(room_name)](
                                          std::shared_ptr<net::WebSocket> raw_socket) {
    session->socket = std::make_shared<OfferTrackingSocket>(std::move(raw_socket));
    std::shared_ptr<net::WebSocket> socket = session->socket;
    session->room = claim_for_join(room_name, options_.auto_create_rooms);
    if (!session->room) {
      // Deleted between the handshake and now (rooms are not auto-created).
      lk::SignalResponse response;
      response.mutable_leave()->set_reason(lk::ROOM_DELETED);
      socket->send_binary(response.SerializeAsString());
      socket->close(1000, "requested room does not exist");
      net::WebSocketHandler handler;
      handler.on_message = [](std::string_view, bool) {};
      handler.on_close = [](uint16_t) {};
      return handler;
    }
    auto room = session->room;
    room->loop().post([this, session, socket, room_name] {
      SignalRoom& room = *session->room;
      struct Release {
        SignalService* service;
        std::string name;
        ~Release() { service->release_join(name); }
      } release{this, room_name};
      if (session->reconnect) {
        // No resume: tell the client to rejoin in full.
        lk::SignalResponse response;
        response.mutable_leave()->set_reason(lk::STATE_MISMATCH);
        response.mutable_leave()->set_action(lk::LeaveRequest::RECONNECT);
        socket->send_binary(response.SerializeAsString());
        socket->close(1000, "resume not supported");
        session->left = true;
        return;
      }
      if (room.closed()) {
        // Deleted (or closed by its timeout) while this join was on its way.
        lk::SignalResponse response;
        response.mutable_leave()->set_reason(lk::ROOM_DELETED);
        socket->send_binary(response.SerializeAsString());
        socket->close(1000, "room closed");
        session->left = true;
        return;
      }
      if (!room.admits(session->parameters.identity)) {
        // Filled up between the handshake's check and now.
        lk::SignalResponse response;
        response.mutable_leave()->set_reason(lk::JOIN_FAILURE);
        socket->send_binary(response.SerializeAsString());
        socket->close(1000, "room has exceeded its max participants");
        session->left = true;
        return;
      }
      session->sid = room.join(session->parameters, socket);
      log::get("sfu")->info("msg=\"joined\" room={} identity={} sid={}", room.info().name(),
                            session->parameters.identity, session->sid);
    });
    net::WebSocketHandler handler;
    handler.on_message = [session](std::string_view payload, bool binary) {
      auto request = std::make_shared<lk::SignalRequest>();
      bool ok;
      if (binary) {
        ok = request->ParseFromArray(payload.data(), static_cast<int>(payload.size()));
      } else {
        google::protobuf::util::JsonParseOptions options;
        options.ignore_unknown_fields = true;
        ok = google::protobuf::util::JsonStringToMessage(std::string(payload), request.get(),
                                                         options)
                 .ok();
      }
      if (!ok) {
        log::get("sfu")->warn("msg=\"undecodable signal message refused\" bytes={} text={}",
                              payload.size(), !binary);
        // Refused in the frame's own encoding; the session stays.
        lk::SignalResponse refusal;
        refusal.mutable_request_response()->set_reason(lk::RequestResponse::INVALID_REQUEST);
        refusal.mutable_request_response()->set_message(
            binary ? "undecodable SignalRequest" : "invalid JSON for a SignalRequest");
        session->socket->send_as(refusal, !binary);
        return;
      }
      // As LiveKit's WSSignalConnection: answer in the client's encoding.
      session->socket->set_json(!binary);
      if (request->message_case() == lk::SignalRequest::kAnswer && request->answer().id() == 0)
        request->mutable_answer()->set_id(session->socket->answered_offer_id());
      session->room->loop().post([session, request] {
        if (session->left || session->sid.empty()) return;
        if (request->message_case() == lk::SignalRequest::kLeave) session->left = true;
        session->room->handle(session->sid, *request);
      });
    };
    handler.on_close = [session](uint16_t code) {
      session->room->loop().post([session, code] {
        if (!session->left && !session->sid.empty()) {
          session->left = true;
          session->room->leave(session->sid, true, lk::SIGNAL_CLOSE);
          log::get("sfu")->info("msg=\"signal connection closed\" sid={} code={}", session->sid,
                                code);
        }
      });
    };
    return handler;
  });
}

}  // namespace atrium::livekit
