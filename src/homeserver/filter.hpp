#pragma once
// Event filters (Client-Server API "Filtering"): parsed once per request from
// the inline JSON or the stored filter id.
#include <optional>
#include <string>
#include <vector>

#include "homeserver/common.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

struct EventFilter {
  std::optional<int> limit;
  std::optional<std::vector<std::string>> types;  // '*' wildcards allowed
  std::vector<std::string> not_types;
  std::optional<std::vector<std::string>> senders;
  std::vector<std::string> not_senders;
  std::optional<std::vector<std::string>> rooms;
  std::vector<std::string> not_rooms;
  bool lazy_load_members = false;

  bool matches(const store::Event& event) const;
  bool allows_room(const std::string& room_id) const;
};

struct SyncFilter {
  EventFilter timeline;
  EventFilter state;
  EventFilter ephemeral;
  EventFilter room_account_data;
  EventFilter account_data;
  EventFilter presence;
  std::optional<std::vector<std::string>> rooms;
  std::vector<std::string> not_rooms;
  bool include_leave = false;

  bool allows_room(const std::string& room_id) const;
};

// Throws M_BAD_JSON / M_INVALID_PARAM on malformed filters.
EventFilter parse_event_filter(const json::object& o);
SyncFilter parse_sync_filter(const json::object& o);
// Validates a filter definition for POST /user/{id}/filter.
void validate_filter(const json::object& o);

}  // namespace atrium::homeserver
