// The evaluator on a real correlator (replay engine, simulated clock): service timelines from
// incidents, hierarchy propagation, response/resolution clocks firing at their exact
// instants, heartbeats, maintenance exclusions and the period report.
#include "evaluate/evaluator.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "app/replay.h"
#include "evaluate/samples.h"
#include "evaluator_world.h"
#include "rest/sla_api.h"
#include "store/sqlite/sqlite_store.h"
#include "store/state_codec.h"
#include "store/store_writer.h"
#include "temp_config.h"
#include "test_store.h"
#include "triaged/api/ingest.h"
#include "triaged/config/loader.h"

using namespace triaged;
using api::Severity;
using api::Status;
using engine::Evaluator;
using testing::kMin;
using testing::sample;
using testing::throughStore;
using testing::World;

namespace {

namespace fs = std::filesystem;

const char* kRules = R"(
configuration_items:
  - name: web1
  - name: db1
services:
  - name: shop
    children: [web, db]
    algorithm: most_critical
  - name: web
    cis: [web1]
  - name: db
    cis: [db1]
agreements:
  - name: web-sla
    service: web
    availability: "99.9"
    period: month
    response: {p1: 10m, p2: 10m, p3: 10m, p4: 10m, p5: 10m}
    resolution: {p1: 1h, p2: 1h, p3: 1h, p4: 1h, p5: 1h}
  - name: shop-sla
    service: shop
    availability: "99.5"
    period: month
heartbeats:
  - name: nightly
    service: db
    period: 1h
    grace: 10m
maintenance_windows:
  - name: db-patch
    change_id: CHG0001
    services: [db]
    start: 2026-11-02T00:00:00Z
    end: 2026-11-02T01:00:00Z
)";

}  // namespace

TEST_CASE("A service is down from its incident's first alert to the last alert's resolution",
          "[evaluator]") {
  World w(kRules);
  w.at(10 * kMin).push("web1", Severity::kCritical);
  REQUIRE(w.replay.correlator().incident(1));
  CHECK(w.ev.status(w.svc("web")) == 5);
  CHECK(w.ev.status(w.svc("shop")) == 5);  // most critical of its children
  CHECK(w.ev.status(w.svc("db")) == -1);
  w.at(40 * kMin).push("web1", Severity::kCritical, Status::kResolved);
  // Restored when the alert resolved, not when the hold-down resolves the incident.
  CHECK(w.ev.status(w.svc("web")) == -1);
  const auto& tl = w.ev.timeline(w.svc("web"));
  REQUIRE(tl.size() == 3);
  CHECK(tl[1].at_ms == w.t0 + 10 * kMin);
  CHECK(tl[1].incidents == std::vector<uint64_t>{1});
  CHECK(tl[2].at_ms == w.t0 + 40 * kMin);
  w.at(50 * kMin);
  auto period = rules::sla::parsePeriod("2026-11", w.config->rule_set->calendars()[0]);
  auto r = w.ev.report(0, *period, w.now);
  CHECK(r.availability.downtime_net_ms == 30.0 * kMin);
  REQUIRE(r.availability.downtime.size() == 1);
  CHECK(r.availability.downtime[0].incidents == std::vector<uint64_t>{1});
  CHECK(r.availability.agreed_ms == 50 * kMin);
  CHECK(*r.availability.to_date == Approx(20.0 / 50));
  CHECK_FALSE(r.met);
  CHECK_FALSE(r.final);
  CHECK(r.incidents == 1);
  CHECK(r.reliability.failures == 1);
  CHECK(r.reliability.restore_ms.mean == 30.0 * kMin);
  // Projected over the whole month: 30 minutes of 30 days.
  CHECK(*r.availability.projected == Approx(1 - 30.0 / (30 * 24 * 60)));
}

// docs/sla.md "Checked against an independent model": the vectors the model found.
TEST_CASE("A service is as down as its incident's worst firing alert, not its worst alert ever",
          "[evaluator]") {
  World w(kRules);
  auto period = rules::sla::parsePeriod("2026-11", w.config->rule_set->calendars()[0]);
  w.at(9 * 60 * kMin).push("web1", Severity::kCritical, Status::kFiring, "disk");
  w.at(9 * 60 * kMin + kMin).push("web1", Severity::kCritical, Status::kResolved, "disk");
  CHECK(w.ev.status(w.svc("web")) == -1);
  w.at(9 * 60 * kMin + 2 * kMin).push("web1", Severity::kWarning, Status::kFiring, "cpu");
  const engine::Incident* inc = w.replay.correlator().incident(1);
  REQUIRE(inc);  // the warning joined the incident of the critical (within the hold-down)
  CHECK(inc->alerts.size() == 2);
  CHECK(inc->max_severity == static_cast<int>(Severity::kCritical));  // the peak is kept
  CHECK(inc->severity() == static_cast<int>(Severity::kWarning));     // the current one
  CHECK(w.ev.status(w.svc("web")) == static_cast<int>(Severity::kWarning));
  w.at(9 * 60 * kMin + 6 * kMin).push("web1", Severity::kWarning, Status::kFiring, "cpu");
  w.at(9 * 60 * kMin + 9 * kMin).push("web1", Severity::kWarning, Status::kResolved, "cpu");
  w.at(10 * 60 * kMin);
  auto r = w.ev.report(0, *period, w.now);
  CHECK(r.availability.downtime_net_ms == 60'000.0);  // 480 s before the fix
  CHECK(r.reliability.failures == 1);
}

TEST_CASE("A firing minor beside a resolved critical is PARTIAL, a severity drop ends DOWN at once",
          "[evaluator]") {
  World w(kRules);
  auto period = rules::sla::parsePeriod("2026-11", w.config->rule_set->calendars()[0]);
  w.at(0).push("web1", Severity::kCritical, Status::kFiring, "disk");
  w.at(10 * kMin).push("web1", Severity::kMinor, Status::kFiring, "cpu");
  w.at(20 * kMin).push("web1", Severity::kCritical, Status::kResolved, "disk");
  CHECK(w.ev.status(w.svc("web")) == static_cast<int>(Severity::kMinor));
  w.at(30 * kMin).push("web1", Severity::kMinor, Status::kResolved, "cpu");
  // A critical that is refreshed as a warning: DOWN until the refresh, then DEGRADED.
  w.at(40 * kMin).push("web1", Severity::kCritical, Status::kFiring, "mem");
  w.at(45 * kMin).push("web1", Severity::kWarning, Status::kFiring, "mem");
  CHECK(w.ev.status(w.svc("web")) == static_cast<int>(Severity::kWarning));
  w.at(50 * kMin).push("web1", Severity::kWarning, Status::kResolved, "mem");
  w.at(60 * kMin);
  auto r = w.ev.report(0, *period, w.now);
  // 20 min DOWN + 10 min PARTIAL (0.3) + 5 min DOWN.
  CHECK(r.availability.downtime_net_ms == Approx(25.0 * kMin + 0.3 * 10 * kMin));
  CHECK(r.reliability.failures == 2);
}

TEST_CASE("A flapping alert's flips change the service's state, not the incident's news",
          "[evaluator][flapping]") {
  World w(kRules);
  for (int i = 0; i < 10; ++i)
    w.at(i * kMin).push("web1", i % 2 ? Severity::kWarning : Severity::kCritical);
  bool flapping = false;
  w.replay.correlator().forEachAlert([&](const engine::CorrAlert& a) { flapping |= a.flapping; });
  REQUIRE(flapping);
  CHECK(w.ev.status(w.svc("web")) == static_cast<int>(Severity::kWarning));  // the last flip
  w.at(10 * kMin).push("web1", Severity::kWarning, Status::kResolved);
  CHECK(w.ev.status(w.svc("web")) == -1);  // held back before: DOWN until the next event
  const engine::Incident* inc = w.replay.correlator().incident(1);
  REQUIRE(inc);
  size_t flips = 0;
  for (const auto& e : inc->timeline) flips += std::string(e.action) == "alert severity changed";
  CHECK(flips < 9);  // not one entry per flip once flapping
}

TEST_CASE("Response clock: warnings at 50 and 75 percent and the breach, each at its instant",
          "[evaluator]") {
  World w(kRules);
  w.at(0).push("web1", Severity::kCritical);
  w.at(4 * kMin + 59'999);
  CHECK(w.events.empty());
  w.at(20 * kMin);  // one advance fires each threshold at its own instant
  REQUIRE(w.events.size() >= 3);
  CHECK(w.events[0].type == "sla.warning");
  CHECK(w.events[0].percent == 50);
  CHECK(w.events[0].at_ms == w.t0 + 5 * kMin);
  CHECK(w.events[1].percent == 75);
  CHECK(w.events[1].at_ms == w.t0 + 7 * kMin + 30'000);
  CHECK(w.events[2].type == "sla.breach");
  CHECK(w.events[2].target == "response");
  CHECK(w.events[2].at_ms == w.t0 + 10 * kMin);
  CHECK(w.ev.breaches(0, engine::ClockTarget::kResponse) == 1);
  // The resolution clock (1 h) is at 33 %: nothing yet.
  for (const auto& e : w.events) CHECK(e.target == "response");
}

TEST_CASE("Acknowledging stops the response clock before its breach", "[evaluator]") {
  World w(kRules);
  w.at(0).push("web1", Severity::kCritical);
  w.at(6 * kMin);
  REQUIRE(w.replay.correlator().acknowledge(1, "alice", w.now).empty());
  w.sync();
  w.at(2 * 60 * kMin);
  size_t response_breaches = 0, resolution_breaches = 0;
  for (const auto& e : w.events)
    if (e.type == "sla.breach")
      ++(e.target == "response" ? response_breaches : resolution_breaches);
  CHECK(response_breaches == 0);
  CHECK(resolution_breaches == 1);  // still firing after an hour
  auto period = rules::sla::parsePeriod("2026-11", w.config->rule_set->calendars()[0]);
  auto r = w.ev.report(0, *period, w.now);
  CHECK(r.response.met == 1);
  CHECK(r.resolution.breached == 1);
  CHECK(r.ack_ms.mean == 6.0 * kMin);
}

TEST_CASE("A clock attached after its breach time reports one breach, not every threshold",
          "[evaluator]") {
  World w(kRules);
  w.at(0).push("web1", Severity::kCritical);
  // The evaluator sees the incident only at 30 minutes (as after a restart).
  Evaluator late(w.config->rule_set, w.t0);
  std::vector<uint64_t> ids{1};
  late.onIncidents(w.replay.correlator(), ids, w.t0 + 30 * kMin);
  auto evs = late.takeEvents();
  size_t response = 0;
  for (const auto& e : evs)
    if (e.target == "response") {
      ++response;
      CHECK(e.type == "sla.breach");
    }
  CHECK(response == 1);
}

TEST_CASE("Heartbeats go LATE, then DOWN with an alert, and the next ping resolves it",
          "[evaluator]") {
  World w(kRules);
  REQUIRE(w.ev.heartbeat("nightly", Evaluator::Signal::kPing, w.t0).empty());
  w.at(69 * kMin);
  CHECK(w.ev.heartbeats().at("nightly").reported == rules::sla::HeartbeatState::kLate);
  CHECK(w.ev.takeAlerts().empty());
  w.at(70 * kMin);
  CHECK(w.ev.heartbeats().at("nightly").reported == rules::sla::HeartbeatState::kDown);
  auto alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].firing);
  CHECK(alerts[0].service == "db");
  CHECK(alerts[0].at_ms == w.t0 + 70 * kMin);
  REQUIRE(w.ev.heartbeat("nightly", Evaluator::Signal::kPing, w.now + kMin).empty());
  alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 1);
  CHECK_FALSE(alerts[0].firing);
  // Unknown names: an error, unless the ping gives a period (implicit heartbeat).
  CHECK_FALSE(w.ev.heartbeat("adhoc", Evaluator::Signal::kPing, w.now).empty());
  CHECK(w.ev.heartbeat("adhoc", Evaluator::Signal::kPing, w.now, 0, 5 * kMin, kMin).empty());
  CHECK(w.ev.heartbeats().count("adhoc") == 1);
}

TEST_CASE("Approved maintenance is excluded time, downtime inside it counts only gross",
          "[evaluator]") {
  World w(kRules);
  int64_t day = 24 * 60 * kMin;
  w.at(day).push("db1", Severity::kCritical);  // 2026-11-02T00:00Z, inside db-patch
  // Maintenance suppresses the alert: no incident, no downtime at all.
  CHECK(w.ev.status(w.svc("db")) == -1);
  w.at(day + 2 * 60 * kMin);
  uint32_t db = w.svc("db");
  // An agreement on db is not configured; report the shop's, whose child db was in maintenance.
  (void)db;
  auto period = rules::sla::parsePeriod("2026-11", w.config->rule_set->calendars()[0]);
  auto r = w.ev.report(1, *period, w.now);
  CHECK(r.availability.excluded_ms == 0);  // the window covers db, not the shop itself
  CHECK(r.availability.downtime_net_ms == 0);
}

TEST_CASE("Engine gaps are unknown time, excluded from the measured time by default",
          "[evaluator]") {
  World w(kRules);
  Evaluator::Restored r;
  r.last_alive_ms = w.t0 + 60 * kMin;
  for (const auto& t : w.ev.timeline(w.svc("web"))) r.transitions.emplace_back("web", t);
  Evaluator again(w.config->rule_set, w.t0);
  again.restore(std::move(r), w.t0 + 120 * kMin);
  auto period = rules::sla::parsePeriod("2026-11", w.config->rule_set->calendars()[0]);
  auto rep = again.report(0, *period, w.t0 + 180 * kMin);
  CHECK(rep.availability.unknown_ms == 60 * kMin);
  CHECK(rep.availability.measured_ms == 120 * kMin);
}

TEST_CASE("A reload that reorders services keeps each service's state and clocks by name",
          "[evaluator]") {
  World w(kRules);
  w.at(0).push("web1", Severity::kCritical);
  REQUIRE(w.ev.status(w.svc("web")) == 5);
  size_t transitions = w.ev.timeline(w.svc("web")).size();
  std::string reordered = kRules;
  // db before web: every service index changes.
  auto pos = reordered.find("  - name: web\n    cis: [web1]\n");
  reordered.erase(pos, std::string("  - name: web\n    cis: [web1]\n").size());
  reordered.insert(reordered.find("agreements:"), "  - name: web\n    cis: [web1]\n");
  auto next = testing::slaConfig(reordered);
  REQUIRE(next->rule_set->serviceByName("web") != w.svc("web"));
  w.ev.reload(next->rule_set, w.now + 1000);
  std::vector<uint64_t> ids{1};
  w.ev.onIncidents(w.replay.correlator(), ids, w.now + 1000);
  CHECK(w.ev.status(next->rule_set->serviceByName("web")) == 5);
  CHECK(w.ev.status(next->rule_set->serviceByName("db")) == -1);
  CHECK(w.ev.timeline(next->rule_set->serviceByName("web")).size() ==
        transitions);  // no new transition
  CHECK(w.ev.openClocks() == 2);
  // The response clock still breaches at its instant.
  w.ev.advance(w.t0 + 10 * kMin);
  auto evs = w.ev.takeEvents();
  REQUIRE_FALSE(evs.empty());
  CHECK(evs.back().type == "sla.breach");
  CHECK(evs.back().at_ms == w.t0 + 10 * kMin);
}

namespace {

std::string reportJson(const Evaluator& ev, uint32_t agreement, const rules::sla::Period& p,
                       int64_t now) {
  std::string out;
  api::JsonWriter w(out);
  engine::writeReportJson(w, ev.report(agreement, p, now));
  return out;
}

}  // namespace

TEST_CASE("Service levels survive a restart through the store: reports, clocks and heartbeats",
          "[evaluator][store]") {
  fs::path dir = fs::temp_directory_path() / ("triaged-eval-store-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  World w(kRules);
  REQUIRE(w.ev.heartbeat("nightly", Evaluator::Signal::kPing, w.t0).empty());
  w.at(10 * kMin).push("web1", Severity::kCritical);
  w.at(40 * kMin).push("web1", Severity::kCritical, Status::kResolved);
  w.at(50 * kMin).push("web1", Severity::kCritical);  // firing again: clocks open
  w.at(53 * kMin);
  auto period = rules::sla::parsePeriod("2026-11", w.config->rule_set->calendars()[0]);
  std::string before = reportJson(w.ev, 0, *period, w.now);
  std::string shop_before = reportJson(w.ev, 1, *period, w.now);

  // Stopped cleanly at 53 min (last sign of life), started again at 55 min.
  auto st = throughStore(w.ev, dir, w.now);
  CHECK(st.last_alive_ms == w.now);
  CHECK(st.sla.transitions.size() >= 6);  // web, db, shop: the initial OK and the changes
  CHECK_FALSE(st.sla.clocks.empty());
  REQUIRE(st.sla.heartbeats.size() == 1);
  Evaluator again(w.config->rule_set, w.t0);
  again.restore(engine::slaRestored(st.sla, st.last_alive_ms), w.t0 + 55 * kMin);
  std::vector<uint64_t> live;
  for (const auto& inc : w.replay.correlator().incidents())
    if (inc.id && inc.status == engine::IncidentStatus::kOpen) live.push_back(inc.id);
  again.onIncidents(w.replay.correlator(), live, w.t0 + 55 * kMin);
  // Up to the stop, the report is the same, byte for byte.
  CHECK(reportJson(again, 0, *period, w.now) == before);
  CHECK(reportJson(again, 1, *period, w.now) == shop_before);
  // The two minutes without a daemon are unknown time, not downtime and not uptime.
  auto later = again.report(0, *period, w.t0 + 60 * kMin);
  CHECK(later.availability.unknown_ms == 2 * kMin);
  // The stored gap is written back with the next changes.
  CHECK(again.takeDirty().gaps.size() == 1);
  // The resolution clock of the incident still breaches at its own instant.
  again.advance(w.t0 + 3 * 60 * kMin);
  auto evs = again.takeEvents();
  // Reopened at 50 min: 35 minutes to the resolution at 45, the 5 resolved minutes do not
  // count, so the hour is up at 75 min.
  bool breached = false;
  for (const auto& e : evs)
    if (e.type == "sla.breach" && e.target == "resolution") {
      breached = true;
      CHECK(e.at_ms == w.t0 + 75 * kMin);
    }
  CHECK(breached);
  // The heartbeat keeps its last ping: DOWN at period + grace after it, as before.
  CHECK(again.heartbeats().at("nightly").clock.last_success == w.t0);
  CHECK(again.heartbeats().at("nightly").reported == rules::sla::HeartbeatState::kDown);
  fs::remove_all(dir);
}

TEST_CASE("Stored ledger rows that cannot be read are named by table and row",
          "[evaluator][store]") {
  engine::SlaRows rows;
  rows.transitions.push_back({"web", 1, -1, ""});
  rows.transitions.push_back({"web", 2, 9, "1"});
  CHECK_THROWS_WITH(engine::slaRestored(rows, 0),
                    Catch::Contains("sla_transitions row 2") && Catch::Contains("status"));
  rows.transitions.pop_back();
  rows.transitions.push_back({"web", 2, 5, "1,,2"});
  CHECK_THROWS_WITH(engine::slaRestored(rows, 0), Catch::Contains("sla_transitions row 2"));
  rows.transitions.pop_back();
  rows.clocks.push_back({1, "web-sla", 0, R"({"incident":1})"});
  CHECK_THROWS_WITH(engine::slaRestored(rows, 0),
                    Catch::Contains("sla_clocks row 1") && Catch::Contains("target"));
  rows.clocks.clear();
  rows.heartbeats.emplace_back("x", "not json");
  CHECK_THROWS_WITH(engine::slaRestored(rows, 0), Catch::Contains("heartbeats row 1"));
}

TEST_CASE("A cron heartbeat is due at the next fire time after its ping, in its time zone",
          "[evaluator][heartbeat]") {
  World w(R"(
services:
  - name: backup
heartbeats:
  - name: nightly-backup
    service: backup
    schedule: "0 2 * * *"
    time_zone: Europe/Berlin
    grace: 30m
)");
  // Pinged at 02:05 Berlin (01:05Z) on 2 November: due at 02:00 Berlin on the 3rd (01:00Z).
  int64_t ping = w.t0 + 24 * 60 * kMin + 65 * kMin;
  REQUIRE(w.ev.heartbeat("nightly-backup", Evaluator::Signal::kPing, ping).empty());
  const auto& h = w.ev.heartbeats().at("nightly-backup");
  CHECK(h.clock.last_success + h.clock.period_ms == w.t0 + 2 * 24 * 60 * kMin + 60 * kMin);
  w.at(2 * 24 * 60 * kMin + 61 * kMin);
  CHECK(h.reported == rules::sla::HeartbeatState::kLate);
  w.at(2 * 24 * 60 * kMin + 90 * kMin);
  CHECK(h.reported == rules::sla::HeartbeatState::kDown);
  auto alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].at_ms == w.t0 + 2 * 24 * 60 * kMin + 90 * kMin);
  CHECK(alerts[0].service == "backup");
}

TEST_CASE(
    "Clock start and stop conditions: start_when limits which incidents get clocks, stop_when "
    "stops them",
    "[evaluator]") {
  World w(R"(
configuration_items:
  - name: web1
  - name: db1
services:
  - name: web
    cis: [web1]
  - name: db
    cis: [db1]
agreements:
  - name: web-ola
    service: web
    response: {p1: 1h, p2: 1h, p3: 1h, p4: 1h, p5: 1h}
    stop_when: '{assignee!=""}'
  - name: db-ola
    service: db
    response: {p1: 1h, p2: 1h, p3: 1h, p4: 1h, p5: 1h}
    start_when: '{title=~".*never.*"}'
)");
  w.at(0).push("web1", Severity::kCritical);
  w.push("db1", Severity::kCritical);
  CHECK(w.ev.openClocks() == 1);  // db's incident does not match start_when
  w.at(10 * kMin);
  REQUIRE(w.replay.correlator().assign(1, "bob", "alice", w.now).empty());
  w.sync();
  CHECK(w.ev.openClocks() == 0);
  const auto& c = w.ev.clocks().begin()->second;
  CHECK(c.stage == engine::ClockStage::kCompleted);
  CHECK(c.stop_ms == w.t0 + 10 * kMin);
  CHECK_FALSE(c.breached);
}
