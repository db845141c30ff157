// What the store's tests share: a replay engine fed event by event, the state the API would
// show of a correlator, and a correlator restored from what the store keeps of another one.
#pragma once

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

namespace triaged::store_tests {

using api::Severity;
using api::Status;
using engine::IncidentStatus;
using testing::configWith;
using testing::tempDir;

inline constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

inline void push(engine::ReplayEngine& e, int64_t now, const char* resource, const char* check,
                 Status st, std::vector<std::pair<const char*, const char*>> labels = {},
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
inline std::string state(engine::Correlator& c, int64_t now) {
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
inline TakenRow takenRow(const engine::StoreUnit& u, const engine::StoreUnit::Row& r) {
  TakenRow t{std::string(r.record), {}, {}};
  for (const auto& m : u.membersOf(r)) t.alerts.push_back(m);
  for (const auto& e : u.timelineOf(r))
    t.timeline.push_back({e.seq, e.at_ms, std::string(e.actor), std::string(e.action),
                          std::string(e.detail), e.alert});
  return t;
}
inline TakenRow incidentRowsOf(const engine::Correlator& c, const engine::Incident& inc,
                               size_t alerts_from, size_t timeline_from) {
  engine::StoreUnit u;
  auto r = u.row(inc.id, 0, 0, "");
  engine::incidentRows(c, inc, alerts_from, timeline_from, u, r);
  return takenRow(u, r);
}

inline void restoreInto(engine::ReplayEngine& from, engine::ReplayEngine& to, int64_t now,
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
inline constexpr const char* kNoFlapping = R"(
pipeline:
  flapping: {enabled: false}
correlation:
  resolve_hold_down: 5m
)";

// The shop incident (web1 and web2 firing), open at kT0 + 30 s.
inline engine::Incident* openShop(engine::ReplayEngine& a) {
  std::vector<std::pair<const char*, const char*>> shop = {{"team", "shop"}};
  push(a, kT0, "web1", "http", Status::kFiring, shop);
  push(a, kT0 + 1000, "web2", "http", Status::kFiring, shop);
  a.advance(kT0 + 30'000);
  engine::Incident* inc = a.correlator().mutableIncidentForStore(1);
  REQUIRE(inc);
  return inc;
}

inline constexpr const char* kRules = R"(
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
inline std::string packedStrings(const std::string& resource) {
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

}  // namespace triaged::store_tests
