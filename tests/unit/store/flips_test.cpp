// An alert's flips (resolved, fired again) in an open incident: one timeline entry that counts,
// updated in place in memory and in the store's rows, bounded in bytes, and the same after a
// restart.
#include <catch2/catch.hpp>

#include "store_test_support.h"

using namespace triaged;
using namespace triaged::store_tests;
namespace fs = std::filesystem;

TEST_CASE(
    "An alert's flips are one timeline entry, updated in place in memory, in the store's rows and "
    "after a restart",
    "[store]") {
  auto config = configWith(kRules, kNoFlapping);
  engine::ReplayEngine a(*config);
  engine::Incident* inc = openShop(a);
  const std::vector<std::pair<const char*, const char*>> shop = {{"team", "shop"}};
  // What the store took so far (as RoundRows does).
  auto takeRows = [&](engine::Incident& i) {
    auto rows = incidentRowsOf(a.correlator(), i, i.stored_alerts, i.stored_timeline).timeline;
    i.stored_alerts = static_cast<uint32_t>(i.alerts.size());
    i.stored_timeline = static_cast<uint32_t>(i.timeline.size());
    i.rewritten_entry = 0;
    i.edit().timeline_rewritten.clear();
    return rows;
  };
  takeRows(*inc);
  size_t entries = inc->timeline.size();
  int64_t now = kT0 + 60'000;
  push(a, now, "web1", "http", Status::kResolved, shop);
  REQUIRE(inc->timeline.size() == entries + 1);
  CHECK(std::string(inc->timeline.back().action) == "alert resolved");
  auto rows = takeRows(*inc);
  REQUIRE(rows.size() == 1);
  uint32_t seq = rows[0].seq;
  for (int i = 1; i < 10; ++i) {
    now += 60'000;
    push(a, now, "web1", "http", i % 2 ? Status::kFiring : Status::kResolved, shop);
  }
  // Ten state changes, one entry, rewritten in place: the store replaces its row.
  REQUIRE(inc->timeline.size() == entries + 1);
  const auto& e = inc->timeline[seq];
  CHECK(std::string(e.action) == "alert flapped");
  CHECK(e.detail == "10 state changes between " + api::formatRfc3339Ms(kT0 + 60'000) + " and " +
                        api::formatRfc3339Ms(now) + ", now firing major");
  rows = takeRows(*inc);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].seq == seq);
  CHECK(rows[0].action == "alert flapped");
  // Another alert's change is an entry of its own; the first one's count goes on after a
  // restart.
  push(a, now + 1000, "web2", "http", Status::kResolved, shop);
  CHECK(inc->timeline.size() == entries + 2);
  now += 2000;
  engine::ReplayEngine b(*config);
  restoreInto(a, b, now);
  REQUIRE(state(b.correlator(), now) == state(a.correlator(), now));
  for (auto* e2 : {&a, &b}) push(*e2, now + 1000, "web1", "http", Status::kResolved, shop);
  REQUIRE(state(b.correlator(), now) == state(a.correlator(), now));
  const auto* after = b.correlator().incident(1);
  REQUIRE(after->timeline.size() == entries + 2);
  CHECK(after->timeline[seq].detail.rfind("11 state changes between ", 0) == 0);
}

TEST_CASE(
    "A flip counted in a stored entry rewrites that entry's row, not the incident's record, and "
    "the incident's updated time comes back from the entry after a restart",
    "[store]") {
  // A fixed priority: a new peak severity changes nothing else of the record.
  auto config = configWith(std::string(kRules) + "        incident: {priority: 2}\n", kNoFlapping);
  fs::path dir = tempDir("flip-rows");
  engine::ReplayEngine a(*config);
  const std::vector<std::pair<const char*, const char*>> shop = {{"team", "shop"}};
  engine::AlertRowIds ids;
  engine::RoundRows rounds;
  // One store round, as the correlator stage runs it, committed to a real store.
  auto round = [&](engine::Store& store) {
    std::vector<uint64_t> dirty;
    std::vector<std::string> silences;
    a.correlator().takeDirty(dirty, silences);
    engine::StoreUnit u;
    rounds.collect(a.correlator(), dirty, silences, a.correlator().takeEvents(), &u);
    std::vector<TakenRow> taken;
    for (const auto& r : u.incidents) taken.push_back(takenRow(u, r));
    std::vector<engine::StoreUnit*> one{&u};
    store.commit(one, ids);
    return taken;
  };
  int64_t now = kT0 + 60'000;
  {
    auto store = testing::openStore(dir);
    store->loadAlertRows(ids);
    engine::Incident* inc = openShop(a);
    round(*store);
    push(a, now, "web1", "http", Status::kResolved, shop);  // its first flip: an entry
    auto u = round(*store);
    REQUIRE(u.size() == 1);
    CHECK_FALSE(u[0].record.empty());
    REQUIRE(u[0].timeline.size() == 1);
    uint32_t seq = u[0].timeline[0].seq;
    // Within the group interval (an update already pending): nothing but the entry changes.
    for (int i = 1; i < 6; ++i) {
      now += 1000;
      push(a, now, "web1", "http", i % 2 ? Status::kFiring : Status::kResolved, shop);
      CHECK_FALSE(inc->persist);  // the entry changed, not the record
      CHECK(inc->updated_ms == now);
      u = round(*store);
      REQUIRE(u.size() == 1);
      CHECK(u[0].record.empty());
      CHECK(u[0].alerts.empty());
      REQUIRE(u[0].timeline.size() == 1);
      CHECK(u[0].timeline[0].seq == seq);
      CHECK(u[0].timeline[0].detail.rfind(std::to_string(i + 1) + " state changes", 0) == 0);
    }
    CHECK(inc->rewritten_entry == 0);
    CHECK_FALSE(inc->hasExtra());  // tracking the rewrite took no IncidentExtra
    // A flip to a new peak severity: the peak is in the record, which is written with it.
    now += 1000;
    push(a, now, "web1", "http", Status::kFiring, shop, Severity::kCritical);
    u = round(*store);
    REQUIRE(u.size() == 1);
    REQUIRE_FALSE(u[0].record.empty());
    CHECK(engine::decodeIncident(u[0].record, {}, {}).incident.max_severity ==
          static_cast<int>(Severity::kCritical));
    REQUIRE(u[0].timeline.size() == 1);
    CHECK(u[0].timeline[0].seq == seq);
    for (Status st : {Status::kResolved, Status::kFiring}) {  // and again only the entry
      now += 1000;
      push(a, now, "web1", "http", st, shop, Severity::kCritical);
      u = round(*store);
      REQUIRE(u.size() == 1);
      CHECK(u[0].record.empty());
    }
  }
  // Read back: the record's updated time is the new peak's; the entry says the last flip.
  auto stored = testing::openStore(dir)->loadState();
  REQUIRE(stored.incidents.size() == 1);
  const auto& row = stored.incidents[0];
  CHECK(engine::decodeIncident(row.record, row.alerts, row.timeline).incident.updated_ms ==
        now - 2000);
  engine::ReplayEngine b(*config);
  restoreInto(a, b, now, &stored);
  const auto* after = b.correlator().incident(1);
  REQUIRE(after);
  CHECK(after->updated_ms == now);
  CHECK(state(b.correlator(), now) == state(a.correlator(), now));
  // And its flips go on counting in the same entry.
  for (auto* e : {&a, &b}) push(*e, now + 1000, "web1", "http", Status::kResolved, shop);
  CHECK(state(b.correlator(), now + 1000) == state(a.correlator(), now + 1000));
  fs::remove_all(dir);
}

TEST_CASE("An incident's timeline is bounded in bytes as well as in entries", "[store]") {
  auto config = configWith(kRules, R"(
correlation:
  timeline_max_bytes: 4096
)");
  engine::ReplayEngine a(*config);
  push(a, kT0, "web1", "http", Status::kFiring, {{"team", "shop"}});
  a.advance(kT0 + 30'000);
  std::string text(200, 'x');
  for (int i = 0; i < 100; ++i)
    REQUIRE(a.correlator().comment(1, text, "alice", kT0 + 31'000 + i).empty());
  const auto* inc = a.correlator().incident(1);
  size_t bytes = 0;
  for (const auto& e : inc->timeline) bytes += e.bytes();
  CHECK(bytes == inc->timeline_bytes);
  CHECK(bytes <= 4096);
  CHECK(bytes > 4096 - 400);
  CHECK(inc->timeline_dropped > 0);
  CHECK(inc->timeline.size() + inc->timeline_dropped >= 100);
}

TEST_CASE("A flapping alert's flips change its incident's state, not its stored record",
          "[store]") {
  auto config = configWith(kRules, R"(
correlation:
  resolve_hold_down: 5m
)");
  engine::ReplayEngine a(*config);
  engine::Incident* inc = openShop(a);
  const std::vector<std::pair<const char*, const char*>> shop = {{"team", "shop"}};
  int64_t now = kT0 + 60'000;
  bool firing = true;
  // Flip web1 until it flaps (Nagios: 20 % weighted changes of the last 21 observations).
  auto web1 = [&] {
    const engine::CorrAlert* found = nullptr;
    a.correlator().forEachAlert([&](const engine::CorrAlert& x) {
      engine::StringsCopy copy(x.strings);
      if (engine::AlertStrings(copy.data()).field(engine::AlertStrings::kResource) == "web1")
        found = &x;
    });
    return found;
  };
  for (int i = 0; i < 30 && !web1()->flapping; ++i) {
    now += 60'000;
    firing = !firing;
    push(a, now, "web1", "http", firing ? Status::kFiring : Status::kResolved, shop);
  }
  REQUIRE(web1()->flapping);
  size_t entries = inc->timeline.size();
  for (int i = 0; i < 4; ++i) {
    inc->persist = false;
    now += 60'000;
    firing = !firing;
    push(a, now, "web1", "http", firing ? Status::kFiring : Status::kResolved, shop);
    CHECK(inc->firing() == (firing ? 2u : 1u));  // the state follows every flip
    CHECK_FALSE(inc->persist);                   // but no incident row is written for it
    CHECK(inc->timeline.size() == entries);
  }
}

TEST_CASE(
    "An alert that resolves and fires again all day leaves its incident one hold-down timer, "
    "and the hold-down still runs from its last resolution",
    "[store]") {
  auto config = configWith(kRules, kNoFlapping);
  engine::ReplayEngine a(*config);
  std::vector<std::pair<const char*, const char*>> shop = {{"team", "shop"}};
  push(a, kT0, "web1", "http", Status::kFiring, shop);
  a.advance(kT0 + 30'000);
  size_t timers = a.correlator().timerCount();
  int64_t now = kT0 + 30'000;
  for (int i = 0; i < 2000; ++i) {  // a flip every second: 1,000 resolutions within 5 minutes
    now += 1000;
    push(a, now, "web1", "http", i % 2 ? Status::kFiring : Status::kResolved, shop);
  }
  CHECK(a.correlator().timerCount() <= timers + 2);
  // The last flip fired it; it resolves at `last`, and its incident 5 min later, not a ms
  // before.
  int64_t last = now + 1000;
  push(a, last, "web1", "http", Status::kResolved, shop);
  a.advance(last + 300'000 - 1);
  CHECK(a.correlator().incident(1)->status == IncidentStatus::kOpen);
  a.advance(last + 300'000);
  CHECK(a.correlator().incident(1)->status == IncidentStatus::kResolved);
  CHECK(a.correlator().timerCount() <= timers + 2);
}
