#include "homeserver/relations.hpp"

#include <tuple>

#include "base/error.hpp"
#include "homeserver/rooms.hpp"
#include "homeserver/tokens.hpp"
#include "matrix/ids.hpp"

namespace atrium::homeserver {

namespace {

const json::object* relates_to_of(const json::object& pdu) {
  auto* content = pdu.if_contains("content");
  if (!content || !content->is_object()) return nullptr;
  auto* rel = content->as_object().if_contains("m.relates_to");
  return rel && rel->is_object() ? &rel->as_object() : nullptr;
}

const json::string* string_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? &v->as_string() : nullptr;
}

// An edit must come from the original's sender, keep its type, and neither
// may be a state event nor the original itself an edit (spec, "Validity of
// replacement events").
bool replaceable(const store::Event& original) {
  if (original.state_key || !original.redacted_by.empty()) return false;
  auto* rel = relates_to_of(parse_pdu(original));
  auto* type = rel ? string_field(*rel, "rel_type") : nullptr;
  return !type || *type != "m.replace";
}

}  // namespace

void index_relation(store::Writer& w, const store::Event& event, const json::object& pdu) {
  const json::object* rel = relates_to_of(pdu);
  if (!rel) return;
  auto* rel_type = string_field(*rel, "rel_type");
  if (!rel_type) return;  // e.g. only m.in_reply_to: a rich reply, not a relation
  auto* parent_id = string_field(*rel, "event_id");
  if (!parent_id)
    throw MatrixError(Errc::bad_json, "m.relates_to with a rel_type needs a string event_id");
  auto parent = w.event(std::string_view(*parent_id));
  if (!parent || parent->room_id != event.room_id || parent->event_id == event.event_id)
    throw MatrixError(Errc::invalid_param, "m.relates_to names event " + std::string(*parent_id) +
                                               ", which is not in room " + event.room_id);
  store::Relation row;
  row.event_id = event.event_id;
  row.relates_to = parent->event_id;
  row.room_id = event.room_id;
  row.rel_type = std::string(*rel_type);
  row.event_type = event.type;
  row.sender = event.sender;
  row.pos = event.pos;
  if (row.rel_type == "m.annotation") {
    auto* key = string_field(*rel, "key");
    if (!key) throw MatrixError(Errc::invalid_param, "An m.annotation needs a string key");
    row.key = std::string(*key);
    if (w.has_annotation(row.relates_to, row.sender, row.event_type, row.key))
      throw MatrixError(Errc::duplicate_annotation,
                        "You already annotated " + row.relates_to + " with '" + row.key + "'");
  }
  w.insert_relation(row);
}

void forget_redacted_event(store::Writer& w, const store::Event& redacted) {
  w.delete_relation(redacted.event_id);
  w.delete_notifications_at(redacted.pos);
}

std::optional<json::object> bundled_relations(store::Reader& r, const store::Event& event,
                                              const FormatOptions& options) {
  auto rows = r.bundle_relations(event.event_id);
  if (rows.empty()) return std::nullopt;
  json::array references;
  const store::Relation* latest_edit = nullptr;
  std::optional<bool> can_edit;  // parsed only when an edit is seen
  for (const auto& rel : rows) {
    if (rel.rel_type == "m.reference") {
      references.push_back(json::object{{"event_id", rel.event_id}});
    } else if (rel.rel_type == "m.replace" && rel.sender == event.sender &&
               rel.event_type == event.type) {
      if (!can_edit) can_edit = replaceable(event);
      if (!*can_edit) continue;
      // The latest edit wins: highest origin_server_ts, then event id.
      if (!latest_edit || std::tie(rel.origin_server_ts, rel.event_id) >
                              std::tie(latest_edit->origin_server_ts, latest_edit->event_id))
        latest_edit = &rel;
    }
  }
  json::object out;
  if (latest_edit) {
    if (auto edit = r.event(latest_edit->event_id)) {
      FormatOptions inner = options;
      inner.bundle_relations = false;  // an edit's own relations are not bundled again
      out["m.replace"] = client_event(*edit, r, inner);
    }
  }
  if (!references.empty()) out["m.reference"] = json::object{{"chunk", std::move(references)}};
  if (out.empty()) return std::nullopt;
  return out;
}

json::object RelationService::list(const Requester& who, const std::string& room_id,
                                   const std::string& event_id, const RelationsRequest& req) {
  if (!matrix::is_valid_room_id(room_id))
    throw MatrixError(Errc::invalid_param, "'" + room_id + "' is not a valid room id");
  int64_t limit = req.limit.value_or(kDefaultLimit);
  if (limit < 1) throw MatrixError(Errc::invalid_param, "limit must be at least 1");
  limit = std::min<int64_t>(limit, kMaxLimit);
  int64_t from = req.from ? parse_stream_token(*req.from).pos : -1;  // -1: not given
  int64_t to = req.to ? parse_stream_token(*req.to).pos : -1;

  auto r = store_.read();
  if (!r->room(room_id)) throw MatrixError(Errc::not_found, "Unknown room " + room_id);
  auto range = RoomService::visible_range(*r, room_id, who.user_id);
  auto parent = r->event(event_id);
  if (!parent || parent->room_id != room_id || parent->pos <= range.lower ||
      parent->pos > range.upper)
    throw MatrixError(Errc::not_found, "Event " + event_id + " not found in " + room_id);

  store::RelationQuery q;
  q.parent_id = event_id;
  q.rel_type = req.rel_type;
  q.event_type = req.event_type;
  q.newest_first = req.backwards;
  q.limit = static_cast<int>(limit);
  q.max_depth = req.recurse.value_or(false) ? kRecursionDepth : 1;
  // Tokens are stream positions: "s<p>" is everything up to and including p.
  if (req.backwards) {
    q.upto = from >= 0 ? from : INT64_MAX;
    q.after = to >= 0 ? to : 0;
  } else {
    q.after = from >= 0 ? from : 0;
    q.upto = to >= 0 ? to : INT64_MAX;
  }
  q.after = std::max(q.after, range.lower);
  q.upto = std::min(q.upto, range.upper);

  auto rows = q.after < q.upto ? r->relations(q) : std::vector<store::Relation>{};
  FormatOptions options{who.user_id, who.device_id};
  json::array chunk;
  for (const auto& row : rows)
    if (auto e = r->event(row.event_id)) chunk.push_back(client_event(*e, *r, options));

  json::object out{{"chunk", std::move(chunk)}};
  if (static_cast<int64_t>(rows.size()) == limit)
    out["next_batch"] = make_position_token(req.backwards ? rows.back().pos - 1 : rows.back().pos);
  if (req.from) out["prev_batch"] = *req.from;
  if (req.recurse) out["recursion_depth"] = q.max_depth;
  return out;
}

}  // namespace atrium::homeserver
