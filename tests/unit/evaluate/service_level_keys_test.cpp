// Every documented key of agreements, SLOs and heartbeats changes what the evaluator does
// (docs/configuration.md, "agreements", "slos"): each test runs the same incidents or samples
// with and without the key and shows the difference. tests/system/test_config_reference.py
// checks that every documented key is used by some test.
#include <catch2/catch.hpp>
#include <string>

#include "evaluator_world.h"

using namespace triaged;
using api::Severity;
using api::Status;
using testing::kMin;
using testing::sample;
using testing::World;

namespace {

const char* kWeb = R"(
configuration_items:
  - name: web1
services:
  - name: web
    cis: [web1]
agreements:
  - name: web-sla
    service: web
    availability: "99.9"
    period: month
    response: {p1: 10m, p2: 10m, p3: 10m, p4: 10m, p5: 10m}
)";

// The web agreement with more keys.
std::string web(const std::string& keys) { return kWeb + keys; }

std::vector<int> warnings(const World& w) {
  std::vector<int> at;
  for (const auto& e : w.events)
    if (e.type == "sla.warning") at.push_back(static_cast<int>((e.at_ms - w.t0) / 1000));
  return at;
}

}  // namespace

TEST_CASE("agreements.warn_at: the response clock warns at the configured percentages", "[keys]") {
  for (bool keyed : {false, true}) {
    World w(keyed ? web("    warn_at: [20, 90]\n") : std::string(kWeb));
    w.at(0).push("web1", Severity::kCritical);
    w.at(9 * kMin);
    // 10 minutes: 50 % and 75 % by default, 20 % and 90 % with the key.
    CHECK(warnings(w) == (keyed ? std::vector<int>{120, 540} : std::vector<int>{300, 450}));
  }
}

TEST_CASE("agreements.weights.degraded: a degraded service costs that share of its time",
          "[keys]") {
  for (bool keyed : {false, true}) {
    World w(keyed ? web("    weights: {degraded: 0.5}\n") : std::string(kWeb));
    w.at(0).push("web1", Severity::kWarning);  // below partial_from_severity: degraded
    w.at(10 * kMin).push("web1", Severity::kWarning, Status::kResolved);
    w.at(20 * kMin);
    auto period = rules::sla::parsePeriod("2026-11", w.config->rule_set->calendars()[0]);
    auto r = w.ev.report(0, *period, w.now);
    CHECK(r.availability.downtime_net_ms == (keyed ? 5.0 * kMin : 0.0));
  }
}

TEST_CASE("agreements.pause_when: the clocks stand still while the incident matches", "[keys]") {
  for (bool keyed : {false, true}) {
    World w(keyed ? web("    pause_when: '{assignee=\"vendor\"}'\n") : std::string(kWeb));
    w.at(0).push("web1", Severity::kCritical);
    REQUIRE(w.replay.correlator().assign(1, "vendor", "alice", w.now).empty());
    w.at(kMin);
    w.at(30 * kMin);
    size_t breaches = 0;
    for (const auto& e : w.events) breaches += e.type == "sla.breach";
    CHECK(breaches == (keyed ? 0 : 1));
  }
}

TEST_CASE("agreements.counterparty: named in the agreement's report", "[keys]") {
  for (bool keyed : {false, true}) {
    World w(keyed ? web("    type: uc\n    counterparty: ACME Hosting\n") : std::string(kWeb));
    w.at(kMin);
    auto period = rules::sla::parsePeriod("2026-11", w.config->rule_set->calendars()[0]);
    auto r = w.ev.report(0, *period, w.now);
    CHECK(r.counterparty == (keyed ? "ACME Hosting" : ""));
    CHECK(r.type == (keyed ? "uc" : "sla"));
  }
}

TEST_CASE("agreements.burn_alerts: downtime burning the budget raises burn-rate alerts", "[keys]") {
  for (bool keyed : {false, true}) {
    World w(keyed ? web("    burn_alerts: true\n") : std::string(kWeb));
    w.at(0).push("web1", Severity::kCritical);
    w.at(60 * kMin);
    w.ev.evaluateSignals(w.now);
    size_t burn = 0;
    for (const auto& a : w.ev.takeAlerts()) burn += a.firing && a.name == "web-sla";
    if (keyed)
      CHECK(burn >= 1);  // an hour down of a 99.9 % month burns at 1000x
    else
      CHECK(burn == 0);
  }
}

namespace {

std::string slo(const std::string& keys) {
  return R"(
services:
  - name: checkout
slos:
  - name: checkout-requests
    service: checkout
    objective: "99.9"
    period: 30d
    good: requests_good
    valid: requests_total
)" + keys;
}

// An hour at 2 % errors: a burn rate of 20 on every window. Returns the firing alerts.
std::vector<engine::GeneratedAlert> hourAtTwoPercent(World& w) {
  int64_t t = w.t0;
  for (int m = 0; m < 60; ++m, t += kMin) {
    w.ev.onSample(sample("requests_total", 1000, t), t);
    w.ev.onSample(sample("requests_good", 980, t), t);
  }
  w.ev.evaluateSignals(t - 1);
  std::vector<engine::GeneratedAlert> firing;
  for (auto& a : w.ev.takeAlerts())
    if (a.firing) firing.push_back(a);
  return firing;
}

}  // namespace

TEST_CASE("slos.windows.budget_fraction: the burn rate a window pair alerts at", "[keys]") {
  // 1h/5m of a 30-day budget: 0.02 alerts at 14.4x, 0.05 at 36x.
  const char* pair =
      "    windows:\n      - {long: 1h, short: 5m, budget_fraction: %s, page: true}\n";
  for (const char* fraction : {"0.02", "0.05"}) {
    char keys[200];
    std::snprintf(keys, sizeof keys, pair, fraction);
    World w(slo(keys));
    CHECK(hourAtTwoPercent(w).size() == (std::string(fraction) == "0.02" ? 1 : 0));
  }
}

TEST_CASE("slos.page_severity and ticket_severity: the severities of the burn alerts", "[keys]") {
  for (bool keyed : {false, true}) {
    World w(slo(keyed ? "    page_severity: major\n    ticket_severity: info\n" : ""));
    auto firing = hourAtTwoPercent(w);
    REQUIRE(firing.size() == 4);  // two paging pairs, two ticketing pairs
    CHECK(firing[0].severity == static_cast<int>(keyed ? Severity::kMajor : Severity::kCritical));
    CHECK(firing[3].severity == static_cast<int>(keyed ? Severity::kInfo : Severity::kWarning));
  }
}
