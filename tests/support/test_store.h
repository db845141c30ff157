// The store a test writes to: SQLite under the test's folder, or — when TRIAGED_TEST_PG is set
// (tests/postgres.py sets it to a libpq key=value string of a server it started) — a PostgreSQL
// database of the test's own, named after the folder and made empty at its first use in this
// process. So every store test runs against both backends.
#pragma once

#include <filesystem>
#include <future>
#include <memory>

#include "store/store.h"
#include "store/store_units.h"
#include "store/store_writer.h"
#include "triaged/api/metrics_hub.h"
#include "triaged/config/config.h"

namespace triaged::testing {

std::unique_ptr<engine::Store> openStore(const std::filesystem::path& dir);
// The PostgreSQL settings openStore(dir) uses (made empty at its first use in this process).
config::PostgresConfig postgresConfig(const std::filesystem::path& dir);
// True when the tests run against PostgreSQL.
bool onPostgres();
// A unit of n new firing alerts seen at `at_ms`, fingerprints first..first+n-1 multiplied out
// so that they spread over the table's pages, each with 300 bytes of strings.
engine::StoreUnit spreadAlerts(uint64_t first, int n, int64_t at_ms);

// Returns once everything submitted to `w` before is committed and acknowledged.
inline void drain(engine::StoreWriter& w) {
  std::promise<void> done;
  auto f = done.get_future();
  w.barrier([&] { done.set_value(); });
  f.wait();
}

// The value of an unlabelled gauge in `hub` (-1 if there is none).
inline double gauge(api::MetricsHub& hub, const char* name) {
  for (const auto& f : hub.registry().Collect())
    if (f.name == name && !f.metric.empty()) return f.metric[0].gauge.value;
  return -1;
}

}  // namespace triaged::testing
