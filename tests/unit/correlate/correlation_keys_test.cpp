// Every documented key of the correlation section, of the pipeline's flap detection and
// retention, and of the rule files' topology and known errors changes what dedup and the
// correlator do (docs/configuration.md): each test runs the same events with and without the
// key and shows the difference. tests/system/test_config_reference.py checks that every
// documented key is used by some test.
#include <catch2/catch.hpp>
#include <string>

#include "correlation_timeline.h"
#include "temp_config.h"

using namespace triaged;
using api::Severity;
using api::Status;
using testing::configWith;
using testing::Timeline;

namespace {

const char* kHold = "correlation:\n  resolve_hold_down: 0s\n";

// One critical alert on h1: the priority of the incident it opens.
int priorityOf(const std::string& rules, const std::string& correlation = "",
               int alerts_on_other_cis = 0) {
  Timeline t(configWith(rules, kHold + correlation));
  t.at(0).push("h1", "down", Severity::kCritical);
  for (int i = 0; i < alerts_on_other_cis; ++i)
    t.at(1).push(i ? "h3" : "h2", "down", Severity::kCritical);
  auto live = t.live();
  REQUIRE(live.size() == 1);
  return live[0]->priority;
}

}  // namespace

TEST_CASE("correlation.priority_matrix: impact x urgency gives the priority", "[keys]") {
  const char* rules = "configuration_items: [{name: h1}]\n";
  CHECK(priorityOf(rules) == 2);  // impact medium (no service), urgency high
  CHECK(priorityOf(rules, "  priority_matrix: [[1,1,1],[4,5,5],[5,5,5]]\n") == 4);
}

TEST_CASE("correlation.impact_services: an incident touching that many services is raised",
          "[keys]") {
  const char* rules = R"(
configuration_items: [{name: h1}]
services:
  - {name: a, criticality: low, cis: [h1]}
  - {name: b, criticality: low, cis: [h1]}
)";
  CHECK(priorityOf(rules) == 3);  // low impact; two services are fewer than 3
  CHECK(priorityOf(rules, "  impact_services: 2\n") == 2);
}

TEST_CASE("correlation.impact_cis: an incident touching that many CIs is raised", "[keys]") {
  const char* rules = R"(
configuration_items: [{name: h1}, {name: h2}, {name: h3}]
groups:
  - name: g
    rules:
      - {name: by-check, match: '{check="down"}', group_by: [check]}
)";
  CHECK(priorityOf(rules, "", 2) == 2);  // three CIs are fewer than 10
  CHECK(priorityOf(rules, "  impact_cis: 3\n", 2) == 1);
}

TEST_CASE("correlation.default_group_wait: alerts no rule takes wait this long", "[keys]") {
  for (bool keyed : {false, true}) {
    Timeline t(configWith("", std::string(kHold) + (keyed ? "  default_group_wait: 1m\n" : "")));
    t.at(0).push("h1", "down", Severity::kMajor);
    t.at(59);
    CHECK(t.live().size() == (keyed ? 0u : 1u));
    t.at(60);
    CHECK(t.live().size() == 1);
  }
}

TEST_CASE("correlation.default_group_interval: how often updates are announced", "[keys]") {
  for (bool keyed : {false, true}) {
    Timeline t(
        configWith("", std::string(kHold) + (keyed ? "  default_group_interval: 1m\n" : "")));
    t.at(0).push("h1", "down", Severity::kMajor);
    t.at(120).push("h1", "disk", Severity::kMajor);  // joins the incident of h1
    t.at(130);
    size_t updates = 0;
    for (auto& e : t.engine.takeEvents())
      updates += e.type == engine::CorrelatorEvent::kIncidentUpdated;
    CHECK(updates == (keyed ? 1u : 0u));  // 5 minutes by default: not yet
  }
}

TEST_CASE("correlation.timeline_max_entries: later entries are counted, not kept", "[keys]") {
  for (bool keyed : {false, true}) {
    Timeline t(configWith("", std::string(kHold) + (keyed ? "  timeline_max_entries: 10\n" : "")));
    for (int i = 0; i < 15; ++i)
      t.at(i).push("h1", ("check" + std::to_string(i)).c_str(), Severity::kMajor);
    auto live = t.live();
    REQUIRE(live.size() == 1);
    CHECK(live[0]->timeline.size() == (keyed ? 10u : 15u));
    CHECK(live[0]->timeline_dropped == (keyed ? 5u : 0u));
  }
}

TEST_CASE("known_errors: a matching new incident gets the known error and its workaround",
          "[keys]") {
  const char* ke = R"(
known_errors:
  - {id: KE-7, title: NFS stale, root_cause: a, workaround: remount, match: '{check="nfs"}'}
)";
  for (bool keyed : {false, true}) {
    Timeline t(configWith(keyed ? ke : "", kHold));
    t.at(0).push("h1", "nfs", Severity::kMajor);
    t.at(1).push("h2", "cpu", Severity::kMajor);
    auto live = t.live();
    REQUIRE(live.size() == 2);
    CHECK(live[0]->extra().known_error == (keyed ? "KE-7" : ""));
    CHECK(live[0]->extra().workaround == (keyed ? "remount" : ""));
    CHECK(live[1]->extra().known_error.empty());
  }
}

TEST_CASE("configuration_items.aliases: other resource names of the CI", "[keys]") {
  for (bool keyed : {false, true}) {
    Timeline t(configWith(keyed ? "configuration_items: [{name: db1, aliases: [db1.example.org]}]\n"
                                : "configuration_items: [{name: db1}]\n",
                          kHold));
    t.at(0).push("db1.example.org", "down", Severity::kMajor);
    auto live = t.live();
    REQUIRE(live.size() == 1);
    CHECK(live[0]->cis ==
          engine::Incident::Names{keyed ? std::string("db1") : std::string("db1.example.org")});
  }
}

namespace {

// Four severity flips then three unchanged repeats of one alert: whether it is flapping.
bool flappingAfter(const std::string& pipeline) {
  Timeline t(configWith("", std::string(kHold) + pipeline));
  for (int i = 0; i < 5; ++i)
    t.at(i).push("h1", "cpu", i % 2 ? Severity::kMajor : Severity::kMinor);
  for (int i = 5; i < 8; ++i) t.at(i).push("h1", "cpu", Severity::kMinor);
  bool flapping = false;
  t.c().forEachAlert([&](const engine::CorrAlert& a) { flapping |= a.flapping; });
  return flapping;
}

}  // namespace

TEST_CASE("pipeline.flapping.high_percent and low_percent: where flapping starts and stops",
          "[keys]") {
  // Four changes weigh 23 % (newest first 5.9, 5.8, ...); three repeats later, 21.8 %.
  CHECK(flappingAfter(""));  // starts at 20, stops below 5
  CHECK_FALSE(flappingAfter("pipeline:\n  flapping: {high_percent: 30}\n"));
  CHECK_FALSE(flappingAfter("pipeline:\n  flapping: {low_percent: 22, high_percent: 22.5}\n"));
  CHECK(flappingAfter("pipeline:\n  flapping: {low_percent: 21, high_percent: 22.5}\n"));
}

TEST_CASE("pipeline.resolved_retention: how long a resolved alert stays in the table", "[keys]") {
  for (bool keyed : {false, true}) {
    Timeline t(configWith(
        "", std::string(kHold) + (keyed ? "pipeline:\n  resolved_retention: 3h\n" : "")));
    t.at(0).push("h1", "down", Severity::kMajor);
    t.at(10).push("h1", "down", Severity::kMajor, Status::kResolved);
    t.at(2 * 3600);
    CHECK(t.engine.table().size() == (keyed ? 1u : 0u));  // 1 hour by default
  }
}
