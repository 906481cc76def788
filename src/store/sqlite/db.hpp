#pragma once
// A thin RAII layer over the SQLite C API: a connection with a cache of
// prepared statements, and a statement with typed bind/column helpers.
// Errors become std::runtime_error naming the SQL that failed.
#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace atrium::store::sqlite {

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<std::string>& value) {
    return value ? bind(index, std::string_view(*value)) : bind_null(index);
  }
  // Binds every argument in order, starting at 1.
  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    int i = 1;
    (bind_one(i++, args), ...);
    return *this;
  }

  // Advances; true while a row is available.
  bool step();
  // Runs a statement that returns no rows.
  void exec();

  std::string text(int col) const;
  std::optional<std::string> opt_text(int col) const;
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  template <typename T>
  void bind_one(int i, const T& v) {
    if constexpr (std::is_convertible_v<const T&, std::string_view>)
      bind(i, std::string_view(v));
    else
      bind(i, v);
  }
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  explicit Connection(const std::string& path, bool read_only = false);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results (schema, pragmas, BEGIN).
  void exec(const std::string& sql);
  // A cached prepared statement, reset when the returned object dies.
  Statement prepare(const char* sql);
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::map<const char*, sqlite3_stmt*> cache_;  // keyed by the literal's address
};

}  // namespace atrium::store::sqlite
