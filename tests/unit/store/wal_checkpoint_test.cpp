// SQLite's write-ahead log: checkpointed by a thread of its own, started again from its beginning
// (by the writer once nearly everything is copied while it kept committing), and bounded by the
// writer when the thread cannot keep up. Everything committed reads back after the store is
// opened again.
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "store/sqlite/sqlite_store.h"
#include "temp_config.h"
#include "test_store.h"

using namespace triaged;

namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'767'225'600'000;

// Commits `alerts` new alerts (fingerprints from `next` on) in one unit.
void commitAlerts(engine::SqliteStore& store, engine::AlertRowIds& rows, uint64_t& next,
                  int alerts) {
  engine::StoreUnit u = testing::spreadAlerts(next, alerts, kT0);
  next += static_cast<uint64_t>(alerts);
  std::vector<engine::StoreUnit*> units{&u};
  rows.begin();
  store.commit(units, rows);
}

// Commits `commits` units of 10 alerts, draining the checkpoint thread after each when asked;
// returns the most pages the log held after a commit.
uint32_t commitMany(engine::SqliteStore& store, engine::AlertRowIds& rows, uint64_t& next,
                    int commits, bool drain) {
  uint32_t most = 0;
  for (int c = 0; c < commits; ++c) {
    commitAlerts(store, rows, next, 10);
    if (drain) store.drainCheckpoints();
    most = std::max(most, store.checkpoints().wal_pages);
  }
  return most;
}

uintmax_t walBytes(const fs::path& dir) {
  std::error_code ec;
  auto n = fs::file_size(dir / "triaged.db-wal", ec);
  return ec ? 0 : n;
}

size_t storedAlerts(const fs::path& dir) {
  engine::SqliteStore again(dir.string());
  return again.loadState().alerts.size();
}

}  // namespace

TEST_CASE("A thread of its own checkpoints SQLite's log, which starts again from its beginning",
          "[store][sqlite]") {
  fs::path dir = testing::tempDir("wal-background");
  const uint32_t pages = 128;
  uint64_t next = 1;
  {
    engine::SqliteStore store(dir.string(), {.checkpoints = {pages, 1u << 20}});
    engine::AlertRowIds rows;
    store.loadAlertRows(rows);
    // Drained: the thread's checkpoint, if one was wanted, is done before the next commit.
    uint32_t most = commitMany(store, rows, next, 300, true);
    auto n = store.checkpoints();
    INFO("background " << n.background << ", writer " << n.writer << ", most pages " << most);
    CHECK(n.background >= 5);  // ~3,000 alerts of 300 bytes: far more than 128 pages
    CHECK(n.background_failed == 0);
    // The thread kept up (drained after every commit), so SQLite started the log again by
    // itself at the next commit each time: the writer copied nothing.
    CHECK(n.writer == 0);
    CHECK(n.writer_failed == 0);
    // Never much more than the threshold in the log, nor in the file (4 KiB pages).
    CHECK(most < 2 * pages);
    CHECK(walBytes(dir) < 2 * pages * 4096 + 65536);
  }
  CHECK(storedAlerts(dir) == next - 1);
  fs::remove_all(dir);
}

TEST_CASE("The writer checkpoints SQLite's whole log at its limit when the thread does not",
          "[store][sqlite]") {
  fs::path dir = testing::tempDir("wal-limit");
  const uint32_t limit = 64;
  uint64_t next = 1;
  {
    // The thread is never woken (its threshold is beyond the limit).
    engine::SqliteStore store(dir.string(), {.checkpoints = {1u << 20, limit}});
    engine::AlertRowIds rows;
    store.loadAlertRows(rows);
    uint32_t most = commitMany(store, rows, next, 200, false);
    auto n = store.checkpoints();
    INFO("background " << n.background << ", writer " << n.writer << ", most pages " << most);
    CHECK(n.background == 0);
    CHECK(n.writer >= 5);
    CHECK(n.writer_failed == 0);
    CHECK(most < 2 * limit);
  }
  CHECK(storedAlerts(dir) == next - 1);
  fs::remove_all(dir);
}

TEST_CASE("A reader holding a snapshot only delays the restart of SQLite's log",
          "[store][sqlite]") {
  fs::path dir = testing::tempDir("wal-reader");
  const uint32_t pages = 128;
  uint64_t next = 1;
  {
    // The limit is reached while the reader holds its snapshot.
    engine::SqliteStore store(dir.string(), {.checkpoints = {pages, 2 * pages}});
    engine::AlertRowIds rows;
    store.loadAlertRows(rows);
    commitAlerts(store, rows, next, 10);
    // Another connection in a read transaction (as `triaged backup` holds one while it copies).
    sqlite3* reader = nullptr;
    REQUIRE(sqlite3_open_v2((dir / "triaged.db").c_str(), &reader, SQLITE_OPEN_READONLY, nullptr) ==
            SQLITE_OK);
    REQUIRE(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM alerts;", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    uint64_t writer_before = store.checkpoints().writer;
    auto t0 = std::chrono::steady_clock::now();
    commitMany(store, rows, next, 300, true);
    auto held = store.checkpoints();
    CHECK(held.writer == writer_before);  // no restart past the reader's snapshot...
    CHECK(held.writer_failed == 0);       // ...and no error for trying
    CHECK(held.wal_pages > 2 * pages);    // so the log grew past its limit...
    // ...and no commit waited for the reader (one wait would be the 5 s busy timeout).
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    sqlite3_exec(reader, "COMMIT;", nullptr, nullptr, nullptr);
    sqlite3_close_v2(reader);
    for (int c = 0; c < 100 && store.checkpoints().wal_pages > 2 * pages; ++c) {
      commitAlerts(store, rows, next, 10);
      store.drainCheckpoints();
    }
    CHECK(store.checkpoints().wal_pages <= 2 * pages);  // started again once the reader left
  }
  CHECK(storedAlerts(dir) == next - 1);
  fs::remove_all(dir);
}

TEST_CASE("Committing while the thread checkpoints keeps SQLite's log below half its limit",
          "[store][sqlite]") {
  fs::path dir = testing::tempDir("wal-busy");
  const uint32_t pages = 64, limit = 1024;
  uint64_t next = 1;
  {
    engine::SqliteStore store(dir.string(), {.checkpoints = {pages, limit}});
    engine::AlertRowIds rows;
    store.loadAlertRows(rows);
    // Not drained: commits go on while the thread copies.
    uint32_t most = commitMany(store, rows, next, 1500, false);
    store.drainCheckpoints();
    auto n = store.checkpoints();
    INFO("background " << n.background << ", writer " << n.writer << ", most pages " << most);
    CHECK(n.background >= 1);
    CHECK(n.background_failed == 0);
    CHECK(n.writer_failed == 0);
    // The writer restarts the log once the thread has copied all but a quarter of its
    // threshold, or at half the limit whatever is left: one commit's pages beyond that at most.
    CHECK(most < limit / 2 + 64);
  }
  CHECK(storedAlerts(dir) == next - 1);
  fs::remove_all(dir);
}
