// The VFS that gathers the write-ahead log's writes (store/sqlite/wal_write_buffer.h): fewer
// system calls than SQLite asks for, and nothing a reader can miss — committed rows are read by
// other connections (on the default VFS, so through the file alone) at once, with
// synchronous=FULL and with NORMAL (where only the WAL index barrier writes the frames out),
// and pages spilled from a small cache in the middle of a transaction read back exactly.
#include "store/sqlite/wal_write_buffer.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "temp_config.h"

using namespace triaged;

namespace {

sqlite3* open(const std::string& path, const char* vfs) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) ==
          SQLITE_OK);
  return db;
}

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO(sql << ": " << (err ? err : ""));
  sqlite3_free(err);
  REQUIRE(rc == SQLITE_OK);
}

int64_t scalar(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

std::string text(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  std::string v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return v;
}

// Rows of 500 bytes at keys spread over the table, so each commit dirties many pages.
void insertRows(sqlite3* db, int from, int n) {
  exec(db, "BEGIN");
  for (int i = from; i < from + n; ++i)
    exec(db, "INSERT INTO t VALUES(" + std::to_string((i * 7919) % 100003) +
                 ", printf('%.500c', '" + std::string(1, static_cast<char>('a' + i % 26)) + "'))");
  exec(db, "COMMIT");
}

}  // namespace

TEST_CASE("the WAL write buffer: fewer system calls, every commit visible to other connections",
          "[store][wal]") {
  const char* vfs = engine::walWriteBufferVfs();
  REQUIRE(vfs != nullptr);
  for (const char* sync : {"FULL", "NORMAL"}) {
    DYNAMIC_SECTION("synchronous=" << sync) {
      auto path = (testing::tempDir("walbuf") / "t.db").string();
      sqlite3* writer = open(path, vfs);
      exec(writer, "PRAGMA journal_mode=WAL");
      exec(writer, std::string("PRAGMA synchronous=") + sync);
      exec(writer, "PRAGMA wal_autocheckpoint=0");  // every commit stays in the log
      exec(writer, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
      sqlite3* reader = open(path, nullptr);  // the default VFS: sees only what reached the file
      auto before = engine::walWriteCounts();
      for (int c = 0; c < 20; ++c) {
        insertRows(writer, c * 50, 50);
        REQUIRE(scalar(reader, "SELECT count(*) FROM t") == (c + 1) * 50);
        REQUIRE(
            text(reader, "SELECT v FROM t WHERE k = " + std::to_string((c * 50 * 7919) % 100003)) ==
            std::string(500, static_cast<char>('a' + (c * 50) % 26)));
      }
      auto after = engine::walWriteCounts();
      uint64_t asked = after.asked - before.asked;
      uint64_t made = after.made - before.made;
      INFO("asked " << asked << ", made " << made);
      CHECK(asked >= 20 * 2 * 10);  // two writes a frame, at least ten frames a commit
      CHECK(made * 10 < asked);
      REQUIRE(text(reader, "PRAGMA integrity_check") == "ok");
      // The files as a crash would leave them (the writer still open, its index not copied):
      // the log recovered from the file alone holds every commit.
      auto copy = path + ".crash";
      std::filesystem::copy_file(path, copy);
      std::filesystem::copy_file(path + "-wal", copy + "-wal");
      sqlite3* again = open(copy, nullptr);
      REQUIRE(scalar(again, "SELECT count(*) FROM t") == 1000);
      REQUIRE(text(again, "PRAGMA integrity_check") == "ok");
      sqlite3_close(again);
      sqlite3_close(reader);
      sqlite3_close(writer);
    }
  }
}

TEST_CASE("the WAL write buffer: pages spilled mid-transaction read back exactly", "[store][wal]") {
  auto path = (testing::tempDir("walbuf") / "spill.db").string();
  sqlite3* db = open(path, engine::walWriteBufferVfs());
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA cache_size=10");  // a transaction of hundreds of pages spills into the log
  exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
  exec(db, "BEGIN");
  for (int i = 0; i < 2000; ++i)
    exec(db, "INSERT INTO t VALUES(" + std::to_string(i) + ", printf('%.400c', '" +
                 std::string(1, static_cast<char>('a' + i % 26)) + "'))");
  // Read back while the transaction is open: spilled pages come from the log (buffer written
  // out first), pages still in the cache from memory.
  for (int i = 0; i < 2000; i += 97)
    REQUIRE(text(db, "SELECT v FROM t WHERE k = " + std::to_string(i)) ==
            std::string(400, static_cast<char>('a' + i % 26)));
  exec(db, "UPDATE t SET v = 'x' WHERE k % 3 = 0");  // pages already in the log written again
  exec(db, "COMMIT");
  sqlite3_close(db);
  sqlite3* again = open(path, nullptr);
  REQUIRE(scalar(again, "SELECT count(*) FROM t WHERE v = 'x'") == 667);
  REQUIRE(scalar(again, "SELECT sum(length(v)) FROM t WHERE v <> 'x'") == 1333 * 400);
  REQUIRE(text(again, "PRAGMA integrity_check") == "ok");
  sqlite3_close(again);
}

TEST_CASE("the WAL write buffer: frames of 64 KiB pages are written at once, in order",
          "[store][wal]") {
  auto path = (testing::tempDir("walbuf") / "big.db").string();
  sqlite3* writer = open(path, engine::walWriteBufferVfs());
  exec(writer, "PRAGMA page_size=65536");
  exec(writer, "PRAGMA journal_mode=WAL");
  exec(writer, "PRAGMA synchronous=NORMAL");
  exec(writer, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
  sqlite3* reader = open(path, nullptr);
  for (int c = 0; c < 5; ++c) {
    insertRows(writer, c * 200, 200);
    REQUIRE(scalar(reader, "SELECT count(*) FROM t") == (c + 1) * 200);
  }
  REQUIRE(scalar(reader, "PRAGMA page_size") == 65536);
  REQUIRE(text(reader, "PRAGMA integrity_check") == "ok");
  sqlite3_close(reader);
  sqlite3_close(writer);
}
