// STUN messages arrive from anyone who knows our UDP port. Parsing, the
// attribute accessors, the integrity checks and the ICE-lite agent must never
// crash or read out of bounds; a valid message must survive a rebuild.
#include <cstddef>
#include <cstdint>
#include <span>

#include "media/ice_lite.hpp"
#include "media/stun.hpp"

using namespace atrium::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  auto message = stun::Message::parse(input);
  if (message) {
    (void)message->method();
    (void)message->message_class();
    (void)message->username();
    (void)message->priority();
    (void)message->ice_controlling();
    (void)message->ice_controlled();
    (void)message->xor_mapped_address();
    (void)message->error_code();
    (void)message->verify_message_integrity("VOkJxbRl1RmTxUk/WvJxBt");
    (void)message->verify_fingerprint();

    // Rebuild attribute by attribute (padding becomes zeros): it must parse
    // again with the same attributes.
    stun::MessageBuilder builder(message->type(), message->transaction_id());
    size_t count = 0;
    message->for_each_attribute([&](stun::RawAttribute attribute) {
      builder.add_attribute(attribute.type, attribute.value);
      ++count;
    });
    auto rebuilt = stun::Message::parse(builder.bytes());
    if (!rebuilt || rebuilt->bytes().size() != message->bytes().size()) __builtin_trap();
    size_t rebuilt_count = 0;
    rebuilt->for_each_attribute([&](stun::RawAttribute) { ++rebuilt_count; });
    if (rebuilt_count != count || rebuilt->username() != message->username() ||
        rebuilt->xor_mapped_address() != message->xor_mapped_address()) {
      __builtin_trap();
    }
  }

  // The agent sees the same bytes (it parses again, as in production).
  IceLiteConfig config;
  config.local_ufrag = "evtj";
  config.local_password = "VOkJxbRl1RmTxUk/WvJxBt";
  config.remote_ufrag = "h6vY";
  const IceLiteAgent::Clock::time_point start{};
  IceLiteAgent agent(config, start);
  auto result = agent.handle_binding_request(input, TransportAddress::v4(10, 0, 0, 1, 5000), start);
  if (result.response && !stun::Message::parse(*result.response)) __builtin_trap();
  (void)agent.tick(start + std::chrono::seconds(31));
  return 0;
}
