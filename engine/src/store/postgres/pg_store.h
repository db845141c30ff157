// The postgresql backend: the same tables and schema versions as the SQLite backend, on a
// server the operator runs (and makes highly available their own way). A group of units is one
// transaction: each table's rows go in with COPY into a session-local staging table and are
// merged with one INSERT ... ON CONFLICT per table (rows folded per key first, with the SQLite
// statements' merge rules), so a group costs a handful of round trips, not one per row.
//
// A commit whose outcome is unknown (the connection broke while COMMIT was under way) is
// resolved after reconnecting: every transaction writes its sequence number into meta
// (`commit_seq`), so the retry knows whether the first attempt committed, and neither loses
// nor repeats it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/postgres/pg_connection.h"
#include "store/store.h"

namespace triaged::config {
struct PostgresConfig;
}

namespace triaged::engine {

class PostgresStore final : public Store {
 public:
  // Connects and migrates (one node at a time: an advisory lock). Throws naming the server and
  // the reason (unreachable, authentication, a schema newer than this triaged).
  explicit PostgresStore(const config::PostgresConfig& cfg);
  ~PostgresStore() override;

  const std::string& path() const override { return conn_->where(); }
  int schemaVersion() const override { return version_; }
  const char* backend() const override { return "postgresql"; }
  void loadAlertRows(AlertRowIds& rows) override;
  void commit(std::vector<StoreUnit*>& units, AlertRowIds& rows) override;
  PruneCounts prune(const PruneCutoffs& before, AlertRowIds& rows) override;
  StoredState loadState() override;
  SlaRows loadSlaRows(int64_t& last_alive_ms) override;
  std::vector<std::string> loadRecords(const std::string& kind) override;

  pg::Connection& connection() { return *conn_; }
  // HA: every later transaction first checks (and share-locks) the lease row; when its epoch
  // is no longer `epoch` the transaction is rolled back, `on_fenced` runs (the daemon becomes
  // a standby) and commit() throws. A takeover waits for a transaction holding the lock.
  void fence(int64_t epoch, std::function<void()> on_fenced) {
    fence_epoch_ = epoch;
    on_fenced_ = std::move(on_fenced);
  }
  // The tables every backend has, in the order `triaged migrate` copies them (parents first).
  static const std::vector<std::string>& tables();

 private:
  struct Staging;  // the fold and the COPY buffers of one group (pg_writer.cpp)
  struct StagingDeleter {
    void operator()(Staging* s) const;
  };
  void migrate();
  void prepareSession();
  // Writes the group, `lead` (SQL that begins the transaction) sent with its first statement
  // (and cleared); returns the statements that end it (the merges and `last`, when nothing
  // must follow them), for COMMIT to go with, or "".
  std::string write(std::vector<StoreUnit*>& units, AlertRowIds& rows, std::string& lead,
                    const std::string& last);
  // After COMMIT: what the group stored becomes known (ok), or is read again (not ok).
  void committed(bool ok);
  // A second connection, for reading the alerts table beside the others at start-up.
  std::unique_ptr<pg::Connection> connectAgain() const;
  std::string url_, password_;
  std::chrono::milliseconds connect_timeout_;
  std::unique_ptr<pg::Connection> conn_;
  std::unique_ptr<Staging, StagingDeleter> staging_;
  int version_ = 0;
  bool session_ready_ = false;
  int64_t commit_seq_ = 0;
  int64_t fence_epoch_ = 0;
  std::function<void()> on_fenced_;
  // The attempt whose COMMIT went unanswered: its sequence number and the alert rows it gave
  // out (restored if it turns out to have committed).
  int64_t uncertain_seq_ = 0;
  std::vector<std::pair<uint64_t, int64_t>> uncertain_rows_;
};

}  // namespace triaged::engine
