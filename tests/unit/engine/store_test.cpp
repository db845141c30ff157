#include <catch2/catch.hpp>
#include <filesystem>
#include <unistd.h>

#include "triaged/engine/store.h"

using triaged::engine::Store;
namespace fs = std::filesystem;

namespace {
fs::path freshDir(const char* name) {
  auto d = fs::temp_directory_path() / (std::string(name) + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}
}  // namespace

TEST_CASE("The store creates its directory and migrates a new database to the latest schema", "[store]") {
  auto dir = freshDir("triaged-store-new");
  Store s(dir.string());
  CHECK(fs::exists(dir / "triaged.db"));
  CHECK(s.schemaVersion() == Store::latestSchemaVersion());
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(s.handle(), "PRAGMA journal_mode;", -1, &st, nullptr);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
  sqlite3_finalize(st);
}

TEST_CASE("Reopening a database keeps its data and does not migrate twice", "[store]") {
  auto dir = freshDir("triaged-store-reopen");
  {
    Store s(dir.string());
    sqlite3_exec(s.handle(), "INSERT INTO meta(key, value) VALUES ('k', 'v');", nullptr, nullptr, nullptr);
  }
  Store s(dir.string());
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(s.handle(), "SELECT count(*) FROM meta;", -1, &st, nullptr);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == 2);
  sqlite3_finalize(st);
}

TEST_CASE("A database from a newer triaged is refused, not downgraded", "[store]") {
  auto dir = freshDir("triaged-store-newer");
  {
    Store s(dir.string());
    sqlite3_exec(s.handle(), "PRAGMA user_version=999;", nullptr, nullptr, nullptr);
  }
  CHECK_THROWS_WITH(Store(dir.string()), Catch::Contains("refusing to downgrade"));
}

TEST_CASE("An unusable state directory is a clear error", "[store]") {
  CHECK_THROWS_WITH(Store("/proc/triaged-cannot-exist"), Catch::Contains("cannot create state directory"));
}
