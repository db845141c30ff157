// The correlator on simulated time: at(t).push(event); expect incidents at t'.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "app/replay.h"
#include "correlation_timeline.h"
#include "temp_config.h"
#include "triaged/api/ingest.h"
#include "triaged/config/loader.h"
#include "triaged/rules/rule_set.h"

using namespace triaged;
using api::Severity;
using api::Status;
using engine::IncidentStatus;
using testing::Timeline;

namespace {

namespace fs = std::filesystem;

using testing::configWith;

const char* kGroupRules = R"(
groups:
  - name: g
    rules:
      - name: by-service
        match: '{service_label="shop"}'
        group_by: [service_label]
        group_wait: 30s
        group_interval: 1m
        max_age: 1h
)";

// Two services of different criticality: incidents of different priorities.
const char* kPaymentsAndWiki = R"(
configuration_items:
  - {name: pay1}
  - {name: wiki1}
services:
  - {name: payments, criticality: high, cis: [pay1]}
  - {name: wiki, criticality: low, cis: [wiki1]}
)";

}  // namespace

TEST_CASE("Correlator opens one incident per group after group_wait, not a millisecond before",
          "[correlator]") {
  Timeline t(configWith(kGroupRules));
  t.at(0).push("web1", "http", Severity::kMajor, Status::kFiring, {{"service_label", "shop"}});
  t.at(29).push("web2", "http", Severity::kMajor, Status::kFiring, {{"service_label", "shop"}});
  t.now = t.t0 + 29'999;
  t.engine.advance(t.now);
  CHECK(t.live().empty());
  t.at(30);
  REQUIRE(t.live().size() == 1);
  CHECK(t.live()[0]->alerts.size() == 2);
  CHECK(t.live()[0]->rule == "by-service");
  // The group's key is not kept with the waiting group: it comes from its alerts.
  CHECK(t.live()[0]->group_key == "service_label=shop");
  CHECK(t.live()[0]->signature() == "by-service/service_label=shop");
  // A later alert joins the same incident; the update is announced once per group_interval.
  t.at(40).push("web3", "http", Severity::kMajor, Status::kFiring, {{"service_label", "shop"}});
  t.at(45).push("web4", "http", Severity::kMajor, Status::kFiring, {{"service_label", "shop"}});
  size_t updates = 0;
  for (auto& e : t.engine.takeEvents())
    updates += e.type == engine::CorrelatorEvent::kIncidentUpdated;
  CHECK(updates == 0);
  t.at(90);
  for (auto& e : t.engine.takeEvents())
    updates += e.type == engine::CorrelatorEvent::kIncidentUpdated;
  CHECK(updates == 1);
  CHECK(t.live()[0]->alerts.size() == 4);
}

TEST_CASE("Correlator opens a new incident when the group's incident is older than max_age",
          "[correlator]") {
  Timeline t(configWith(kGroupRules));
  t.at(0).push("web1", "http", Severity::kMajor, Status::kFiring, {{"service_label", "shop"}});
  t.at(3600 + 30).push("web2", "http", Severity::kMajor, Status::kFiring,
                       {{"service_label", "shop"}});
  t.at(3600 + 60);
  CHECK(t.live().size() == 2);
}

TEST_CASE("Alerts all resolved during group_wait open nothing", "[correlator]") {
  Timeline t(configWith(kGroupRules));
  t.at(0).push("web1", "http", Severity::kMajor, Status::kFiring, {{"service_label", "shop"}});
  t.at(10).push("web1", "http", Severity::kMajor, Status::kResolved, {{"service_label", "shop"}});
  t.at(60);
  CHECK(t.live().empty());
}

TEST_CASE(
    "Threshold counts an event exactly at the window end, and keeps its window across a reload",
    "[correlator]") {
  const char* rules = R"(
groups:
  - name: g
    rules:
      - name: flaps
        type: threshold
        match: '{check="link"}'
        group_by: [resource]
        count: 3
        window: 60s
)";
  Timeline t(configWith(rules));
  t.at(0).push("sw1", "link", Severity::kWarning, Status::kFiring, {{"port", "1"}});
  t.at(30).push("sw1", "link", Severity::kWarning, Status::kFiring, {{"port", "2"}});
  // Reload mid-window with an equivalent rule set: the window keeps its two firings.
  t.c().reload(configWith(rules)->rule_set, engine::CorrelatorOptions{t.config->correlation});
  t.at(60).push("sw1", "link", Severity::kWarning, Status::kFiring, {{"port", "3"}});
  REQUIRE(t.live().size() == 1);
  CHECK(t.live()[0]->alerts.size() == 3);
  // One past the window does not count.
  t.at(200).push("sw2", "link", Severity::kWarning, Status::kFiring, {{"port", "1"}});
  t.now = t.t0 + 260'001;
  t.push("sw2", "link", Severity::kWarning, Status::kFiring, {{"port", "2"}});
  t.push("sw2", "link", Severity::kWarning, Status::kFiring, {{"port", "3"}});
  CHECK(t.live().size() == 1);
}

TEST_CASE("Sequence pair opens on the second alert within the window, exactly at its end too",
          "[correlator]") {
  const char* rules = R"(
groups:
  - name: g
    rules:
      - name: pair
        type: sequence
        mode: pair
        first: '{check="down"}'
        then: '{check="up"}'
        on: [resource]
        within: 30s
)";
  Timeline t(configWith(rules));
  t.at(0).push("r1", "down");
  t.at(30).push("r1", "up");
  REQUIRE(t.live().size() == 1);
  CHECK(t.live()[0]->alerts.size() == 2);
  t.at(100).push("r2", "down");
  t.at(131).push("r2", "up");  // too late
  CHECK(t.live().size() == 1);
}

TEST_CASE(
    "Incident lifecycle: acknowledge, assign, comment, priority, resolve, close, with a timeline",
    "[correlator]") {
  Timeline t(configWith("groups: []\n"));
  t.at(0).push("db1", "cpu", Severity::kCritical);
  REQUIRE(t.live().size() == 1);
  uint64_t id = t.live()[0]->id;
  auto& c = t.c();
  CHECK(c.acknowledge(id, "alice", t.now).empty());
  CHECK(c.incident(id)->status == IncidentStatus::kAcknowledged);
  CHECK(c.assign(id, "bob", "alice", t.now).empty());
  CHECK(c.comment(id, "looking", "bob", t.now).empty());
  CHECK(c.setPriority(id, 1, "bob", t.now).empty());
  CHECK(c.setPriority(id, 9, "bob", t.now) == "priority must be 1..5");
  CHECK(c.linkTicket(id, {"jira", "OPS-1", "https://jira.example/OPS-1"}, "bob", t.now).empty());
  CHECK(c.resolve(id, "bob", "fixed", t.now).empty());
  CHECK(c.incident(id)->status == IncidentStatus::kResolved);
  CHECK(c.acknowledge(id, "x", t.now) == "incident is resolved");
  CHECK(c.close(id, "bob", t.now).empty());
  CHECK(c.incident(id)->status == IncidentStatus::kClosed);
  std::vector<std::string> actions;
  for (auto& e : c.incident(id)->timeline) actions.push_back(e.action);
  CHECK(actions == std::vector<std::string>{"opened", "acknowledged", "assigned", "commented",
                                            "priority changed", "ticket linked", "resolved",
                                            "closed"});
  CHECK(c.acknowledge(999, "x", t.now) == "no such incident");
}

TEST_CASE("A closed incident's group state is released, the next alert opens a new incident",
          "[correlator]") {
  Timeline t(configWith("groups: []\n",
                        "correlation:\n  resolve_hold_down: 1m\n  close_after: 1h\n"
                        "  reopen_window: 10m\n"));
  t.at(0).push("db1", "cpu", Severity::kMajor);
  CHECK(t.c().groupStates() == 1);
  t.at(10).push("db1", "cpu", Severity::kMajor, Status::kResolved);
  t.at(70);
  REQUIRE(t.live()[0]->status == IncidentStatus::kResolved);
  t.at(70 + 3600);
  CHECK(t.live()[0]->status == IncidentStatus::kClosed);
  CHECK(t.c().groupStates() == 0);
  CHECK(t.c().alertCount() == 0);  // its resolved alert is forgotten too
  t.at(8000).push("db1", "cpu", Severity::kMajor);
  CHECK(t.live().size() == 2);
}

TEST_CASE("Merging moves alerts and marks the source merged", "[correlator]") {
  Timeline t(configWith("groups: []\n"));
  t.at(0).push("a", "x");
  t.at(1).push("b", "y");
  auto live = t.live();
  REQUIRE(live.size() == 2);
  uint64_t a = live[0]->id, b = live[1]->id;
  CHECK(t.c().merge(b, a, "alice", t.now).empty());
  CHECK(t.c().incident(b)->status == IncidentStatus::kMerged);
  CHECK(t.c().incident(b)->merged_into == a);
  CHECK(t.c().incident(a)->alerts.size() == 2);
  CHECK(t.c().incident(a)->firing() == 2);
  CHECK(t.c().merge(a, a, "x", t.now) == "cannot merge an incident into itself");
  CHECK_FALSE(t.c().merge(b, a, "x", t.now).empty());
}

TEST_CASE("Priority follows the impact x urgency matrix", "[correlator]") {
  Timeline t(configWith(kPaymentsAndWiki));
  t.at(0).push("pay1", "down", Severity::kCritical);  // impact high, urgency high
  t.at(1).push("wiki1", "slow", Severity::kWarning);  // impact low, urgency low
  t.at(2).push("other", "disk", Severity::kMajor);    // no service: impact medium, urgency medium
  auto live = t.live();
  REQUIRE(live.size() == 3);
  CHECK(live[0]->priority == 1);
  CHECK(live[1]->priority == 5);
  CHECK(live[2]->priority == 3);
  // The severity rising raises the urgency and so the priority.
  t.at(3).push("wiki1", "slow", Severity::kCritical);
  CHECK(t.live()[1]->priority == 3);
}

TEST_CASE(
    "Open incidents by priority follow opening, priority changes, resolve, reopen, merge, close",
    "[correlator]") {
  Timeline t(configWith(kPaymentsAndWiki,
                        "correlation:\n  resolve_hold_down: 0s\n  reopen_window: 10m\n"));
  auto& c = t.c();
  // What the gauges show must equal a count of the incidents themselves, after every step.
  auto check = [&](const char* step) {
    size_t by[6] = {};
    for (const auto& inc : c.incidents())
      if (inc.id &&
          (inc.status == IncidentStatus::kOpen || inc.status == IncidentStatus::kAcknowledged))
        ++by[inc.priority];
    INFO(step);
    for (int p = 1; p <= 5; ++p) CHECK(c.openIncidents(p) == by[p]);
  };
  t.at(0).push("pay1", "down", Severity::kCritical);
  t.at(1).push("wiki1", "slow", Severity::kWarning);
  t.at(2).push("other", "disk", Severity::kMajor);
  check("opened");
  CHECK(c.openIncidents(1) == 1);
  CHECK(c.openIncidents(5) == 1);
  CHECK(c.openIncidents() == 3);
  auto live = t.live();
  REQUIRE(live.size() == 3);
  uint64_t pay = live[0]->id, wiki = live[1]->id, other = live[2]->id;
  t.at(3).push("wiki1", "slow", Severity::kCritical);  // recomputed: 5 -> 3
  check("severity raised");
  CHECK(c.openIncidents(3) == 2);
  CHECK(c.setPriority(other, 2, "bob", t.now).empty());
  check("priority set");
  CHECK(c.acknowledge(pay, "bob", t.now).empty());
  t.at(4).push("pay1", "down", Severity::kCritical, Status::kResolved);
  t.at(5);
  REQUIRE(c.incident(pay)->status == IncidentStatus::kResolved);
  check("resolved");
  CHECK(c.setPriority(pay, 4, "bob", t.now).empty());  // not open: counted nowhere
  check("priority of a resolved incident");
  t.at(6).push("pay1", "down", Severity::kCritical);
  REQUIRE(c.incident(pay)->status == IncidentStatus::kOpen);
  check("reopened");
  CHECK(c.merge(other, wiki, "bob", t.now).empty());
  check("merged");
  CHECK(c.resolve(wiki, "bob", "", t.now).empty());
  CHECK(c.close(wiki, "bob", t.now).empty());
  check("closed");
  CHECK(c.openIncidents() == 1);
}

TEST_CASE("Recurring incidents open a problem, its known error reaches later incidents",
          "[correlator]") {
  Timeline t(configWith("groups: []\n",
                        "correlation:\n  problem_incidents: 3\n  problem_window: 1h\n"
                        "  resolve_hold_down: 0s\n  reopen_window: 1m\n"
                        "pipeline:\n  flapping:\n    enabled: false\n"));
  for (int i = 0; i < 3; ++i) {
    t.at(i * 600).push("db1", "deadlock", Severity::kMajor);
    t.at(i * 600 + 60).push("db1", "deadlock", Severity::kMajor, Status::kResolved);
  }
  REQUIRE(t.c().problems().size() == 1);
  const auto& p = t.c().problems().begin()->second;
  CHECK(p.incidents.size() == 3);
  CHECK(t.c().setKnownError(p.id, "lock order", "restart the batch job", "alice", t.now).empty());
  t.at(2000).push("db1", "deadlock", Severity::kMajor);
  auto live = t.live();
  REQUIRE(live.size() == 4);
  CHECK(live[3]->problem == p.id);
  CHECK(live[3]->extra().workaround == "restart the batch job");
}

TEST_CASE("Rule files with dependency cycles or unknown references are rejected", "[correlator]") {
  CHECK_THROWS_AS(
      configWith(
          "configuration_items:\n  - {name: a, depends_on: [b]}\n  - {name: b, depends_on: [a]}\n"),
      config::ConfigException);
  CHECK_THROWS_AS(
      configWith("configuration_items:\n  - {name: g, members: [a, b]}\n  - {name: a}\n"),
      config::ConfigException);
  CHECK_NOTHROW(configWith(
      "configuration_items:\n  - {name: g, members: [a, b]}\n  - {name: a}\n  - {name: b}\n"));
}

TEST_CASE("Weekly maintenance windows follow the time zone across DST", "[correlator]") {
  rules::Schedule s;
  s.weekly = true;
  s.days_mask = 1u << 6;  // Sunday
  s.start_minute = 60;    // 01:00 local
  s.duration_ms = 2 * 3600'000;
  REQUIRE(rules::findZone("Europe/Berlin", s.zone));
  int64_t ms;
  // Sunday 2026-01-04 01:00 CET = 00:00 UTC; 2026-07-05 01:00 CEST = 2026-07-04 23:00 UTC.
  REQUIRE(rules::parseTimestamp("2026-01-04T00:30:00Z", ms));
  CHECK(s.activeUntil(ms) != 0);
  REQUIRE(rules::parseTimestamp("2026-01-04T02:00:00Z", ms));
  CHECK(s.activeUntil(ms) == 0);
  REQUIRE(rules::parseTimestamp("2026-07-04T23:30:00Z", ms));
  CHECK(s.activeUntil(ms) != 0);
  REQUIRE(rules::parseTimestamp("2026-07-04T22:30:00Z", ms));
  CHECK(s.activeUntil(ms) == 0);
}

TEST_CASE("What few incidents have is allocated when set, and copied with the incident",
          "[correlator]") {
  Timeline t(configWith(kGroupRules));
  t.at(0).push("web1", "http", Severity::kMajor, Status::kFiring, {{"service_label", "shop"}});
  t.at(30);
  REQUIRE(t.live().size() == 1);
  uint64_t id = t.live()[0]->id;
  CHECK_FALSE(t.live()[0]->hasExtra());  // reading it allocates nothing
  CHECK(t.live()[0]->extra().assignee.empty());
  CHECK(t.live()[0]->extra().tickets.empty());
  CHECK_FALSE(t.live()[0]->hasExtra());
  CHECK(t.c().assign(id, "alice", "bob", t.now).empty());
  REQUIRE(t.live()[0]->hasExtra());
  CHECK(t.live()[0]->extra().assignee == "alice");
  engine::Incident copy = *t.live()[0];  // a deep copy: the original keeps its own
  copy.edit().assignee = "carol";
  copy.edit().tickets.push_back({"jira", "OPS-1", ""});
  CHECK(t.live()[0]->extra().assignee == "alice");
  CHECK(t.live()[0]->extra().tickets.empty());
  engine::Incident moved = std::move(copy);
  CHECK(moved.extra().assignee == "carol");
}

TEST_CASE(
    "An alert's new summary reaches the correlator at once when its table rewrites it in place, "
    "at the next checkpoint when it outgrew its bytes, while its signed strings are the same",
    "[correlator]") {
  Timeline t(configWith(""));
  // One alert named by a dedup_key: its labels may change while it fires.
  auto push = [&](const char* summary, const char* team, Status st = Status::kFiring) {
    api::BatchBuilder b(t.opts, t.now);
    auto& e = b.begin(0);
    e.resource = "db1";
    e.check = "disk";
    e.dedup_key = "db1-disk";
    e.status = st;
    e.summary = b.keep(summary);
    b.addLabel("team", team);
    REQUIRE(b.finish());
    auto batch = b.take();
    t.engine.apply(*batch, t.now);
    return batch->events[0].fingerprint;
  };
  auto shown = [&](uint64_t fp) {
    const engine::CorrAlert* a = t.c().alert(fp);
    REQUIRE(a);
    engine::StringsCopy copy(a->strings);
    engine::AlertStrings v(copy.data());
    std::string_view team;
    v.findLabel("team", team);
    return std::string(v.field(engine::AlertStrings::kSummary)) + " / " + std::string(team);
  };
  // Whether the correlator holds the very bytes its table holds (one copy of them).
  auto one = [&](uint64_t fp) {
    auto now = engine::Correlator::Texts::of(t.engine.table(), {fp});
    REQUIRE(now.at.size() == 1);
    return t.c().alert(fp)->strings.same(now.at[0].second);
  };
  t.at(0);
  uint64_t fp = push("Disk 91% full", "storage");
  CHECK(shown(fp) == "Disk 91% full / storage");
  CHECK(one(fp));
  // A new text that fits is no change of state and no copy: the table rewrites the bytes the
  // correlator holds, which sees them at once.
  t.at(10);
  CHECK(push("Disk 97% full", "storage") == fp);
  CHECK(shown(fp) == "Disk 97% full / storage");
  CHECK(one(fp));
  // A longer one takes new bytes: the correlator keeps the old until the checkpoint hands it
  // the new, and then holds the table's again.
  CHECK(push("Disk 97% full: the volume that holds the database files", "storage") == fp);
  CHECK(shown(fp) == "Disk 97% full / storage");
  CHECK(!one(fp));
  t.engine.refreshTexts();
  CHECK(shown(fp) == "Disk 97% full: the volume that holds the database files / storage");
  CHECK(one(fp));
  // Nothing changed since: nothing to take.
  t.engine.refreshTexts();
  engine::Correlator::Texts none;
  CHECK(t.c().refreshTexts(none) == 0);
  auto same = engine::Correlator::Texts::of(t.engine.table(), {fp});
  CHECK(t.c().refreshTexts(same) == 0);
  // New labels change what silences and rules match: they reach the correlator with their
  // event (a change of their own), not at a checkpoint.
  auto before = engine::Correlator::Texts::of(t.engine.table(), {fp});  // (team storage)
  t.at(20);
  push("Disk 98% full", "dba");
  CHECK(shown(fp) == "Disk 98% full / dba");
  // A checkpoint's texts never change an alert's signed strings: stale ones are left.
  CHECK(t.c().refreshTexts(before) == 0);
  CHECK(shown(fp) == "Disk 98% full / dba");
  t.at(30);
  push("Disk ok", "ops", Status::kResolved);  // resolved with new labels: they come too
  CHECK(shown(fp) == "Disk ok / ops");
  t.at(40);
  push("Disk 99% full", "dba");
  CHECK(shown(fp) == "Disk 99% full / dba");
  // A text for an alert the correlator does not hold (never fired) is left.
  auto stray = engine::Correlator::Texts::of(t.engine.table(), {fp});
  REQUIRE(stray.at.size() == 1);
  stray.at[0].first ^= 1;
  CHECK(t.c().refreshTexts(stray) == 0);
}

TEST_CASE(
    "An alert that moves to another CI or service under its dedup_key widens its live "
    "incident's scope, with one entry that says what it now affects",
    "[correlator]") {
  Timeline t(configWith(kPaymentsAndWiki));
  auto push = [&](const char* resource, const char* service, const char* team,
                  Status st = Status::kFiring) {
    api::BatchBuilder b(t.opts, t.now);
    auto& e = b.begin(0);
    e.resource = b.keep(resource);
    e.check = "disk";
    e.service = b.keep(service);
    e.dedup_key = "disk-1";
    e.status = st;
    b.addLabel("team", team);
    REQUIRE(b.finish());
    auto batch = b.take();
    t.engine.apply(*batch, t.now);
  };
  auto says = [&](const std::string& text) {
    for (const auto& e : t.live()[0]->timeline)
      if (std::string(e.action) + ": " + e.detail == text) return true;
    return false;
  };
  t.at(0);
  push("wiki1", "", "docs");
  REQUIRE(t.live().size() == 1);
  const engine::Incident& inc = *t.live()[0];
  using Names = engine::Incident::Names;
  CHECK(inc.cis == Names{"wiki1"});
  CHECK(inc.services == Names{"wiki"});
  int low = inc.priority;
  size_t entries = inc.timeline.size();
  // Same CI, a new label: nothing to say.
  t.at(10);
  push("wiki1", "", "ops");
  CHECK(inc.timeline.size() == entries);
  // On the payments CI now: the incident affects it and its service too, and is raised.
  t.at(20);
  push("pay1", "", "ops");
  CHECK(inc.cis == Names{"pay1", "wiki1"});
  CHECK(inc.services == Names{"payments", "wiki"});
  CHECK(inc.timeline.size() == entries + 2);  // and the priority's own entry
  CHECK(inc.priority < low);
  CHECK(says("alert relabeled: now affects CI pay1, service payments"));
  // A service of its own, with its resolution: still live, so widened.
  t.at(30);
  push("pay1", "billing", "ops", Status::kResolved);
  CHECK(inc.services == Names{"billing", "payments", "wiki"});
  CHECK(says("alert relabeled: now affects service billing"));
  CHECK(inc.timeline.back().action == std::string_view("alert resolved"));
  CHECK(inc.alerts.size() == 1);
  // Once the incident is resolved its scope is what it was: a later relabel leaves it.
  t.at(30 + 301);
  REQUIRE(inc.status == IncidentStatus::kResolved);
  entries = inc.timeline.size();
  push("db9", "shop", "ops", Status::kResolved);
  CHECK(inc.cis == Names{"pay1", "wiki1"});
  CHECK(inc.services == Names{"billing", "payments", "wiki"});
  CHECK(inc.timeline.size() == entries);
}
