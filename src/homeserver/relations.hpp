#pragma once
// Relations (Client-Server API "Relationships"): events that point at another
// event through content["m.relates_to"] {rel_type, event_id}. They are
// indexed when appended, listed by GET /relations, and summarised in the
// parent's unsigned["m.relations"] (bundled aggregations).
//
// Choices:
// - Any rel_type is indexed and listed; threads (m.thread) get no bundle.
// - An event relating to an event that is not in its room is refused
//   (400 M_INVALID_PARAM); so is an m.annotation without a string key.
// - A second m.annotation with the same sender, event type and key on the
//   same parent is refused (400 M_DUPLICATE_ANNOTATION, as Synapse does);
//   once the first is redacted the key may be sent again.
// - Bundles, per the current spec: m.replace (the latest valid edit, in
//   full) and m.reference ({chunk: [{event_id}]}); annotations are not bundled.
#include <optional>
#include <string>

#include "homeserver/client_event.hpp"
#include "homeserver/common.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

// Inside the write job of an appended event (after insert_event): indexes its
// relation, if it has one. Throws MatrixError to refuse the event.
void index_relation(store::Writer& w, const store::Event& event, const json::object& pdu);

// Inside the write job of a redaction: the redacted event leaves the
// aggregations and its notifications stop counting.
void forget_redacted_event(store::Writer& w, const store::Event& redacted);

// unsigned["m.relations"] of `event`, or nullopt when it has nothing to bundle.
// One indexed query, plus one to load the latest edit when there is one.
std::optional<json::object> bundled_relations(store::Reader& r, const store::Event& event,
                                              const FormatOptions& options);

struct RelationsRequest {
  std::optional<std::string> rel_type;
  std::optional<std::string> event_type;
  std::optional<std::string> from;  // stream tokens, as /messages and /sync give
  std::optional<std::string> to;
  std::optional<int64_t> limit;
  bool backwards = true;        // dir=b (the default) or dir=f
  std::optional<bool> recurse;  // absent: no recursion_depth in the answer
};

class RelationService {
 public:
  explicit RelationService(store::Store& store) : store_(store) {}

  // GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]].
  // 404 M_NOT_FOUND for a parent the user cannot see or that is not in the room.
  json::object list(const Requester& who, const std::string& room_id, const std::string& event_id,
                    const RelationsRequest& request);

  static constexpr int kDefaultLimit = 50;
  static constexpr int kMaxLimit = 1000;
  static constexpr int kRecursionDepth = 3;  // the spec asks for at least 3

 private:
  store::Store& store_;
};

}  // namespace atrium::homeserver
