// The embedded backend: one SQLite database (WAL, synchronous=FULL) at
// <state.directory>/triaged.db, with schema migrations versioned in code (PRAGMA user_version).
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "store/sqlite/wal_checkpointer.h"
#include "store/store.h"

namespace triaged::engine {

class SqliteStore final : public Store {
 public:
  struct Options {
    uint64_t cache_bytes = 32ull << 20;  // state.cache_bytes
    uint64_t mmap_bytes = 0;             // state.mmap_bytes
    WalCheckpointer::Options checkpoints;
    // The alert journal is folded into the alerts table once it holds this many entries, or as
    // many as there are alert rows if more (sqlite_writer.cpp).
    uint64_t fold_min_entries = 16'384;
    // A fold reads this many entries at a time (its memory: ~100 bytes an entry).
    uint64_t fold_chunk_entries = 65'536;
  };
  // Creates the directory if missing, opens <dir>/triaged.db and migrates it to the current
  // schema. Throws std::runtime_error naming the file and SQLite's reason.
  SqliteStore(const std::string& directory, Options options);
  explicit SqliteStore(const std::string& directory);  // with the default Options
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const std::string& path() const override { return path_; }
  int schemaVersion() const override { return version_; }
  const char* backend() const override { return "sqlite"; }
  void loadAlertRows(AlertRowIds& rows) override;
  void commit(std::vector<StoreUnit*>& units, AlertRowIds& rows) override;
  PruneCounts prune(const PruneCutoffs& before, AlertRowIds& rows) override;
  // Checkpoints the WAL into the main file; called at shutdown.
  void flush() override;
  Checkpoints checkpoints() const override;
  uint64_t cacheBytes() override;
  void releaseCache() override;
  // Returns once no background checkpoint is wanted or running (tests).
  void drainCheckpoints();
  StoredState loadState() override;
  SlaRows loadSlaRows(int64_t& last_alive_ms) override;
  std::vector<std::string> loadRecords(const std::string& kind) override;

  sqlite3* handle() { return db_; }

  static int latestSchemaVersion();
  // Online backup (SQLite's backup API) of the database under `directory` into the new file
  // `dest`, consistent as of one moment, while a daemon may be writing. Throws naming the
  // reason; refuses to overwrite. Returns the pages copied.
  static int backup(const std::string& directory, const std::string& dest);

 private:
  struct Writer;  // the prepared statements of commit(), made on first use (sqlite_writer.cpp)
  struct WriterDeleter {
    void operator()(Writer* w) const;
  };
  void exec(const char* sql);
  uint64_t pragmaValue(const char* name);   // a pragma's value as a number (0 if none)
  uint64_t number(const std::string& sql);  // the first column of a query's first row (or 0)
  void migrate();
  Writer& writer();
  // Applies the alert journal to the alerts table in a transaction of its own (at open, before
  // retention, at stop). Throws naming `when` and the reason, after rolling back.
  void foldJournal(const char* when);
  uint64_t journalEntries() const;  // the writer's count (sqlite_writer.cpp)
  sqlite3* db_ = nullptr;
  std::string path_;
  int version_ = 0;
  Options options_;
  // From the first commit on (a store opened only to read starts no thread).
  std::unique_ptr<WalCheckpointer> checkpointer_;
  std::unique_ptr<Writer, WriterDeleter> writer_;
};

}  // namespace triaged::engine
