#include "store/round_rows.h"

#include "store/state_codec.h"

namespace triaged::engine {

void alertRecords(const AlertTable& table, const std::vector<AlertChange>& changes,
                  std::vector<AlertRecord>& out) {
  out.reserve(out.size() + changes.size());
  for (const auto& c : changes) {
    const Alert* a = table.find(c.fingerprint);
    if (!a) continue;
    bool fired = c.kind == ChangeKind::kNew || c.kind == ChangeKind::kRefired;
    AlertRecord r = AlertRecord::of(*a, carriesStrings(c));
    r.changed_ms = fired || c.kind == ChangeKind::kResolved ? c.at_ms : 0;
    out.push_back(std::move(r));
  }
}

void RoundRows::stored(const Correlator& c) {
  next_incident_ = c.nextIncidentId();
  next_problem_ = c.nextProblemId();
}

void RoundRows::collect(Correlator& c, const std::vector<uint64_t>& dirty_incidents,
                        const std::vector<std::string>& dirty_silences,
                        const std::vector<CorrelatorEvent>& events, StoreUnit* unit) {
  windows_.clear();
  c.takeDirtyWindows(windows_);
  maintenance_.clear();
  c.takeDirtyMaintenance(maintenance_);
  changes_.clear();
  c.takeDirtyChanges(changes_);
  if (!unit) {
    sequences_.clear();
    c.takeDirtySequences(sequences_);
    return;
  }
  c.takeDirtySequences(unit->sequences);
  for (const auto& w : windows_) unit->windows.push_back({w.hash, w.rule, encodeWindow(w.seen)});
  // Most dirty incidents add a record (~450 bytes), a member and an entry or two: room for that
  // at once, not grown by doubling (what is freed on the writer's thread splits the heap).
  unit->text.expect(dirty_incidents.size() * 512);
  unit->members.reserve(unit->members.size() + dirty_incidents.size());
  unit->timeline.reserve(unit->timeline.size() + dirty_incidents.size() * 2);
  for (uint64_t id : dirty_incidents) {
    Incident* inc = c.mutableIncidentForStore(id);
    if (!inc || (!inc->persist && !inc->rewritten_entry)) continue;
    // Only an entry rewritten in place (an alert's flips): its row, not the record.
    record_.clear();
    if (inc->persist) encodeIncident(record_, *inc);
    StoreUnit::Row row = unit->row(id, static_cast<int>(inc->status), inc->updated_ms, record_);
    inc->persist = false;
    incidentRows(c, *inc, inc->stored_alerts, inc->stored_timeline, *unit, row);
    inc->stored_alerts = static_cast<uint32_t>(inc->alerts.size());
    inc->stored_timeline = static_cast<uint32_t>(inc->timeline.size());
    inc->rewritten_entry = 0;
    if (!inc->extra().timeline_rewritten.empty()) inc->edit().timeline_rewritten.clear();
    unit->incidents.push_back(row);
  }
  uint64_t last_problem = 0;
  for (const auto& e : events) {
    if (!e.problem || e.problem == last_problem) continue;
    last_problem = e.problem;
    auto it = c.problems().find(e.problem);
    if (it == c.problems().end()) continue;
    record_.clear();
    encodeProblem(record_, it->second);
    unit->problems.push_back(
        unit->row(e.problem, static_cast<int>(it->second.status), it->second.updated_ms, record_));
  }
  for (const auto& id : dirty_silences) {
    auto it = c.silences().find(id);
    if (it == c.silences().end()) continue;
    std::string rec;
    encodeSilence(rec, it->second);
    unit->silences.push_back({id, it->second.ends_ms, std::move(rec)});
  }
  for (const auto& id : maintenance_) {
    auto it = c.maintenance().find(id);
    if (it == c.maintenance().end()) continue;
    const MaintenanceRecord& m = it->second;
    std::string rec;
    encodeMaintenance(rec, m);
    // Retention counts from its end: ended through the API, or a one-off's end.
    int64_t ends = m.ended_ms                      ? m.ended_ms
                   : m.window.schedule.recurring() ? 0
                                                   : m.window.schedule.end_ms;
    unit->records.push_back({"maintenance", id, ends, std::move(rec)});
  }
  for (const auto& id : changes_) {
    auto it = c.changes().find(id);
    if (it == c.changes().end()) continue;
    std::string rec;
    encodeChange(rec, it->second);
    unit->records.push_back({"change", id, it->second.end(), std::move(rec)});
  }
  if (c.nextIncidentId() != next_incident_) {
    next_incident_ = c.nextIncidentId();
    unit->meta.emplace_back("next_incident", std::to_string(next_incident_));
  }
  if (c.nextProblemId() != next_problem_) {
    next_problem_ = c.nextProblemId();
    unit->meta.emplace_back("next_problem", std::to_string(next_problem_));
  }
}

}  // namespace triaged::engine
