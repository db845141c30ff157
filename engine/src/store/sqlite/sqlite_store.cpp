#include "store/sqlite/sqlite_store.h"

#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "common/log.h"
#include "store/sqlite/wal_write_buffer.h"

namespace triaged::engine {
namespace {

// Each entry moves the schema from version i to i+1. Never edit a released entry: add one.
const char* const kMigrations[] = {
    // 1: bookkeeping of the daemon itself.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta(key, value) VALUES ('created_by', 'triaged');",
    // 2: the daemon's state. Alerts are keyed by a row id the store writer hands out in
    // arrival order (new alerts append; random fingerprints as keys would touch a random page
    // per row); fingerprints are stored as signed 64-bit integers (the same bits).
    "CREATE TABLE alerts (id INTEGER PRIMARY KEY, fingerprint INTEGER NOT NULL, strings BLOB,"
    " first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, time_ms INTEGER NOT NULL,"
    " changed_ms INTEGER NOT NULL, count INTEGER NOT NULL, content_hash INTEGER NOT NULL,"
    " flap_history INTEGER NOT NULL, severity INTEGER NOT NULL, previous_severity INTEGER NOT NULL,"
    " status INTEGER NOT NULL, flapping INTEGER NOT NULL);"
    "CREATE TABLE incidents (id INTEGER PRIMARY KEY, status INTEGER NOT NULL, updated_ms INTEGER "
    "NOT NULL,"
    " record TEXT NOT NULL);"
    // An incident's alerts and timeline only grow: rows are appended as they do, so a change
    // to a large incident writes what changed, not the whole incident.
    "CREATE TABLE incident_alerts (incident INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " fingerprint INTEGER NOT NULL, role INTEGER NOT NULL, PRIMARY KEY (incident, seq)) WITHOUT "
    "ROWID;"
    "CREATE TABLE incident_timeline (incident INTEGER NOT NULL, seq INTEGER NOT NULL, at_ms "
    "INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, alert INTEGER NOT NULL,"
    " PRIMARY KEY (incident, seq)) WITHOUT ROWID;"
    "CREATE TABLE problems (id INTEGER PRIMARY KEY, status INTEGER NOT NULL, updated_ms INTEGER "
    "NOT NULL,"
    " record TEXT NOT NULL);"
    "CREATE TABLE silences (id TEXT PRIMARY KEY, ends_ms INTEGER NOT NULL, record TEXT NOT NULL);",
    // 3: the outbox: notifications written with the change that caused them, deleted once
    // delivered; dead ones (too old) stay, listed and redeliverable, until retention.
    "CREATE TABLE outbox (id INTEGER PRIMARY KEY, target TEXT NOT NULL, created_ms INTEGER NOT "
    "NULL,"
    " subject TEXT NOT NULL, event TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL "
    "DEFAULT 0,"
    " dead INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');",
    // 4: service level ledgers. Service state transitions only append (by service name, so a
    // reload that reorders services cannot misattribute them); clocks, incident summaries and
    // heartbeats are upserted; engine gaps are the intervals when no triaged was running.
    "CREATE TABLE sla_transitions (id INTEGER PRIMARY KEY, service TEXT NOT NULL, at_ms INTEGER "
    "NOT NULL,"
    " status INTEGER NOT NULL, incidents TEXT NOT NULL);"
    "CREATE INDEX sla_transitions_at ON sla_transitions(at_ms);"
    "CREATE TABLE sla_clocks (incident INTEGER NOT NULL, agreement TEXT NOT NULL, target INTEGER "
    "NOT NULL,"
    " record TEXT NOT NULL, PRIMARY KEY (incident, agreement, target)) WITHOUT ROWID;"
    "CREATE TABLE sla_incidents (id INTEGER PRIMARY KEY, opened_ms INTEGER NOT NULL, resolved_ms "
    "INTEGER NOT NULL,"
    " record TEXT NOT NULL);"
    "CREATE TABLE heartbeats (name TEXT PRIMARY KEY, record TEXT NOT NULL);"
    "CREATE TABLE engine_gaps (start_ms INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL);",
    // 5: what SLOs and capacity rules have seen: good/valid counts per minute (upserted as
    // samples arrive), forecast samples and hysteresis states; pruned to each rule's window.
    "CREATE TABLE slo_minutes (slo TEXT NOT NULL, minute INTEGER NOT NULL, good INTEGER NOT NULL,"
    " valid INTEGER NOT NULL, PRIMARY KEY (slo, minute)) WITHOUT ROWID;"
    "CREATE TABLE capacity_samples (id INTEGER PRIMARY KEY, rule TEXT NOT NULL, at_ms INTEGER NOT "
    "NULL,"
    " value REAL NOT NULL);"
    "CREATE INDEX capacity_samples_rule ON capacity_samples(rule, at_ms);"
    "CREATE TABLE capacity_state (rule TEXT PRIMARY KEY, record TEXT NOT NULL);",
    // 6: outbox ids never come back. They make the Idempotency-Key, and a plain rowid table
    // hands out the ids of deleted (delivered) rows again once the table is empty: a receiver
    // deduplicating on the key would drop a new event. AUTOINCREMENT continues from the
    // highest id ever used (seeded with the highest one present).
    "CREATE TABLE outbox_v6 (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, subject TEXT NOT NULL, event TEXT NOT NULL, body TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, dead INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT "
    "NULL DEFAULT '');"
    "INSERT INTO outbox_v6 SELECT id, target, created_ms, subject, event, body, attempts, dead, "
    "last_error FROM outbox;"
    "DROP TABLE outbox;"
    "ALTER TABLE outbox_v6 RENAME TO outbox;",
    // 7: what threshold and sequence rules have seen, which the firing alerts alone cannot
    // rebuild (alerts that fired and resolved before a restart). Threshold windows: per group
    // (its hash), the rule and the firings counted so far ("time,fingerprint,..."), deleted when
    // emptied. Sequences: per group, the first alert, when it fired, whether the rule still
    // waits, and the first alert's strings while it does (they name an absence incident).
    "CREATE TABLE threshold_windows (hash INTEGER PRIMARY KEY, rule TEXT NOT NULL, seen TEXT NOT "
    "NULL);"
    "CREATE TABLE sequence_states (hash INTEGER PRIMARY KEY, rule TEXT NOT NULL, key TEXT NOT NULL,"
    " first INTEGER NOT NULL, at_ms INTEGER NOT NULL, active INTEGER NOT NULL, strings BLOB);",
    // 8: records the API makes, by kind: maintenance windows (kind "maintenance") and changes
    // ("change"); ends_ms is when the record stops mattering (0: not yet), for retention.
    "CREATE TABLE records (kind TEXT NOT NULL, id TEXT NOT NULL, ends_ms INTEGER NOT NULL,"
    " record TEXT NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;",
    // 9: incident records are sparse (fields at their default left out, state_codec.cpp); no
    // table changes, but a triaged before it cannot read them and must refuse the database.
    "SELECT 1;",
    // 10: the PostgreSQL backend stores an incident's new members of one commit as one row
    // (pg_member_blocks.h); SQLite's tables do not change (one version for both backends).
    "SELECT 1;",
    // 11: changes to stored alerts (and their counters) are appended to a journal instead of
    // updating their rows in place, where each wrote a random page of the alerts table to the
    // log; the writer folds the journal into the table, in row order, once it holds as many
    // entries as there are alert rows (sqlite_writer.cpp), before retention, at stop and at
    // open. New alerts still append to the alerts table. `counter`: 1 for a counter's entry
    // (count, last_seen_ms, time_ms only).
    "CREATE TABLE alert_journal (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL, counter INTEGER"
    " NOT NULL, strings BLOB, first_seen_ms INTEGER, last_seen_ms INTEGER, time_ms INTEGER,"
    " changed_ms INTEGER, count INTEGER, content_hash INTEGER, flap_history INTEGER,"
    " severity INTEGER, previous_severity INTEGER, status INTEGER, flapping INTEGER);",
};

// Before SQLite's first use in the process: no memory statistics. With them on (Debian's
// default) every allocation SQLite makes takes a process-wide mutex to count it; nothing here
// reads the counts (sqlite3_memory_used, sqlite3_status). Too late (SQLite already in use by
// something else in the process) is harmless: the call is refused and the counts stay on.
void configureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

int SqliteStore::latestSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

SqliteStore::SqliteStore(const std::string& directory) : SqliteStore(directory, Options{}) {}

SqliteStore::SqliteStore(const std::string& directory, Options options) : options_(options) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec)
    throw std::runtime_error("cannot create state directory " + directory + ": " + ec.message());
  path_ = (std::filesystem::path(directory) / "triaged.db").string();
  configureSqliteOnce();
  if (sqlite3_open_v2(path_.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      walWriteBufferVfs()) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open " + path_ + ": " + why);
  }
  try {
    migrate();
    foldJournal("at open");  // what a daemon that stopped without folding left
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

uint64_t SqliteStore::number(const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  uint64_t v = 0;
  sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
  if (sqlite3_step(st) == SQLITE_ROW) v = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  return v;
}

uint64_t SqliteStore::pragmaValue(const char* name) {
  return number("PRAGMA " + std::string(name) + ";");
}

void SqliteStore::migrate() {
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL;");
  exec("PRAGMA synchronous=FULL;");  // a commit survives power loss, not only a crash
  // The writer's working set (random fingerprints touch pages all over the alerts table):
  // state.cache_bytes of page cache. The database is not mapped unless state.mmap_bytes says
  // so: every mapped page read counts in the process's RSS (the whole alerts table, ~1 KB per
  // alert), for no gain in speed beyond the benchmarks' spread (bench/RESULTS.md, twelfth stop).
  exec(("PRAGMA cache_size=-" +
        std::to_string(std::max<uint64_t>(1024, options_.cache_bytes >> 10)) + ";")
           .c_str());
  exec(("PRAGMA mmap_size=" + std::to_string(options_.mmap_bytes) + ";").c_str());
  if (uint64_t got = pragmaValue("mmap_size"); got != options_.mmap_bytes)
    throw std::runtime_error("state.mmap_bytes: this SQLite maps at most " + std::to_string(got) +
                             " bytes of a database, not " + std::to_string(options_.mmap_bytes));
  // Checkpoint the WAL into the database every 16 MiB rather than every 4 MiB (until the first
  // commit hands checkpoints to a thread of their own: wal_checkpointer.h).
  exec("PRAGMA wal_autocheckpoint=4096;");
  exec("PRAGMA foreign_keys=ON;");
  version_ = static_cast<int>(pragmaValue("user_version"));
  if (version_ > latestSchemaVersion()) {
    throw std::runtime_error(path_ + " has schema version " + std::to_string(version_) +
                             ", newer than this triaged (" + std::to_string(latestSchemaVersion()) +
                             "); refusing to downgrade");
  }
  while (version_ < latestSchemaVersion()) {
    exec("BEGIN IMMEDIATE;");
    try {
      exec(kMigrations[version_]);
      exec(("PRAGMA user_version=" + std::to_string(version_ + 1) + ";").c_str());
      exec("COMMIT;");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
      throw;
    }
    ++version_;
  }
}

SqliteStore::~SqliteStore() {
  checkpointer_.reset();  // its thread and its hook on the connection first
  writer_.reset();        // statements before the connection
  if (db_) sqlite3_close_v2(db_);
}

void SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(path_ + ": " + why);
  }
}

int SqliteStore::backup(const std::string& directory, const std::string& dest) {
  std::string src_path = (std::filesystem::path(directory) / "triaged.db").string();
  if (!std::filesystem::exists(src_path))
    throw std::runtime_error(src_path + ": no database there");
  if (std::filesystem::exists(dest))
    throw std::runtime_error(dest + ": already exists; not overwriting it");
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  std::string tmp = dest + ".partial";
  auto fail = [&](const std::string& why) {
    if (dst) sqlite3_close_v2(dst);
    if (src) sqlite3_close_v2(src);
    std::filesystem::remove(tmp);
    throw std::runtime_error(why);
  };
  if (sqlite3_open_v2(src_path.c_str(), &src, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
    fail(src_path + ": " + (src ? sqlite3_errmsg(src) : "cannot open"));
  sqlite3_busy_timeout(src, 5000);
  std::filesystem::remove(tmp);
  if (sqlite3_open_v2(tmp.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK)
    fail(dest + ": " + (dst ? sqlite3_errmsg(dst) : "cannot create"));
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b) fail(dest + ": " + sqlite3_errmsg(dst));
  int rc = sqlite3_backup_step(b, -1);  // one step: a consistent snapshot (WAL lets writers go on)
  int pages = sqlite3_backup_pagecount(b);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) fail(dest + ": backup failed: " + sqlite3_errstr(rc));
  // The copy is a self-contained file: no WAL beside it.
  sqlite3_exec(dst, "PRAGMA journal_mode=DELETE;", nullptr, nullptr, nullptr);
  sqlite3_close_v2(dst);
  dst = nullptr;
  sqlite3_close_v2(src);
  src = nullptr;
  std::filesystem::rename(tmp, dest);
  return pages;
}

void SqliteStore::flush() {
  try {
    foldJournal("at stop");  // the database left behind is whole without it
  } catch (const std::exception& e) {
    log::get("store")->warn("{}; the next start folds it", e.what());
  }
  checkpointer_.reset();  // nothing else checkpoints while this one empties the log
  sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
}

Store::Checkpoints SqliteStore::checkpoints() const {
  Checkpoints c = checkpointer_ ? checkpointer_->counts() : Checkpoints{};
  c.journal_entries = journalEntries();
  return c;
}

uint64_t SqliteStore::cacheBytes() {
  int used = 0, highwater = 0;
  sqlite3_db_status(db_, SQLITE_DBSTATUS_CACHE_USED, &used, &highwater, 0);
  return static_cast<uint64_t>(used);
}

// Every page no statement holds leaves the cache (all of them between transactions).
void SqliteStore::releaseCache() { sqlite3_db_release_memory(db_); }

void SqliteStore::drainCheckpoints() {
  if (checkpointer_) checkpointer_->drain();
}

}  // namespace triaged::engine
