// The durable state behind one interface, with two backends: SQLite (a file under
// state.directory, the embedded default: store/sqlite/) and PostgreSQL (a server the operator
// runs, shared by an active and a standby triaged: store/postgres/). Both keep the same tables
// under the same schema versions, migrate forward in code and refuse to downgrade.
//
// Opened and closed on the control thread; while the daemon runs the store writer thread is
// the only user of commit() and prune(). The load functions run before the writer starts
// (recovery) or in a command of their own (`triaged report`).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/store_units.h"

namespace triaged::config {
struct StateConfig;
}

namespace triaged::engine {

// Fingerprint -> row id of every stored alert: the writer's own index. Row ids are handed out
// in arrival order, so new alerts append (random fingerprints as keys would touch a random page
// per row). Owned by the store writer; a backend assigns ids through it inside commit().
class AlertRowIds {
 public:
  // The row of `fingerprint`, and whether it is new in this transaction.
  std::pair<int64_t, bool> assign(uint64_t fingerprint) {
    auto [it, fresh] = row_of_.try_emplace(fingerprint, next_);
    if (fresh) {
      ++next_;
      added_.push_back(fingerprint);
    }
    return {it->second, fresh};
  }
  // The row of a stored alert, or 0.
  int64_t find(uint64_t fingerprint) const {
    auto it = row_of_.find(fingerprint);
    return it == row_of_.end() ? 0 : it->second;
  }
  void loaded(uint64_t fingerprint, int64_t row) {
    row_of_[fingerprint] = row;
    next_ = std::max(next_, row + 1);
  }
  void forget(uint64_t fingerprint) { row_of_.erase(fingerprint); }
  void reserve(size_t n) { row_of_.reserve(n); }
  size_t size() const { return row_of_.size(); }
  // A transaction begins: what it assigns is undone if it rolls back.
  void begin() { added_.clear(); }
  void rollback() {
    for (uint64_t fp : added_) row_of_.erase(fp);
    added_.clear();
  }

 private:
  absl::flat_hash_map<uint64_t, int64_t> row_of_;
  int64_t next_ = 1;
  std::vector<uint64_t> added_;
};

// What retention removes (older than these, ms) and what it removed, by the tables of
// triaged_store_rows_pruned_total.
struct PruneCutoffs {
  int64_t alerts = 0;     // resolved alerts
  int64_t incidents = 0;  // closed or merged incidents, closed problems, expired silences, dead
                          // notifications, ended records
  int64_t sla = 0;        // service level history
};
enum PrunedTable : size_t {
  kPrunedAlerts,
  kPrunedIncidents,
  kPrunedProblems,
  kPrunedSilences,
  kPrunedIncidentRows,
  kPrunedOutbox,
  kPrunedSla,
  kPrunedRecords,
  kPrunedTables
};
using PruneCounts = std::array<uint64_t, kPrunedTables>;

class Store {
 public:
  virtual ~Store() = default;

  // Where the state is, for messages: a file name, or host:port/database (never a password).
  virtual const std::string& path() const = 0;
  virtual int schemaVersion() const = 0;
  // "sqlite" or "postgresql".
  virtual const char* backend() const = 0;

  // The store writer's side (its thread only while it runs).
  virtual void loadAlertRows(AlertRowIds& rows) = 0;
  // Writes every unit in one transaction and commits it, giving new outbox entries their ids.
  // Throws with the backend's reason after rolling back (the caller undoes `rows` and retries).
  virtual void commit(std::vector<StoreUnit*>& units, AlertRowIds& rows) = 0;
  // Deletes what retention ends; forgets deleted alerts' rows. Never throws: a failed prune is
  // logged and tried again at the next interval.
  virtual PruneCounts prune(const PruneCutoffs& before, AlertRowIds& rows) = 0;
  // Makes everything committed durable in the main storage (SQLite's WAL checkpoint); at stop.
  virtual void flush() {}

  // What the backend does beside the commits (SQLite's WAL checkpoints), for /metrics.
  struct Checkpoints {
    uint64_t background = 0, background_failed = 0;  // on a thread of their own
    uint64_t writer = 0, writer_failed = 0;          // by the writer, the log at its limit
    uint32_t wal_pages = 0;                          // in the log after the last commit
    uint64_t journal_entries = 0;  // changes in SQLite's alert journal, not yet folded
  };
  virtual Checkpoints checkpoints() const { return {}; }
  // The writer's side: memory the backend keeps for its working set (SQLite's page cache), and
  // giving it back once the writer has had nothing to write for a while (the next commit reads
  // its pages again, from the operating system's cache).
  virtual uint64_t cacheBytes() { return 0; }
  virtual void releaseCache() {}

  // Reading (before the writer runs, or in a command of its own).
  virtual StoredState loadState() = 0;
  // Only the service level ledgers (for `triaged report`), and the last sign of life.
  virtual SlaRows loadSlaRows(int64_t& last_alive_ms) = 0;
  // The records of one kind ("maintenance", "change"), by id.
  virtual std::vector<std::string> loadRecords(const std::string& kind) = 0;
};

// The backend state.backend names, opened and migrated to the current schema. Throws
// std::runtime_error naming where and why.
std::unique_ptr<Store> openStore(const config::StateConfig& state);

// The schema version this triaged writes (the same for every backend).
int latestSchemaVersion();

inline StoredState loadState(Store& store) { return store.loadState(); }
inline SlaRows loadSlaRows(Store& store, int64_t& last_alive_ms) {
  return store.loadSlaRows(last_alive_ms);
}
inline std::vector<std::string> loadRecords(Store& store, const std::string& kind) {
  return store.loadRecords(kind);
}

}  // namespace triaged::engine
