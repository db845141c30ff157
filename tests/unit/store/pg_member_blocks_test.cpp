// The postgresql backend's member blocks (schema 10, pg_member_blocks.h): an incident's new
// members of one commit are one row; members rewritten in place and those stored before
// schema 10 stay rows of incident_alerts; reading merges both, the rows winning.
#include "store/postgres/pg_member_blocks.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "store/postgres/pg_store.h"
#include "temp_config.h"
#include "test_store.h"

using namespace triaged;

namespace {

namespace fs = std::filesystem;

const int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

void incident(engine::StoreUnit& u, uint64_t id, int status,
              const std::vector<engine::MemberRow>& members) {
  u.addIncident(id, status, kT0, "{\"id\":" + std::to_string(id) + "}", members, {});
}

void commit(engine::Store& store, engine::AlertRowIds& rows, engine::StoreUnit u) {
  std::vector<engine::StoreUnit*> one{&u};
  rows.begin();
  store.commit(one, rows);
}

std::vector<engine::MemberRow> membersOf(const engine::StoredState& st, size_t k) {
  REQUIRE(k < st.incidents.size());
  return st.incidents[k].alerts;
}

bool same(const std::vector<engine::MemberRow>& a, const std::vector<engine::MemberRow>& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k].seq != b[k].seq || a[k].fingerprint != b[k].fingerprint || a[k].role != b[k].role)
      return false;
  return true;
}

}  // namespace

TEST_CASE("A member block holds whole members, and any other length is refused by name",
          "[store]") {
  std::string block;
  engine::pg::appendMember(block, {7, 0xfedcba9876543210ull, -1});
  engine::pg::appendMember(block, {8, 1, 2});
  REQUIRE(block.size() == 2 * engine::pg::kMemberBytes);
  std::vector<engine::MemberRow> got;
  engine::pg::eachMember(3, block, [&](const engine::MemberRow& m) { got.push_back(m); });
  CHECK(same(got, {{7, 0xfedcba9876543210ull, -1}, {8, 1, 2}}));
  CHECK_THROWS_WITH(engine::pg::eachMember(3, block.substr(1), [](const engine::MemberRow&) {}),
                    Catch::Contains("incident 3 has a block of 31 bytes"));
}

TEST_CASE("New members are one row per incident and commit, rows rewrite and predate them",
          "[store]") {
  if (!testing::onPostgres()) return;
  fs::path dir = testing::tempDir("member-blocks");
  auto store = testing::openStore(dir);
  auto& pg = dynamic_cast<engine::PostgresStore&>(*store);
  auto count = [&](const char* table) {
    return pg.connection().exec(std::string("SELECT count(*) FROM ") + table).i64(0, 0);
  };
  engine::AlertRowIds rows;
  store->loadAlertRows(rows);
  // Incident 2 as a triaged before schema 10 stored it: member rows.
  pg.connection().exec(
      "INSERT INTO incidents VALUES (2, 0, 0, '{\"id\":2}');"
      "INSERT INTO incident_alerts VALUES (2, 0, 20, 0), (2, 1, 21, 0)");

  engine::StoreUnit a;
  incident(a, 1, 0, {{0, 10, 1}, {1, 11, 0}, {2, 12, 0}});
  incident(a, 2, 0, {{2, 22, 0}});
  commit(*store, rows, std::move(a));
  CHECK(count("incident_alert_blocks") == 2);
  CHECK(count("incident_alerts") == 2);  // only the old ones
  // Two units of one group: one block for incident 1, starting after what is stored.
  engine::StoreUnit b, c;
  incident(b, 1, 0, {{3, 13, 0}});
  incident(c, 1, 0, {{4, 14, 0}});
  {
    std::vector<engine::StoreUnit*> group{&b, &c};
    rows.begin();
    store->commit(group, rows);
  }
  CHECK(count("incident_alert_blocks") == 3);
  CHECK(pg.connection()
            .exec("SELECT next_seq FROM incident_alert_blocks WHERE incident = 1 AND seq = 3")
            .i64(0, 0) == 5);

  // A member a block holds, written again (the root cause moved): a row, which wins.
  engine::StoreUnit d;
  incident(d, 1, 0, {{1, 11, 1}});
  commit(*store, rows, std::move(d));
  CHECK(count("incident_alert_blocks") == 3);
  CHECK(count("incident_alerts") == 3);

  // Read back by a store that starts afresh (what is stored of each incident read again too).
  store.reset();
  store = testing::openStore(dir);
  auto st = store->loadState();
  REQUIRE(st.incidents.size() == 2);
  CHECK(same(membersOf(st, 0), {{0, 10, 1}, {1, 11, 1}, {2, 12, 0}, {3, 13, 0}, {4, 14, 0}}));
  CHECK(same(membersOf(st, 1), {{0, 20, 0}, {1, 21, 0}, {2, 22, 0}}));
  engine::AlertRowIds rows2;
  store->loadAlertRows(rows2);
  engine::StoreUnit e;
  incident(e, 2, 0, {{3, 23, 0}});
  commit(*store, rows2, std::move(e));
  auto& pg2 = dynamic_cast<engine::PostgresStore&>(*store);
  CHECK(pg2.connection()
            .exec("SELECT seq FROM incident_alert_blocks WHERE incident = 2 ORDER BY seq DESC")
            .i64(0, 0) == 3);

  // Retention deletes a closed incident's blocks with it, counting members.
  engine::StoreUnit f;
  incident(f, 1, 3, {});
  commit(*store, rows2, std::move(f));
  engine::PruneCutoffs cut;
  cut.incidents = kT0 + 1;
  auto pruned = store->prune(cut, rows2);
  CHECK(pruned[engine::kPrunedIncidents] == 1);
  CHECK(pruned[engine::kPrunedIncidentRows] == 5 + 1);  // 5 members in blocks, the row of seq 1
  CHECK(pg2.connection()
            .exec("SELECT count(*) FROM incident_alert_blocks WHERE incident = 1")
            .i64(0, 0) == 0);

  // A block that is not whole members: the state is refused, naming the incident.
  pg2.connection().exec(
      "UPDATE incident_alert_blocks SET members = '\\x0102' WHERE incident = 2 AND seq = 3");
  CHECK_THROWS_WITH(store->loadState(), Catch::Contains("incident 2 has a block of 2 bytes"));
  store.reset();
  fs::remove_all(dir);
}
