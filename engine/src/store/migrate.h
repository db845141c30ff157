// `triaged migrate`: a whole state from the sqlite backend into an empty postgresql database,
// table by table, in one transaction, verified by counting each table's rows on both sides.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace triaged::engine {

struct MigratedTable {
  std::string table;
  int64_t source = 0, target = 0;
};

// Both stores are open (so both are at the current schema version). Throws naming the table
// and the reason; the target is left as it was.
std::vector<MigratedTable> migrateToPostgres(SqliteStore& from, PostgresStore& to);

}  // namespace triaged::engine
