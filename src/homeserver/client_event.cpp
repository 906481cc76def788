#include "homeserver/client_event.hpp"

#include "base/clock.hpp"
#include "homeserver/relations.hpp"

namespace atrium::homeserver {

json::object parse_pdu(const store::Event& event) {
  return json::parse(event.pdu_json).as_object();
}

namespace {

json::object format(const store::Event& event, const json::object& pdu,
                    const FormatOptions& options) {
  json::object out;
  if (auto* c = pdu.if_contains("content"))
    out["content"] = *c;
  else
    out["content"] = json::object{};
  out["event_id"] = event.event_id;
  out["origin_server_ts"] = event.origin_server_ts;
  if (options.include_room_id) out["room_id"] = event.room_id;
  out["sender"] = event.sender;
  out["type"] = event.type;
  if (event.state_key) out["state_key"] = *event.state_key;
  if (event.type == "m.room.redaction") {
    // v11 moved `redacts` into content; clients still read the top level.
    if (auto* r = pdu.if_contains("redacts"))
      out["redacts"] = *r;
    else if (auto* c = pdu.if_contains("content"); c && c->is_object())
      if (auto* r2 = c->as_object().if_contains("redacts")) out["redacts"] = *r2;
  }
  json::object unsigned_;
  int64_t now = now_ms();
  unsigned_["age"] = std::max<int64_t>(0, now - event.origin_server_ts);
  if (event.sticky_until > 0) {
    if (auto* sticky = pdu.if_contains("msc4354_sticky")) out["msc4354_sticky"] = *sticky;
    unsigned_["msc4354_sticky_duration_ttl_ms"] = std::max<int64_t>(0, event.sticky_until - now);
  }
  if (!event.txn_id.empty() && event.sender == options.user_id &&
      event.txn_device == options.device_id)
    unsigned_["transaction_id"] = event.txn_id;
  out["unsigned"] = std::move(unsigned_);
  return out;
}

}  // namespace

json::object client_event(const store::Event& event, store::Reader& reader,
                          const FormatOptions& options) {
  json::object out = format(event, parse_pdu(event), options);
  auto& unsigned_ = out["unsigned"].as_object();
  if (!event.replaces_state.empty()) {
    unsigned_["replaces_state"] = event.replaces_state;
    if (auto prev = reader.event(event.replaces_state)) {
      auto prev_pdu = parse_pdu(*prev);
      if (auto* c = prev_pdu.if_contains("content")) unsigned_["prev_content"] = *c;
      unsigned_["prev_sender"] = prev->sender;
    }
  }
  if (!event.redacted_by.empty()) {
    if (auto redaction = reader.event(event.redacted_by))
      unsigned_["redacted_because"] = format(*redaction, parse_pdu(*redaction), options);
  }
  if (options.bundle_relations)
    if (auto bundle = bundled_relations(reader, event, options))
      unsigned_["m.relations"] = std::move(*bundle);
  return out;
}

json::array client_events(const std::vector<store::Event>& events, store::Reader& reader,
                          const FormatOptions& options) {
  json::array out;
  out.reserve(events.size());
  for (const auto& e : events)
    out.push_back(client_event(e, reader, options));
  return out;
}

json::object stripped_state_event(const store::Event& event) {
  auto pdu = parse_pdu(event);
  json::object out{
      {"type", event.type}, {"state_key", event.state_key.value_or("")}, {"sender", event.sender}};
  if (auto* c = pdu.if_contains("content")) out["content"] = *c;
  return out;
}

}  // namespace atrium::homeserver
