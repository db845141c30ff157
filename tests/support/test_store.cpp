#include "test_store.h"

#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "triaged/config/config.h"

namespace triaged::testing {

bool onPostgres() {
  const char* v = std::getenv("TRIAGED_TEST_PG");
  return v && *v;
}

config::PostgresConfig postgresConfig(const std::filesystem::path& dir) {
  std::string base = std::getenv("TRIAGED_TEST_PG");
  std::string name = "t_";
  for (char c : dir.filename().string())
    name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c))
                                                               : '_');
  static std::mutex mu;
  static std::set<std::string> made;
  {
    std::lock_guard l(mu);
    if (made.insert(name).second) {
      engine::pg::Connection admin(base + " dbname=postgres", "", std::chrono::seconds(5));
      admin.exec("DROP DATABASE IF EXISTS " + name);
      admin.exec("CREATE DATABASE " + name);
    }
  }
  config::PostgresConfig cfg;
  cfg.url = base + " dbname=" + name;
  return cfg;
}

std::unique_ptr<engine::Store> openStore(const std::filesystem::path& dir) {
  if (!onPostgres()) return std::make_unique<engine::SqliteStore>(dir.string());
  return std::make_unique<engine::PostgresStore>(postgresConfig(dir));
}

engine::StoreUnit spreadAlerts(uint64_t first, int n, int64_t at_ms) {
  engine::StoreUnit u;
  for (int k = 0; k < n; ++k) {
    engine::AlertRecord a;
    a.fingerprint = (first + k) * 0x9E3779B97F4A7C15ULL;
    a.first_seen_ms = a.last_seen_ms = a.time_ms = at_ms;
    a.count = 1;
    a.strings = std::string(300, static_cast<char>('a' + k % 26));
    u.alerts.push_back(std::move(a));
  }
  return u;
}

}  // namespace triaged::testing
