#pragma once
// End-to-end encryption plumbing. The server never reads the keys: it
// stores what devices upload, hands out one-time keys, tracks whose device
// lists changed, and relays to-device messages (Olm-encrypted media keys for
// MatrixRTC travel this way).
#include <optional>
#include <set>
#include <string>

#include "homeserver/common.hpp"
#include "homeserver/notifier.hpp"
#include "net/http.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

class E2eeService {
 public:
  E2eeService(store::Store& store, Notifier& notifier) : store_(store), notifier_(notifier) {}

  void upload_keys(const Requester& who, json::object body, JsonCompletion done);
  json::object query_keys(const Requester& who, const json::object& body);
  void claim_keys(const Requester& who, json::object body, JsonCompletion done);
  json::object key_changes(const Requester& who, int64_t from, int64_t to);
  // Cross-signing keys; replacing an existing master key needs the password
  // (`check_password` runs the user-interactive auth and continues on success).
  void upload_cross_signing(const Requester& who, json::object body,
                            Completion<net::Response> done);
  void upload_signatures(const Requester& who, json::object body, JsonCompletion done);

  // PUT /sendToDevice/{type}/{txnId}: idempotent per device and txn.
  void send_to_device(const Requester& who, const std::string& type, const std::string& txn_id,
                      json::object body, JsonCompletion done);

  // Users who share a room with `user_id` now (including the user).
  static std::set<std::string> users_sharing_rooms(store::Reader& r, const std::string& user_id);
  // {"changed": [...], "left": [...]}: users whose devices `user_id` should
  // re-query, and users it no longer shares a room with, over (from, to].
  static json::object device_list_delta(store::Reader& r, const std::string& user_id, int64_t from,
                                        int64_t to);

 private:
  // The key object as others see it: stored JSON plus signatures uploaded later.
  json::object with_signatures(store::Reader& r, const std::string& user_id,
                               const std::string& target_id, const std::string& stored_json);

  store::Store& store_;
  Notifier& notifier_;
};

}  // namespace atrium::homeserver
