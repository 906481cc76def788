#pragma once
#include "store/sqlite/db.hpp"
#include "store/sqlite/push_store.hpp"
#include "store/store.hpp"

namespace atrium::store::sqlite {

// Reader over one connection: used by the pooled read connections and, as
// the base of SqliteWriter, inside the writer's transaction.
class SqliteReader : public virtual Reader, public SqlitePushReader {
 public:
  explicit SqliteReader(Connection& db) : SqlitePushReader(db), db_(db) {}

  std::optional<User> user(std::string_view user_id) override;
  std::optional<TokenOwner> token_owner(std::string_view access_token) override;
  std::vector<Device> devices(std::string_view user_id) override;
  std::optional<Device> device(std::string_view user_id, std::string_view device_id) override;
  std::optional<std::string> filter(std::string_view user_id, int64_t filter_id) override;
  std::optional<Room> room(std::string_view room_id) override;
  std::optional<std::string> alias_target(std::string_view alias) override;
  std::vector<std::string> room_aliases(std::string_view room_id) override;
  std::optional<Event> event(std::string_view event_id) override;
  std::optional<Event> current_state_event(std::string_view room_id, std::string_view type,
                                           std::string_view state_key) override;
  std::vector<Event> current_state(std::string_view room_id) override;
  std::vector<Event> state_before(std::string_view room_id, int64_t pos) override;
  std::vector<Event> state_changes(std::string_view room_id, int64_t after, int64_t upto) override;
  std::vector<Event> room_events(std::string_view room_id, int64_t after, int64_t upto,
                                 bool newest_first, int limit) override;
  std::vector<Event> room_forward_extremities(std::string_view room_id) override;
  std::optional<std::string> txn_event(std::string_view user_id, std::string_view device_id,
                                       std::string_view txn_id) override;
  std::vector<Membership> memberships_of_user(std::string_view user_id) override;
  std::vector<Membership> room_members(std::string_view room_id) override;
  std::optional<Membership> membership(std::string_view room_id, std::string_view user_id) override;
  std::vector<AccountData> account_data_changes(std::string_view user_id, int64_t after,
                                                int64_t upto) override;
  std::optional<std::string> account_data(std::string_view user_id, std::string_view room_id,
                                          std::string_view type) override;
  std::vector<Receipt> receipt_changes(std::string_view room_id, int64_t after,
                                       int64_t upto) override;
  std::vector<Receipt> receipts_of_room(std::string_view room_id) override;
  std::optional<Receipt> receipt(std::string_view room_id, std::string_view user_id,
                                 std::string_view type) override;
  std::vector<Event> sticky_events(std::string_view room_id, int64_t after, int64_t upto,
                                   int64_t now) override;
  std::optional<DelayedEvent> delayed_event(std::string_view delay_id) override;
  std::vector<DelayedEvent> delayed_events_of_user(std::string_view user_id,
                                                   std::string_view status) override;
  std::vector<DelayedEvent> scheduled_delayed_events() override;
  std::optional<std::string> openid_token_user(std::string_view token, int64_t now) override;
  std::optional<std::string> device_keys(std::string_view user_id,
                                         std::string_view device_id) override;
  std::vector<std::pair<std::string, std::string>> devices_keys(std::string_view user_id) override;
  std::vector<std::pair<std::string, int64_t>> one_time_key_counts(
      std::string_view user_id, std::string_view device_id) override;
  std::vector<std::string> unused_fallback_key_algorithms(std::string_view user_id,
                                                          std::string_view device_id) override;
  std::optional<std::string> cross_signing_key(std::string_view user_id,
                                               std::string_view key_type) override;
  std::vector<std::tuple<std::string, std::string, std::string>> key_signatures(
      std::string_view target_user, std::string_view target_id) override;
  std::vector<std::string> device_list_changes(int64_t after, int64_t upto) override;
  std::vector<ToDeviceMessage> to_device_messages(std::string_view user_id,
                                                  std::string_view device_id, int64_t after,
                                                  int64_t upto, int limit) override;
  std::vector<Membership> membership_changes(int64_t after, int64_t upto) override;
  int64_t count_events_after(std::string_view room_id, int64_t after_pos,
                             std::string_view not_sender,
                             const std::vector<std::string>& types) override;

 protected:
  Connection& db_;
};

}  // namespace atrium::store::sqlite
