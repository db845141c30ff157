#include "triaged/engine/store.h"

#include <filesystem>
#include <stdexcept>

namespace triaged::engine {
namespace {

// Each entry moves the schema from version i to i+1. Never edit a released entry: add one.
const char* const kMigrations[] = {
    // 1: bookkeeping of the daemon itself.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta(key, value) VALUES ('created_by', 'triaged');",
};

}  // namespace

int Store::latestSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

Store::Store(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) throw std::runtime_error("cannot create state directory " + directory + ": " + ec.message());
  path_ = (std::filesystem::path(directory) / "triaged.db").string();
  if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open " + path_ + ": " + why);
  }
  try {
    migrate();
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

void Store::migrate() {
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL;");
  exec("PRAGMA synchronous=FULL;");
  exec("PRAGMA foreign_keys=ON;");
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_, "PRAGMA user_version;", -1, &st, nullptr);
  if (sqlite3_step(st) == SQLITE_ROW) version_ = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
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

Store::~Store() {
  if (db_) sqlite3_close_v2(db_);
}

void Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(path_ + ": " + why);
  }
}

void Store::flush() { sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr); }

}  // namespace triaged::engine
