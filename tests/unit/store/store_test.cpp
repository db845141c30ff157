// Durable state: the store writer on a real SQLite file (group commit, completions after the
// commit, merge rules of rows, retention), and recovery: a correlator rebuilt from the stored
// records behaves exactly as the one that wrote them, timers included.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>

#include "app/replay.h"
#include "correlate/correlation_json.h"
#include "ha/lease.h"
#include "notify/notification_filter.h"
#include "notify/notifier.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_store.h"
#include "store/round_rows.h"
#include "store/sqlite/sqlite_store.h"
#include "store/state_codec.h"
#include "store/store_writer.h"
#include "temp_config.h"
#include "test_store.h"
#include "triaged/api/ingest.h"
#include "triaged/config/loader.h"
#include "triaged/rules/rule_set.h"

using namespace triaged;
using api::Severity;
using api::Status;
using engine::IncidentStatus;

namespace {

namespace fs = std::filesystem;

using testing::configWith;
using testing::tempDir;

const int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

void push(engine::ReplayEngine& e, int64_t now, const char* resource, const char* check, Status st,
          std::vector<std::pair<const char*, const char*>> labels = {},
          Severity severity = Severity::kMajor) {
  api::IngestOptions opts;
  opts.resolve_timeout_ms = 0;
  api::BatchBuilder b(opts, now);
  auto& ev = b.begin(0);
  ev.resource = b.keep(resource);
  ev.check = b.keep(check);
  ev.severity = severity;
  ev.status = st;
  for (auto& [k, v] : labels) b.addLabel(k, v);
  REQUIRE(b.finish());
  auto batch = b.take();
  e.apply(*batch, now);
}

// Everything the API would show of the correlator's state.
std::string state(engine::Correlator& c, int64_t now) {
  std::string out;
  for (const auto& inc : c.incidents()) {
    if (!inc.id) continue;
    engine::writeIncidentJson(out, c, inc, true);
    out += '\n';
  }
  for (const auto& [id, p] : c.problems()) {
    engine::writeProblemJson(out, p, true);
    out += '\n';
  }
  for (const auto& [id, s] : c.silences()) {
    engine::writeSilenceJson(out, s, now);
    out += '\n';
  }
  c.forEachAlert([&](const engine::CorrAlert& a) {
    engine::writeCorrelatedAlertJson(out, a);
    out += '\n';
  });
  return out;
}

// What the store would hold of `from`, loaded into `to` (a fresh engine), as at start-up.
// The incidents come from `stored` (what a store read back) when given, else from `from`.
// An incident's rows as a unit holds them, copied out of it (its rows are views into the unit).
struct TakenRow {
  std::string record;
  std::vector<engine::MemberRow> alerts;
  std::vector<engine::TimelineRow> timeline;
};
TakenRow takenRow(const engine::StoreUnit& u, const engine::StoreUnit::Row& r) {
  TakenRow t{std::string(r.record), {}, {}};
  for (const auto& m : u.membersOf(r)) t.alerts.push_back(m);
  for (const auto& e : u.timelineOf(r))
    t.timeline.push_back({e.seq, e.at_ms, std::string(e.actor), std::string(e.action),
                          std::string(e.detail), e.alert});
  return t;
}
TakenRow incidentRowsOf(const engine::Correlator& c, const engine::Incident& inc,
                        size_t alerts_from, size_t timeline_from) {
  engine::StoreUnit u;
  auto r = u.row(inc.id, 0, 0, "");
  engine::incidentRows(c, inc, alerts_from, timeline_from, u, r);
  return takenRow(u, r);
}

void restoreInto(engine::ReplayEngine& from, engine::ReplayEngine& to, int64_t now,
                 const engine::StoredState* stored = nullptr) {
  engine::Correlator& c = from.correlator();
  engine::Correlator::Restored r;
  auto decoded = [&](const std::string& rec, const std::vector<engine::MemberRow>& alerts,
                     const std::vector<engine::TimelineRow>& timeline) {
    auto d = engine::decodeIncident(rec, alerts, timeline);
    r.incidents.push_back(std::move(d.incident));
    r.roles.push_back(std::move(d.roles));
  };
  if (stored) {
    for (const auto& i : stored->incidents) decoded(i.record, i.alerts, i.timeline);
  } else {
    for (const auto& inc : c.incidents()) {
      std::string rec;
      engine::encodeIncident(rec, inc);
      auto rows = incidentRowsOf(c, inc, 0, 0);
      decoded(rec, rows.alerts, rows.timeline);
    }
  }
  for (const auto& [id, p] : c.problems()) {
    std::string rec;
    engine::encodeProblem(rec, p);
    r.problems.push_back(engine::decodeProblem(rec));
  }
  for (const auto& [id, s] : c.silences()) {
    std::string rec;
    engine::encodeSilence(rec, s);
    r.silences.push_back(engine::decodeSilence(rec));
  }
  for (auto& w : c.thresholdWindows()) {
    // Through the store's encoding, as at start-up.
    w.seen = engine::decodeWindow(engine::encodeWindow(w.seen));
    r.windows.push_back(std::move(w));
  }
  r.sequences = c.sequenceStates();
  r.next_incident = c.nextIncidentId();
  r.next_problem = c.nextProblemId();
  from.table().forEach([&](uint64_t fp, const engine::Alert& a) {
    auto rec = engine::AlertRecord::of(a, true);
    const engine::CorrAlert* ca = c.alert(fp);
    rec.changed_ms = ca ? ca->changed_ms : a.first_seen_ms;
    REQUIRE(to.table().restore(rec));
    r.alerts.push_back(engine::Correlator::RestoredAlert::of(rec));
  });
  to.correlator().restore(std::move(r), now);
  to.advance(now);
}

// Flips are flips, not flapping (a hold-down of 5 minutes).
const char* kNoFlapping = R"(
pipeline:
  flapping: {enabled: false}
correlation:
  resolve_hold_down: 5m
)";

// The shop incident (web1 and web2 firing), open at kT0 + 30 s.
engine::Incident* openShop(engine::ReplayEngine& a) {
  std::vector<std::pair<const char*, const char*>> shop = {{"team", "shop"}};
  push(a, kT0, "web1", "http", Status::kFiring, shop);
  push(a, kT0 + 1000, "web2", "http", Status::kFiring, shop);
  a.advance(kT0 + 30'000);
  engine::Incident* inc = a.correlator().mutableIncidentForStore(1);
  REQUIRE(inc);
  return inc;
}

const char* kRules = R"(
groups:
  - name: g
    rules:
      - name: shop
        match: '{team="shop"}'
        group_by: [team]
        group_wait: 30s
        group_interval: 1m
)";

// An alert's packed strings for an event on `resource` (check "c"), as the store keeps them.
std::string packedStrings(const std::string& resource) {
  api::IngestOptions io;
  api::BatchBuilder b(io, kT0);
  auto& ev = b.begin(0);
  ev.resource = b.keep(resource);
  ev.check = b.keep("c");
  REQUIRE(b.finish());
  auto batch = b.take();
  auto blob = engine::AlertStrings::pack(*batch, batch->events[0]);
  return std::string(blob.get(), engine::AlertStrings(blob.get()).bytes());
}

}  // namespace

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

TEST_CASE("Store writer commits before completing, merges rows, and prunes by retention",
          "[store]") {
  fs::path dir = tempDir("store");
  engine::ManualClock clock(kT0);
  api::MetricsHub hub;
  auto strings = [](const char* resource) { return packedStrings(resource); };
  {
    auto store = testing::openStore(dir);
    engine::StoreWriterOptions o;
    o.alert_retention_ms = 3'600'000;
    o.incident_retention_ms = 86'400'000;
    o.prune_interval_ms = 0;  // every round
    engine::StoreWriter w(*store, o, clock, hub);
    w.start();
    std::mutex mu;
    std::vector<int> order;
    engine::StoreUnit u;
    engine::AlertRecord fresh;
    fresh.fingerprint = 0xfedcba9876543210ULL;  // above INT64_MAX: stored as the same bits
    fresh.first_seen_ms = fresh.last_seen_ms = kT0;
    fresh.count = 1;
    fresh.strings = strings("web1");
    u.alerts.push_back(fresh);
    engine::AlertRecord old = fresh;
    old.fingerprint = 7;
    old.status = Status::kResolved;
    old.time_ms = kT0 - 7'200'000;  // resolved two hours ago: past retention
    u.alerts.push_back(old);
    u.addIncident(1, static_cast<int>(IncidentStatus::kClosed), kT0 - 2 * 86'400'000LL, "{}",
                  {{0, 11, 0}}, {{0, kT0, "triaged", "opened", "", 0}});
    u.addIncident(2, static_cast<int>(IncidentStatus::kOpen), kT0 - 2 * 86'400'000LL, "{}",
                  {{0, 21, 0}, {1, 22, 2}}, {{0, kT0, "triaged", "opened", "", 0}});
    u.meta.emplace_back("next_incident", "3");
    // Threshold windows: one kept (hash above INT64_MAX), one written and then deleted.
    u.windows.push_back(
        {0xfedcba9876543210ULL, "flaps", engine::encodeWindow({{kT0, 11}, {kT0 + 1, 12}})});
    u.windows.push_back({5, "flaps", engine::encodeWindow({{kT0, 13}})});
    u.sequences.push_back(
        {0xfedcba9876543210ULL, "backup", "resource=nas1", 21, kT0, true, strings("nas1")});
    u.sequences.push_back({6, "backup", "resource=nas2", 22, kT0, false, ""});
    u.sequences.push_back({7, "backup", "resource=nas3", 23, kT0, true, strings("nas3")});
    u.committed.push_back([&] {
      std::lock_guard l(mu);
      order.push_back(1);
    });
    w.submit(std::move(u));
    // A later change without strings keeps the stored ones; counters never go back.
    engine::StoreUnit v;
    engine::AlertRecord change = fresh;
    change.strings.clear();
    change.status = Status::kResolved;
    change.count = 5;
    change.time_ms = kT0;
    v.alerts.push_back(change);
    v.counters.push_back({fresh.fingerprint, 3, kT0 - 1, kT0});
    v.windows.push_back({5, "", ""});
    v.sequences.push_back({7, "", "", 0, 0, false, ""});
    v.committed.push_back([&] {
      std::lock_guard l(mu);
      order.push_back(2);
    });
    w.submit(std::move(v));
    w.barrier([] {});
    w.barrier([] {});  // the round after a prune
    w.stop();
    CHECK(order == std::vector<int>{1, 2});
    CHECK(w.commits() >= 1);
  }
  auto store = testing::openStore(dir);
  auto st = engine::loadState(*store);
  REQUIRE(st.alerts.size() == 1);  // the old resolved one was pruned
  CHECK(st.alerts[0].fingerprint == 0xfedcba9876543210ULL);
  CHECK(st.alerts[0].strings == strings("web1"));
  CHECK(st.alerts[0].count == 5);
  CHECK(st.alerts[0].status == Status::kResolved);
  REQUIRE(st.incidents.size() == 1);  // the closed one past retention is gone, the open one stays
  CHECK(st.incidents[0].alerts.size() == 2);
  CHECK(st.incidents[0].timeline.size() == 1);
  CHECK(st.next_incident == 3);
  REQUIRE(st.windows.size() == 1);
  CHECK(st.windows[0].hash == 0xfedcba9876543210ULL);
  CHECK(st.windows[0].rule == "flaps");
  CHECK(engine::decodeWindow(st.windows[0].seen) ==
        std::vector<std::pair<int64_t, uint64_t>>{{kT0, 11}, {kT0 + 1, 12}});
  CHECK_THROWS_WITH(engine::decodeWindow("1,2,3"), Catch::Contains("time without a fingerprint"));
  REQUIRE(st.sequences.size() == 2);  // by hash as stored (signed): the large one first
  CHECK(st.sequences[0].hash == 0xfedcba9876543210ULL);
  CHECK(st.sequences[0].key == "resource=nas1");
  CHECK(st.sequences[0].first == 21);
  CHECK(st.sequences[0].at == kT0);
  CHECK(st.sequences[0].active);
  CHECK(st.sequences[0].strings == strings("nas1"));
  CHECK(st.sequences[1].hash == 6);
  CHECK(!st.sequences[1].active);
  CHECK(st.sequences[1].strings.empty());
  fs::remove_all(dir);
}

TEST_CASE(
    "Notification targets filter by event, priority and matchers, signatures are HMAC-SHA256 of "
    "t.body",
    "[notifier]") {
  config::NotificationTarget t;
  t.min_priority = 2;
  engine::Incident p1, p3;
  p1.priority = 1;
  p1.service = "db";
  p1.category = "database";
  p3.priority = 3;
  {
    engine::NotificationFilter f(t);
    CHECK(f.accepts("incident.opened", &p1));
    CHECK_FALSE(f.accepts("incident.opened", &p3));
    CHECK(f.accepts("problem.opened", nullptr));  // problems have no priority
  }
  t.events = {"incident.resolved"};
  {
    engine::NotificationFilter f(t);
    CHECK_FALSE(f.accepts("incident.opened", &p1));
    CHECK(f.accepts("incident.resolved", &p1));
  }
  t.events.clear();
  t.matchers = {R"(service=~"db|cache")", R"(category!="network")"};
  REQUIRE(engine::NotificationFilter::check(t.matchers).empty());
  {
    engine::NotificationFilter f(t);
    CHECK(f.accepts("incident.opened", &p1));
    p1.service = "web";
    CHECK_FALSE(f.accepts("incident.opened", &p1));
    CHECK_FALSE(f.accepts("problem.opened", nullptr));  // no service: "" does not match
  }
  t.matchers = {R"(priority="1")"};
  {
    engine::NotificationFilter f(t);
    CHECK(f.accepts("incident.opened", &p1));
    p1.priority = 2;
    CHECK_FALSE(f.accepts("incident.opened", &p1));
  }
  auto errors =
      engine::NotificationFilter::check({R"(service="a")", R"(team="ops")", R"(service=~"(")"});
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].first == 1);
  CHECK(errors[0].second.find("unknown field \"team\"") != std::string::npos);
  CHECK(errors[1].first == 2);
  // The same value as Python's hmac.new(b"s3cret", b'1767225600.{"a":1}', sha256).hexdigest().
  CHECK(engine::Notifier::signature("s3cret", 1767225600, R"({"a":1})") ==
        "t=1767225600,v1=7d4120fcebf444efab10ba7cd6c651bf463cefb039db5fad37ff9f7231ac8a4a");
}

TEST_CASE("Units committed in one group store what they store committed one by one", "[store]") {
  // The postgresql backend folds a group's rows per key before it writes them; SQLite writes
  // them in order. Either way the result must be that of the units one after the other.
  auto units = [] {
    std::vector<engine::StoreUnit> v(4);
    engine::AlertRecord a;
    a.fingerprint = 0xfedcba9876543210ULL;
    a.first_seen_ms = a.last_seen_ms = a.time_ms = kT0;
    a.count = 1;
    a.strings = std::string("\x01\x02\x00\x03strings", 11);
    v[0].alerts.push_back(a);
    engine::AlertRecord b = a;
    b.fingerprint = 42;
    v[0].alerts.push_back(b);
    v[0].windows.push_back({5, "flaps", engine::encodeWindow({{kT0, 13}})});
    v[0].meta.emplace_back("next_incident", "2");
    v[0].addIncident(1, 0, kT0, "{\"v\":1}", {{0, 42, 0}},
                     {{0, kT0, "triaged", "opened", "caf\xc3\xa9", 0}});
    v[0].sla.gaps.emplace_back(kT0, kT0 + 10);
    // A change without strings, then counters after it (the firing alert's time moves).
    engine::AlertRecord c = a;
    c.strings.clear();
    c.count = 3;
    c.last_seen_ms = kT0 + 5;
    c.changed_ms = 0;
    c.severity = Severity::kCritical;
    v[1].alerts.push_back(c);
    v[1].counters.push_back({a.fingerprint, 7, kT0 + 9, kT0 + 9});
    v[1].counters.push_back({b.fingerprint, 2, kT0 + 3, kT0 + 3});
    v[1].windows.push_back({5, "", ""});  // deleted
    v[1].addIncident(1, 1, kT0 + 1, "{\"v\":2}", {{1, 7, 2}},
                     {{0, kT0 + 1, "alice", "edited", "in place", 0}});
    v[1].sla.gaps.emplace_back(kT0, kT0 + 5);  // never shortens
    // A counter before a change of the same alert: the maxima stay, the change sets the time.
    v[2].counters.push_back({b.fingerprint, 9, kT0 + 20, kT0 + 20});
    engine::AlertRecord d = b;
    d.strings.clear();
    d.count = 4;
    d.time_ms = kT0 + 15;
    d.status = Status::kResolved;
    v[2].alerts.push_back(d);
    v[2].windows.push_back({5, "flaps", engine::encodeWindow({{kT0 + 2, 14}})});  // again
    // Only a timeline entry rewritten in place (an alert's flips): the record stays.
    v[2].addIncident(1, 0, kT0 + 2, "", {},
                     {{0, kT0 + 2, "triaged", "alert flapped", "in place again", 0}});
    v[2].meta.emplace_back("next_incident", "3");
    // Counters of an alert stored only by a later unit are not written (the SQLite backend
    // writes a group's alert rows in row order, not in the units' order).
    v[0].counters.push_back({99, 50, kT0 + 50, kT0 + 50});
    engine::AlertRecord late = a;
    late.fingerprint = 99;
    v[3].alerts.push_back(late);
    v[3].counters.push_back({a.fingerprint, 6, kT0 + 6, kT0 + 6});  // after unit 1's, older
    v[3].sequences.push_back({9, "backup", "k", 1, kT0, true, "s"});
    v[3].sequences.push_back({9, "", "", 0, 0, false, ""});
    // Text PostgreSQL cannot hold (NUL, invalid UTF-8) is stored, not refused.
    v[3].addIncident(2, 0, kT0, "{}", {}, {{0, kT0, "x", "y", std::string("a\0b\xff", 4), 0}});
    return v;
  };
  auto stored = [&](bool together) {
    fs::path dir = tempDir(together ? "fold-together" : "fold-apart");
    {
      auto store = testing::openStore(dir);
      engine::AlertRowIds rows;
      store->loadAlertRows(rows);
      auto v = units();
      if (together) {
        std::vector<engine::StoreUnit*> all;
        for (auto& u : v) all.push_back(&u);
        store->commit(all, rows);
      } else {
        for (auto& u : v) {
          std::vector<engine::StoreUnit*> one{&u};
          store->commit(one, rows);
        }
      }
    }
    auto st = testing::openStore(dir)->loadState();
    std::string out;
    for (const auto& a : st.alerts)
      out += std::to_string(a.fingerprint) + " " + std::to_string(a.count) + " " +
             std::to_string(a.last_seen_ms - kT0) + " " + std::to_string(a.time_ms - kT0) + " " +
             std::to_string(a.changed_ms - kT0) + " " + std::to_string(int(a.severity)) + " " +
             std::to_string(int(a.status)) + " " + std::to_string(a.strings.size()) + "\n";
    for (const auto& i : st.incidents) {
      out += i.record + "\n";
      for (const auto& m : i.alerts) out += "m " + std::to_string(m.fingerprint) + "\n";
      for (const auto& t : i.timeline) out += "t " + t.actor + " " + t.detail + "\n";
    }
    for (const auto& w : st.windows) out += "w " + std::to_string(w.hash) + " " + w.seen + "\n";
    out += "seq " + std::to_string(st.sequences.size()) + "\n";
    out += "next " + std::to_string(st.next_incident) + "\n";
    for (auto [a, b] : st.sla.gaps) out += "gap " + std::to_string(b - a) + "\n";
    fs::remove_all(dir);
    return out;
  };
  std::string apart = stored(false);
  INFO(apart);
  CHECK(stored(true) == apart);
  // What the units say, spelled out (strings kept by the change without any; counters).
  CHECK(apart.find("18364758544493064720 7 9 6 0 5 0 11\n") != std::string::npos);
  CHECK(apart.find("42 9 20 15 0 2 1 11\n") != std::string::npos);
  CHECK(apart.find("99 1 0 0 0 2 0 11\n") != std::string::npos);
  CHECK(apart.find("{\"v\":2}\nm 42\nm 7\nt triaged in place again\n") != std::string::npos);
  CHECK(apart.find("gap 10\n") != std::string::npos);
  CHECK(apart.find("next 3\n") != std::string::npos);
  CHECK(apart.find("seq 0\n") != std::string::npos);
  // SQLite keeps the bytes; PostgreSQL's text keeps U+FFFD in their place.
  CHECK(apart.find(testing::onPostgres() ? "t x a\xEF\xBF\xBD"
                                           "b\xEF\xBF\xBD\n"
                                         : std::string("t x a\0b\xff\n", 9)) != std::string::npos);
}

TEST_CASE("A fenced commit writes nothing and says so (postgresql)", "[store]") {
  if (!testing::onPostgres()) return;  // the lease is PostgreSQL's (store.postgresql runs it)
  fs::path dir = tempDir("fenced");
  auto store = testing::openStore(dir);
  auto& pg = dynamic_cast<engine::PostgresStore&>(*store);
  pg.connection().exec(engine::Lease::tableSql());
  pg.connection().exec(
      "INSERT INTO ha_lease VALUES (1, 'a', 'http://a', 1, now() + interval '1 minute')");
  int fenced = 0;
  pg.fence(1, [&] { ++fenced; });
  engine::AlertRowIds rows;
  engine::StoreUnit u;
  u.meta.emplace_back("k", "1");
  std::vector<engine::StoreUnit*> one{&u};
  store->commit(one, rows);  // epoch 1 is the lease's: written
  pg.connection().exec("UPDATE ha_lease SET epoch = 2, node = 'b'");  // b took over
  engine::StoreUnit v;
  v.meta.emplace_back("k", "2");
  std::vector<engine::StoreUnit*> two{&v};
  CHECK_THROWS_WITH(store->commit(two, rows), Catch::Contains("fenced"));
  CHECK(fenced == 1);
  CHECK(pg.connection().exec("SELECT value FROM meta WHERE key = 'k'").str(0, 0) == "1");
  fs::remove_all(dir);
}

// The postgresql backend sends a group's last statements and COMMIT in one round trip: one of
// them failing must leave nothing of the group (rows copied before it included), and the same
// group committed again stores all of it.
TEST_CASE("A statement failing beside COMMIT stores nothing of the group (postgresql)", "[store]") {
  if (!testing::onPostgres()) return;
  fs::path dir = tempDir("tail-fails");
  auto store = testing::openStore(dir);
  auto& pg = dynamic_cast<engine::PostgresStore&>(*store);
  engine::AlertRowIds rows;
  store->loadAlertRows(rows);
  auto unit = [](uint64_t fp, const char* k) {
    engine::StoreUnit u;
    engine::AlertRecord a;
    a.fingerprint = fp;
    a.first_seen_ms = a.last_seen_ms = a.time_ms = kT0;
    a.count = 1;
    u.alerts.push_back(a);
    u.addIncident(fp, 0, kT0, "{}", {{0, fp, 0}}, {{0, kT0, "triaged", "opened", "", 0}});
    u.meta.emplace_back("k", k);
    return u;
  };
  auto count = [&](const char* table) {
    return pg.connection().exec(std::string("SELECT count(*) FROM ") + table).i64(0, 0);
  };
  auto a = unit(1, "1");
  std::vector<engine::StoreUnit*> one{&a};
  rows.begin();
  store->commit(one, rows);
  // The commit sequence row can no longer change: the group's last statement fails.
  pg.connection().exec(
      "ALTER TABLE meta ADD CONSTRAINT frozen CHECK (key <> 'commit_seq') NOT VALID");
  auto b = unit(2, "2");
  std::vector<engine::StoreUnit*> two{&b};
  rows.begin();
  CHECK_THROWS_WITH(store->commit(two, rows), Catch::Contains("frozen"));
  rows.rollback();  // as the writer does
  CHECK(count("alerts") == 1);
  CHECK(count("incidents") == 1);
  CHECK(count("incident_alert_blocks") == 1);
  CHECK(count("incident_timeline") == 1);
  CHECK(pg.connection().exec("SELECT value FROM meta WHERE key = 'k'").str(0, 0) == "1");
  pg.connection().exec("ALTER TABLE meta DROP CONSTRAINT frozen");
  rows.begin();
  store->commit(two, rows);
  CHECK(count("alerts") == 2);
  CHECK(count("incidents") == 2);
  CHECK(count("incident_alert_blocks") == 2);
  CHECK(count("incident_timeline") == 2);
  CHECK(pg.connection().exec("SELECT value FROM meta WHERE key = 'k'").str(0, 0) == "2");
  fs::remove_all(dir);
}

// A stage of a few rows goes in as SQL literals with the merges, a larger one with COPY: the
// same bytes either way, whatever the text holds.
TEST_CASE("Text is stored the same inline and copied (postgresql)", "[store]") {
  if (!testing::onPostgres()) return;
  fs::path dir = tempDir("inline-copy");
  auto store = testing::openStore(dir);
  auto& pg = dynamic_cast<engine::PostgresStore&>(*store);
  engine::AlertRowIds rows;
  const char raw[] = "it's '' \\N \\\\x41 \\n\t|\n|\r|\x01|caf\xc3\xa9|\xff|\0|$$";
  const std::string nasty(raw, sizeof raw - 1);
  const std::string stored =
      "it's '' \\N \\\\x41 \\n\t|\n|\r|\x01|caf\xc3\xa9|\xEF\xBF\xBD|\xEF\xBF\xBD|$$";
  engine::StoreUnit few, many;
  few.records.push_back({"k", "few", 0, nasty});
  few.records.push_back({"k", "\\N", 0, ""});  // the text \N, and an empty text: not NULL
  for (int i = 0; i < 40; ++i) many.records.push_back({"k", "many" + std::to_string(i), 0, nasty});
  many.records.push_back({"k", "\\N2", 0, ""});
  for (auto* u : {&few, &many}) {
    std::vector<engine::StoreUnit*> one{u};
    store->commit(one, rows);
  }
  auto r = pg.connection().exec("SELECT id, record FROM records ORDER BY id");
  REQUIRE(r.rows() == 43);
  for (int k = 0; k < r.rows(); ++k) {
    INFO(r.str(k, 0));
    if (r.str(k, 0).rfind("\\N", 0) == 0)
      CHECK(r.str(k, 1).empty());
    else
      CHECK(r.str(k, 1) == stored);
  }
  CHECK(pg.connection().exec("SELECT count(*) FROM records WHERE record IS NULL").i64(0, 0) == 0);
  fs::remove_all(dir);
}

TEST_CASE("A standby tries for the lease again just after it expires, not a renewal later",
          "[store]") {
  using std::chrono::milliseconds;
  engine::LeaseHolder h;
  h.live = true;
  h.remaining_ms = 5'000;
  CHECK(engine::nextLeaseAttempt(h, milliseconds(2'000)) == milliseconds(2'000));
  h.remaining_ms = 300;  // expires before the next renewal-interval attempt: just after it
  CHECK(engine::nextLeaseAttempt(h, milliseconds(2'000)) == milliseconds(301));
  h.remaining_ms = 0;
  CHECK(engine::nextLeaseAttempt(h, milliseconds(2'000)) == milliseconds(10));
  h.live = false;
  CHECK(engine::nextLeaseAttempt(h, milliseconds(2'000)) == milliseconds(10));
  if (!testing::onPostgres()) return;
  // What the database says is left of another node's lease.
  fs::path dir = tempDir("lease-left");
  auto store = testing::openStore(dir);
  auto& pg = dynamic_cast<engine::PostgresStore&>(*store);
  pg.connection().exec(engine::Lease::tableSql());
  pg.connection().exec("DELETE FROM ha_lease");
  pg.connection().exec(
      "INSERT INTO ha_lease VALUES (1, 'a', 'http://a', 1, clock_timestamp() + interval '1 "
      "minute')");
  engine::Lease b(testing::postgresConfig(dir), "b", "http://b", std::chrono::seconds(5));
  engine::LeaseHolder held;
  CHECK(b.tryAcquire(held) == 0);
  CHECK(held.node == "a");
  CHECK(held.live);
  CHECK(held.remaining_ms > 50'000);
  CHECK(held.remaining_ms <= 60'000);
  pg.connection().exec("UPDATE ha_lease SET expires_at = clock_timestamp() - interval '1 second'");
  CHECK(b.tryAcquire(held) == 2);  // expired: taken, the epoch raised
  fs::remove_all(dir);
}

// At start-up the postgresql backend reads the alerts table on a second connection in the
// same snapshot; where no second connection is allowed it reads it on its own, with the same
// result. (A role limited to one connection; superusers are never limited.)
TEST_CASE("Start-up reading gives the same state with or without a second connection (postgresql)",
          "[store]") {
  if (!testing::onPostgres()) return;
  std::string base = std::getenv("TRIAGED_TEST_PG");
  {
    engine::pg::Connection admin(base + " dbname=postgres", "", std::chrono::seconds(5));
    admin.exec("DROP DATABASE IF EXISTS t_one_connection");
    admin.exec("DROP ROLE IF EXISTS one_connection");
    admin.exec("CREATE ROLE one_connection LOGIN CONNECTION LIMIT 1");
    admin.exec("CREATE DATABASE t_one_connection OWNER one_connection");
  }
  auto fill = [](engine::Store& store) {
    engine::StoreUnit u;
    for (uint64_t fp = 1; fp <= 3; ++fp) {
      engine::AlertRecord a;
      a.fingerprint = fp << 62 | fp;  // above INT64_MAX too: the same bits come back
      a.first_seen_ms = a.last_seen_ms = kT0 + static_cast<int64_t>(fp);
      a.count = fp;
      a.strings = packedStrings("web" + std::to_string(fp));
      u.alerts.push_back(a);
    }
    u.addIncident(1, static_cast<int>(IncidentStatus::kOpen), kT0, "{}", {{0, 1, 0}},
                  {{0, kT0, "triaged", "opened", "", 0}});
    std::vector<engine::StoreUnit*> one{&u};
    engine::AlertRowIds rows;
    store.commit(one, rows);
  };
  auto fingerprints = [](const engine::StoredState& st) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (const auto& a : st.alerts) out.emplace_back(a.fingerprint, a.count);
    return out;
  };
  config::PostgresConfig lone;
  lone.url = base + " dbname=t_one_connection user=one_connection";
  engine::PostgresStore alone(lone);
  // No second connection for this role while the store holds its one.
  CHECK_THROWS(engine::pg::Connection(lone.url, "", std::chrono::seconds(5)));
  fill(alone);
  auto read_alone = alone.loadState();
  auto store = testing::openStore(tempDir("two-connections"));
  fill(*store);
  auto read_beside = store->loadState();
  std::vector<std::pair<uint64_t, uint64_t>> want{
      {1ULL << 62 | 1, 1}, {2ULL << 62 | 2, 2}, {3ULL << 62 | 3, 3}};
  CHECK(fingerprints(read_alone) == want);
  CHECK(fingerprints(read_beside) == want);
  CHECK(read_alone.alerts[2].strings == packedStrings("web3"));
  CHECK(read_beside.alerts[2].strings == packedStrings("web3"));
  REQUIRE(read_alone.incidents.size() == 1);
  CHECK(read_beside.incidents.size() == 1);
}

TEST_CASE(
    "A writer started with the row ids start-up read updates stored alerts in place, and commits "
    "what was submitted before it started",
    "[store]") {
  fs::path dir = tempDir("adopted-rows");
  engine::ManualClock clock(kT0);
  api::MetricsHub hub;
  auto alert = [](uint64_t fp, uint64_t count) {
    engine::AlertRecord a;
    a.fingerprint = fp;
    a.first_seen_ms = a.last_seen_ms = kT0;
    a.count = count;
    a.strings = packedStrings("web" + std::to_string(count));
    return a;
  };
  auto run = [&](std::vector<engine::AlertRecord> alerts, bool adopt) {
    auto store = testing::openStore(dir);
    engine::StoreWriter w(*store, {}, clock, hub);
    engine::StoreUnit u;
    u.alerts = std::move(alerts);
    if (adopt) {  // as the daemon starts: recovery reads and submits, then the writer starts
      w.holdUntilStarted();
      auto rows = engine::loadState(*store).alert_rows;
      w.submit(std::move(u));  // waits in the queue for start()
      w.adoptRows(std::move(rows));
      w.start();
    } else {
      w.start();
      w.submit(std::move(u));
    }
    w.stop();
  };
  const uint64_t big = 0xfedcba9876543210ULL;  // above INT64_MAX: the same bits come back
  run({alert(7, 1), alert(big, 2)}, false);
  auto rows = [&] {
    auto store = testing::openStore(dir);
    return engine::loadState(*store).alert_rows;
  };
  using Rows = std::vector<std::pair<uint64_t, int64_t>>;
  REQUIRE(rows() == Rows{{7, 1}, {big, 2}});
  // Adopted: the stored alert is updated in its row, the new one appended.
  run({alert(big, 9), alert(8, 3)}, true);
  REQUIRE(rows() == Rows{{7, 1}, {big, 2}, {8, 3}});
  auto store = testing::openStore(dir);
  auto st = engine::loadState(*store);
  REQUIRE(st.alerts.size() == 3);
  CHECK(st.alerts[1].fingerprint == big);
  CHECK(st.alerts[1].count == 9);
  CHECK(st.alerts[1].strings == packedStrings("web9"));
  store.reset();
  fs::remove_all(dir);
}

TEST_CASE("Outbox ids never come back, even after every entry was delivered and across a restart",
          "[store]") {
  fs::path dir = tempDir("outbox-ids");
  engine::ManualClock clock(kT0);
  api::MetricsHub hub;
  std::vector<uint64_t> ids;
  auto round = [&](engine::StoreWriter& w) {
    std::promise<void> committed;
    engine::StoreUnit u;
    engine::OutboxEntry e;
    e.target = "hook";
    e.subject = "incident 1";
    e.event = "incident.opened";
    e.body = "{}";
    u.outbox.push_back(e);
    w.submit(std::move(u));
    w.barrier([&] { committed.set_value(); });
    REQUIRE(committed.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    engine::StoreUnit done;
    done.outbox_done.push_back(ids.back());  // delivered: the table is empty again
    w.submit(std::move(done));
  };
  for (int restart = 0; restart < 2; ++restart) {
    auto store = testing::openStore(dir);
    CHECK(store->schemaVersion() == engine::latestSchemaVersion());
    engine::StoreWriter w(*store, {}, clock, hub);
    w.onOutbox([&](std::vector<engine::OutboxEntry> v) {
      for (auto& e : v) ids.push_back(e.id);
    });
    w.start();
    round(w);
    round(w);
    w.stop();
  }
  REQUIRE(ids.size() == 4);
  CHECK(ids == std::vector<uint64_t>{1, 2, 3, 4});  // each Idempotency-Key used once
  fs::remove_all(dir);
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

TEST_CASE("Schema 6 keeps the pending outbox of a schema 5 database and continues its ids",
          "[store][sqlite]") {
  fs::path dir = tempDir("outbox-v5");
  {
    engine::SqliteStore store(dir.string());
    // The outbox as schema 5 had it (a plain rowid table), with entries 1..3 pending.
    const char* v5 =
        "DROP TABLE threshold_windows; DROP TABLE sequence_states;"  // schema 7's
        "DROP TABLE records;"                                        // schema 8's
        "DROP TABLE outbox;"
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY, target TEXT NOT NULL, created_ms INTEGER NOT "
        "NULL,"
        " subject TEXT NOT NULL, event TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT "
        "NULL DEFAULT 0,"
        " dead INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');"
        "INSERT INTO outbox (id, target, created_ms, subject, event, body) VALUES"
        " (1, 'hook', 1, 'incident 1', 'incident.opened', '{}'), (2, 'hook', 2, 'incident 1', "
        "'incident.resolved', '{}'),"
        " (3, 'hook', 3, 'incident 2', 'incident.opened', '{}');"
        "PRAGMA user_version=5;";
    REQUIRE(sqlite3_exec(store.handle(), v5, nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  engine::SqliteStore store(dir.string());
  CHECK(store.schemaVersion() == engine::latestSchemaVersion());
  auto st = engine::loadState(store);
  REQUIRE(st.outbox.size() == 3);
  CHECK(st.outbox[1].event == "incident.resolved");
  // Every entry delivered, then a new one: id 4, not 1 again.
  REQUIRE(sqlite3_exec(store.handle(), "DELETE FROM outbox", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_exec(store.handle(),
                       "INSERT INTO outbox (target, created_ms, subject, event, body) VALUES "
                       "('hook', 4, 'incident 3', "
                       "'incident.opened', '{}')",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(sqlite3_last_insert_rowid(store.handle()) == 4);
  fs::remove_all(dir);
}

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
