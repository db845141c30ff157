// SQLite's page cache (up to state.cache_bytes) is the writer's working set while it writes; an
// idle writer gives it back, and what was committed reads back and is written on as before.
// The database is mapped into the process only as state.mmap_bytes says.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <future>

#include "common/clock.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_writer.h"
#include "temp_config.h"
#include "test_store.h"
#include "triaged/api/metrics_hub.h"
#include "triaged/config/config.h"

using namespace triaged;

namespace {

namespace fs = std::filesystem;
using testing::drain;
using testing::gauge;

constexpr int64_t kT0 = 1'767'225'600'000;

int64_t mmapSize(engine::SqliteStore& store) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(store.handle(), "PRAGMA mmap_size;", -1, &st, nullptr) == SQLITE_OK);
  int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  return v;
}

}  // namespace

TEST_CASE("SQLite's page cache is given back on request and filled again by the next commit",
          "[store][sqlite]") {
  fs::path dir = testing::tempDir("store-cache");
  {
    engine::SqliteStore store(dir.string());
    engine::AlertRowIds rows;
    store.loadAlertRows(rows);
    engine::StoreUnit u =
        testing::spreadAlerts(1, 5'000, kT0);  // ~1.5 MB of rows: hundreds of pages
    std::vector<engine::StoreUnit*> units{&u};
    rows.begin();
    store.commit(units, rows);
    uint64_t full = store.cacheBytes();
    INFO("cache after the commit: " << full << " bytes");
    CHECK(full > (1u << 20));
    store.releaseCache();
    CHECK(store.cacheBytes() < full / 10);
    // The next commit works on (and reads its pages back into the cache).
    engine::StoreUnit v = testing::spreadAlerts(5'001, 100, kT0);
    std::vector<engine::StoreUnit*> more{&v};
    rows.begin();
    store.commit(more, rows);
    CHECK(store.cacheBytes() > 0);
  }
  engine::SqliteStore again(dir.string());
  CHECK(again.loadState().alerts.size() == 5'100);
  fs::remove_all(dir);
}

TEST_CASE("The store writer gives SQLite's page cache back after a second without rows to write",
          "[store][sqlite]") {
  fs::path dir = testing::tempDir("store-cache-idle");
  engine::ManualClock clock(kT0);
  api::MetricsHub hub;
  engine::SqliteStore store(dir.string());
  engine::StoreWriterOptions o;
  o.prune_interval_ms = 3'600'000;
  engine::StoreWriter w(store, o, clock, hub);
  w.start();
  w.submit(testing::spreadAlerts(1, 5'000, kT0));
  drain(w);
  double full = gauge(hub, "triaged_store_cache_bytes");
  INFO("cache after the commit: " << full << " bytes");
  CHECK(full > (1u << 20));
  // The correlator's sign of life, a meta row a second, does not keep the cache; rows do.
  auto alive = [&] {
    engine::StoreUnit u;
    u.meta.emplace_back("last_alive", std::to_string(clock.nowMs()));
    w.submit(std::move(u));
    drain(w);
    drain(w);  // a round after the one that committed it: that round's release is done
  };
  clock.advance(900);
  alive();
  CHECK(gauge(hub, "triaged_store_cache_bytes") > full / 2);
  clock.advance(100);  // a second after the last rows
  alive();
  CHECK(gauge(hub, "triaged_store_cache_bytes") < full / 10);
  // Writing goes on as before.
  w.submit(testing::spreadAlerts(5'001, 100, kT0));
  drain(w);
  CHECK(gauge(hub, "triaged_store_cache_bytes") > 0);
  w.stop();
  CHECK(store.loadState().alerts.size() == 5'100);
  fs::remove_all(dir);
}

TEST_CASE("The database is mapped into the process only as state.mmap_bytes says",
          "[store][sqlite][config]") {
  fs::path dir = testing::tempDir("store-mmap");
  config::StateConfig state;
  state.directory = dir.string();
  SECTION("by default not at all: pages read count in the cache, not in RSS") {
    auto store = engine::openStore(state);
    CHECK(mmapSize(dynamic_cast<engine::SqliteStore&>(*store)) == 0);
  }
  SECTION("as much as the key asks") {
    state.mmap_bytes = 64ull << 20;
    auto store = engine::openStore(state);
    CHECK(mmapSize(dynamic_cast<engine::SqliteStore&>(*store)) == (64ll << 20));
  }
  SECTION("more than this SQLite can map is refused, naming the key") {
    state.mmap_bytes = 1ull << 40;
    CHECK_THROWS_WITH(engine::openStore(state),
                      Catch::Contains("state.mmap_bytes: this SQLite maps at most"));
  }
}
