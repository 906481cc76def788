#pragma once
// SQLite implementation of the relations / notifications / pushers storage
// (store/push_store.hpp), mixed into SqliteReader and SqliteWriter.
#include "store/push_store.hpp"
#include "store/sqlite/db.hpp"

namespace atrium::store::sqlite {

class SqlitePushReader : public virtual PushReader {
 public:
  explicit SqlitePushReader(Connection& db) : push_db_(db) {}

  std::vector<Relation> relations(const RelationQuery& query) override;
  std::vector<Relation> bundle_relations(std::string_view parent_id) override;
  bool has_annotation(std::string_view parent_id, std::string_view sender,
                      std::string_view event_type, std::string_view key) override;
  NotificationCounts notification_counts(std::string_view user_id, std::string_view room_id,
                                         int64_t after, int64_t upto) override;
  bool notifications_dropped(std::string_view room_id, int64_t after, int64_t upto) override;
  std::vector<Notification> notifications(std::string_view user_id, int64_t before, int limit,
                                          bool only_highlight) override;
  std::vector<Notification> notifications_after(std::string_view user_id, int64_t after,
                                                int limit) override;
  std::vector<Pusher> pushers_of_user(std::string_view user_id) override;
  std::optional<Pusher> pusher(std::string_view user_id, std::string_view app_id,
                               std::string_view pushkey) override;
  std::vector<Pusher> all_pushers() override;

 private:
  Connection& push_db_;
};

class SqlitePushWriter : public virtual PushWriter {
 public:
  explicit SqlitePushWriter(Connection& db) : push_db_(db) {}

  void insert_relation(const Relation& relation) override;
  void delete_relation(std::string_view event_id) override;
  void insert_notifications(const std::vector<Notification>& rows) override;
  void delete_notifications_at(int64_t pos) override;
  void upsert_pusher(const Pusher& pusher) override;
  void delete_pusher(std::string_view user_id, std::string_view app_id,
                     std::string_view pushkey) override;
  void delete_pushers_of_others(std::string_view app_id, std::string_view pushkey,
                                std::string_view keep_user) override;
  void set_pusher_last_pos(std::string_view user_id, std::string_view app_id,
                           std::string_view pushkey, int64_t pos) override;

 private:
  Connection& push_db_;
};

}  // namespace atrium::store::sqlite
