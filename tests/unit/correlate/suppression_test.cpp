// Suppression as a state on simulated time: silences, windows and inhibition act on alerts that
// already fire, at the instant they change; an incident whose firing alerts are all suppressed
// is held, and its events are marked so no one is notified.
#include <algorithm>
#include <catch2/catch.hpp>

#include "correlation_timeline.h"
#include "temp_config.h"
#include "triaged/rules/matcher.h"

using namespace triaged;
using api::Severity;
using api::Status;
using engine::CorrelatorEvent;
using testing::configWith;
using testing::Timeline;

namespace {

engine::Silence silence(const char* matchers, int64_t starts, int64_t ends) {
  engine::Silence s;
  std::string err;
  REQUIRE(rules::parseMatchers(matchers, s.matchers, &err));
  s.starts_ms = starts;
  s.ends_ms = ends;
  s.created_by = "alice";
  return s;
}

std::string put(Timeline& t, engine::Silence s) {
  std::string id;
  REQUIRE(t.c().putSilence(std::move(s), t.now, &id).empty());
  return id;
}

// The events since the last call, as "type/held" for incident n (alert events: "type").
std::vector<std::string> events(Timeline& t, uint64_t n) {
  std::vector<std::string> out;
  for (const auto& e : t.engine.takeEvents()) {
    if (e.incident == n)
      out.push_back(std::string(engine::correlatorEventName(e.type)) + (e.held ? "/held" : ""));
    else if (!e.incident && e.alert)
      out.push_back(engine::correlatorEventName(e.type));
  }
  return out;
}

const engine::Incident& incident(Timeline& t, uint64_t id) {
  const engine::Incident* inc = t.c().incident(id);
  REQUIRE(inc);
  return *inc;
}

std::string lastAction(const engine::Incident& inc) {
  return inc.timeline.empty() ? "" : inc.timeline.back().action;
}

}  // namespace

TEST_CASE("A silence holds an incident that already fires at once, and its expiry releases it",
          "[suppression]") {
  Timeline t(configWith("groups: []\n"));
  t.at(0).push("db1", "cpu", Severity::kCritical);
  CHECK(events(t, 1) == std::vector<std::string>{"incident.opened"});
  t.at(10);
  std::string id = put(t, silence("{resource=\"db1\"}", t.now, t.now + 600'000));
  const auto& inc = incident(t, 1);
  CHECK(inc.held);
  CHECK(inc.held_since_ms == t.now);
  CHECK(lastAction(inc) == "held");
  CHECK(inc.timeline.back().detail == "silence " + id);
  CHECK(t.c().suppressedCount() == 1);
  CHECK(t.c().heldIncidents() == 1);
  // A silence does not change availability: the alert still counts for the service.
  CHECK(inc.severity() == static_cast<int>(Severity::kCritical));
  CHECK(events(t, 1) == std::vector<std::string>{"alert.suppressed"});
  // Changes of a held incident are marked held: no one is told.
  t.at(20).push("db1", "cpu", Severity::kMajor);
  t.at(25).push("db1", "mem", Severity::kCritical);  // joins, silenced as well
  CHECK(inc.held);
  for (const auto& e : events(t, 1))
    if (e.rfind("incident.", 0) == 0) CHECK(e.find("/held") != std::string::npos);
  t.at(30);
  REQUIRE(t.c().expireSilence(id, t.now).empty());
  CHECK_FALSE(inc.held);
  CHECK(lastAction(inc) == "released");
  CHECK(t.c().suppressedCount() == 0);
  auto ev = events(t, 1);
  CHECK(std::count(ev.begin(), ev.end(), "alert.unsuppressed") == 2);
  CHECK(std::count(ev.begin(), ev.end(), "incident.updated") == 1);  // at once, not held
  CHECK(t.c().expireSilence(id, t.now) == "silence is already expired");
  CHECK(t.c().expireSilence("nope", t.now) == "no such silence");
}

TEST_CASE("An incident opened under a silence is held, its release announces the opening",
          "[suppression]") {
  Timeline t(configWith("groups: []\n"));
  std::string id = put(t, silence("{resource=\"db1\"}", t.now, t.now + 600'000));
  t.at(10).push("db1", "cpu");
  CHECK(incident(t, 1).held);
  CHECK(events(t, 1) == std::vector<std::string>{"alert.suppressed", "incident.opened/held"});
  CHECK_FALSE(incident(t, 1).opening_notified);
  // Updating the silence so that it no longer matches releases the alert.
  auto s = silence("{resource=\"db9\"}", t.now, t.now + 600'000);
  s.id = id;
  t.at(20);
  put(t, std::move(s));
  CHECK_FALSE(incident(t, 1).held);
  CHECK(events(t, 1) == std::vector<std::string>{"alert.unsuppressed", "incident.opened"});
  CHECK(incident(t, 1).opening_notified);
}

TEST_CASE("A silence that starts later holds from its start and releases at its end",
          "[suppression]") {
  Timeline t(configWith("groups: []\n"));
  t.at(0).push("db1", "cpu");
  put(t, silence("{check=\"cpu\"}", t.t0 + 60'000, t.t0 + 120'000));
  CHECK_FALSE(incident(t, 1).held);
  t.at(59);
  CHECK_FALSE(incident(t, 1).held);
  t.at(60);
  CHECK(incident(t, 1).held);
  CHECK(incident(t, 1).held_since_ms == t.t0 + 60'000);
  t.at(119);
  CHECK(incident(t, 1).held);
  t.at(120);
  CHECK_FALSE(incident(t, 1).held);
  CHECK(incident(t, 1).timeline.back().at_ms == t.t0 + 120'000);
}

TEST_CASE("A held incident resolves quietly and stays held until an unsuppressed alert fires",
          "[suppression]") {
  Timeline t(configWith("groups: []\n", "correlation:\n  resolve_hold_down: 0s\n"));
  std::string id = put(t, silence("{check=\"cpu\"}", t.now, t.now + 3'600'000));
  t.at(0).push("db1", "cpu");
  t.at(10).push("db1", "cpu", Severity::kWarning, Status::kResolved);
  const auto& inc = incident(t, 1);
  CHECK(inc.status == engine::IncidentStatus::kResolved);
  CHECK(inc.held);
  auto ev = events(t, 1);
  CHECK(std::find(ev.begin(), ev.end(), "incident.resolved/held") != ev.end());
  // The silence ends; the alert recurs unsuppressed: the incident reopens released, and the
  // targets, who never heard of it, are told of its opening first.
  t.at(20);
  REQUIRE(t.c().expireSilence(id, t.now).empty());
  t.at(30).push("db1", "cpu");
  CHECK(inc.status == engine::IncidentStatus::kOpen);
  CHECK_FALSE(inc.held);
  CHECK(events(t, 1) == std::vector<std::string>{"incident.opened", "incident.reopened"});
}

TEST_CASE("A maintenance window holds what fires when it starts and releases it when it ends",
          "[suppression]") {
  Timeline t(configWith(R"(
configuration_items:
  - {name: db1}
maintenance_windows:
  - name: upgrade
    change_id: CHG-1
    cis: [db1]
    start: 2026-01-01T01:00:00Z
    end: 2026-01-01T02:00:00Z
)"));
  t.at(0).push("db1", "cpu", Severity::kCritical);
  const auto& inc = incident(t, 1);
  CHECK(inc.severity() == static_cast<int>(Severity::kCritical));
  t.at(3599);
  CHECK_FALSE(inc.held);
  t.at(3600);
  CHECK(inc.held);
  CHECK(inc.timeline.back().detail == "maintenance upgrade (CHG-1)");
  // Held by a window, the alert counts for no downtime; it still fires.
  CHECK(inc.severity() == -1);
  CHECK(inc.firingAll() == 1);
  const engine::CorrAlert* a = t.c().alert(inc.alerts[0]);
  REQUIRE(a);
  REQUIRE(a->why);
  CHECK(a->why->until == t.t0 + 7'200'000);
  t.at(7200);
  CHECK_FALSE(inc.held);
  CHECK(inc.severity() == static_cast<int>(Severity::kCritical));
  CHECK(inc.status == engine::IncidentStatus::kOpen);
}

TEST_CASE("An inhibiting alert holds targets that fired before it, its resolution releases them",
          "[suppression]") {
  Timeline t(configWith(R"(
inhibit_rules:
  - source_match: '{check="node_down"}'
    target_match: '{check!="node_down"}'
    equal: [resource]
groups:
  - name: g
    rules:
      - {name: per-check, match: '{check=~".+"}', group_by: [check]}
)"));
  uint64_t disk = t.at(0).push("app1", "disk");
  uint64_t other = t.at(1).push("app2", "disk");
  uint64_t node = t.at(5).push("app1", "node_down", Severity::kCritical);
  const engine::CorrAlert* d = t.c().alert(disk);
  REQUIRE(d);
  CHECK(d->suppressed == engine::Suppression::kInhibited);
  REQUIRE(d->why);
  CHECK(d->why->inhibited_by == std::vector<uint64_t>{node});
  CHECK(t.c().alert(other)->suppressed == engine::Suppression::kNone);  // another resource
  CHECK_FALSE(incident(t, 1).held);  // app2's disk fires unsuppressed in the same incident
  t.at(10).push("app1", "node_down", Severity::kCritical, Status::kResolved);
  CHECK(t.c().alert(disk)->suppressed == engine::Suppression::kNone);
  CHECK(t.c().suppressedCount() == 0);
}

TEST_CASE("A reload that adds an inhibit rule or a window applies it to what fires now",
          "[suppression]") {
  Timeline t(configWith("groups: []\n"));
  uint64_t disk = t.at(0).push("app1", "disk");
  t.at(1).push("app1", "node_down", Severity::kCritical);
  CHECK(t.c().suppressedCount() == 0);
  auto next = configWith(R"(
inhibit_rules:
  - source_match: '{check="node_down"}'
    target_match: '{check!="node_down"}'
    equal: [resource]
)");
  engine::CorrelatorOptions opts;
  opts.settings = next->correlation;
  t.at(2);
  t.c().reload(next->rule_set, opts);
  CHECK(t.c().alert(disk)->suppressed == engine::Suppression::kInhibited);
  t.c().reload(configWith("groups: []\n")->rule_set, opts);
  CHECK(t.c().alert(disk)->suppressed == engine::Suppression::kNone);
}

TEST_CASE(
    "An alert that takes new labels under its dedup_key while it fires is filed again under "
    "them: silences and inhibitions act at once, and it stays in its incident",
    "[suppression]") {
  Timeline t(configWith(R"(
inhibit_rules:
  - source_match: '{check="node_down", tier="core"}'
    target_match: '{check!="node_down"}'
    equal: [resource]
groups: []
)"));
  using Labels = std::vector<std::pair<const char*, const char*>>;
  auto push = [&](const char* key, const char* check, const Labels& labels) {
    api::BatchBuilder b(t.opts, t.now);
    auto& e = b.begin(0);
    e.resource = "db1";
    e.check = b.keep(check);
    e.dedup_key = b.keep(key);
    for (auto& [k, v] : labels) b.addLabel(k, v);
    REQUIRE(b.finish());
    auto batch = b.take();
    t.engine.apply(*batch, t.now);
    return batch->events[0].fingerprint;
  };
  auto alert = [&](uint64_t fp) -> const engine::CorrAlert& {
    const engine::CorrAlert* a = t.c().alert(fp);
    REQUIRE(a);
    return *a;
  };
  t.at(0);
  uint64_t disk = push("db1-disk", "disk", {{"team", "storage"}});
  CHECK(events(t, 1) == std::vector<std::string>{"incident.opened"});
  t.at(10);
  put(t, silence("{team=\"dba\"}", t.now, t.now + 600'000));
  CHECK(t.c().suppressedCount() == 0);
  // The same alert (its key) with the silenced team: suppressed with the event, held in its
  // incident, no entry of a change of state.
  size_t entries = incident(t, 1).timeline.size();
  t.at(20);
  CHECK(push("db1-disk", "disk", {{"team", "dba"}}) == disk);
  CHECK(alert(disk).suppressed == engine::Suppression::kSilenced);
  CHECK(alert(disk).incident == 1);
  CHECK(incident(t, 1).held);
  CHECK(lastAction(incident(t, 1)) == "held");
  CHECK(incident(t, 1).timeline.size() == entries + 1);
  CHECK(events(t, 1) == std::vector<std::string>{"alert.suppressed"});
  CHECK(t.live().size() == 1);
  // Back to its first team: released.
  t.at(30);
  push("db1-disk", "disk", {{"team", "storage"}});
  CHECK(alert(disk).suppressed == engine::Suppression::kNone);
  CHECK_FALSE(incident(t, 1).held);
  CHECK(events(t, 1) == std::vector<std::string>{"alert.unsuppressed", "incident.updated"});
  // An inhibition source by its new labels holds its targets at once; new labels that keep it
  // a source change nothing (no release and inhibition in between); losing them releases.
  t.at(40);
  uint64_t node = push("db1-node", "node_down", {{"tier", "edge"}});
  CHECK(alert(disk).suppressed == engine::Suppression::kNone);
  events(t, 2);
  t.at(50);
  push("db1-node", "node_down", {{"tier", "core"}});
  CHECK(alert(disk).suppressed == engine::Suppression::kInhibited);
  REQUIRE(alert(disk).why);
  CHECK(alert(disk).why->inhibited_by == std::vector<uint64_t>{node});
  CHECK(events(t, 0) == std::vector<std::string>{"alert.suppressed"});
  t.at(55);
  push("db1-node", "node_down", {{"team", "network"}, {"tier", "core"}});
  CHECK(alert(disk).suppressed == engine::Suppression::kInhibited);
  CHECK(events(t, 0).empty());
  t.at(60);
  push("db1-node", "node_down", {{"tier", "edge"}});
  CHECK(alert(disk).suppressed == engine::Suppression::kNone);
  CHECK(events(t, 0) == std::vector<std::string>{"alert.unsuppressed"});
}
