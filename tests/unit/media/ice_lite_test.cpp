#include "media/ice_lite.hpp"

#include <gtest/gtest.h>

namespace atrium::media {
namespace {

using namespace std::chrono_literals;
using Clock = IceLiteAgent::Clock;

const Clock::time_point kStart{};
const TransportAddress kPeerA = TransportAddress::v4(192, 0, 2, 10, 40000);
const TransportAddress kPeerB = TransportAddress::v4(198, 51, 100, 7, 50000);

IceLiteConfig config() {
  IceLiteConfig c;
  c.local_ufrag = "loca";
  c.local_password = "local-password-0123456789";
  c.remote_ufrag = "remo";
  return c;
}

struct RequestOptions {
  std::string username = "loca:remo";
  std::string password = "local-password-0123456789";
  bool integrity = true;
  bool fingerprint = true;
  bool priority = true;
  bool use_candidate = false;
  bool controlled = false;
  bool controlling = true;
};

std::vector<uint8_t> request(const RequestOptions& o = {}) {
  stun::TransactionId id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  stun::MessageBuilder builder(stun::kBindingRequest, id);
  if (!o.username.empty()) builder.add_string(stun::attr::kUsername, o.username);
  if (o.priority) builder.add_u32(stun::attr::kPriority, 0x6e0001ff);
  if (o.controlling) builder.add_u64(stun::attr::kIceControlling, 42);
  if (o.controlled) builder.add_u64(stun::attr::kIceControlled, 42);
  if (o.use_candidate) builder.add_attribute(stun::attr::kUseCandidate, {});
  if (o.integrity) builder.add_message_integrity(o.password);
  if (o.fingerprint) builder.add_fingerprint();
  return std::move(builder).finish();
}

std::optional<uint16_t> error_code_of(const IceResult& result) {
  if (!result.response) return std::nullopt;
  auto message = stun::Message::parse(*result.response);
  if (!message || !message->error_code()) return std::nullopt;
  return message->error_code()->code;
}

bool has_event(const IceResult& result, IceEvent::Kind kind) {
  for (const auto& e : result.events) {
    if (e.kind == kind) return true;
  }
  return false;
}

TEST(IceLite, ValidCheckGetsAuthenticatedSuccess) {
  IceLiteAgent agent(config(), kStart);
  auto result = agent.handle_binding_request(request(), kPeerA, kStart + 1s);
  EXPECT_EQ(result.rejection, IceRejection::kNone);
  ASSERT_TRUE(result.response);
  auto response = stun::Message::parse(*result.response);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->type(), stun::kBindingSuccess);
  EXPECT_EQ(response->xor_mapped_address(), kPeerA);
  EXPECT_TRUE(response->verify_message_integrity(config().local_password));
  EXPECT_TRUE(response->verify_fingerprint());
  EXPECT_TRUE(has_event(result, IceEvent::Kind::kPairValidated));
  EXPECT_FALSE(has_event(result, IceEvent::Kind::kSelectedPairChanged));
  EXPECT_EQ(agent.state(), IceState::kChecking);
  // The same pair again is not a new validation.
  result = agent.handle_binding_request(request(), kPeerA, kStart + 2s);
  EXPECT_TRUE(result.events.empty());
}

TEST(IceLite, UseCandidateNominatesAndConnects) {
  IceLiteAgent agent(config(), kStart);
  auto result = agent.handle_binding_request(request({.use_candidate = true}), kPeerA, kStart);
  EXPECT_TRUE(has_event(result, IceEvent::Kind::kSelectedPairChanged));
  EXPECT_TRUE(has_event(result, IceEvent::Kind::kStateChanged));
  EXPECT_EQ(agent.state(), IceState::kConnected);
  EXPECT_EQ(agent.selected_pair(), kPeerA);
}

TEST(IceLite, LastNominatedPairIsSelected) {
  IceLiteAgent agent(config(), kStart);
  agent.handle_binding_request(request({.use_candidate = true}), kPeerA, kStart);
  agent.handle_binding_request(request(), kPeerB, kStart + 1s);
  EXPECT_EQ(agent.candidate_pair_count(), 2u);
  EXPECT_EQ(agent.selected_pair(), kPeerA);
  auto result = agent.handle_binding_request(request({.use_candidate = true}), kPeerB, kStart + 2s);
  EXPECT_TRUE(has_event(result, IceEvent::Kind::kSelectedPairChanged));
  EXPECT_EQ(agent.selected_pair(), kPeerB);
}

TEST(IceLite, WrongUsernameIs401) {
  IceLiteAgent agent(config(), kStart);
  for (std::string username : {"other:remo", "loca:other", "loca", "locaX:remo"}) {
    auto result = agent.handle_binding_request(request({.username = username}), kPeerA, kStart);
    EXPECT_EQ(result.rejection, IceRejection::kUnauthorized) << username;
    EXPECT_EQ(error_code_of(result), 401);
  }
  EXPECT_EQ(agent.candidate_pair_count(), 0u);
}

TEST(IceLite, EmptyRemoteUfragAcceptsAnyRemotePart) {
  auto c = config();
  c.remote_ufrag.clear();
  IceLiteAgent agent(c, kStart);
  auto result = agent.handle_binding_request(request({.username = "loca:xyz"}), kPeerA, kStart);
  EXPECT_EQ(result.rejection, IceRejection::kNone);
}

TEST(IceLite, BadIntegrityIs401) {
  IceLiteAgent agent(config(), kStart);
  auto result = agent.handle_binding_request(request({.password = "nope"}), kPeerA, kStart);
  EXPECT_EQ(result.rejection, IceRejection::kUnauthorized);
  EXPECT_EQ(error_code_of(result), 401);
  auto response = stun::Message::parse(*result.response);
  EXPECT_FALSE(response->has_message_integrity());
}

TEST(IceLite, MissingCredentialsOrPriorityIs400) {
  IceLiteAgent agent(config(), kStart);
  EXPECT_EQ(
      error_code_of(agent.handle_binding_request(request({.integrity = false}), kPeerA, kStart)),
      400);
  EXPECT_EQ(error_code_of(agent.handle_binding_request(request({.username = ""}), kPeerA, kStart)),
            400);
  EXPECT_EQ(
      error_code_of(agent.handle_binding_request(request({.priority = false}), kPeerA, kStart)),
      400);
}

TEST(IceLite, PeerClaimingControlledGets487) {
  IceLiteAgent agent(config(), kStart);
  auto result = agent.handle_binding_request(request({.controlled = true, .controlling = false}),
                                             kPeerA, kStart);
  EXPECT_EQ(result.rejection, IceRejection::kRoleConflict);
  EXPECT_EQ(error_code_of(result), 487);
  auto response = stun::Message::parse(*result.response);
  EXPECT_TRUE(response->verify_message_integrity(config().local_password));
  EXPECT_EQ(agent.candidate_pair_count(), 0u);
}

TEST(IceLite, BadFingerprintAndNonRequestsAreDropped) {
  IceLiteAgent agent(config(), kStart);
  auto bytes = request();
  bytes.back() ^= 1;
  auto result = agent.handle_binding_request(bytes, kPeerA, kStart);
  EXPECT_EQ(result.rejection, IceRejection::kBadFingerprint);
  EXPECT_FALSE(result.response);

  stun::TransactionId id{};
  stun::MessageBuilder indication(
      stun::message_type(stun::kMethodBinding, stun::MessageClass::kIndication), id);
  indication.add_fingerprint();
  auto copy = std::move(indication).finish();
  result = agent.handle_binding_request(copy, kPeerA, kStart);
  EXPECT_EQ(result.rejection, IceRejection::kNotBindingRequest);
  EXPECT_FALSE(result.response);

  const uint8_t garbage[] = {0x00, 0x01, 0x02};
  EXPECT_EQ(agent.handle_binding_request(garbage, kPeerA, kStart).rejection,
            IceRejection::kNotStun);
}

TEST(IceLite, TimesOutWithoutNomination) {
  IceLiteAgent agent(config(), kStart);
  agent.handle_binding_request(request(), kPeerA, kStart + 1s);  // validated, not nominated
  EXPECT_FALSE(agent.tick(kStart + 29s));
  auto event = agent.tick(kStart + 30s);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->state, IceState::kFailed);
  EXPECT_EQ(agent.state(), IceState::kFailed);
  EXPECT_FALSE(agent.tick(kStart + 31s));
  EXPECT_EQ(agent.handle_binding_request(request({.use_candidate = true}), kPeerA, kStart + 32s)
                .rejection,
            IceRejection::kFailed);
}

TEST(IceLite, ConsentExpiresAndRecovers) {
  auto c = config();
  c.consent_timeout = 10s;
  IceLiteAgent agent(c, kStart);
  agent.handle_binding_request(request({.use_candidate = true}), kPeerA, kStart);
  // Checks on another pair do not refresh consent of the selected one.
  agent.handle_binding_request(request(), kPeerB, kStart + 8s);
  EXPECT_FALSE(agent.tick(kStart + 9s));
  auto event = agent.tick(kStart + 10s);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->state, IceState::kDisconnected);
  auto result = agent.handle_binding_request(request(), kPeerA, kStart + 12s);
  EXPECT_TRUE(has_event(result, IceEvent::Kind::kStateChanged));
  EXPECT_EQ(agent.state(), IceState::kConnected);
  EXPECT_FALSE(agent.tick(kStart + 21s));
}

TEST(IceLite, CandidatePairsAreBounded) {
  auto c = config();
  c.max_candidate_pairs = 2;
  IceLiteAgent agent(c, kStart);
  agent.handle_binding_request(request({.use_candidate = true}), kPeerA, kStart);
  for (uint16_t port = 1; port <= 5; ++port) {
    agent.handle_binding_request(request(), TransportAddress::v4(10, 0, 0, 1, port),
                                 kStart + std::chrono::seconds(port));
  }
  EXPECT_EQ(agent.candidate_pair_count(), 2u);
  EXPECT_EQ(agent.selected_pair(), kPeerA);
}

}  // namespace
}  // namespace atrium::media
