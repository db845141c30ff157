#include "store/migrate.h"

#include <sqlite3.h>

#include <map>
#include <stdexcept>

#include "store/postgres/pg_connection.h"

namespace triaged::engine {

namespace {

int64_t countRows(sqlite3* db, const std::string& table) {
  sqlite3_stmt* st = nullptr;
  std::string sql = "SELECT count(*) FROM " + table;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error(table + ": " + sqlite3_errmsg(db));
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return n;
}

int64_t countRows(pg::Connection& c, const std::string& table) {
  return c.exec("SELECT count(*) FROM " + table).i64(0, 0);
}

int64_t sqliteScalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) return 0;
  int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return v;
}

// Copies one table, in COPY batches of `batch` rows. The columns are SQLite's, by name; each
// value goes as the PostgreSQL column's type wants it (bytea for blobs).
void copyTable(sqlite3* db, pg::Connection& to, const std::string& table) {
  std::map<std::string, std::string> pg_types;
  auto cols = to.exec(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema ="
      " current_schema() AND table_name = $1",
      {table});
  for (int k = 0; k < cols.rows(); ++k) pg_types[cols.str(k, 0)] = cols.str(k, 1);
  sqlite3_stmt* st = nullptr;
  std::string sql = "SELECT * FROM " + table;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error(table + ": " + sqlite3_errmsg(db));
  int n = sqlite3_column_count(st);
  std::string columns;
  std::vector<bool> bytea(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    std::string name = sqlite3_column_name(st, k);
    auto it = pg_types.find(name);
    if (it == pg_types.end()) {
      sqlite3_finalize(st);
      throw std::runtime_error(table + "." + name + ": no such column in postgresql");
    }
    bytea[static_cast<size_t>(k)] = it->second == "bytea";
    columns += (k ? ", " : "") + name;
  }
  std::string copy = "COPY " + table + "(" + columns + ") FROM STDIN";
  pg::CopyRows rows;
  auto flush = [&] {
    if (!rows.empty()) to.copyIn(copy, rows.data());
    rows.clear();
  };
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    for (int k = 0; k < n; ++k) {
      switch (sqlite3_column_type(st, k)) {
        case SQLITE_INTEGER:
          rows.i(sqlite3_column_int64(st, k));
          break;
        case SQLITE_FLOAT:
          rows.d(sqlite3_column_double(st, k));
          break;
        case SQLITE_NULL:
          rows.null();
          break;
        default: {
          const auto* p = static_cast<const char*>(sqlite3_column_blob(st, k));
          std::string_view v(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(st, k)));
          if (bytea[static_cast<size_t>(k)])
            rows.bytea(v);
          else
            rows.text(v);
        }
      }
    }
    rows.end();
    if (rows.rows() >= 50000) flush();
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) throw std::runtime_error(table + ": " + sqlite3_errmsg(db));
  flush();
}

}  // namespace

std::vector<MigratedTable> migrateToPostgres(SqliteStore& from, PostgresStore& to) {
  sqlite3* db = from.handle();
  pg::Connection& c = to.connection();
  std::vector<MigratedTable> out;
  // One snapshot of the source (a daemon may still be writing it), one transaction on the
  // target: it holds the whole state or nothing.
  if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK)
    throw std::runtime_error(from.path() + ": " + sqlite3_errmsg(db));
  try {
    c.exec("BEGIN");
    for (const auto& t : PostgresStore::tables()) {
      if (t == "meta") continue;
      if (int64_t n = countRows(c, t))
        throw std::runtime_error("postgresql " + c.where() + " already holds state (" + t +
                                 " has " + std::to_string(n) +
                                 " rows); migrate into an empty database");
    }
    c.exec("DELETE FROM meta");
    for (const auto& t : PostgresStore::tables()) {
      copyTable(db, c, t);
      MigratedTable m{t, countRows(db, t), countRows(c, t)};
      out.push_back(m);
      if (m.source != m.target)
        throw std::runtime_error(t + ": " + std::to_string(m.source) + " rows in " + from.path() +
                                 " but " + std::to_string(m.target) + " in postgresql");
    }
    // Ids of appended rows continue after the highest ever used (the outbox's make the
    // Idempotency-Key: SQLite remembers its highest even when the table is empty).
    int64_t outbox =
        std::max(sqliteScalar(db, "SELECT max(id) FROM outbox"),
                 sqliteScalar(db, "SELECT seq FROM sqlite_sequence WHERE name='outbox'"));
    auto setval = [&](const char* seq, int64_t v) {
      if (v > 0) c.exec(std::string("SELECT setval('") + seq + "', " + std::to_string(v) + ")");
    };
    setval("outbox_ids", outbox);
    setval("sla_transition_ids", sqliteScalar(db, "SELECT max(id) FROM sla_transitions"));
    setval("capacity_sample_ids", sqliteScalar(db, "SELECT max(id) FROM capacity_samples"));
    c.exec("COMMIT");
  } catch (...) {
    c.rollback();
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return out;
}

}  // namespace triaged::engine
