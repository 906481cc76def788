#pragma once
#include "store/sqlite/db.hpp"

namespace atrium::store::sqlite {

// Applies every numbered migration newer than the database's user_version,
// each in its own transaction. Throws if the database is newer than us.
void migrate(Connection& db);

}  // namespace atrium::store::sqlite
