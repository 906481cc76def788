#pragma once
// ICE-lite (RFC 8445 section 2.5) as a pure state machine: no sockets, no
// timers. The caller feeds binding requests and the clock; the agent answers
// with response bytes and reports events. A lite agent is always controlled:
// it never sends checks, the controlling peer nominates with USE-CANDIDATE.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media/stun.hpp"

namespace atrium::media {

struct IceLiteConfig {
  std::string local_ufrag;
  std::string local_password;
  std::string remote_ufrag;  // empty: accept any remote part of USERNAME
  // Consent freshness (RFC 7675): no valid check on the selected pair for this long.
  std::chrono::milliseconds consent_timeout{30'000};
  // No nomination at all this long after creation.
  std::chrono::milliseconds connect_timeout{30'000};
  size_t max_candidate_pairs = 16;  // bounds memory against address churn
};

enum class IceState : uint8_t {
  kChecking,      // waiting for a nomination
  kConnected,     // a selected pair with fresh consent
  kDisconnected,  // consent expired; a valid check brings it back
  kFailed,        // never connected within connect_timeout (terminal)
};

struct IceEvent {
  enum class Kind : uint8_t { kPairValidated, kSelectedPairChanged, kStateChanged };
  Kind kind;
  TransportAddress remote;               // for pair events
  IceState state = IceState::kChecking;  // for kStateChanged
};

// Why a request was dropped or refused; kNone for a success.
enum class IceRejection : uint8_t {
  kNone,
  kNotStun,            // dropped, no answer
  kNotBindingRequest,  // dropped (indications, responses)
  kBadFingerprint,     // dropped: not meant for us
  kFailed,             // dropped: the agent gave up
  kBadRequest,         // 400: USERNAME, MESSAGE-INTEGRITY or PRIORITY missing
  kUnauthorized,       // 401: wrong USERNAME or integrity
  kRoleConflict,       // 487: the peer claims the controlled role too
};

struct IceResult {
  std::optional<std::vector<uint8_t>> response;  // send back to `from`
  std::vector<IceEvent> events;
  IceRejection rejection = IceRejection::kNone;
};

class IceLiteAgent {
 public:
  using Clock = std::chrono::steady_clock;

  IceLiteAgent(IceLiteConfig config, Clock::time_point now);

  // `packet` must be a STUN message (demultiplexed by first byte).
  IceResult handle_binding_request(std::span<const uint8_t> packet, const TransportAddress& from,
                                   Clock::time_point now);
  // Advances the timeouts; returns a kStateChanged event when the state changes.
  std::optional<IceEvent> tick(Clock::time_point now);

  IceState state() const { return state_; }
  std::optional<TransportAddress> selected_pair() const;
  size_t candidate_pair_count() const { return pairs_.size(); }

 private:
  struct CandidatePair {
    TransportAddress remote;
    Clock::time_point last_valid_check;
    uint32_t priority = 0;
    bool nominated = false;
  };
  void set_state(IceState state, std::vector<IceEvent>& events);

  IceLiteConfig config_;
  std::string expected_username_prefix_;  // "localufrag:"
  Clock::time_point created_;
  IceState state_ = IceState::kChecking;
  std::vector<CandidatePair> pairs_;  // few entries: a linear scan beats a map
  std::optional<size_t> selected_;
};

}  // namespace atrium::media
