// Recovery: a correlator rebuilt from the stored records behaves exactly as the one that wrote
// them (timers, retention, threshold windows and sequences included), and a record reads back
// exactly or is refused naming its wrong field.
#include <catch2/catch.hpp>

#include "store_test_support.h"

using namespace triaged;
using namespace triaged::store_tests;

TEST_CASE("A correlator restored from its records carries on exactly as the original", "[store]") {
  auto config = configWith(kRules, R"(
correlation:
  resolve_hold_down: 5m
  reopen_window: 1h
  close_after: 2h
  problem_incidents: 2
)");
  engine::ReplayEngine a(*config);
  std::vector<std::pair<const char*, const char*>> shop = {{"team", "shop"}};
  push(a, kT0, "web1", "http", Status::kFiring, shop);
  push(a, kT0 + 10'000, "web2", "http", Status::kFiring, shop);
  a.advance(kT0 + 40'000);  // the shop incident opens at 30 s
  push(a, kT0 + 50'000, "web3", "http", Status::kFiring,
       shop);                                              // an update waiting for group_interval
  push(a, kT0 + 60'000, "vm1", "cpu", Status::kFiring);    // default rule: its own incident
  push(a, kT0 + 61'000, "vm1", "cpu", Status::kResolved);  // hold-down runs to 5 min after this
  std::string sid;
  {
    engine::Silence s;
    std::string err;
    REQUIRE(rules::parseMatchers(R"({resource="db1"})", s.matchers, &err));
    s.starts_ms = kT0;
    s.ends_ms = kT0 + 3'600'000;
    s.created_by = "alice";
    REQUIRE(a.correlator().putSilence(std::move(s), kT0 + 62'000, &sid).empty());
  }
  push(a, kT0 + 63'000, "db1", "disk", Status::kFiring);  // silenced until the silence ends
  REQUIRE(a.correlator().acknowledge(1, "alice", kT0 + 64'000).empty());
  REQUIRE(a.correlator().comment(1, "on it", "alice", kT0 + 64'000).empty());

  int64_t now = kT0 + 70'000;
  a.advance(now);
  engine::ReplayEngine b(*config);
  restoreInto(a, b, now);
  REQUIRE(state(b.correlator(), now) == state(a.correlator(), now));
  CHECK(b.correlator().openIncidents() == a.correlator().openIncidents());
  CHECK(b.correlator().suppressedCount() == 1);

  // The same future for both: timers (announce, hold-down, close, silence end), reopen, new ids.
  auto both = [&](auto&& f) {
    f(a);
    f(b);
    REQUIRE(state(b.correlator(), now) == state(a.correlator(), now));
  };
  now = kT0 + 110'000;
  both([&](engine::ReplayEngine& e) { e.advance(now); });  // the shop update is announced
  now = kT0 + 61'000 + 300'000;
  both([&](engine::ReplayEngine& e) { e.advance(now); });  // vm1's incident resolves, to the ms
  CHECK(a.correlator().incident(2)->status == IncidentStatus::kResolved);
  now += 60'000;
  both([&](engine::ReplayEngine& e) { push(e, now, "vm1", "cpu", Status::kFiring); });  // reopens
  CHECK(a.correlator().incident(2)->status == IncidentStatus::kOpen);
  now = kT0 + 3'600'000;
  both([&](engine::ReplayEngine& e) { e.advance(now); });  // the silence ends: db1 is released
  CHECK(a.correlator().suppressedCount() == 0);
  now += 1000;
  both([&](engine::ReplayEngine& e) {
    push(e, now, "web1", "http", Status::kResolved, shop);
    push(e, now, "web2", "http", Status::kResolved, shop);
    push(e, now, "web3", "http", Status::kResolved, shop);
  });
  now += 300'000 + 7'200'000;
  both([&](engine::ReplayEngine& e) { e.advance(now); });  // resolved, then closed after 2 h
  CHECK(a.correlator().incident(1)->status == IncidentStatus::kClosed);
  both([&](engine::ReplayEngine& e) { push(e, now, "web9", "http", Status::kFiring, shop); });
  now += 30'000;
  both([&](engine::ReplayEngine& e) { e.advance(now); });  // a new shop incident, id 4 in both
  CHECK(b.correlator().incident(4) != nullptr);
}

TEST_CASE("An alert waiting in group_wait at the restart waits again from the restart", "[store]") {
  auto config = configWith(kRules, "");
  engine::ReplayEngine a(*config);
  push(a, kT0, "web1", "http", Status::kFiring, {{"team", "shop"}});
  engine::ReplayEngine b(*config);
  int64_t restart = kT0 + 20'000;
  restoreInto(a, b, restart);
  b.advance(kT0 + 30'000);
  CHECK(b.correlator().openIncidents() == 0);
  b.advance(restart + 30'000);
  CHECK(b.correlator().openIncidents() == 1);
}

TEST_CASE("Closed and merged incidents leave memory after state.retention, to the millisecond",
          "[store]") {
  auto config = configWith(kRules, "state:\n  retention: 1h\n");
  engine::ReplayEngine e(*config);
  push(e, kT0, "vm1", "cpu", Status::kFiring);
  push(e, kT0 + 1000, "vm2", "cpu", Status::kFiring);
  push(e, kT0 + 2000, "vm3", "cpu", Status::kFiring);
  auto& c = e.correlator();
  REQUIRE(c.close(1, "alice", kT0 + 10'000).empty());
  REQUIRE(c.merge(3, 2, "alice", kT0 + 20'000).empty());
  e.advance(kT0 + 10'000 + 3'600'000 - 1);
  CHECK(c.incident(1) != nullptr);
  e.advance(kT0 + 10'000 + 3'600'000);
  CHECK(c.incident(1) == nullptr);
  CHECK(c.incidentBase() == 2);  // the front hole is gone from memory
  e.advance(kT0 + 20'000 + 3'600'000);
  CHECK(c.incident(3) == nullptr);
  CHECK(c.incident(2) != nullptr);   // open: kept
  CHECK(c.incidents().size() == 2);  // incident 2 and the hole of 3
  push(e, kT0 + 4'000'000, "vm4", "cpu", Status::kFiring);
  CHECK(c.incident(4) != nullptr);  // ids go on
  CHECK(c.incident(4)->title == "cpu on vm4");
}

TEST_CASE("An incident record leaves out what is at its default and reads back exactly",
          "[store]") {
  engine::Incident inc;
  inc.id = 7;
  inc.title = "disk on db1";
  inc.opened_ms = inc.updated_ms = kT0;
  inc.priority = inc.impact = inc.urgency = 0;
  inc.interval_ms = 0;
  inc.opening_notified = true;
  std::string rec;
  engine::encodeIncident(rec, inc);
  CHECK(rec == R"({"id":7,"title":"disk on db1","status":0,"opened":1767225600000,)"
               R"("updated":1767225600000})");
  auto d = engine::decodeIncident(rec).incident;
  CHECK(d.opening_notified);  // left out when true (rows before it had no such field)
  CHECK(d.priority == 0);
  CHECK(!d.extra().escalation.size());

  // Every field away from its default, then through the record and back: the same record.
  inc.service = "billing";
  inc.category = "alert";
  inc.rule = "default";
  inc.group_key = "service=billing";
  inc.status = engine::IncidentStatus::kAcknowledged;
  inc.priority = 1, inc.impact = 2, inc.urgency = 3, inc.priority_fixed = true;
  inc.acknowledged_ms = kT0 + 1, inc.resolved_ms = kT0 + 2, inc.closed_ms = kT0 + 3;
  inc.edit().assignee = "alice";
  inc.root_cause = 11, inc.merged_into = 12, inc.problem = 13;
  inc.edit().known_error = "KE-1";
  inc.edit().workaround = "restart";
  inc.edit().tickets.push_back({"redmine", "42", "http://tickets/42"});
  inc.cis.push_back("db1");
  inc.services.push_back("billing");
  inc.edit().changes.push_back("CHG-1");
  inc.cis_truncated = inc.services_truncated = inc.threshold_group = true;
  inc.interval_ms = 300000, inc.group_hash = 99, inc.max_severity = 5, inc.criticality = 2;
  inc.timeline_dropped = 3, inc.announced_ms = kT0 + 4, inc.update_pending = true;
  inc.held = true, inc.held_since_ms = kT0 + 5, inc.held_total_ms = 6;
  inc.opening_notified = false;
  engine::EscalationState esc;
  esc.policy = "oncall";
  esc.next = 1, esc.repeats = 2, esc.started = 3, esc.active = true;
  esc.reached.push_back("pager");
  inc.edit().escalation.push_back(esc);
  rec.clear();
  engine::encodeIncident(rec, inc);
  for (const char* key : {"service", "priority_fixed", "assignee", "tickets", "changes", "held",
                          "opening_notified", "escalation", "timeline_dropped"})
    CHECK(rec.find(std::string("\"") + key + "\"") != std::string::npos);
  std::string again;
  engine::encodeIncident(again, engine::decodeIncident(rec).incident);
  CHECK(again == rec);

  // A record written before (every field, the signature too) reads as it did.
  auto old = engine::decodeIncident(
                 R"({"id":1,"title":"t","service":"","category":"","rule":"r","group_key":"g",)"
                 R"("signature":"r/g","status":1,"priority":3,"impact":2,"urgency":2,)"
                 R"("priority_fixed":false,"opened":5,"acknowledged":6,"resolved":0,"closed":0,)"
                 R"("updated":6,"assignee":"","root_cause":0,"merged_into":0,"problem":0,)"
                 R"("known_error":"","workaround":"","tickets":[],"cis":["x"],"services":[],)"
                 R"("changes":[],"cis_truncated":false,"services_truncated":false,"interval":0,)"
                 R"("group_hash":0,"threshold_group":false,"max_severity":4,"criticality":0,)"
                 R"("timeline_dropped":0,"announced":0,"update_pending":false})")
                 .incident;
  CHECK(old.priority == 3);
  CHECK(old.acknowledged_ms == 6);
  CHECK(old.cis.size() == 1);
  CHECK(old.signature() == "r/g");
  CHECK(old.opening_notified);
}

TEST_CASE("A damaged record is refused with the field that is wrong", "[store]") {
  CHECK_THROWS_WITH(engine::decodeIncident("{\"id\":1}"), Catch::Contains("\"title\""));
  CHECK_THROWS_WITH(engine::decodeIncident("not json"), Catch::Contains("not a JSON object"));
  // A gap in an incident's rows (a row lost) is named, not papered over.
  engine::Incident inc;
  inc.id = 1;
  std::string rec;
  engine::encodeIncident(rec, inc);
  CHECK_NOTHROW(engine::decodeIncident(rec));
  CHECK_THROWS_WITH(engine::decodeIncident(rec, {{1, 42, 0}}), Catch::Contains("row 0 is missing"));
  CHECK_THROWS_WITH(engine::decodeSilence(R"({"id":"x","matchers":"{a=}"})"),
                    Catch::Contains("matchers"));
}

TEST_CASE("Threshold windows and sequences count stored firings at their own times after a restart",
          "[store]") {
  const char* rules = R"(
groups:
  - name: g
    rules:
      - name: flaps
        type: threshold
        match: '{check="link"}'
        group_by: [resource]
        count: 3
        window: 10m
      - name: pair
        type: sequence
        mode: pair
        first: '{check="down"}'
        then: '{check="up"}'
        on: [resource]
        within: 5m
      - name: backup
        type: sequence
        mode: absence
        first: '{check="backup_started"}'
        then: '{check="backup_finished"}'
        on: [resource]
        within: 1h
        incident:
          title: "Backup on {{ resource }} never finished"
)";
  auto config = configWith(rules, "");
  engine::ReplayEngine a(*config);
  push(a, kT0, "sw1", "link", Status::kFiring, {{"port", "1"}});
  push(a, kT0 + 60'000, "sw1", "link", Status::kFiring, {{"port", "2"}});
  push(a, kT0, "r1", "down", Status::kFiring);
  REQUIRE(a.correlator().openIncidents() == 0);
  SECTION("a restart inside the windows keeps both firings and the first of the pair") {
    engine::ReplayEngine b(*config);
    restoreInto(a, b, kT0 + 120'000);
    CHECK(b.correlator().openIncidents() == 0);
    push(b, kT0 + 180'000, "sw1", "link", Status::kFiring, {{"port", "3"}});
    CHECK(b.correlator().openIncidents() == 1);
    push(b, kT0 + 240'000, "r1", "up", Status::kFiring);
    CHECK(b.correlator().openIncidents() == 2);
  }
  SECTION("a firing that resolved inside the window still counts after the restart, once") {
    push(a, kT0 + 90'000, "sw1", "link", Status::kResolved, {{"port", "2"}});
    engine::ReplayEngine b(*config);
    restoreInto(a, b, kT0 + 120'000);
    REQUIRE(b.correlator().thresholdWindows().size() == 1);
    CHECK(b.correlator().thresholdWindows()[0].seen.size() ==
          2);  // port 1 (firing) not counted twice
    CHECK(b.correlator().thresholdWindows()[0].seen[1] ==
          std::pair<int64_t, uint64_t>{kT0 + 60'000,
                                       a.correlator().thresholdWindows()[0].seen[1].second});
    push(b, kT0 + 180'000, "sw1", "link", Status::kFiring, {{"port", "3"}});
    CHECK(b.correlator().openIncidents() == 1);
  }
  SECTION("the first of a pair that resolved before the restart still pairs after it") {
    push(a, kT0 + 30'000, "r1", "down", Status::kResolved);
    engine::ReplayEngine b(*config);
    restoreInto(a, b, kT0 + 120'000);
    push(b, kT0 + 240'000, "r1", "up", Status::kFiring);
    CHECK(b.correlator().openIncidents() == 1);
  }
  SECTION("an absence deadline survives the restart, and a satisfied one is not raised again") {
    push(a, kT0, "nas1", "backup_started", Status::kFiring);
    push(a, kT0 + 60'000, "nas1", "backup_started", Status::kResolved);  // a one-shot start event
    push(a, kT0, "nas2", "backup_started", Status::kFiring);             // still firing...
    push(a, kT0 + 30 * 60'000, "nas2", "backup_finished", Status::kFiring);  // ...and finished
    REQUIRE(a.correlator().openIncidents() == 0);
    engine::ReplayEngine b(*config);
    restoreInto(a, b, kT0 + 40 * 60'000);
    b.advance(kT0 + 59 * 60'000);
    CHECK(b.correlator().openIncidents() == 0);
    b.advance(kT0 + 61 * 60'000);
    std::vector<std::string> titles;
    for (const auto& inc : b.correlator().incidents())
      if (inc.id) titles.push_back(inc.title);
    CHECK(titles == std::vector<std::string>{"Backup on nas1 never finished"});
  }
  SECTION("the window's firings leave it at their own times after the restart") {
    push(a, kT0 + 90'000, "sw1", "link", Status::kResolved, {{"port", "2"}});
    engine::ReplayEngine b(*config);
    restoreInto(a, b,
                kT0 + 10 * 60'000 + 30'000);  // port 1's firing has left the window, port 2's not
    REQUIRE(b.correlator().thresholdWindows().size() == 1);
    push(b, kT0 + 10 * 60'000 + 40'000, "sw1", "link", Status::kFiring, {{"port", "3"}});
    CHECK(b.correlator().openIncidents() == 0);  // port 1 re-counted at its firing time (out), 2, 3
    push(b, kT0 + 10 * 60'000 + 50'000, "sw1", "link", Status::kFiring, {{"port", "4"}});
    CHECK(b.correlator().openIncidents() == 1);
  }
  SECTION("after the windows ended, the stored firings no longer count: nothing opens") {
    engine::ReplayEngine b(*config);
    restoreInto(a, b, kT0 + 20 * 60'000);
    push(b, kT0 + 20 * 60'000, "sw1", "link", Status::kFiring, {{"port", "3"}});
    push(b, kT0 + 20 * 60'000, "r1", "up", Status::kFiring);
    CHECK(b.correlator().openIncidents() == 0);  // before: all three counted at the restart
  }
}
