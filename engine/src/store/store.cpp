#include "store/store.h"

#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "triaged/config/config.h"

namespace triaged::engine {

int latestSchemaVersion() { return SqliteStore::latestSchemaVersion(); }

std::unique_ptr<Store> openStore(const config::StateConfig& state) {
  if (state.backend == "postgresql") return std::make_unique<PostgresStore>(state.postgresql);
  return std::make_unique<SqliteStore>(
      state.directory, SqliteStore::Options{state.cache_bytes, state.mmap_bytes, {}});
}

}  // namespace triaged::engine
