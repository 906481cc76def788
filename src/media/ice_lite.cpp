#include "media/ice_lite.hpp"

#include <algorithm>

namespace atrium::media {

IceLiteAgent::IceLiteAgent(IceLiteConfig config, Clock::time_point now)
    : config_(std::move(config)),
      expected_username_prefix_(config_.local_ufrag + ":"),
      created_(now) {}

std::optional<TransportAddress> IceLiteAgent::selected_pair() const {
  if (!selected_) return std::nullopt;
  return pairs_[*selected_].remote;
}

void IceLiteAgent::set_state(IceState state, std::vector<IceEvent>& events) {
  if (state_ == state) return;
  state_ = state;
  events.push_back({IceEvent::Kind::kStateChanged, {}, state});
}

IceResult IceLiteAgent::handle_binding_request(std::span<const uint8_t> packet,
                                               const TransportAddress& from,
                                               Clock::time_point now) {
  IceResult result;
  auto message = stun::Message::parse(packet);
  if (!message) {
    result.rejection = IceRejection::kNotStun;
    return result;
  }
  if (message->type() != stun::kBindingRequest) {
    result.rejection = IceRejection::kNotBindingRequest;
    return result;
  }
  // A wrong FINGERPRINT means the datagram is not STUN for us: silence.
  if (message->has_fingerprint() && !message->verify_fingerprint()) {
    result.rejection = IceRejection::kBadFingerprint;
    return result;
  }
  if (state_ == IceState::kFailed) {
    result.rejection = IceRejection::kFailed;
    return result;
  }
  const auto id = message->transaction_id();
  auto refuse = [&](IceRejection why, uint16_t code, std::string_view reason,
                    std::string_view password = {}) {
    result.rejection = why;
    result.response = stun::build_binding_error(id, code, reason, password);
    return std::move(result);
  };

  // RFC 5389 10.1.2: missing credentials are a 400, wrong ones a 401.
  const auto username = message->username();
  if (!username || !message->has_message_integrity()) {
    return refuse(IceRejection::kBadRequest, 400, "Bad Request");
  }
  const bool username_ok =
      username->starts_with(expected_username_prefix_) &&
      (config_.remote_ufrag.empty() ||
       username->substr(expected_username_prefix_.size()) == config_.remote_ufrag);
  if (!username_ok || !message->verify_message_integrity(config_.local_password)) {
    return refuse(IceRejection::kUnauthorized, 401, "Unauthorized");
  }
  // RFC 8445 7.3: a check carries PRIORITY (the peer-reflexive priority).
  const auto priority = message->priority();
  if (!priority) return refuse(IceRejection::kBadRequest, 400, "Bad Request");
  // We are controlled and, being lite, cannot switch roles (RFC 8445 6.1.1):
  // a peer that also claims the controlled role gets 487 whatever its tie-breaker.
  if (message->ice_controlled()) {
    return refuse(IceRejection::kRoleConflict, 487, "Role Conflict", config_.local_password);
  }

  auto pair = std::find_if(pairs_.begin(), pairs_.end(),
                           [&](const CandidatePair& p) { return p.remote == from; });
  if (pair == pairs_.end()) {
    if (pairs_.size() >= config_.max_candidate_pairs) {
      // Evict the stalest pair that is not selected.
      auto victim = pairs_.end();
      for (auto it = pairs_.begin(); it != pairs_.end(); ++it) {
        if (selected_ && static_cast<size_t>(it - pairs_.begin()) == *selected_) continue;
        if (victim == pairs_.end() || it->last_valid_check < victim->last_valid_check) victim = it;
      }
      if (victim == pairs_.end()) return refuse(IceRejection::kBadRequest, 400, "Bad Request");
      const auto victim_index = static_cast<size_t>(victim - pairs_.begin());
      pairs_.erase(victim);
      if (selected_ && *selected_ > victim_index) --*selected_;
    }
    pairs_.push_back({from, now, *priority, false});
    pair = pairs_.end() - 1;
    result.events.push_back({IceEvent::Kind::kPairValidated, from});
  }
  pair->last_valid_check = now;
  pair->priority = *priority;

  // The selected pair is the last one nominated (the controlling agent's choice).
  if (message->use_candidate()) {
    pair->nominated = true;
    const auto index = static_cast<size_t>(pair - pairs_.begin());
    if (selected_ != index) {
      selected_ = index;
      result.events.push_back({IceEvent::Kind::kSelectedPairChanged, from});
    }
  }
  if (selected_ && pairs_[*selected_].remote == from)
    set_state(IceState::kConnected, result.events);

  result.response = stun::build_binding_success(id, from, config_.local_password);
  return result;
}

std::optional<IceEvent> IceLiteAgent::tick(Clock::time_point now) {
  std::vector<IceEvent> events;
  switch (state_) {
    case IceState::kChecking:
      if (now - created_ >= config_.connect_timeout) set_state(IceState::kFailed, events);
      break;
    case IceState::kConnected:
      if (now - pairs_[*selected_].last_valid_check >= config_.consent_timeout) {
        set_state(IceState::kDisconnected, events);
      }
      break;
    case IceState::kDisconnected:
    case IceState::kFailed:
      break;
  }
  if (events.empty()) return std::nullopt;
  return events.front();
}

}  // namespace atrium::media
