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

// Everything the evaluator changed, written by the store writer to a real store and
// read back as at start-up.
engine::StoredState throughStore(Evaluator& ev, const fs::path& dir, int64_t now) {
  {
    auto store = testing::openStore(dir);
    engine::ManualClock clock(now);
    api::MetricsHub hub;
    engine::StoreWriter w(*store, {}, clock, hub);
    w.start();
    engine::StoreUnit u;
    auto d = ev.takeDirty();
    engine::slaRows(ev, d, u.sla);
    u.meta.emplace_back("last_alive", std::to_string(now));
    w.submit(std::move(u));
    w.stop();
  }
  return engine::loadState(*testing::openStore(dir));
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

namespace {

const char* kSignals = R"(
services:
  - name: checkout
  - name: db
slos:
  - name: checkout-requests
    service: checkout
    objective: "99.9"
    period: 30d
    good: requests_good
    valid: requests_total
    matchers: '{region="eu"}'
capacity:
  - name: db-disk
    service: db
    metric: disk_used_ratio
    matchers: '{host="db1"}'
    raise_at: 0.9
    raise_for: 5m
    clear_at: 0.8
    clear_for: 5m
    forecast: {window: 1h, horizon: 24h, limit: 1.0, min_samples: 5, min_r_squared: 0.9}
)";

}  // namespace

TEST_CASE(
    "SLO burn rate: 1h/5m at 14.4 pages, no data neither raises nor clears, recovery resolves",
    "[evaluator][slo]") {
  World w(kSignals);
  int64_t t = w.t0;
  // An hour at 2 % errors: burn 20 on both windows of the first pair (threshold 14.4).
  for (int m = 0; m < 60; ++m, t += kMin) {
    CHECK(w.ev.onSample(sample("requests_total", 1000, t), t) == 1);
    CHECK(w.ev.onSample(sample("requests_good", 980, t), t) == 1);
  }
  CHECK(w.ev.onSample(sample("requests_total", 1000, t, "region", "us"), t) == 0);  // other region
  w.ev.evaluateSignals(t - 1);
  const auto& r = w.ev.slos().at("checkout-requests");
  CHECK(r.burn_long[0] == Approx(20));
  CHECK(r.burn_short[0] == Approx(20));
  CHECK(r.firing[0] == 1);
  // Every pair sums what its windows hold (ratio of sums, not an extrapolation): one hour
  // at 20x is over 6 (6h/30m), 3 (1d/2h) and 1 (3d/6h) as well.
  CHECK(r.firing == std::vector<uint8_t>{1, 1, 1, 1});
  auto alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 4);
  CHECK(alerts[0].check == "slo-burn-0");
  CHECK(alerts[0].firing);
  CHECK(alerts[0].severity == 5);  // page_severity
  CHECK(alerts[2].severity == 2);  // ticket_severity (1d/2h)
  CHECK(alerts[0].service == "checkout");
  CHECK(alerts[0].summary.find("20.00x") != std::string::npos);
  // Traffic stops: no data in the short window changes nothing.
  w.ev.evaluateSignals(t + 10 * kMin);
  CHECK(w.ev.takeAlerts().empty());
  // Clean traffic for 10 minutes: the 5 minute window drops to 0 and the page resolves.
  t += 10 * kMin;
  for (int m = 0; m < 10; ++m, t += kMin) {
    w.ev.onSample(sample("requests_total", 1000, t), t);
    w.ev.onSample(sample("requests_good", 1000, t), t);
  }
  w.ev.evaluateSignals(t - 1);
  alerts = w.ev.takeAlerts();
  REQUIRE_FALSE(alerts.empty());
  CHECK(alerts[0].check == "slo-burn-0");
  CHECK_FALSE(alerts[0].firing);
  // The period budget: 1200 bad of 70,000 valid = 1.714 % errors, 17.14x the allowed 0.1 %.
  CHECK(w.ev.slos().at("checkout-requests").budget_remaining == Approx(1 - 1200.0 / 70000 / 0.001));
}

TEST_CASE(
    "Capacity: hysteresis raises after raise_for and clears after clear_for, the forecast opens "
    "before exhaustion",
    "[evaluator][capacity]") {
  World w(kSignals);
  int64_t t = w.t0;
  auto feed = [&](double v) {
    CHECK(w.ev.onSample(sample("disk_used_ratio", v, t, "host", "db1"), t) == 1);
    t += kMin;
  };
  // Rising 0.5 % a minute from 0.80: linear, so R² = 1; 1.0 is 40 minutes after the start.
  for (int m = 0; m < 10; ++m) feed(0.80 + 0.005 * m);
  w.ev.evaluateSignals(t - kMin);
  const auto& c = w.ev.capacity().at("db-disk");
  REQUIRE(c.fit);
  CHECK(c.fit->r_squared == Approx(1));
  REQUIRE(c.time_left_ms);
  CHECK(*c.time_left_ms == Approx(31 * kMin).margin(1));  // from 0.845 at minute 9 to 1.0
  CHECK(c.forecast_firing);
  auto alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].check == "capacity-forecast");
  CHECK(alerts[0].service == "db");
  // Threshold: at or above 0.9 from minute 20, raised 5 minutes later, not before.
  for (int m = 10; m < 20; ++m) feed(0.80 + 0.005 * m);
  CHECK_FALSE(c.threshold.raised);
  for (int m = 0; m < 5; ++m) feed(0.95);
  CHECK_FALSE(c.threshold.raised);  // 4 minutes above
  feed(0.95);
  CHECK(c.threshold.raised);
  alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].check == "capacity-threshold");
  CHECK(alerts[0].firing);
  // Between clear_at and raise_at: stays raised; at or below 0.8 for 5 minutes: clears.
  feed(0.85);
  CHECK(c.threshold.raised);
  for (int m = 0; m < 6; ++m) feed(0.7);
  CHECK_FALSE(c.threshold.raised);
  alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 1);
  CHECK_FALSE(alerts[0].firing);
}

TEST_CASE("Samples: a bad request names the index and field and yields nothing", "[samples]") {
  std::vector<std::string> errors;
  auto ok = engine::parseSamples(
      R"([{"metric":"disk_used","labels":{"host":"db1"},"value":0.5,"timestamp":"2026-11-01T00:00:00Z"},{"metric":"x","value":2}])",
      7, errors);
  REQUIRE(errors.empty());
  REQUIRE(ok.size() == 2);
  CHECK(ok[0].at_ms == 1'793'491'200'000);
  CHECK(ok[1].at_ms == 7);  // no timestamp: now
  CHECK(ok[0].labels == std::vector<std::pair<std::string, std::string>>{{"host", "db1"}});
  auto bad = engine::parseSamples(R"([{"metric":"a","value":1},{"metric":"9x","value":"high"}])", 0,
                                  errors);
  CHECK(bad.empty());
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "[1].metric: expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  CHECK(errors[1] == "[1].value: expected a finite number");
  errors.clear();
  engine::parseSamples(R"({"value":1})", 0, errors);
  CHECK(errors == std::vector<std::string>{"[0].metric: is required"});
  errors.clear();
  engine::parseSamples("[1", 0, errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("body: not valid JSON", 0) == 0);
  // Oversized and hostile: more samples than a request may carry, too many labels, a
  // non-finite value, a body that is not an array or an object. Each named, nothing kept.
  std::string big = "[";
  for (size_t i = 0; i <= engine::kMaxSamplesPerRequest; ++i)
    big += std::string(i ? "," : "") + R"({"metric":"m","value":1})";
  big += "]";
  errors.clear();
  CHECK(engine::parseSamples(big, 0, errors).empty());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("more than 10000") != std::string::npos);
  std::string labels = R"({"metric":"m","value":1,"labels":{)";
  for (int i = 0; i < 65; ++i)
    labels += std::string(i ? "," : "") + "\"l" + std::to_string(i) + "\":\"v\"";
  labels += "}}";
  errors.clear();
  CHECK(engine::parseSamples(labels, 0, errors).empty());
  CHECK(errors == std::vector<std::string>{"[0].labels: more than 64 labels"});
  errors.clear();
  CHECK(engine::parseSamples(R"({"metric":"m","value":1e400})", 0, errors).empty());
  CHECK_FALSE(errors.empty());
  errors.clear();
  CHECK(engine::parseSamples("42", 0, errors).empty());
  CHECK(errors ==
        std::vector<std::string>{"body: expected an array of samples or one sample object"});
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

TEST_CASE("SLO minutes and capacity samples survive a restart through the store",
          "[evaluator][store][slo]") {
  fs::path dir = fs::temp_directory_path() / ("triaged-eval-signals-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  World w(kSignals);
  int64_t t = w.t0;
  for (int m = 0; m < 30; ++m, t += kMin) {
    w.ev.onSample(sample("requests_total", 1000, t), t);
    w.ev.onSample(sample("requests_good", 980, t), t);
    w.ev.onSample(sample("disk_used_ratio", 0.5 + 0.01 * m, t, "host", "db1"), t);
  }
  w.ev.evaluateSignals(t - 1);
  auto before = w.ev.slos().at("checkout-requests");
  auto cap = w.ev.capacity().at("db-disk");
  auto st = throughStore(w.ev, dir, t);
  CHECK(st.sla.slo_minutes.size() == 30);
  CHECK(st.sla.capacity_samples.size() == 30);
  Evaluator again(w.config->rule_set, t);
  again.restore(engine::slaRestored(st.sla, st.last_alive_ms), t);
  again.evaluateSignals(t - 1);
  const auto& after = again.slos().at("checkout-requests");
  CHECK(after.burn_long == before.burn_long);
  CHECK(after.burn_short == before.burn_short);
  CHECK(after.firing == before.firing);
  const auto& cap2 = again.capacity().at("db-disk");
  REQUIRE(cap2.fit);
  CHECK(cap2.fit->slope_per_ms == Approx(cap.fit->slope_per_ms));
  CHECK(cap2.last_value == Approx(cap.last_value));
  CHECK(cap2.samples.size() == cap.samples.size());
  // A capacity rule keeps its raised state (no second alert); SLO pairs re-assert theirs from
  // the restored minutes: the same alerts, firing again, which the pipeline counts as
  // duplicates of the stored ones.
  auto alerts = again.takeAlerts();
  CHECK(alerts.size() == 4);
  for (const auto& a : alerts) {
    CHECK(a.check.rfind("slo-burn-", 0) == 0);
    CHECK(a.firing);
  }
  fs::remove_all(dir);
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
