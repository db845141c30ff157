// The durable state: one SQLite database (WAL) under state.directory, with schema migrations
// versioned in code. Opened and closed on the control thread; the store writer thread (with
// the pipeline) is its only user while running.
#pragma once

#include <sqlite3.h>

#include <string>

namespace triaged::engine {

class Store {
 public:
  // Creates the directory if missing, opens <dir>/triaged.db and migrates it to the current
  // schema. Throws std::runtime_error naming the file and SQLite's reason.
  explicit Store(const std::string& directory, uint64_t cache_bytes = 32ull << 20);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schemaVersion() const { return version_; }
  const std::string& path() const { return path_; }
  // Checkpoints the WAL into the main file; called at shutdown.
  void flush();
  sqlite3* handle() { return db_; }

  static int latestSchemaVersion();
  // Online backup (SQLite's backup API) of the database under `directory` into the new file
  // `dest`, consistent as of one moment, while a daemon may be writing. Throws naming the
  // reason; refuses to overwrite. Returns the pages copied.
  static int backup(const std::string& directory, const std::string& dest);

 private:
  void exec(const char* sql);
  void migrate();
  sqlite3* db_ = nullptr;
  std::string path_;
  int version_ = 0;
  uint64_t cache_bytes_;
};

}  // namespace triaged::engine
