// The store writer on a real SQLite file (and PostgreSQL where the suite runs there): group
// commit, completions after the commit, merge rules of rows, retention, outbox ids, schema
// upgrades, the lease of a standby, and start-up reading.
#include <catch2/catch.hpp>

#include "store_test_support.h"

using namespace triaged;
using namespace triaged::store_tests;
namespace fs = std::filesystem;

TEST_CASE("Store writer commits before completing, merges rows, and prunes by retention",
          "[store]") {
  fs::path dir = tempDir("store");
  engine::ManualClock clock(kT0);
  api::MetricsHub hub;
  auto strings = [](const char* resource) { return packedStrings(resource); };
  {
    auto store = testing::openStore(dir);
    engine::StoreWriterOptions o;
    o.alert_retention_ms = 3'600'000;
    o.incident_retention_ms = 86'400'000;
    o.prune_interval_ms = 0;  // every round
    engine::StoreWriter w(*store, o, clock, hub);
    w.start();
    std::mutex mu;
    std::vector<int> order;
    engine::StoreUnit u;
    engine::AlertRecord fresh;
    fresh.fingerprint = 0xfedcba9876543210ULL;  // above INT64_MAX: stored as the same bits
    fresh.first_seen_ms = fresh.last_seen_ms = kT0;
    fresh.count = 1;
    fresh.strings = strings("web1");
    u.alerts.push_back(fresh);
    engine::AlertRecord old = fresh;
    old.fingerprint = 7;
    old.status = Status::kResolved;
    old.time_ms = kT0 - 7'200'000;  // resolved two hours ago: past retention
    u.alerts.push_back(old);
    u.addIncident(1, static_cast<int>(IncidentStatus::kClosed), kT0 - 2 * 86'400'000LL, "{}",
                  {{0, 11, 0}}, {{0, kT0, "triaged", "opened", "", 0}});
    u.addIncident(2, static_cast<int>(IncidentStatus::kOpen), kT0 - 2 * 86'400'000LL, "{}",
                  {{0, 21, 0}, {1, 22, 2}}, {{0, kT0, "triaged", "opened", "", 0}});
    u.meta.emplace_back("next_incident", "3");
    // Threshold windows: one kept (hash above INT64_MAX), one written and then deleted.
    u.windows.push_back(
        {0xfedcba9876543210ULL, "flaps", engine::encodeWindow({{kT0, 11}, {kT0 + 1, 12}})});
    u.windows.push_back({5, "flaps", engine::encodeWindow({{kT0, 13}})});
    u.sequences.push_back(
        {0xfedcba9876543210ULL, "backup", "resource=nas1", 21, kT0, true, strings("nas1")});
    u.sequences.push_back({6, "backup", "resource=nas2", 22, kT0, false, ""});
    u.sequences.push_back({7, "backup", "resource=nas3", 23, kT0, true, strings("nas3")});
    u.committed.push_back([&] {
      std::lock_guard l(mu);
      order.push_back(1);
    });
    w.submit(std::move(u));
    // A later change without strings keeps the stored ones; counters never go back.
    engine::StoreUnit v;
    engine::AlertRecord change = fresh;
    change.strings.clear();
    change.status = Status::kResolved;
    change.count = 5;
    change.time_ms = kT0;
    v.alerts.push_back(change);
    v.counters.push_back({fresh.fingerprint, 3, kT0 - 1, kT0});
    v.windows.push_back({5, "", ""});
    v.sequences.push_back({7, "", "", 0, 0, false, ""});
    v.committed.push_back([&] {
      std::lock_guard l(mu);
      order.push_back(2);
    });
    w.submit(std::move(v));
    w.barrier([] {});
    w.barrier([] {});  // the round after a prune
    w.stop();
    CHECK(order == std::vector<int>{1, 2});
    CHECK(w.commits() >= 1);
  }
  auto store = testing::openStore(dir);
  auto st = engine::loadState(*store);
  REQUIRE(st.alerts.size() == 1);  // the old resolved one was pruned
  CHECK(st.alerts[0].fingerprint == 0xfedcba9876543210ULL);
  CHECK(st.alerts[0].strings == strings("web1"));
  CHECK(st.alerts[0].count == 5);
  CHECK(st.alerts[0].status == Status::kResolved);
  REQUIRE(st.incidents.size() == 1);  // the closed one past retention is gone, the open one stays
  CHECK(st.incidents[0].alerts.size() == 2);
  CHECK(st.incidents[0].timeline.size() == 1);
  CHECK(st.next_incident == 3);
  REQUIRE(st.windows.size() == 1);
  CHECK(st.windows[0].hash == 0xfedcba9876543210ULL);
  CHECK(st.windows[0].rule == "flaps");
  CHECK(engine::decodeWindow(st.windows[0].seen) ==
        std::vector<std::pair<int64_t, uint64_t>>{{kT0, 11}, {kT0 + 1, 12}});
  CHECK_THROWS_WITH(engine::decodeWindow("1,2,3"), Catch::Contains("time without a fingerprint"));
  REQUIRE(st.sequences.size() == 2);  // by hash as stored (signed): the large one first
  CHECK(st.sequences[0].hash == 0xfedcba9876543210ULL);
  CHECK(st.sequences[0].key == "resource=nas1");
  CHECK(st.sequences[0].first == 21);
  CHECK(st.sequences[0].at == kT0);
  CHECK(st.sequences[0].active);
  CHECK(st.sequences[0].strings == strings("nas1"));
  CHECK(st.sequences[1].hash == 6);
  CHECK(!st.sequences[1].active);
  CHECK(st.sequences[1].strings.empty());
  fs::remove_all(dir);
}

TEST_CASE("Units committed in one group store what they store committed one by one", "[store]") {
  // The postgresql backend folds a group's rows per key before it writes them; SQLite writes
  // them in order. Either way the result must be that of the units one after the other.
  auto units = [] {
    std::vector<engine::StoreUnit> v(4);
    engine::AlertRecord a;
    a.fingerprint = 0xfedcba9876543210ULL;
    a.first_seen_ms = a.last_seen_ms = a.time_ms = kT0;
    a.count = 1;
    a.strings = std::string("\x01\x02\x00\x03strings", 11);
    v[0].alerts.push_back(a);
    engine::AlertRecord b = a;
    b.fingerprint = 42;
    v[0].alerts.push_back(b);
    v[0].windows.push_back({5, "flaps", engine::encodeWindow({{kT0, 13}})});
    v[0].meta.emplace_back("next_incident", "2");
    v[0].addIncident(1, 0, kT0, "{\"v\":1}", {{0, 42, 0}},
                     {{0, kT0, "triaged", "opened", "caf\xc3\xa9", 0}});
    v[0].sla.gaps.emplace_back(kT0, kT0 + 10);
    // A change without strings, then counters after it (the firing alert's time moves).
    engine::AlertRecord c = a;
    c.strings.clear();
    c.count = 3;
    c.last_seen_ms = kT0 + 5;
    c.changed_ms = 0;
    c.severity = Severity::kCritical;
    v[1].alerts.push_back(c);
    v[1].counters.push_back({a.fingerprint, 7, kT0 + 9, kT0 + 9});
    v[1].counters.push_back({b.fingerprint, 2, kT0 + 3, kT0 + 3});
    v[1].windows.push_back({5, "", ""});  // deleted
    v[1].addIncident(1, 1, kT0 + 1, "{\"v\":2}", {{1, 7, 2}},
                     {{0, kT0 + 1, "alice", "edited", "in place", 0}});
    v[1].sla.gaps.emplace_back(kT0, kT0 + 5);  // never shortens
    // A counter before a change of the same alert: the maxima stay, the change sets the time.
    v[2].counters.push_back({b.fingerprint, 9, kT0 + 20, kT0 + 20});
    engine::AlertRecord d = b;
    d.strings.clear();
    d.count = 4;
    d.time_ms = kT0 + 15;
    d.status = Status::kResolved;
    v[2].alerts.push_back(d);
    v[2].windows.push_back({5, "flaps", engine::encodeWindow({{kT0 + 2, 14}})});  // again
    // Only a timeline entry rewritten in place (an alert's flips): the record stays.
    v[2].addIncident(1, 0, kT0 + 2, "", {},
                     {{0, kT0 + 2, "triaged", "alert flapped", "in place again", 0}});
    v[2].meta.emplace_back("next_incident", "3");
    // Counters of an alert stored only by a later unit are not written (the SQLite backend
    // writes a group's alert rows in row order, not in the units' order).
    v[0].counters.push_back({99, 50, kT0 + 50, kT0 + 50});
    engine::AlertRecord late = a;
    late.fingerprint = 99;
    v[3].alerts.push_back(late);
    v[3].counters.push_back({a.fingerprint, 6, kT0 + 6, kT0 + 6});  // after unit 1's, older
    v[3].sequences.push_back({9, "backup", "k", 1, kT0, true, "s"});
    v[3].sequences.push_back({9, "", "", 0, 0, false, ""});
    // Text PostgreSQL cannot hold (NUL, invalid UTF-8) is stored, not refused.
    v[3].addIncident(2, 0, kT0, "{}", {}, {{0, kT0, "x", "y", std::string("a\0b\xff", 4), 0}});
    return v;
  };
  auto stored = [&](bool together) {
    fs::path dir = tempDir(together ? "fold-together" : "fold-apart");
    {
      auto store = testing::openStore(dir);
      engine::AlertRowIds rows;
      store->loadAlertRows(rows);
      auto v = units();
      if (together) {
        std::vector<engine::StoreUnit*> all;
        for (auto& u : v) all.push_back(&u);
        store->commit(all, rows);
      } else {
        for (auto& u : v) {
          std::vector<engine::StoreUnit*> one{&u};
          store->commit(one, rows);
        }
      }
    }
    auto st = testing::openStore(dir)->loadState();
    std::string out;
    for (const auto& a : st.alerts)
      out += std::to_string(a.fingerprint) + " " + std::to_string(a.count) + " " +
             std::to_string(a.last_seen_ms - kT0) + " " + std::to_string(a.time_ms - kT0) + " " +
             std::to_string(a.changed_ms - kT0) + " " + std::to_string(int(a.severity)) + " " +
             std::to_string(int(a.status)) + " " + std::to_string(a.strings.size()) + "\n";
    for (const auto& i : st.incidents) {
      out += i.record + "\n";
      for (const auto& m : i.alerts) out += "m " + std::to_string(m.fingerprint) + "\n";
      for (const auto& t : i.timeline) out += "t " + t.actor + " " + t.detail + "\n";
    }
    for (const auto& w : st.windows) out += "w " + std::to_string(w.hash) + " " + w.seen + "\n";
    out += "seq " + std::to_string(st.sequences.size()) + "\n";
    out += "next " + std::to_string(st.next_incident) + "\n";
    for (auto [a, b] : st.sla.gaps) out += "gap " + std::to_string(b - a) + "\n";
    fs::remove_all(dir);
    return out;
  };
  std::string apart = stored(false);
  INFO(apart);
  CHECK(stored(true) == apart);
  // What the units say, spelled out (strings kept by the change without any; counters).
  CHECK(apart.find("18364758544493064720 7 9 6 0 5 0 11\n") != std::string::npos);
  CHECK(apart.find("42 9 20 15 0 2 1 11\n") != std::string::npos);
  CHECK(apart.find("99 1 0 0 0 2 0 11\n") != std::string::npos);
  CHECK(apart.find("{\"v\":2}\nm 42\nm 7\nt triaged in place again\n") != std::string::npos);
  CHECK(apart.find("gap 10\n") != std::string::npos);
  CHECK(apart.find("next 3\n") != std::string::npos);
  CHECK(apart.find("seq 0\n") != std::string::npos);
  // SQLite keeps the bytes; PostgreSQL's text keeps U+FFFD in their place.
  CHECK(apart.find(testing::onPostgres() ? "t x a\xEF\xBF\xBD"
                                           "b\xEF\xBF\xBD\n"
                                         : std::string("t x a\0b\xff\n", 9)) != std::string::npos);
}

TEST_CASE("A fenced commit writes nothing and says so (postgresql)", "[store]") {
  if (!testing::onPostgres()) return;  // the lease is PostgreSQL's (store.postgresql runs it)
  fs::path dir = tempDir("fenced");
  auto store = testing::openStore(dir);
  auto& pg = dynamic_cast<engine::PostgresStore&>(*store);
  pg.connection().exec(engine::Lease::tableSql());
  pg.connection().exec(
      "INSERT INTO ha_lease VALUES (1, 'a', 'http://a', 1, now() + interval '1 minute')");
  int fenced = 0;
  pg.fence(1, [&] { ++fenced; });
  engine::AlertRowIds rows;
  engine::StoreUnit u;
  u.meta.emplace_back("k", "1");
  std::vector<engine::StoreUnit*> one{&u};
  store->commit(one, rows);  // epoch 1 is the lease's: written
  pg.connection().exec("UPDATE ha_lease SET epoch = 2, node = 'b'");  // b took over
  engine::StoreUnit v;
  v.meta.emplace_back("k", "2");
  std::vector<engine::StoreUnit*> two{&v};
  CHECK_THROWS_WITH(store->commit(two, rows), Catch::Contains("fenced"));
  CHECK(fenced == 1);
  CHECK(pg.connection().exec("SELECT value FROM meta WHERE key = 'k'").str(0, 0) == "1");
  fs::remove_all(dir);
}

// The postgresql backend sends a group's last statements and COMMIT in one round trip: one of
// them failing must leave nothing of the group (rows copied before it included), and the same
// group committed again stores all of it.

TEST_CASE("A statement failing beside COMMIT stores nothing of the group (postgresql)", "[store]") {
  if (!testing::onPostgres()) return;
  fs::path dir = tempDir("tail-fails");
  auto store = testing::openStore(dir);
  auto& pg = dynamic_cast<engine::PostgresStore&>(*store);
  engine::AlertRowIds rows;
  store->loadAlertRows(rows);
  auto unit = [](uint64_t fp, const char* k) {
    engine::StoreUnit u;
    engine::AlertRecord a;
    a.fingerprint = fp;
    a.first_seen_ms = a.last_seen_ms = a.time_ms = kT0;
    a.count = 1;
    u.alerts.push_back(a);
    u.addIncident(fp, 0, kT0, "{}", {{0, fp, 0}}, {{0, kT0, "triaged", "opened", "", 0}});
    u.meta.emplace_back("k", k);
    return u;
  };
  auto count = [&](const char* table) {
    return pg.connection().exec(std::string("SELECT count(*) FROM ") + table).i64(0, 0);
  };
  auto a = unit(1, "1");
  std::vector<engine::StoreUnit*> one{&a};
  rows.begin();
  store->commit(one, rows);
  // The commit sequence row can no longer change: the group's last statement fails.
  pg.connection().exec(
      "ALTER TABLE meta ADD CONSTRAINT frozen CHECK (key <> 'commit_seq') NOT VALID");
  auto b = unit(2, "2");
  std::vector<engine::StoreUnit*> two{&b};
  rows.begin();
  CHECK_THROWS_WITH(store->commit(two, rows), Catch::Contains("frozen"));
  rows.rollback();  // as the writer does
  CHECK(count("alerts") == 1);
  CHECK(count("incidents") == 1);
  CHECK(count("incident_alert_blocks") == 1);
  CHECK(count("incident_timeline") == 1);
  CHECK(pg.connection().exec("SELECT value FROM meta WHERE key = 'k'").str(0, 0) == "1");
  pg.connection().exec("ALTER TABLE meta DROP CONSTRAINT frozen");
  rows.begin();
  store->commit(two, rows);
  CHECK(count("alerts") == 2);
  CHECK(count("incidents") == 2);
  CHECK(count("incident_alert_blocks") == 2);
  CHECK(count("incident_timeline") == 2);
  CHECK(pg.connection().exec("SELECT value FROM meta WHERE key = 'k'").str(0, 0) == "2");
  fs::remove_all(dir);
}

// A stage of a few rows goes in as SQL literals with the merges, a larger one with COPY: the
// same bytes either way, whatever the text holds.

TEST_CASE("Text is stored the same inline and copied (postgresql)", "[store]") {
  if (!testing::onPostgres()) return;
  fs::path dir = tempDir("inline-copy");
  auto store = testing::openStore(dir);
  auto& pg = dynamic_cast<engine::PostgresStore&>(*store);
  engine::AlertRowIds rows;
  const char raw[] = "it's '' \\N \\\\x41 \\n\t|\n|\r|\x01|caf\xc3\xa9|\xff|\0|$$";
  const std::string nasty(raw, sizeof raw - 1);
  const std::string stored =
      "it's '' \\N \\\\x41 \\n\t|\n|\r|\x01|caf\xc3\xa9|\xEF\xBF\xBD|\xEF\xBF\xBD|$$";
  engine::StoreUnit few, many;
  few.records.push_back({"k", "few", 0, nasty});
  few.records.push_back({"k", "\\N", 0, ""});  // the text \N, and an empty text: not NULL
  for (int i = 0; i < 40; ++i) many.records.push_back({"k", "many" + std::to_string(i), 0, nasty});
  many.records.push_back({"k", "\\N2", 0, ""});
  for (auto* u : {&few, &many}) {
    std::vector<engine::StoreUnit*> one{u};
    store->commit(one, rows);
  }
  auto r = pg.connection().exec("SELECT id, record FROM records ORDER BY id");
  REQUIRE(r.rows() == 43);
  for (int k = 0; k < r.rows(); ++k) {
    INFO(r.str(k, 0));
    if (r.str(k, 0).rfind("\\N", 0) == 0)
      CHECK(r.str(k, 1).empty());
    else
      CHECK(r.str(k, 1) == stored);
  }
  CHECK(pg.connection().exec("SELECT count(*) FROM records WHERE record IS NULL").i64(0, 0) == 0);
  fs::remove_all(dir);
}

TEST_CASE("A standby tries for the lease again just after it expires, not a renewal later",
          "[store]") {
  using std::chrono::milliseconds;
  engine::LeaseHolder h;
  h.live = true;
  h.remaining_ms = 5'000;
  CHECK(engine::nextLeaseAttempt(h, milliseconds(2'000)) == milliseconds(2'000));
  h.remaining_ms = 300;  // expires before the next renewal-interval attempt: just after it
  CHECK(engine::nextLeaseAttempt(h, milliseconds(2'000)) == milliseconds(301));
  h.remaining_ms = 0;
  CHECK(engine::nextLeaseAttempt(h, milliseconds(2'000)) == milliseconds(10));
  h.live = false;
  CHECK(engine::nextLeaseAttempt(h, milliseconds(2'000)) == milliseconds(10));
  if (!testing::onPostgres()) return;
  // What the database says is left of another node's lease.
  fs::path dir = tempDir("lease-left");
  auto store = testing::openStore(dir);
  auto& pg = dynamic_cast<engine::PostgresStore&>(*store);
  pg.connection().exec(engine::Lease::tableSql());
  pg.connection().exec("DELETE FROM ha_lease");
  pg.connection().exec(
      "INSERT INTO ha_lease VALUES (1, 'a', 'http://a', 1, clock_timestamp() + interval '1 "
      "minute')");
  engine::Lease b(testing::postgresConfig(dir), "b", "http://b", std::chrono::seconds(5));
  engine::LeaseHolder held;
  CHECK(b.tryAcquire(held) == 0);
  CHECK(held.node == "a");
  CHECK(held.live);
  CHECK(held.remaining_ms > 50'000);
  CHECK(held.remaining_ms <= 60'000);
  pg.connection().exec("UPDATE ha_lease SET expires_at = clock_timestamp() - interval '1 second'");
  CHECK(b.tryAcquire(held) == 2);  // expired: taken, the epoch raised
  fs::remove_all(dir);
}

// At start-up the postgresql backend reads the alerts table on a second connection in the
// same snapshot; where no second connection is allowed it reads it on its own, with the same
// result. (A role limited to one connection; superusers are never limited.)

TEST_CASE("Start-up reading gives the same state with or without a second connection (postgresql)",
          "[store]") {
  if (!testing::onPostgres()) return;
  std::string base = std::getenv("TRIAGED_TEST_PG");
  {
    engine::pg::Connection admin(base + " dbname=postgres", "", std::chrono::seconds(5));
    admin.exec("DROP DATABASE IF EXISTS t_one_connection");
    admin.exec("DROP ROLE IF EXISTS one_connection");
    admin.exec("CREATE ROLE one_connection LOGIN CONNECTION LIMIT 1");
    admin.exec("CREATE DATABASE t_one_connection OWNER one_connection");
  }
  auto fill = [](engine::Store& store) {
    engine::StoreUnit u;
    for (uint64_t fp = 1; fp <= 3; ++fp) {
      engine::AlertRecord a;
      a.fingerprint = fp << 62 | fp;  // above INT64_MAX too: the same bits come back
      a.first_seen_ms = a.last_seen_ms = kT0 + static_cast<int64_t>(fp);
      a.count = fp;
      a.strings = packedStrings("web" + std::to_string(fp));
      u.alerts.push_back(a);
    }
    u.addIncident(1, static_cast<int>(IncidentStatus::kOpen), kT0, "{}", {{0, 1, 0}},
                  {{0, kT0, "triaged", "opened", "", 0}});
    std::vector<engine::StoreUnit*> one{&u};
    engine::AlertRowIds rows;
    store.commit(one, rows);
  };
  auto fingerprints = [](const engine::StoredState& st) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (const auto& a : st.alerts) out.emplace_back(a.fingerprint, a.count);
    return out;
  };
  config::PostgresConfig lone;
  lone.url = base + " dbname=t_one_connection user=one_connection";
  engine::PostgresStore alone(lone);
  // No second connection for this role while the store holds its one.
  CHECK_THROWS(engine::pg::Connection(lone.url, "", std::chrono::seconds(5)));
  fill(alone);
  auto read_alone = alone.loadState();
  auto store = testing::openStore(tempDir("two-connections"));
  fill(*store);
  auto read_beside = store->loadState();
  std::vector<std::pair<uint64_t, uint64_t>> want{
      {1ULL << 62 | 1, 1}, {2ULL << 62 | 2, 2}, {3ULL << 62 | 3, 3}};
  CHECK(fingerprints(read_alone) == want);
  CHECK(fingerprints(read_beside) == want);
  CHECK(read_alone.alerts[2].strings == packedStrings("web3"));
  CHECK(read_beside.alerts[2].strings == packedStrings("web3"));
  REQUIRE(read_alone.incidents.size() == 1);
  CHECK(read_beside.incidents.size() == 1);
}

TEST_CASE(
    "A writer started with the row ids start-up read updates stored alerts in place, and commits "
    "what was submitted before it started",
    "[store]") {
  fs::path dir = tempDir("adopted-rows");
  engine::ManualClock clock(kT0);
  api::MetricsHub hub;
  auto alert = [](uint64_t fp, uint64_t count) {
    engine::AlertRecord a;
    a.fingerprint = fp;
    a.first_seen_ms = a.last_seen_ms = kT0;
    a.count = count;
    a.strings = packedStrings("web" + std::to_string(count));
    return a;
  };
  auto run = [&](std::vector<engine::AlertRecord> alerts, bool adopt) {
    auto store = testing::openStore(dir);
    engine::StoreWriter w(*store, {}, clock, hub);
    engine::StoreUnit u;
    u.alerts = std::move(alerts);
    if (adopt) {  // as the daemon starts: recovery reads and submits, then the writer starts
      w.holdUntilStarted();
      auto rows = engine::loadState(*store).alert_rows;
      w.submit(std::move(u));  // waits in the queue for start()
      w.adoptRows(std::move(rows));
      w.start();
    } else {
      w.start();
      w.submit(std::move(u));
    }
    w.stop();
  };
  const uint64_t big = 0xfedcba9876543210ULL;  // above INT64_MAX: the same bits come back
  run({alert(7, 1), alert(big, 2)}, false);
  auto rows = [&] {
    auto store = testing::openStore(dir);
    return engine::loadState(*store).alert_rows;
  };
  using Rows = std::vector<std::pair<uint64_t, int64_t>>;
  REQUIRE(rows() == Rows{{7, 1}, {big, 2}});
  // Adopted: the stored alert is updated in its row, the new one appended.
  run({alert(big, 9), alert(8, 3)}, true);
  REQUIRE(rows() == Rows{{7, 1}, {big, 2}, {8, 3}});
  auto store = testing::openStore(dir);
  auto st = engine::loadState(*store);
  REQUIRE(st.alerts.size() == 3);
  CHECK(st.alerts[1].fingerprint == big);
  CHECK(st.alerts[1].count == 9);
  CHECK(st.alerts[1].strings == packedStrings("web9"));
  store.reset();
  fs::remove_all(dir);
}

TEST_CASE("Outbox ids never come back, even after every entry was delivered and across a restart",
          "[store]") {
  fs::path dir = tempDir("outbox-ids");
  engine::ManualClock clock(kT0);
  api::MetricsHub hub;
  std::vector<uint64_t> ids;
  auto round = [&](engine::StoreWriter& w) {
    std::promise<void> committed;
    engine::StoreUnit u;
    engine::OutboxEntry e;
    e.target = "hook";
    e.subject = "incident 1";
    e.event = "incident.opened";
    e.body = "{}";
    u.outbox.push_back(e);
    w.submit(std::move(u));
    w.barrier([&] { committed.set_value(); });
    REQUIRE(committed.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    engine::StoreUnit done;
    done.outbox_done.push_back(ids.back());  // delivered: the table is empty again
    w.submit(std::move(done));
  };
  for (int restart = 0; restart < 2; ++restart) {
    auto store = testing::openStore(dir);
    CHECK(store->schemaVersion() == engine::latestSchemaVersion());
    engine::StoreWriter w(*store, {}, clock, hub);
    w.onOutbox([&](std::vector<engine::OutboxEntry> v) {
      for (auto& e : v) ids.push_back(e.id);
    });
    w.start();
    round(w);
    round(w);
    w.stop();
  }
  REQUIRE(ids.size() == 4);
  CHECK(ids == std::vector<uint64_t>{1, 2, 3, 4});  // each Idempotency-Key used once
  fs::remove_all(dir);
}

TEST_CASE("Schema 6 keeps the pending outbox of a schema 5 database and continues its ids",
          "[store][sqlite]") {
  fs::path dir = tempDir("outbox-v5");
  {
    engine::SqliteStore store(dir.string());
    // The outbox as schema 5 had it (a plain rowid table), with entries 1..3 pending.
    const char* v5 =
        "DROP TABLE threshold_windows; DROP TABLE sequence_states;"  // schema 7's
        "DROP TABLE records;"                                        // schema 8's
        "DROP TABLE alert_journal;"                                  // schema 11's
        "DROP TABLE outbox;"
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY, target TEXT NOT NULL, created_ms INTEGER NOT "
        "NULL,"
        " subject TEXT NOT NULL, event TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT "
        "NULL DEFAULT 0,"
        " dead INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');"
        "INSERT INTO outbox (id, target, created_ms, subject, event, body) VALUES"
        " (1, 'hook', 1, 'incident 1', 'incident.opened', '{}'), (2, 'hook', 2, 'incident 1', "
        "'incident.resolved', '{}'),"
        " (3, 'hook', 3, 'incident 2', 'incident.opened', '{}');"
        "PRAGMA user_version=5;";
    REQUIRE(sqlite3_exec(store.handle(), v5, nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  engine::SqliteStore store(dir.string());
  CHECK(store.schemaVersion() == engine::latestSchemaVersion());
  auto st = engine::loadState(store);
  REQUIRE(st.outbox.size() == 3);
  CHECK(st.outbox[1].event == "incident.resolved");
  // Every entry delivered, then a new one: id 4, not 1 again.
  REQUIRE(sqlite3_exec(store.handle(), "DELETE FROM outbox", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_exec(store.handle(),
                       "INSERT INTO outbox (target, created_ms, subject, event, body) VALUES "
                       "('hook', 4, 'incident 3', "
                       "'incident.opened', '{}')",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(sqlite3_last_insert_rowid(store.handle()) == 4);
  fs::remove_all(dir);
}
