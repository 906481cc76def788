#pragma once
// Turns stored PDUs into the client event format of the Client-Server API:
// content, event_id, origin_server_ts, room_id, sender, type, state_key,
// redacts, and `unsigned` (age, transaction_id for the sending device,
// replaces_state/prev_content, redacted_because, m.relations).
#include "homeserver/common.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

struct FormatOptions {
  std::string user_id;  // the requester: transaction_id is only theirs
  std::string device_id;
  bool include_room_id = true;
  bool bundle_relations = true;  // unsigned["m.relations"] (see relations.hpp)
};

json::object client_event(const store::Event& event, store::Reader& reader,
                          const FormatOptions& options);
json::array client_events(const std::vector<store::Event>& events, store::Reader& reader,
                          const FormatOptions& options);

// Stripped state (type, state_key, sender, content) for invite_state.
json::object stripped_state_event(const store::Event& event);

json::object parse_pdu(const store::Event& event);

}  // namespace atrium::homeserver
