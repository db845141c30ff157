// Notification policies and escalation on simulated time: each step at its instant, none after
// acknowledgement, none while held (held time does not count), a reopening restarts it; on-call
// schedules hand off at local wall time across DST, overrides win, and a step that names a
// schedule notifies whoever is on call then.
#include "notify/escalation.h"

#include <catch2/catch.hpp>

#include "../correlate/correlation_timeline.h"
#include "notify/outbox_builder.h"
#include "temp_config.h"
#include "triaged/config/errors.h"

using namespace triaged;
using api::Severity;
using testing::configWith;
using testing::Timeline;
using Lines = std::vector<std::string>;

namespace {

// Targets by name (a target no policy names takes every event, as without policies).
std::string targets(std::initializer_list<const char*> names) {
  std::string out = "notifications:\n  targets:\n";
  for (const char* n : names)
    out += std::string("    - {name: ") + n + ", url: \"http://127.0.0.1:9/" + n + "\"}\n";
  return out;
}

struct Fixture {
  Fixture(const std::string& rules, const std::string& policies,
          std::initializer_list<const char*> names = {"team", "oncall", "boss"})
      : t(configWith(rules, targets(names) + policies)) {
    esc.configure(t.config->notification_policies);
    outbox.setTargets(t.config->notification_targets);
  }
  // Moves time to `seconds` and runs a round as the correlator stage does: the entries made,
  // as "target event".
  Lines at(int64_t seconds) {
    t.at(seconds);
    return round();
  }
  Lines round() {
    auto& c = t.c();
    auto evs = c.takeEvents();
    esc.round(c, evs, t.now);
    auto fired = esc.takeFired();
    std::vector<engine::OutboxEntry> out;
    outbox.build(c, evs, {}, esc, fired, out);
    Lines lines;
    for (const auto& o : out) lines.push_back(o.target + " " + o.event);
    return lines;
  }
  const engine::Incident& inc(uint64_t id) {
    const engine::Incident* i = t.c().incident(id);
    REQUIRE(i);
    return *i;
  }
  Timeline t;
  engine::Escalator esc;
  engine::OutboxBuilder outbox;
};

const char* kLadder = R"(  policies:
    - name: p1
      steps:
        - {targets: [team]}
        - {after: 15m, targets: [oncall]}
        - {after: 30m, targets: [boss]}
      repeat_interval: 1h
)";

}  // namespace

TEST_CASE("Escalation notifies each step at its instant and stops when acknowledged",
          "[escalation]") {
  Fixture f("groups: []\n", kLadder);
  f.t.at(0).push("db1", "cpu", Severity::kCritical);
  CHECK(f.round() == Lines{"team incident.opened"});
  CHECK(f.inc(1).timeline.back().action == std::string("notified"));
  CHECK(f.inc(1).timeline.back().detail == "step 1 of p1: team");
  CHECK(f.at(15 * 60 - 1).empty());
  CHECK(f.esc.nextDeadline() == f.t.t0 + 15 * 60'000);
  CHECK(f.at(15 * 60) == Lines{"oncall incident.escalated"});
  CHECK(f.inc(1).timeline.back().detail == "step 2 of p1: oncall");
  CHECK(f.at(30 * 60) == Lines{"boss incident.escalated"});
  CHECK(f.at(90 * 60 - 1).empty());
  CHECK(f.at(90 * 60) == Lines{"boss incident.escalated"});  // the last step, every hour
  CHECK(f.inc(1).timeline.back().detail == "step 3 of p1 (repeat 1): boss");
  CHECK(f.inc(1).extra().escalation.at(0).reached == Lines{"team", "oncall", "boss"});
  // Acknowledged: everyone it reached hears of it, and nothing escalates any more.
  f.t.at(100 * 60);
  REQUIRE(f.t.c().acknowledge(1, "alice", f.t.now).empty());
  CHECK(f.round() == Lines{"team incident.acknowledged", "oncall incident.acknowledged",
                           "boss incident.acknowledged"});
  CHECK(f.esc.pending() == 0);
  CHECK(f.at(10 * 3600).empty());
  CHECK_FALSE(f.inc(1).extra().escalation.at(0).active);
}

TEST_CASE("A held incident does not escalate, its held time does not count", "[escalation]") {
  Fixture f("groups: []\n", kLadder);
  f.t.at(0).push("db1", "cpu", Severity::kCritical);
  CHECK(f.round() == Lines{"team incident.opened"});
  // Silenced from minute 5 to minute 25: 20 minutes held.
  f.t.at(5 * 60);
  engine::Silence s;
  std::string err, id;
  REQUIRE(rules::parseMatchers("{resource=\"db1\"}", s.matchers, &err));
  s.starts_ms = f.t.now;
  s.ends_ms = f.t.now + 20 * 60'000;
  REQUIRE(f.t.c().putSilence(std::move(s), f.t.now, &id).empty());
  CHECK(f.round().empty());
  CHECK(f.at(15 * 60).empty());                            // step 2 would be due: held
  CHECK(f.at(25 * 60) == Lines{"team incident.updated"});  // released
  // 5 minutes ran before the hold: step 2 comes 10 minutes after the release.
  CHECK(f.at(35 * 60 - 1).empty());
  CHECK(f.at(35 * 60) == Lines{"oncall incident.escalated"});
}

TEST_CASE("Reopening restarts the escalation, resolving stops it", "[escalation]") {
  Fixture f("groups: []\n", kLadder);
  f.t.at(0).push("db1", "cpu", Severity::kCritical);
  CHECK(f.round() == Lines{"team incident.opened"});
  CHECK(f.at(15 * 60) == Lines{"oncall incident.escalated"});
  f.t.at(16 * 60).push("db1", "cpu", Severity::kCritical, api::Status::kResolved);
  f.round();
  // The hold-down (5 min) resolves it.
  CHECK(f.at(21 * 60) == Lines{"team incident.resolved", "oncall incident.resolved"});
  CHECK(f.at(40 * 60).empty());  // step 3 is never due
  f.t.at(45 * 60).push("db1", "cpu", Severity::kCritical);
  CHECK(f.round() == Lines{"team incident.reopened", "oncall incident.reopened",
                           "team incident.updated", "oncall incident.updated"});
  CHECK(f.at(60 * 60) == Lines{"oncall incident.escalated"});  // 15 min after the reopening
}

TEST_CASE("Policies match incident fields and root-cause labels, in order, with continue",
          "[escalation]") {
  Fixture f("groups: []\n", R"(  policies:
    - name: audit-all
      continue: true
      events: [incident.opened]
      steps: [{targets: [audit]}]
    - name: db
      matchers: ['label_team="dba"']
      steps: [{targets: [oncall]}]
    - name: rest
      steps: [{targets: [team]}]
)",
            {"team", "oncall", "audit"});
  f.t.at(0).push("db1", "cpu", Severity::kCritical, api::Status::kFiring, {{"team", "dba"}});
  CHECK(f.round() == Lines{"audit incident.opened", "oncall incident.opened"});
  f.t.at(1).push("web1", "http", Severity::kCritical);
  CHECK(f.round() == Lines{"audit incident.opened", "team incident.opened"});
  // audit takes only openings.
  REQUIRE(f.t.c().acknowledge(1, "vic", f.t.now).empty());
  CHECK(f.round() == Lines{"oncall incident.acknowledged"});
  // Matchers are checked against known fields.
  CHECK(engine::PolicyFacts::check({"{ci=\"db1\", label_x=\"y\", priority=\"1\"}"}).empty());
  auto errs = engine::PolicyFacts::check({"{colour=\"red\"}"});
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].second.find("unknown field \"colour\"") == 0);
}

namespace {

// Berlin: summer time from 2026-03-29 02:00 (UTC+2), back on 2026-10-25 03:00 (UTC+1).
const char* kSchedule = R"(groups: []
calendars:
  - name: office
    time_zone: Europe/Berlin
    hours: [{days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}]
oncall_schedules:
  - name: noc
    time_zone: Europe/Berlin
    people:
      - {name: alice, targets: [alice-mail]}
      - {name: bob, targets: [bob-mail]}
    layers:
      - {name: daily, members: [alice, bob], rotation: 1d, start: "2026-03-27T09:00"}
    overrides:
      - {person: bob, start: "2026-04-10T12:00", end: "2026-04-10T18:00"}
)";

int64_t utc(const char* text) {
  int64_t ms = 0;
  REQUIRE(rules::parseTimestamp(text, ms));
  return ms;
}

}  // namespace

TEST_CASE("On-call rotations hand off at local wall time across a DST change", "[oncall]") {
  Fixture f(kSchedule, "", {"alice-mail", "bob-mail"});
  const auto* s = f.t.c().ruleSet().oncallSchedule("noc");
  REQUIRE(s);
  const auto& cals = f.t.c().ruleSet().calendars();
  auto who = [&](const char* t) {
    int p = s->personAt(utc(t), {}, cals);
    return p < 0 ? std::string("-") : s->people[static_cast<size_t>(p)].name;
  };
  CHECK(who("2026-03-27T07:59:59Z") == "bob");    // before the first hand-off: the one before
  CHECK(who("2026-03-27T08:00:00Z") == "alice");  // 09:00 CET
  CHECK(who("2026-03-28T08:00:00Z") == "bob");
  // The night of the change is 23 hours long: the hand-off stays at 09:00 local, 07:00 UTC.
  CHECK(who("2026-03-29T06:59:59Z") == "bob");
  CHECK(who("2026-03-29T07:00:00Z") == "alice");
  auto shift = s->at(utc("2026-03-29T07:00:00Z"), {}, cals);
  CHECK(shift.source == "daily");
  CHECK(shift.until == utc("2026-03-30T07:00:00Z"));
  CHECK(s->people[static_cast<size_t>(shift.next_person)].name == "bob");
  // Back to winter time: 25 hours, hand-off at 08:00 UTC again.
  CHECK(who("2026-10-25T07:00:00Z") == who("2026-10-24T07:00:00Z"));
  CHECK(who("2026-10-25T08:00:00Z") != who("2026-10-24T08:00:00Z"));
  // 2026-04-10 is alice's day (14 days after 03-27); the override gives bob the afternoon.
  CHECK(who("2026-04-10T09:00:00Z") == "alice");
  CHECK(who("2026-04-10T10:00:00Z") == "bob");  // 12:00 CEST
  CHECK(who("2026-04-10T16:00:00Z") == "alice");
  shift = s->at(utc("2026-04-10T09:00:00Z"), {}, cals);
  CHECK(shift.until == utc("2026-04-10T10:00:00Z"));
  // An override through the API wins the same way, and may not overlap another.
  rules::OncallOverride o;
  o.person = "alice";
  o.start_ms = utc("2026-04-11T10:00:00Z");
  o.end_ms = utc("2026-04-11T11:00:00Z");
  std::string id;
  CHECK(f.esc.addOverride(f.t.c().ruleSet(), "noc", o, &id).empty());
  CHECK(s->personAt(utc("2026-04-11T10:30:00Z"), f.esc.overrides("noc"), cals) == 0);
  o.start_ms = utc("2026-04-10T15:00:00Z");
  CHECK(f.esc.addOverride(f.t.c().ruleSet(), "noc", o, &id).find("overlaps an override") == 0);
  o.person = "carol";
  CHECK(f.esc.addOverride(f.t.c().ruleSet(), "noc", o, &id).find("person:") == 0);
  auto rows = f.esc.takeDirtyOverrides();
  REQUIRE(rows.size() == 1);
  engine::Escalator again;
  again.restoreOverrides({rows[0].record});
  CHECK(again.overrides("noc").size() == 1);
  CHECK(f.esc.removeOverride("noc", "ovr-1", 0).empty());
  CHECK(f.esc.overrides("noc").empty());
}

TEST_CASE("Overlapping overrides in a rule file are refused, naming the key", "[oncall]") {
  std::string rules = R"(oncall_schedules:
  - name: noc
    people: [{name: alice}, {name: bob}]
    layers: [{members: [alice, bob], rotation: 1w, start: "2026-01-05T09:00"}]
    overrides:
      - {person: alice, start: "2026-02-01T00:00", end: "2026-02-03T00:00"}
      - {person: bob, start: "2026-02-02T00:00", end: "2026-02-04T00:00"}
      - {person: carol, start: "2026-03-02T00:00", end: "2026-03-04T00:00"}
)";
  try {
    configWith(rules);
    FAIL("loaded");
  } catch (const config::ConfigException& e) {
    std::string all;
    for (const auto& err : e.errors()) all += err.path + ": " + err.message + "\n";
    CHECK(all.find("oncall_schedules[0].overrides[1]: overlaps overrides[0] (alice)") !=
          std::string::npos);
    CHECK(all.find("oncall_schedules[0].overrides[2].person: unknown person \"carol\"") !=
          std::string::npos);
  }
}

TEST_CASE("A step naming a schedule notifies whoever is on call, out of hours changes a step",
          "[escalation][oncall]") {
  Fixture f(kSchedule, R"(  policies:
    - name: p1
      calendar: office
      steps:
        - {targets: [team], out_of_hours: [schedule:noc]}
        - {after: 10m, targets: ["schedule:noc"]}
)",
            {"team", "alice-mail", "bob-mail"});
  // Friday 2026-04-10 08:00 UTC = 10:00 CEST: office hours, and alice's day.
  f.t.t0 = utc("2026-04-10T08:00:00Z");
  f.t.at(0).push("db1", "cpu", Severity::kCritical);
  CHECK(f.round() == Lines{"team incident.opened"});
  CHECK(f.at(10 * 60) == Lines{"alice-mail incident.escalated"});
  CHECK(f.inc(1).timeline.back().detail == "step 2 of p1: alice (on call for noc)");
  // Saturday: out of hours, the first step pages whoever is on call instead of the team.
  f.t.at(86400).push("web1", "http", Severity::kCritical);
  CHECK(f.round() == Lines{"bob-mail incident.opened"});
  CHECK(f.inc(2).timeline.back().detail == "step 1 of p1 (out of hours): bob (on call for noc)");
}

TEST_CASE("An incident that opens held starts escalating when it is released", "[escalation]") {
  Fixture f("groups: []\n", kLadder);
  engine::Silence s;
  std::string err, id;
  REQUIRE(rules::parseMatchers("{resource=\"db1\"}", s.matchers, &err));
  s.starts_ms = f.t.t0;
  s.ends_ms = f.t.t0 + 20 * 60'000;
  REQUIRE(f.t.c().putSilence(std::move(s), f.t.t0, &id).empty());
  f.t.at(0).push("db1", "cpu", Severity::kCritical);
  CHECK(f.round().empty());
  CHECK(f.inc(1).extra().escalation.empty());
  CHECK(f.at(15 * 60).empty());
  CHECK(f.at(20 * 60) == Lines{"team incident.opened"});  // the silence ends: released
  CHECK(f.at(35 * 60 - 1).empty());
  CHECK(f.at(35 * 60) == Lines{"oncall incident.escalated"});
}
