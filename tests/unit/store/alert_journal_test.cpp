// The SQLite backend's alert journal (sqlite_writer.cpp): changes to stored alerts appended
// instead of updated in place, folded into the alerts table at a bound, before retention, at
// stop and at open, with the same result as updates in place.
#include <catch2/catch.hpp>

#include "store_test_support.h"

using namespace triaged;
using namespace triaged::store_tests;
namespace fs = std::filesystem;

namespace {

constexpr int kAlerts = 100;  // a single change is then far below a sixteenth of the rows

engine::AlertRecord alertNumber(int k) {
  engine::AlertRecord a;
  a.fingerprint = 1000 + static_cast<uint64_t>(k);
  a.first_seen_ms = a.last_seen_ms = a.time_ms = a.changed_ms = kT0;
  a.count = 1;
  a.strings = std::string("\x01\x02\x00\x03strings", 11);
  return a;
}

// A number read by SQL on the store's own connection.
int64_t scalar(engine::SqliteStore& s, const char* sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(s.handle(), sql, -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

void commitOne(engine::SqliteStore& s, engine::AlertRowIds& rows, engine::StoreUnit u) {
  std::vector<engine::StoreUnit*> one{&u};
  s.commit(one, rows);
}

// The changes of a day to alerts 1 and 2, one unit a commit: a change without strings,
// counters after it, a counter before a change that resolves, a counter of a resolved alert
// (its time stays), a change with new strings.
std::vector<engine::StoreUnit> changes() {
  std::vector<engine::StoreUnit> v(6);
  engine::AlertRecord a = alertNumber(1), b = alertNumber(2);
  engine::AlertRecord c = a;
  c.strings.clear();
  c.count = 3;
  c.last_seen_ms = kT0 + 5;
  c.changed_ms = 0;
  c.severity = Severity::kCritical;
  v[0].alerts.push_back(c);
  v[1].counters.push_back({a.fingerprint, 7, kT0 + 9, kT0 + 9});
  v[1].counters.push_back({b.fingerprint, 2, kT0 + 3, kT0 + 3});
  v[2].counters.push_back({b.fingerprint, 9, kT0 + 20, kT0 + 20});
  engine::AlertRecord d = b;
  d.strings.clear();
  d.count = 4;
  d.time_ms = kT0 + 15;
  d.changed_ms = kT0 + 15;
  d.status = Status::kResolved;
  v[2].alerts.push_back(d);
  v[3].counters.push_back({b.fingerprint, 12, kT0 + 30, kT0 + 30});  // resolved: time stays
  v[3].counters.push_back({a.fingerprint, 6, kT0 + 6, kT0 + 6});     // older: maxima stay
  engine::AlertRecord e = a;
  e.strings = std::string("\x01\x02\x00\x03changed!!", 13);
  e.count = 8;
  e.last_seen_ms = kT0 + 40;
  e.changed_ms = kT0 + 40;
  e.severity = Severity::kMinor;
  v[4].alerts.push_back(e);
  engine::AlertRecord f = e;  // a change without strings after one with: they stay
  f.strings.clear();
  f.count = 9;
  f.changed_ms = 0;
  f.time_ms = kT0 + 45;
  v[5].alerts.push_back(f);
  engine::AlertRecord g = alertNumber(4);  // a change that leaves it firing, then a counter
  g.strings.clear();
  g.count = 2;
  g.time_ms = g.changed_ms = g.last_seen_ms = kT0 + 50;
  v[5].alerts.push_back(g);
  v[5].counters.push_back({g.fingerprint, 3, kT0 + 60, kT0 + 60});
  return v;
}

std::string describe(const engine::StoredState& st) {
  std::string out;
  for (const auto& a : st.alerts)
    out += std::to_string(a.fingerprint) + " " + std::to_string(a.count) + " " +
           std::to_string(a.last_seen_ms - kT0) + " " + std::to_string(a.time_ms - kT0) + " " +
           std::to_string(a.changed_ms - kT0) + " " + std::to_string(int(a.severity)) + " " +
           std::to_string(int(a.status)) + " " + std::to_string(a.strings.size()) + "\n";
  return out;
}

enum class Fold { kAtOpen, kAtStop, kBeforeManyChanges, kAtBound, kInChunksOfThree };

// The alerts after kAlerts new ones and changes(), with the journal folded as `how` says.
// `journaled`: the entries the journal held after changes().
std::string storedAfter(Fold how, int64_t& journaled) {
  fs::path dir = tempDir("journal");
  engine::SqliteStore::Options o;
  o.fold_min_entries = 16;  // the bound is then the number of rows (kAlerts)
  if (how == Fold::kInChunksOfThree) o.fold_chunk_entries = 3;  // folded at open, in 3 reads
  {
    engine::SqliteStore s(dir.string(), o);
    engine::AlertRowIds rows;
    s.loadAlertRows(rows);
    engine::StoreUnit fresh;
    for (int k = 1; k <= kAlerts; ++k) fresh.alerts.push_back(alertNumber(k));
    commitOne(s, rows, std::move(fresh));
    for (auto& u : changes()) commitOne(s, rows, std::move(u));
    journaled = scalar(s, "SELECT count(*) FROM alert_journal");
    // Still as first stored in its row: the changes are only in the journal.
    CHECK(scalar(s, "SELECT count FROM alerts WHERE fingerprint=1001") == 1);
    if (how == Fold::kAtBound) {
      // Counters of alert 3, one a commit, until the journal holds as many entries as there
      // are rows: that commit folds it.
      for (int64_t k = 1; journaled + k <= kAlerts; ++k) {
        CHECK(scalar(s, "SELECT count(*) FROM alert_journal") == journaled + k - 1);
        engine::StoreUnit u;
        u.counters.push_back({1003, static_cast<uint64_t>(k), kT0 + k, kT0 + k});
        commitOne(s, rows, std::move(u));
      }
      CHECK(scalar(s, "SELECT count(*) FROM alert_journal") == 0);
      CHECK(scalar(s, "SELECT count FROM alerts WHERE fingerprint=1001") == 9);
    }
    if (how == Fold::kBeforeManyChanges) {
      // Changes to a sixteenth of the rows or more update in place, after the fold.
      engine::StoreUnit many;
      for (int k = 50; k < 50 + kAlerts / 16 + 1; ++k) {
        auto a = alertNumber(k);
        a.strings.clear();
        a.count = 2;
        many.alerts.push_back(a);
      }
      commitOne(s, rows, std::move(many));
      CHECK(scalar(s, "SELECT count(*) FROM alert_journal") == 0);
      CHECK(scalar(s, "SELECT count FROM alerts WHERE fingerprint=1050") == 2);
      CHECK(scalar(s, "SELECT count FROM alerts WHERE fingerprint=1001") == 9);
    }
    if (how == Fold::kAtStop) {
      s.flush();
      CHECK(scalar(s, "SELECT count(*) FROM alert_journal") == 0);
    }
  }
  engine::SqliteStore again(dir.string(), o);  // folds what is left (Fold::kAtOpen)
  CHECK(scalar(again, "SELECT count(*) FROM alert_journal") == 0);
  std::string out = describe(again.loadState());
  fs::remove_all(dir);
  return out;
}

}  // namespace

TEST_CASE("Changes to stored alerts are journaled, and folded to what updates in place give",
          "[store]") {
  for (Fold how : {Fold::kAtOpen, Fold::kAtStop, Fold::kBeforeManyChanges, Fold::kAtBound,
                   Fold::kInChunksOfThree}) {
    int64_t journaled = 0;
    std::string out = storedAfter(how, journaled);
    INFO("fold " << static_cast<int>(how) << ":\n" << out);
    CHECK(journaled == 11);  // five changes and six counters of alerts 1, 2 and 4
    // What the changes say, as updates in place give it: the maxima of count and last seen,
    // the time of a firing alert moved by each counter (also an older one), that of a
    // resolved alert kept, strings kept by a change without any.
    CHECK(out.find("1001 9 40 45 40 3 0 13\n") != std::string::npos);
    CHECK(out.find("1002 12 30 15 15 2 1 11\n") != std::string::npos);
    CHECK(out.find("1004 3 60 60 50 2 0 11\n") != std::string::npos);
    CHECK(out.find(how == Fold::kAtBound ? "1003 89 89 89 0 2 0 11\n" : "1003 1 0 0 0 2 0 11\n") !=
          std::string::npos);
    if (how == Fold::kBeforeManyChanges)
      CHECK(out.find("1050 2 0 0 0 2 0 11\n") != std::string::npos);
  }
}

TEST_CASE("Retention folds the journal first: an alert firing again in it is not pruned",
          "[store]") {
  fs::path dir = tempDir("journal-prune");
  engine::SqliteStore::Options o;
  o.fold_min_entries = 1'000'000;
  engine::SqliteStore s(dir.string(), o);
  engine::AlertRowIds rows;
  s.loadAlertRows(rows);
  engine::StoreUnit fresh;
  for (int k = 1; k <= kAlerts; ++k) {
    auto a = alertNumber(k);
    a.status = Status::kResolved;  // resolved at kT0, in their rows
    fresh.alerts.push_back(a);
  }
  commitOne(s, rows, std::move(fresh));
  engine::StoreUnit refire;
  auto a = alertNumber(1);
  a.strings.clear();
  a.time_ms = a.changed_ms = a.last_seen_ms = kT0 + 7'200'000;
  a.count = 2;
  refire.alerts.push_back(a);
  commitOne(s, rows, std::move(refire));
  REQUIRE(scalar(s, "SELECT count(*) FROM alert_journal") == 1);
  // Resolved alerts older than an hour before kT0 + 3h go: all but the one firing again.
  auto pruned = s.prune({kT0 + 3'600'000, 0, 0}, rows);
  CHECK(pruned[engine::kPrunedAlerts] == kAlerts - 1);
  CHECK(scalar(s, "SELECT count(*) FROM alert_journal") == 0);
  auto st = s.loadState();
  REQUIRE(st.alerts.size() == 1);
  CHECK(st.alerts[0].fingerprint == 1001);
  CHECK(st.alerts[0].status == Status::kFiring);
  CHECK(st.alerts[0].count == 2);
  CHECK(rows.find(1001) != 0);
  CHECK(rows.find(1002) == 0);
  fs::remove_all(dir);
}

TEST_CASE("The journal's entries are a gauge, back to 0 once folded", "[store]") {
  fs::path dir = tempDir("journal-gauge");
  engine::ManualClock clock(kT0);
  api::MetricsHub hub;
  engine::SqliteStore::Options o;
  o.fold_min_entries = 16;
  engine::SqliteStore store(dir.string(), o);
  engine::StoreWriterOptions wo;
  wo.prune_interval_ms = 3'600'000;
  engine::StoreWriter w(store, wo, clock, hub);
  w.start();
  engine::StoreUnit fresh;
  for (int k = 1; k <= kAlerts; ++k) fresh.alerts.push_back(alertNumber(k));
  w.submit(std::move(fresh));
  testing::drain(w);
  CHECK(testing::gauge(hub, "triaged_store_journal_entries") == 0);
  for (int k = 1; k <= 2; ++k) {
    engine::StoreUnit one;
    auto a = alertNumber(k);
    a.strings.clear();
    a.count = 2;
    one.alerts.push_back(a);
    w.submit(std::move(one));
    testing::drain(w);
    CHECK(testing::gauge(hub, "triaged_store_journal_entries") == k);
  }
  // Retention folds it first.
  clock.advance(3'600'000);
  testing::drain(w);
  testing::drain(w);
  CHECK(testing::gauge(hub, "triaged_store_journal_entries") == 0);
  w.stop();
  fs::remove_all(dir);
}
