// SQLite backend: WAL mode, synchronous=FULL (a commit is on disk before its
// request is answered), one writer thread doing group commit, a pool of
// read-only connections for the request threads.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "base/log.hpp"
#include "store/sqlite/reader.hpp"
#include "store/sqlite/schema.hpp"

namespace atrium::store {
namespace sqlite {
namespace {

class SqliteWriter final : public SqliteReader, public Writer, public SqlitePushWriter {
 public:
  SqliteWriter(Connection& db, int64_t& pos, std::atomic<uint64_t>& token_epoch)
      : SqliteReader(db), SqlitePushWriter(db), pos_(pos), token_epoch_(token_epoch) {}
  // Whether a job of this batch deleted access tokens (the store moves the
  // epoch again once the batch is committed).
  bool deleted_tokens() const { return deleted_tokens_; }

  std::vector<std::function<void()>> take_after_commit() { return std::move(after_commit_); }
  void discard_after_commit(size_t keep) { after_commit_.resize(keep); }
  size_t after_commit_count() const { return after_commit_.size(); }

  int64_t next_pos() override { return ++pos_; }
  void after_commit(std::function<void()> fn) override { after_commit_.push_back(std::move(fn)); }

  void atomically(const std::function<void()>& fn) override {
    size_t hooks = after_commit_.size();
    db_.prepare("SAVEPOINT part").exec();
    try {
      fn();
    } catch (...) {
      db_.exec("ROLLBACK TO part");
      db_.exec("RELEASE part");
      after_commit_.resize(hooks);
      throw;
    }
    db_.prepare("RELEASE part").exec();
  }

  void insert_user(const User& u) override {
    db_.prepare(
           "INSERT INTO users (user_id, password_hash, created_ts, deactivated, admin, "
           "displayname, avatar_url) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind_all(u.user_id, u.password_hash, u.created_ts, u.deactivated, u.admin, u.displayname,
                  u.avatar_url)
        .exec();
  }

  void update_user(const User& u) override {
    db_.prepare(
           "UPDATE users SET password_hash = ?, deactivated = ?, admin = ?, displayname = ?, "
           "avatar_url = ? WHERE user_id = ?")
        .bind_all(u.password_hash, u.deactivated, u.admin, u.displayname, u.avatar_url, u.user_id)
        .exec();
  }

  void upsert_device(const Device& d) override {
    db_.prepare(
           "INSERT INTO devices (user_id, device_id, display_name, last_seen_ts, last_seen_ip) "
           "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, device_id) DO UPDATE SET "
           "display_name = ?3, last_seen_ts = ?4, last_seen_ip = ?5")
        .bind_all(d.user_id, d.device_id, d.display_name, d.last_seen_ts, d.last_seen_ip)
        .exec();
  }

  void delete_device(std::string_view user_id, std::string_view device_id) override {
    db_.prepare("DELETE FROM devices WHERE user_id = ? AND device_id = ?")
        .bind_all(user_id, device_id)
        .exec();
    delete_device_tokens(user_id, device_id);
    // A deleted device takes its keys and inbox with it; others learn of it
    // through the device list.
    bool had_keys = device_keys(user_id, device_id).has_value();
    for (const char* sql : {"DELETE FROM device_keys WHERE user_id = ? AND device_id = ?",
                            "DELETE FROM one_time_keys WHERE user_id = ? AND device_id = ?",
                            "DELETE FROM fallback_keys WHERE user_id = ? AND device_id = ?",
                            "DELETE FROM to_device WHERE user_id = ? AND device_id = ?"})
      db_.prepare(sql).bind_all(user_id, device_id).exec();
    if (had_keys) add_device_list_change(user_id);
  }

  void insert_token(std::string_view token, std::string_view user_id,
                    std::string_view device_id) override {
    db_.prepare("INSERT INTO access_tokens (token, user_id, device_id) VALUES (?, ?, ?)")
        .bind_all(token, user_id, device_id)
        .exec();
  }

  void delete_token(std::string_view token) override {
    tokens_deleting();
    db_.prepare("DELETE FROM access_tokens WHERE token = ?").bind_all(token).exec();
  }

  void delete_device_tokens(std::string_view user_id, std::string_view device_id) override {
    tokens_deleting();
    db_.prepare("DELETE FROM access_tokens WHERE user_id = ? AND device_id = ?")
        .bind_all(user_id, device_id)
        .exec();
  }

  int64_t insert_filter(std::string_view user_id, std::string_view filter_json) override {
    db_.prepare("INSERT INTO filters (user_id, filter_json) VALUES (?, ?)")
        .bind_all(user_id, filter_json)
        .exec();
    return db_.last_insert_rowid();
  }

  void insert_room(const Room& r) override {
    db_.prepare("INSERT INTO rooms (room_id, room_version, creator, created_ts) VALUES (?,?,?,?)")
        .bind_all(r.room_id, r.room_version, r.creator, r.created_ts)
        .exec();
  }

  void insert_alias(std::string_view alias, std::string_view room_id,
                    std::string_view creator) override {
    db_.prepare("INSERT INTO room_aliases (alias, room_id, creator) VALUES (?, ?, ?)")
        .bind_all(alias, room_id, creator)
        .exec();
  }

  void delete_alias(std::string_view alias) override {
    db_.prepare("DELETE FROM room_aliases WHERE alias = ?").bind_all(alias).exec();
  }

  void insert_event(Event& e) override {
    e.pos = next_pos();
    db_.prepare(
           "INSERT INTO events (pos, event_id, room_id, type, state_key, sender, origin_server_ts, "
           "depth, pdu_json, redacted_by, txn_device, txn_id, replaces_state, sticky_until) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(e.pos, e.event_id, e.room_id, e.type, e.state_key, e.sender, e.origin_server_ts,
                  e.depth, e.pdu_json, e.redacted_by, e.txn_device, e.txn_id, e.replaces_state,
                  e.sticky_until)
        .exec();
    if (!e.state_key) return;
    db_.prepare(
           "INSERT INTO current_state (room_id, type, state_key, event_pos) VALUES (?1, ?2, ?3, "
           "?4) "
           "ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_pos = ?4")
        .bind_all(e.room_id, e.type, *e.state_key, e.pos)
        .exec();
    if (e.type == "m.room.member") {
      // The membership column mirrors content.membership; the caller has
      // validated the event, so it is present.
      auto membership = membership_of(e.pdu_json);
      db_.prepare(
             "INSERT INTO memberships (room_id, user_id, membership, event_id, pos, forgotten) "
             "VALUES (?1, ?2, ?3, ?4, ?5, 0) ON CONFLICT (room_id, user_id) DO UPDATE SET "
             "membership = ?3, event_id = ?4, pos = ?5, forgotten = 0")
          .bind_all(e.room_id, *e.state_key, membership, e.event_id, e.pos)
          .exec();
    }
  }

  void redact_event(std::string_view event_id, std::string_view redacted_pdu_json,
                    std::string_view redaction_event_id) override {
    db_.prepare("UPDATE events SET pdu_json = ?, redacted_by = ? WHERE event_id = ?")
        .bind_all(redacted_pdu_json, redaction_event_id, event_id)
        .exec();
  }

  void insert_txn(std::string_view user_id, std::string_view device_id, std::string_view txn_id,
                  std::string_view event_id) override {
    db_.prepare("INSERT INTO txns (user_id, device_id, txn_id, event_id) VALUES (?, ?, ?, ?)")
        .bind_all(user_id, device_id, txn_id, event_id)
        .exec();
  }

  void set_forgotten(std::string_view room_id, std::string_view user_id) override {
    db_.prepare("UPDATE memberships SET forgotten = 1 WHERE room_id = ? AND user_id = ?")
        .bind_all(room_id, user_id)
        .exec();
  }

  int64_t put_account_data(std::string_view user_id, std::string_view room_id,
                           std::string_view type, std::string_view content_json) override {
    int64_t pos = next_pos();
    db_.prepare(
           "INSERT INTO account_data (user_id, room_id, type, content_json, pos) VALUES "
           "(?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, room_id, type) DO UPDATE SET "
           "content_json = ?4, pos = ?5")
        .bind_all(user_id, room_id, type, content_json, pos)
        .exec();
    return pos;
  }

  int64_t put_receipt(Receipt& r) override {
    r.pos = next_pos();
    db_.prepare(
           "INSERT INTO receipts (room_id, user_id, type, thread_id, event_id, ts, pos) VALUES "
           "(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (room_id, user_id, type, thread_id) DO "
           "UPDATE SET event_id = ?5, ts = ?6, pos = ?7")
        .bind_all(r.room_id, r.user_id, r.type, r.thread_id, r.event_id, r.ts, r.pos)
        .exec();
    return r.pos;
  }

  void upsert_delayed_event(const DelayedEvent& d) override {
    db_.prepare(
           "INSERT INTO delayed_events (delay_id, user_id, device_id, room_id, type, state_key, "
           "content_json, delay_ms, running_since, sticky_duration_ms, status, event_id, error, "
           "finalised_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
           "ON CONFLICT (delay_id) DO UPDATE SET running_since = ?9, status = ?11, "
           "event_id = ?12, error = ?13, finalised_ts = ?14")
        .bind_all(d.delay_id, d.user_id, d.device_id, d.room_id, d.type, d.state_key,
                  d.content_json, d.delay_ms, d.running_since, d.sticky_duration_ms, d.status,
                  d.event_id, d.error, d.finalised_ts)
        .exec();
  }

  std::vector<std::string> cancel_delayed_state(std::string_view room_id, std::string_view type,
                                                std::string_view state_key, std::string_view writer,
                                                int64_t now) override {
    std::vector<std::string> ids;
    {
      auto st = db_.prepare(
          "SELECT delay_id FROM delayed_events WHERE room_id = ? AND type = ? AND state_key = ? "
          "AND status = 'scheduled' AND user_id != ?");
      st.bind_all(room_id, type, state_key, writer);
      while (st.step())
        ids.push_back(st.text(0));
    }
    for (const auto& id : ids) {
      db_.prepare(
             "UPDATE delayed_events SET status = 'cancelled', finalised_ts = ? WHERE delay_id = ?")
          .bind_all(now, id)
          .exec();
    }
    return ids;
  }

  void insert_openid_token(std::string_view token, std::string_view user_id,
                           int64_t expires_ts) override {
    db_.prepare("INSERT INTO openid_tokens (token, user_id, expires_ts) VALUES (?, ?, ?)")
        .bind_all(token, user_id, expires_ts)
        .exec();
  }

  void put_device_keys(std::string_view user_id, std::string_view device_id,
                       std::string_view keys_json) override {
    db_.prepare(
           "INSERT INTO device_keys (user_id, device_id, keys_json) VALUES (?1, ?2, ?3) "
           "ON CONFLICT (user_id, device_id) DO UPDATE SET keys_json = ?3")
        .bind_all(user_id, device_id, keys_json)
        .exec();
  }

  bool put_one_time_key(std::string_view user_id, std::string_view device_id,
                        std::string_view key_id, std::string_view key_json) override {
    {
      auto st = db_.prepare(
          "SELECT key_json FROM one_time_keys WHERE user_id = ? AND device_id = ? AND key_id = ?");
      st.bind_all(user_id, device_id, key_id);
      if (st.step()) return st.text(0) == key_json;
    }
    auto algorithm = key_id.substr(0, key_id.find(':'));
    db_.prepare(
           "INSERT INTO one_time_keys (user_id, device_id, algorithm, key_id, key_json) "
           "VALUES (?, ?, ?, ?, ?)")
        .bind_all(user_id, device_id, algorithm, key_id, key_json)
        .exec();
    return true;
  }

  void put_fallback_key(std::string_view user_id, std::string_view device_id,
                        std::string_view key_id, std::string_view key_json) override {
    auto algorithm = key_id.substr(0, key_id.find(':'));
    db_.prepare(
           "INSERT INTO fallback_keys (user_id, device_id, algorithm, key_id, key_json, used) "
           "VALUES (?1, ?2, ?3, ?4, ?5, 0) ON CONFLICT (user_id, device_id, algorithm) DO "
           "UPDATE SET key_id = ?4, key_json = ?5, used = 0")
        .bind_all(user_id, device_id, algorithm, key_id, key_json)
        .exec();
  }

  std::optional<OneTimeKey> claim_key(std::string_view user_id, std::string_view device_id,
                                      std::string_view algorithm) override {
    {
      auto st = db_.prepare(
          "SELECT key_id, key_json FROM one_time_keys WHERE user_id = ? AND device_id = ? AND "
          "algorithm = ? ORDER BY key_id LIMIT 1");
      st.bind_all(user_id, device_id, algorithm);
      if (st.step()) {
        OneTimeKey key{st.text(0), st.text(1)};
        db_.prepare("DELETE FROM one_time_keys WHERE user_id = ? AND device_id = ? AND key_id = ?")
            .bind_all(user_id, device_id, key.key_id)
            .exec();
        return key;
      }
    }
    auto st = db_.prepare(
        "SELECT key_id, key_json FROM fallback_keys WHERE user_id = ? AND device_id = ? AND "
        "algorithm = ?");
    st.bind_all(user_id, device_id, algorithm);
    if (!st.step()) return std::nullopt;
    OneTimeKey key{st.text(0), st.text(1)};
    db_.prepare(
           "UPDATE fallback_keys SET used = 1 WHERE user_id = ? AND device_id = ? AND "
           "algorithm = ?")
        .bind_all(user_id, device_id, algorithm)
        .exec();
    return key;
  }

  void put_cross_signing_key(std::string_view user_id, std::string_view key_type,
                             std::string_view key_json) override {
    db_.prepare(
           "INSERT INTO cross_signing_keys (user_id, key_type, key_json) VALUES (?1, ?2, ?3) "
           "ON CONFLICT (user_id, key_type) DO UPDATE SET key_json = ?3")
        .bind_all(user_id, key_type, key_json)
        .exec();
  }

  void put_key_signature(std::string_view signer_user, std::string_view signer_key_id,
                         std::string_view target_user, std::string_view target_id,
                         std::string_view signature) override {
    db_.prepare(
           "INSERT INTO key_signatures (signer_user, signer_key_id, target_user, target_id, "
           "signature) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (target_user, target_id, "
           "signer_user, signer_key_id) DO UPDATE SET signature = ?5")
        .bind_all(signer_user, signer_key_id, target_user, target_id, signature)
        .exec();
  }

  int64_t add_device_list_change(std::string_view user_id) override {
    int64_t pos = next_pos();
    db_.prepare("INSERT INTO device_list_changes (pos, user_id) VALUES (?, ?)")
        .bind_all(pos, user_id)
        .exec();
    return pos;
  }

  int64_t queue_to_device(std::string_view user_id, std::string_view device_id,
                          std::string_view sender, std::string_view type,
                          std::string_view content_json) override {
    int64_t pos = next_pos();
    db_.prepare(
           "INSERT INTO to_device (pos, user_id, device_id, sender, type, content_json) "
           "VALUES (?, ?, ?, ?, ?, ?)")
        .bind_all(pos, user_id, device_id, sender, type, content_json)
        .exec();
    return pos;
  }

  void ack_to_device(std::string_view user_id, std::string_view device_id, int64_t upto) override {
    db_.prepare("DELETE FROM to_device WHERE user_id = ? AND device_id = ? AND pos <= ?")
        .bind_all(user_id, device_id, upto)
        .exec();
  }

  void prune_expired(int64_t before) override {
    db_.prepare("DELETE FROM delayed_events WHERE status != 'scheduled' AND finalised_ts < ?")
        .bind_all(before)
        .exec();
    db_.prepare("DELETE FROM openid_tokens WHERE expires_ts < ?").bind_all(before).exec();
  }

 private:
  std::string membership_of(const std::string& pdu_json) {
    auto st = db_.prepare("SELECT json_extract(?, '$.content.membership')");
    st.bind_all(pdu_json);
    if (st.step()) return st.text(0);
    return "leave";
  }

  // Before the delete: a read that starts from here on may not find the token.
  void tokens_deleting() {
    token_epoch_.fetch_add(1, std::memory_order_acq_rel);
    deleted_tokens_ = true;
  }

  int64_t& pos_;
  std::atomic<uint64_t>& token_epoch_;
  bool deleted_tokens_ = false;
  std::vector<std::function<void()>> after_commit_;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path) : path_(path), writer_db_(path) {
    writer_db_.exec("PRAGMA journal_mode = WAL");
    writer_db_.exec("PRAGMA synchronous = FULL");
    writer_db_.exec("PRAGMA foreign_keys = ON");
    migrate(writer_db_);
    pos_ = max_pos();
    committed_ = pos_;
    // Checkpoints (copying the WAL into the database, with two fsyncs) run on
    // their own connection and thread: inline, every thousandth page stalled
    // every send queued behind that commit for milliseconds.
    checkpoint_db_ = std::make_unique<Connection>(path_);
    checkpoint_db_->exec("PRAGMA synchronous = FULL");
    sqlite3_wal_hook(writer_db_.handle(), &SqliteStore::on_wal_commit, this);
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
    thread_ = std::thread([this] { writer_loop(); });
  }

  ~SqliteStore() override { close(); }

  class Lease final : public ReaderLease {
   public:
    // One read transaction for the whole lease: every query sees the same
    // snapshot, and SQLite takes its WAL read lock (fcntl calls on the -shm
    // file) once per lease instead of once per statement. A deferred BEGIN
    // takes no lock until the first query.
    Lease(SqliteStore& store, std::unique_ptr<Connection> db)
        : store_(store), db_(std::move(db)), reader_(*db_) {
      db_->prepare("BEGIN").exec();
    }
    ~Lease() override {
      try {
        db_->prepare("COMMIT").exec();
      } catch (const std::exception&) {
        // A connection left inside a transaction would pin an old snapshot.
        return;
      }
      store_.give_back(std::move(db_));
    }
    Reader& reader() override { return reader_; }

   private:
    SqliteStore& store_;
    std::unique_ptr<Connection> db_;
    SqliteReader reader_;
  };

  ReadHandle read() override {
    std::unique_ptr<Connection> db;
    {
      std::lock_guard lock(pool_mutex_);
      if (!pool_.empty()) {
        db = std::move(pool_.back());
        pool_.pop_back();
      }
    }
    if (!db) {
      db = std::make_unique<Connection>(path_, /*read_only=*/true);
      db->exec("PRAGMA query_only = ON");
    }
    return ReadHandle(std::make_unique<Lease>(*this, std::move(db)));
  }

  void write(Job job, Done done) override {
    {
      std::lock_guard lock(queue_mutex_);
      if (closing_) {
        done(std::make_exception_ptr(std::runtime_error("store is closed")));
        return;
      }
      queue_.push_back({std::move(job), std::move(done)});
    }
    queue_cv_.notify_one();
  }

  int64_t committed_pos() const override { return committed_.load(std::memory_order_acquire); }
  uint64_t token_epoch() const override { return token_epoch_.load(std::memory_order_acquire); }

  void close() override {
    {
      std::lock_guard lock(queue_mutex_);
      if (closing_) return;
      closing_ = true;
    }
    queue_cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    {
      std::lock_guard lock(checkpoint_mutex_);
      checkpoint_closing_ = true;
    }
    checkpoint_cv_.notify_one();
    if (checkpointer_.joinable()) checkpointer_.join();
    checkpoint_db_.reset();  // the writer's connection, closed last, checkpoints the rest
  }

 private:
  struct Pending {
    Job job;
    Done done;
  };

  // WAL size at which the checkpointer is woken, and at which the writer,
  // should the checkpointer never catch up, checkpoints itself.
  static constexpr int kCheckpointPages = 1000;
  static constexpr int kWriterCheckpointPages = 16000;

  // sqlite3_wal_hook: runs on the writer thread after each commit.
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages) {
    auto& store = *static_cast<SqliteStore*>(self);
    // Count from where the last checkpoint got to: the WAL restarts only when
    // no reader holds an old snapshot, so its size alone would wake the
    // checkpointer after every commit (two fsyncs for a few pages each).
    int done = store.checkpointed_pages_.load(std::memory_order_relaxed);
    if (pages < done) done = 0;  // the WAL restarted
    if (pages - done >= kCheckpointPages) {
      {
        std::lock_guard lock(store.checkpoint_mutex_);
        store.checkpoint_wanted_ = true;
      }
      store.checkpoint_cv_.notify_one();
    }
    // Inline, the WAL is fully copied before the writer's next transaction,
    // which lets that transaction restart it: a bound on its size.
    if (pages >= kWriterCheckpointPages)
      sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }

  void checkpoint_loop() {
    auto log = log::get("store");
    for (;;) {
      {
        std::unique_lock lock(checkpoint_mutex_);
        checkpoint_cv_.wait(lock, [&] { return checkpoint_closing_ || checkpoint_wanted_; });
        if (checkpoint_closing_) return;
        checkpoint_wanted_ = false;
      }
      // PASSIVE: copies what no reader still needs, never blocks the writer.
      int wal_pages = 0, copied = 0;
      int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr,
                                         SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied);
      if (rc == SQLITE_OK) checkpointed_pages_.store(copied, std::memory_order_relaxed);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log->warn("msg=\"checkpoint failed\" error=\"{}\"",
                  sqlite3_errmsg(checkpoint_db_->handle()));
    }
  }

  int64_t max_pos() {
    int64_t best = 0;
    for (const char* sql : {"SELECT COALESCE(MAX(pos), 0) FROM events",
                            "SELECT COALESCE(MAX(pos), 0) FROM account_data",
                            "SELECT COALESCE(MAX(pos), 0) FROM receipts",
                            "SELECT COALESCE(MAX(pos), 0) FROM device_list_changes",
                            "SELECT COALESCE(MAX(pos), 0) FROM to_device"}) {
      auto st = writer_db_.prepare(sql);
      if (st.step()) best = std::max(best, st.integer(0));
    }
    return best;
  }

  void give_back(std::unique_ptr<Connection> db) {
    std::lock_guard lock(pool_mutex_);
    if (pool_.size() < 16) pool_.push_back(std::move(db));
  }

  void writer_loop() {
    auto log = log::get("store");
    for (;;) {
      std::deque<Pending> batch;
      {
        std::unique_lock lock(queue_mutex_);
        queue_cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return;  // closing and drained
        batch.swap(queue_);
      }
      run_batch(batch, *log);
    }
  }

  // One transaction for the whole batch; each job in its own savepoint (the
  // statements are prepared once: parsing them cost more than running them).
  void run_batch(std::deque<Pending>& batch, spdlog::logger& log) {
    SqliteWriter writer(writer_db_, pos_, token_epoch_);
    std::vector<std::exception_ptr> results(batch.size());
    int64_t pos_before = pos_;
    try {
      writer_db_.prepare("BEGIN IMMEDIATE").exec();
      for (size_t i = 0; i < batch.size(); ++i) {
        size_t hooks = writer.after_commit_count();
        writer_db_.prepare("SAVEPOINT job").exec();
        try {
          batch[i].job(writer);
          writer_db_.prepare("RELEASE job").exec();
        } catch (...) {
          results[i] = std::current_exception();
          writer_db_.exec("ROLLBACK TO job");
          writer_db_.exec("RELEASE job");
          writer.discard_after_commit(hooks);
        }
      }
      writer_db_.prepare("COMMIT").exec();
    } catch (const std::exception& e) {
      // The transaction itself failed (disk full, I/O error): nothing of the
      // batch is durable, and every job is told so.
      log.error("msg=\"commit failed\" error=\"{}\"", e.what());
      try {
        writer_db_.exec("ROLLBACK");
      } catch (...) {
      }
      pos_ = pos_before;
      auto failure = std::current_exception();
      for (auto& p : batch)
        p.done(failure);
      return;
    }
    committed_.store(pos_, std::memory_order_release);
    // After the commit, before anyone hears of it: tokens looked up while the
    // deletion was in flight stop being trusted (see Store::token_epoch).
    if (writer.deleted_tokens()) token_epoch_.fetch_add(1, std::memory_order_acq_rel);
    // Answer the writers first: their replies must not queue behind the
    // wake-ups of every long-poll the hooks notify.
    auto hooks = writer.take_after_commit();
    for (size_t i = 0; i < batch.size(); ++i)
      batch[i].done(results[i]);
    for (auto& fn : hooks)
      fn();
  }

  std::string path_;
  Connection writer_db_;
  int64_t pos_ = 0;  // writer thread only
  std::atomic<int64_t> committed_{0};
  std::atomic<uint64_t> token_epoch_{0};

  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Connection>> pool_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  bool closing_ = false;
  std::thread thread_;

  std::unique_ptr<Connection> checkpoint_db_;  // checkpointer thread only
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;
  std::atomic<int> checkpointed_pages_{0};  // WAL frames copied by the last checkpoint
  bool checkpoint_closing_ = false;
  std::thread checkpointer_;
};

}  // namespace
}  // namespace sqlite

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  // Memory statistics take a global mutex on every allocation; we never read them.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  return std::make_unique<sqlite::SqliteStore>(path);
}

}  // namespace atrium::store
