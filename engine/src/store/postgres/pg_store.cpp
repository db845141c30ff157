#include "store/postgres/pg_store.h"

#include <stdexcept>

#include "common/log.h"
#include "store/postgres/pg_member_blocks.h"
#include "store/retention.h"
#include "store/sqlite/sqlite_store.h"
#include "triaged/config/config.h"

namespace triaged::engine {

namespace {

// The schema PostgreSQL starts at: the SQLite backend's version 8, whole (the postgresql backend
// arrived then). Unsigned 64-bit values (fingerprints, counts, hashes) are stored as the same
// bits in BIGINT, as SQLite stores them. Appended tables take ids from sequences the writer
// reserves before it writes, so a retried commit inserts the same ids (and cannot add a row
// twice).
constexpr int kBaseVersion = 8;
const char* const kBaseSchema =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta(key, value) VALUES ('created_by', 'triaged');"
    "CREATE TABLE alerts (id BIGINT PRIMARY KEY, fingerprint BIGINT NOT NULL, strings BYTEA,"
    " first_seen_ms BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL, time_ms BIGINT NOT NULL,"
    " changed_ms BIGINT NOT NULL, count BIGINT NOT NULL, content_hash BIGINT NOT NULL,"
    " flap_history BIGINT NOT NULL, severity INTEGER NOT NULL, previous_severity INTEGER NOT NULL,"
    " status INTEGER NOT NULL, flapping INTEGER NOT NULL);"
    "CREATE TABLE incidents (id BIGINT PRIMARY KEY, status INTEGER NOT NULL,"
    " updated_ms BIGINT NOT NULL, record TEXT NOT NULL);"
    "CREATE TABLE incident_alerts (incident BIGINT NOT NULL, seq BIGINT NOT NULL,"
    " fingerprint BIGINT NOT NULL, role INTEGER NOT NULL, PRIMARY KEY (incident, seq));"
    "CREATE TABLE incident_timeline (incident BIGINT NOT NULL, seq BIGINT NOT NULL,"
    " at_ms BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL,"
    " alert BIGINT NOT NULL, PRIMARY KEY (incident, seq));"
    "CREATE TABLE problems (id BIGINT PRIMARY KEY, status INTEGER NOT NULL,"
    " updated_ms BIGINT NOT NULL, record TEXT NOT NULL);"
    "CREATE TABLE silences (id TEXT PRIMARY KEY, ends_ms BIGINT NOT NULL, record TEXT NOT NULL);"
    "CREATE SEQUENCE outbox_ids;"
    "CREATE TABLE outbox (id BIGINT PRIMARY KEY DEFAULT nextval('outbox_ids'),"
    " target TEXT NOT NULL, created_ms BIGINT NOT NULL, subject TEXT NOT NULL,"
    " event TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " dead INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');"
    "CREATE SEQUENCE sla_transition_ids;"
    "CREATE TABLE sla_transitions (id BIGINT PRIMARY KEY DEFAULT nextval('sla_transition_ids'),"
    " service TEXT NOT NULL, at_ms BIGINT NOT NULL, status INTEGER NOT NULL,"
    " incidents TEXT NOT NULL);"
    "CREATE INDEX sla_transitions_at ON sla_transitions(at_ms);"
    "CREATE TABLE sla_clocks (incident BIGINT NOT NULL, agreement TEXT NOT NULL,"
    " target INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (incident, agreement, target));"
    "CREATE TABLE sla_incidents (id BIGINT PRIMARY KEY, opened_ms BIGINT NOT NULL,"
    " resolved_ms BIGINT NOT NULL, record TEXT NOT NULL);"
    "CREATE TABLE heartbeats (name TEXT PRIMARY KEY, record TEXT NOT NULL);"
    "CREATE TABLE engine_gaps (start_ms BIGINT PRIMARY KEY, end_ms BIGINT NOT NULL);"
    "CREATE TABLE slo_minutes (slo TEXT NOT NULL, minute BIGINT NOT NULL, good BIGINT NOT NULL,"
    " valid BIGINT NOT NULL, PRIMARY KEY (slo, minute));"
    "CREATE SEQUENCE capacity_sample_ids;"
    "CREATE TABLE capacity_samples (id BIGINT PRIMARY KEY DEFAULT nextval('capacity_sample_ids'),"
    " rule TEXT NOT NULL, at_ms BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL);"
    "CREATE INDEX capacity_samples_rule ON capacity_samples(rule, at_ms);"
    "CREATE TABLE capacity_state (rule TEXT PRIMARY KEY, record TEXT NOT NULL);"
    "CREATE TABLE threshold_windows (hash BIGINT PRIMARY KEY, rule TEXT NOT NULL,"
    " seen TEXT NOT NULL);"
    "CREATE TABLE sequence_states (hash BIGINT PRIMARY KEY, rule TEXT NOT NULL, key TEXT NOT NULL,"
    " first BIGINT NOT NULL, at_ms BIGINT NOT NULL, active INTEGER NOT NULL, strings BYTEA);"
    "CREATE TABLE records (kind TEXT NOT NULL, id TEXT NOT NULL, ends_ms BIGINT NOT NULL,"
    " record TEXT NOT NULL, PRIMARY KEY (kind, id));";

// Versions after the base, as the SQLite backend's kMigrations: entry i moves the schema from
// kBaseVersion + i to kBaseVersion + i + 1. Never edit a released entry: add one.
const char* const kMigrations[] = {
    // 9: incident records are sparse (as the SQLite backend's 9): no table changes.
    "SELECT 1",
    // 10: an incident's new members of one commit as one row (pg_member_blocks.h); stored as
    // they are (random fingerprints do not compress: no attempt).
    "CREATE TABLE incident_alert_blocks (incident BIGINT NOT NULL, seq BIGINT NOT NULL,"
    " next_seq BIGINT NOT NULL, members BYTEA NOT NULL, PRIMARY KEY (incident, seq));"
    "ALTER TABLE incident_alert_blocks ALTER COLUMN members SET STORAGE EXTERNAL",
    // 11: the SQLite backend's alert journal; this backend stages a group's alert rows and
    // writes them in one statement (pg_stages.h): no table changes.
    "SELECT 1",
};
constexpr int kMigrationCount = 3;

// Serialises schema changes of nodes starting at once ("triaged" in ASCII).
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(8391086961657079140)";

std::string dollarParams(const char* sql) {
  std::string s(sql);
  for (size_t at = 0; (at = s.find("?1", at)) != std::string::npos;) s.replace(at, 2, "$1");
  return s;
}

}  // namespace

const std::vector<std::string>& PostgresStore::tables() {
  static const std::vector<std::string> t{"meta",
                                          "alerts",
                                          "incidents",
                                          "incident_alerts",
                                          "incident_timeline",
                                          "problems",
                                          "silences",
                                          "outbox",
                                          "sla_transitions",
                                          "sla_clocks",
                                          "sla_incidents",
                                          "heartbeats",
                                          "engine_gaps",
                                          "slo_minutes",
                                          "capacity_samples",
                                          "capacity_state",
                                          "threshold_windows",
                                          "sequence_states",
                                          "records"};
  return t;
}

PostgresStore::PostgresStore(const config::PostgresConfig& cfg)
    : url_(cfg.url),
      password_(cfg.password),
      connect_timeout_(std::chrono::duration_cast<std::chrono::milliseconds>(cfg.connect_timeout)),
      conn_(std::make_unique<pg::Connection>(url_, password_, connect_timeout_)) {
  static_assert(kBaseVersion + kMigrationCount >= 1);
  if (kBaseVersion + kMigrationCount != SqliteStore::latestSchemaVersion())
    throw std::logic_error("the postgresql schema lags the sqlite schema");
  migrate();
  auto r = conn_->exec("SELECT value FROM meta WHERE key = 'commit_seq'");
  commit_seq_ = r.rows() ? std::strtoll(r.str(0, 0).c_str(), nullptr, 10) : 0;
}

PostgresStore::~PostgresStore() = default;

std::unique_ptr<pg::Connection> PostgresStore::connectAgain() const {
  return std::make_unique<pg::Connection>(url_, password_, connect_timeout_);
}

void PostgresStore::migrate() {
  conn_->exec("BEGIN");
  try {
    conn_->exec(kMigrationLock);
    conn_->exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    auto r = conn_->exec("SELECT version FROM schema_version");
    version_ = r.rows() ? static_cast<int>(r.i64(0, 0)) : 0;
    int latest = kBaseVersion + kMigrationCount;
    if (version_ > latest)
      throw std::runtime_error("postgresql " + conn_->where() + " has schema version " +
                               std::to_string(version_) + ", newer than this triaged (" +
                               std::to_string(latest) + "); refusing to downgrade");
    if (version_ != 0 && version_ < kBaseVersion)
      throw std::runtime_error("postgresql " + conn_->where() + " has schema version " +
                               std::to_string(version_) + ", which no triaged wrote");
    if (version_ == 0) {
      conn_->exec(kBaseSchema);
      conn_->exec("INSERT INTO schema_version(version) VALUES (" + std::to_string(kBaseVersion) +
                  ")");
      version_ = kBaseVersion;
    }
    while (version_ < latest) {
      conn_->exec(kMigrations[version_ - kBaseVersion]);
      ++version_;
      conn_->exec("UPDATE schema_version SET version = " + std::to_string(version_));
    }
    conn_->exec("COMMIT");
  } catch (...) {
    conn_->rollback();
    throw;
  }
}

void PostgresStore::loadAlertRows(AlertRowIds& rows) {
  conn_->exec("BEGIN READ ONLY");
  conn_->eachSlice("SELECT id, fingerprint FROM alerts", 100000, [&](const pg::Result& r) {
    for (int k = 0; k < r.rows(); ++k) rows.loaded(r.u64(k, 1), r.i64(k, 0));
  });
  conn_->exec("COMMIT");
}

void PostgresStore::commit(std::vector<StoreUnit*>& units, AlertRowIds& rows) {
  if (!conn_->ok()) {
    session_ready_ = false;
    conn_->reset();  // throws while the server is away: the writer retries
  }
  if (uncertain_seq_) {
    // Did the attempt whose COMMIT went unanswered commit?
    auto r = conn_->exec("SELECT value FROM meta WHERE key = 'commit_seq'");
    int64_t stored = r.rows() ? std::strtoll(r.str(0, 0).c_str(), nullptr, 10) : 0;
    int64_t seq = uncertain_seq_;
    uncertain_seq_ = 0;
    committed(false);  // what is stored of incidents: read again either way
    if (stored == seq) {
      for (auto [fp, row] : uncertain_rows_) rows.loaded(fp, row);
      uncertain_rows_.clear();
      log::get("store")->warn(
          "postgresql {}: the commit that went unanswered had committed; not writing it again",
          conn_->where());
      return;
    }
    uncertain_rows_.clear();
  }
  if (!session_ready_) prepareSession();
  int64_t seq = commit_seq_ + 1;
  std::string lead = fence_epoch_ ? "" : "BEGIN;", tail;
  try {
    if (fence_epoch_) {
      // One round trip: a simple query's statements run in order, its result is the last's.
      auto f = conn_->exec("BEGIN; SELECT epoch FROM ha_lease WHERE id = 1 FOR SHARE");
      int64_t now = f.rows() ? f.i64(0, 0) : 0;
      if (now != fence_epoch_) {
        if (on_fenced_) on_fenced_();
        throw std::runtime_error("fenced: the lease's epoch is " + std::to_string(now) +
                                 ", not this leader's " + std::to_string(fence_epoch_) +
                                 " (another node took over); nothing written");
      }
    }
    tail = write(units, rows, lead,
                 "INSERT INTO meta(key, value) VALUES ('commit_seq', '" + std::to_string(seq) +
                     "') ON CONFLICT (key) DO UPDATE SET value = excluded.value;");
  } catch (...) {
    conn_->rollback();
    committed(false);
    throw;
  }
  // The group's last statements and COMMIT in one round trip: statements after a failing one
  // are not run, so an error here means nothing committed unless the connection broke.
  pg::Result r(PQexec(conn_->raw(), (lead + tail + "COMMIT").c_str()));
  if (PQresultStatus(r.r) == PGRES_COMMAND_OK) {
    commit_seq_ = seq;
    committed(true);
    return;
  }
  committed(false);
  std::string why = PQerrorMessage(conn_->raw());
  conn_->rollback();  // the transaction when a statement before COMMIT failed (else a no-op)
  if (!conn_->ok()) {
    // The outcome is unknown: the retry asks the database before writing anything.
    uncertain_seq_ = seq;
    commit_seq_ = seq;
    for (StoreUnit* u : units)
      for (const auto& a : u->alerts)
        if (int64_t row = rows.find(a.fingerprint))
          uncertain_rows_.emplace_back(a.fingerprint, row);
  }
  throw std::runtime_error("postgresql " + conn_->where() + ": COMMIT: " + why);
}

PruneCounts PostgresStore::prune(const PruneCutoffs& before, AlertRowIds& rows) {
  PruneCounts n{};
  try {
    if (!conn_->ok()) return n;
    auto r = conn_->exec(dollarParams(kPruneAlerts), {std::to_string(before.alerts)});
    for (int k = 0; k < r.rows(); ++k) {
      rows.forget(r.u64(k, 0));
      ++n[kPrunedAlerts];
    }
    // The member blocks of the incidents the statements below delete (counted as members).
    auto b = conn_->exec(
        "WITH d AS (DELETE FROM incident_alert_blocks WHERE incident IN (SELECT id FROM incidents"
        " WHERE status IN (3, 4) AND updated_ms < $1) RETURNING length(members) AS n)"
        " SELECT coalesce(sum(n), 0) FROM d",
        {std::to_string(before.incidents)});
    n[kPrunedIncidentRows] += static_cast<uint64_t>(b.i64(0, 0)) / pg::kMemberBytes;
    for (const auto& p : kPruneStatements) {
      auto d = conn_->exec(dollarParams(p.sql), {std::to_string(cutoffOf(before, p.cutoff))});
      n[p.table] += std::strtoull(PQcmdTuples(d.r), nullptr, 10);
    }
  } catch (const std::exception& e) {
    log::get("store")->warn("retention: {} (tried again at the next interval)", e.what());
  }
  return n;
}

}  // namespace triaged::engine
