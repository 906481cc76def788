#pragma once
// The storage interface of the homeserver. Services read through a Reader
// (any thread) and write through Store::write, whose jobs run on one writer
// thread and are committed together (group commit): a job's `done` callback
// fires only once its transaction is durable. SQLite is the embedded backend;
// PostgreSQL will implement the same interface.
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "store/push_store.hpp"

namespace atrium::store {

struct User {
  std::string user_id;
  std::string password_hash;  // empty: no password login
  int64_t created_ts = 0;
  bool deactivated = false;
  bool admin = false;
  std::string displayname;
  std::string avatar_url;
};

struct Device {
  std::string user_id;
  std::string device_id;
  std::string display_name;
  int64_t last_seen_ts = 0;
  std::string last_seen_ip;
};

struct TokenOwner {
  std::string user_id;
  std::string device_id;
};

struct Room {
  std::string room_id;
  std::string room_version;
  std::string creator;
  int64_t created_ts = 0;
};

struct Event {
  int64_t pos = 0;  // stream position: the order of the room's timeline
  std::string event_id;
  std::string room_id;
  std::string type;
  std::optional<std::string> state_key;
  std::string sender;
  int64_t origin_server_ts = 0;
  int64_t depth = 0;
  std::string pdu_json;     // the PDU as stored (the redacted form once redacted)
  std::string redacted_by;  // event id of the redaction, empty if none
  std::string txn_device;   // device that sent it, for unsigned.transaction_id
  std::string txn_id;
  std::string replaces_state;  // state event this one replaced, empty if none
  int64_t sticky_until = 0;    // MSC4354: sticky until this time (ms), 0 if not sticky
};

// MSC4140: an event the server sends for a user later, unless cancelled or
// restarted first (the MatrixRTC "dead-man switch").
struct DelayedEvent {
  std::string delay_id;
  std::string user_id;
  std::string device_id;
  std::string room_id;
  std::string type;
  std::optional<std::string> state_key;
  std::string content_json;
  int64_t delay_ms = 0;
  int64_t running_since = 0;  // when the delay last (re)started, ms
  int64_t sticky_duration_ms = 0;
  std::string status = "scheduled";  // scheduled, sent, cancelled, failed
  std::string event_id;              // once sent
  std::string error;                 // once failed
  int64_t finalised_ts = 0;

  int64_t send_at() const { return running_since + delay_ms; }
};

struct Membership {
  std::string room_id;
  std::string user_id;
  std::string membership;  // join, invite, leave, ban, knock
  std::string event_id;
  int64_t pos = 0;
  bool forgotten = false;
};

struct AccountData {
  std::string room_id;  // empty: global
  std::string type;
  std::string content_json;
  int64_t pos = 0;
};

struct Receipt {
  std::string room_id;
  std::string user_id;
  std::string type;       // m.read, m.read.private
  std::string thread_id;  // empty: unthreaded
  std::string event_id;
  int64_t ts = 0;
  int64_t pos = 0;
};

// A to-device message waiting in a device's inbox until a sync acknowledges it.
struct ToDeviceMessage {
  int64_t pos = 0;
  std::string sender;
  std::string type;
  std::string content_json;
};

// End-to-end encryption keys are opaque JSON to the server.
struct OneTimeKey {
  std::string key_id;  // "signed_curve25519:AAAAHg"
  std::string key_json;
};

class Reader : public virtual PushReader {
 public:
  virtual ~Reader() = default;

  // Accounts.
  virtual std::optional<User> user(std::string_view user_id) = 0;
  virtual std::optional<TokenOwner> token_owner(std::string_view access_token) = 0;
  virtual std::vector<Device> devices(std::string_view user_id) = 0;
  virtual std::optional<Device> device(std::string_view user_id, std::string_view device_id) = 0;
  virtual std::optional<std::string> filter(std::string_view user_id, int64_t filter_id) = 0;

  // Rooms and aliases.
  virtual std::optional<Room> room(std::string_view room_id) = 0;
  virtual std::optional<std::string> alias_target(std::string_view alias) = 0;
  virtual std::vector<std::string> room_aliases(std::string_view room_id) = 0;

  // Events and state.
  virtual std::optional<Event> event(std::string_view event_id) = 0;
  virtual std::optional<Event> current_state_event(std::string_view room_id, std::string_view type,
                                                   std::string_view state_key) = 0;
  virtual std::vector<Event> current_state(std::string_view room_id) = 0;
  // The room state as it was just before stream position `pos` (exclusive).
  virtual std::vector<Event> state_before(std::string_view room_id, int64_t pos) = 0;
  // The last state event per (type, key) whose position is in (after, upto].
  virtual std::vector<Event> state_changes(std::string_view room_id, int64_t after,
                                           int64_t upto) = 0;
  // Up to `limit` timeline events with position in (after, upto], newest
  // first when `newest_first`, else oldest first.
  virtual std::vector<Event> room_events(std::string_view room_id, int64_t after, int64_t upto,
                                         bool newest_first, int limit) = 0;
  // Latest event positions (for prev_events) and the greatest depth.
  virtual std::vector<Event> room_forward_extremities(std::string_view room_id) = 0;
  virtual std::optional<std::string> txn_event(std::string_view user_id, std::string_view device_id,
                                               std::string_view txn_id) = 0;

  // Memberships (the current membership of each user in each room).
  virtual std::vector<Membership> memberships_of_user(std::string_view user_id) = 0;
  virtual std::vector<Membership> room_members(std::string_view room_id) = 0;
  virtual std::optional<Membership> membership(std::string_view room_id,
                                               std::string_view user_id) = 0;

  // Account data and receipts with position in (after, upto].
  virtual std::vector<AccountData> account_data_changes(std::string_view user_id, int64_t after,
                                                        int64_t upto) = 0;
  virtual std::optional<std::string> account_data(std::string_view user_id,
                                                  std::string_view room_id,
                                                  std::string_view type) = 0;
  virtual std::vector<Receipt> receipt_changes(std::string_view room_id, int64_t after,
                                               int64_t upto) = 0;
  virtual std::vector<Receipt> receipts_of_room(std::string_view room_id) = 0;
  virtual std::optional<Receipt> receipt(std::string_view room_id, std::string_view user_id,
                                         std::string_view type) = 0;
  // Sticky events (MSC4354) with position in (after, upto] still sticky at `now`.
  virtual std::vector<Event> sticky_events(std::string_view room_id, int64_t after, int64_t upto,
                                           int64_t now) = 0;

  // Delayed events (MSC4140).
  virtual std::optional<DelayedEvent> delayed_event(std::string_view delay_id) = 0;
  virtual std::vector<DelayedEvent> delayed_events_of_user(std::string_view user_id,
                                                           std::string_view status) = 0;
  virtual std::vector<DelayedEvent> scheduled_delayed_events() = 0;

  // OpenID tokens: the user a token belongs to, if it exists and is unexpired.
  virtual std::optional<std::string> openid_token_user(std::string_view token, int64_t now) = 0;

  // End-to-end encryption: device keys, one-time and fallback keys,
  // cross-signing keys and signatures, device-list changes, to-device.
  virtual std::optional<std::string> device_keys(std::string_view user_id,
                                                 std::string_view device_id) = 0;
  // device_id -> key JSON for every device of the user that uploaded keys.
  virtual std::vector<std::pair<std::string, std::string>> devices_keys(
      std::string_view user_id) = 0;
  // algorithm -> count of unclaimed one-time keys of a device.
  virtual std::vector<std::pair<std::string, int64_t>> one_time_key_counts(
      std::string_view user_id, std::string_view device_id) = 0;
  virtual std::vector<std::string> unused_fallback_key_algorithms(std::string_view user_id,
                                                                  std::string_view device_id) = 0;
  // key_type (master, self_signing, user_signing) -> key JSON.
  virtual std::optional<std::string> cross_signing_key(std::string_view user_id,
                                                       std::string_view key_type) = 0;
  // Signatures others uploaded for `target_id` (a device id or a key's public part):
  // (signer user, signer key id, signature).
  virtual std::vector<std::tuple<std::string, std::string, std::string>> key_signatures(
      std::string_view target_user, std::string_view target_id) = 0;
  // Users whose keys changed with position in (after, upto].
  virtual std::vector<std::string> device_list_changes(int64_t after, int64_t upto) = 0;
  virtual std::vector<ToDeviceMessage> to_device_messages(std::string_view user_id,
                                                          std::string_view device_id, int64_t after,
                                                          int64_t upto, int limit) = 0;
  // Member events (join/leave/ban/invite) in any room with position in (after, upto].
  virtual std::vector<Membership> membership_changes(int64_t after, int64_t upto) = 0;

  // Events after `after_pos` in the room not sent by `user_id` whose type is
  // one of `types` (unread counting).
  virtual int64_t count_events_after(std::string_view room_id, int64_t after_pos,
                                     std::string_view not_sender,
                                     const std::vector<std::string>& types) = 0;
};

class Writer : public virtual Reader, public virtual PushWriter {
 public:
  // The next stream position; positions are unique across all streams.
  virtual int64_t next_pos() = 0;
  // Runs fn after the transaction holding this job has been committed.
  virtual void after_commit(std::function<void()> fn) = 0;
  // Runs fn in a savepoint of its own: if it throws, what it wrote (and the
  // after-commit hooks it added) is undone and the exception goes on, so a
  // job can catch it and carry on with nothing half-written.
  virtual void atomically(const std::function<void()>& fn) = 0;

  virtual void insert_user(const User& user) = 0;
  virtual void update_user(const User& user) = 0;
  virtual void upsert_device(const Device& device) = 0;
  virtual void delete_device(std::string_view user_id, std::string_view device_id) = 0;
  virtual void insert_token(std::string_view token, std::string_view user_id,
                            std::string_view device_id) = 0;
  virtual void delete_token(std::string_view token) = 0;
  virtual void delete_device_tokens(std::string_view user_id, std::string_view device_id) = 0;
  virtual int64_t insert_filter(std::string_view user_id, std::string_view filter_json) = 0;

  virtual void insert_room(const Room& room) = 0;
  virtual void insert_alias(std::string_view alias, std::string_view room_id,
                            std::string_view creator) = 0;
  virtual void delete_alias(std::string_view alias) = 0;

  // Appends the event at a new position (set in event.pos); for a state
  // event also moves the current state, and for m.room.member the membership.
  virtual void insert_event(Event& event) = 0;
  virtual void redact_event(std::string_view event_id, std::string_view redacted_pdu_json,
                            std::string_view redaction_event_id) = 0;
  virtual void insert_txn(std::string_view user_id, std::string_view device_id,
                          std::string_view txn_id, std::string_view event_id) = 0;
  virtual void set_forgotten(std::string_view room_id, std::string_view user_id) = 0;

  virtual int64_t put_account_data(std::string_view user_id, std::string_view room_id,
                                   std::string_view type, std::string_view content_json) = 0;
  virtual int64_t put_receipt(Receipt& receipt) = 0;

  virtual void upsert_delayed_event(const DelayedEvent& event) = 0;
  // Cancels the scheduled delayed state events for (room, type, key) of
  // users other than `writer`; returns their ids.
  virtual std::vector<std::string> cancel_delayed_state(std::string_view room_id,
                                                        std::string_view type,
                                                        std::string_view state_key,
                                                        std::string_view writer, int64_t now) = 0;
  virtual void insert_openid_token(std::string_view token, std::string_view user_id,
                                   int64_t expires_ts) = 0;
  virtual void put_device_keys(std::string_view user_id, std::string_view device_id,
                               std::string_view keys_json) = 0;
  // Returns false when the key id exists with other content.
  virtual bool put_one_time_key(std::string_view user_id, std::string_view device_id,
                                std::string_view key_id, std::string_view key_json) = 0;
  virtual void put_fallback_key(std::string_view user_id, std::string_view device_id,
                                std::string_view key_id, std::string_view key_json) = 0;
  // Takes one key of `algorithm` (a one-time key, else the fallback key, which
  // stays but is marked used); nullopt when the device has none.
  virtual std::optional<OneTimeKey> claim_key(std::string_view user_id, std::string_view device_id,
                                              std::string_view algorithm) = 0;
  virtual void put_cross_signing_key(std::string_view user_id, std::string_view key_type,
                                     std::string_view key_json) = 0;
  virtual void put_key_signature(std::string_view signer_user, std::string_view signer_key_id,
                                 std::string_view target_user, std::string_view target_id,
                                 std::string_view signature) = 0;
  // Records that `user_id`'s keys changed, at a new position.
  virtual int64_t add_device_list_change(std::string_view user_id) = 0;
  virtual int64_t queue_to_device(std::string_view user_id, std::string_view device_id,
                                  std::string_view sender, std::string_view type,
                                  std::string_view content_json) = 0;
  // Drops the messages of a device up to `upto` (the client has them).
  virtual void ack_to_device(std::string_view user_id, std::string_view device_id,
                             int64_t upto) = 0;

  // Housekeeping: finalised delayed events and OpenID tokens older than `before`.
  virtual void prune_expired(int64_t before) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // A reader for the calling thread; cheap. Sees every committed write.
  class ReaderLease {
   public:
    virtual ~ReaderLease() = default;
    virtual Reader& reader() = 0;
  };
  class ReadHandle {
   public:
    explicit ReadHandle(std::unique_ptr<ReaderLease> lease) : lease_(std::move(lease)) {}
    Reader* operator->() { return &lease_->reader(); }
    Reader& operator*() { return lease_->reader(); }

   private:
    std::unique_ptr<ReaderLease> lease_;
  };
  virtual ReadHandle read() = 0;

  // Queues `job` for the writer thread. It runs inside a transaction (in a
  // savepoint of its own: a job that throws is rolled back alone); `done`
  // gets nullptr once the commit is durable, or the job's exception.
  using Job = std::function<void(Writer&)>;
  using Done = std::function<void(std::exception_ptr)>;
  virtual void write(Job job, Done done) = 0;

  // The greatest stream position whose write has been committed.
  virtual int64_t committed_pos() const = 0;

  // Moves whenever access tokens may have been deleted: when a write job
  // deletes one (before its commit) and again after that commit, before any
  // writer of the batch is answered. So a token found by a read that began
  // after the epoch was E still exists while the epoch is E.
  virtual uint64_t token_epoch() const = 0;

  // Finishes queued writes and stops the writer thread.
  virtual void close() = 0;
};

// Opens (creating and migrating as needed) the SQLite store in `path`.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);

}  // namespace atrium::store
