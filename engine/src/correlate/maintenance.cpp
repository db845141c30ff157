// Maintenance windows made through the API: kept, timed and applied like the rule files'
// windows (suppression.cpp evaluates both), stored as records, read again on every reload.
#include "triaged/rules/maintenance.h"

#include <algorithm>

#include "correlator_internal.h"

namespace triaged::engine {

void Correlator::scheduleApiWindow(const MaintenanceRecord& m, int64_t now) {
  if (m.ended_ms) return;
  if (int64_t next = m.window.schedule.nextEdge(now); next != INT64_MAX)
    schedule(next, kApiWindowEdge, m.seq, static_cast<uint64_t>(next));
}

void Correlator::resolveApiWindows() {
  for (auto& [id, m] : maintenance_) {
    rules::MaintenanceWindow w;
    std::vector<std::string> cis, services;
    std::string err;
    if (rules::parseMaintenanceWindow(m.spec, *rules_, w, cis, services, &err)) {
      m.window = std::move(w);
    } else {  // a CI or service it names left the rule files: it covers what still resolves
      m.window.cis.clear();
      m.window.services.clear();
      for (const auto& c : m.cis)
        if (uint32_t i = rules_->ciByName(c); i != rules::RuleSet::kNone) m.window.cis.push_back(i);
      for (const auto& s : m.services)
        if (uint32_t i = rules_->serviceByName(s); i != rules::RuleSet::kNone)
          m.window.services.push_back(i);
    }
  }
}

std::string Correlator::putMaintenance(MaintenanceRecord m, int64_t now, std::string* id_out) {
  std::string old_label;
  if (m.id.empty()) {
    m.id = newUuid(now);
    m.created_ms = now;
  } else {
    auto prev = maintenance_.find(m.id);
    if (prev == maintenance_.end()) return "no such maintenance window";
    if (prev->second.ended_ms) return "maintenance window is ended";
    m.created_ms = prev->second.created_ms;
    if (m.created_by.empty()) m.created_by = prev->second.created_by;
    old_label = prev->second.label();
    maintenance_by_seq_.erase(prev->second.seq);
  }
  m.updated_ms = now;
  m.seq = next_silence_++;
  *id_out = m.id;
  std::string id = m.id;
  MaintenanceRecord& put = maintenance_[id] = std::move(m);
  maintenance_by_seq_[put.seq] = id;
  dirty_maintenance_.push_back(id);
  scheduleApiWindow(put, now);
  // What it held before (a replaced window may cover less) and what it covers now.
  const MaintenanceRecord* mp = &put;
  std::string label = put.label();
  resuppressWhere(now, [&](const CorrAlert& a) {
    if (a.why && (a.why->maintenance == label || a.why->maintenance == old_label)) return true;
    return windowCovers(mp->window, a);
  });
  return "";
}

std::string Correlator::endMaintenance(const std::string& id, int64_t now) {
  auto it = maintenance_.find(id);
  if (it == maintenance_.end()) return "no such maintenance window";
  MaintenanceRecord& m = it->second;
  if (m.ended_ms) return "maintenance window is already ended";
  m.ended_ms = now;
  m.updated_ms = now;
  dirty_maintenance_.push_back(id);
  std::string label = m.label();
  resuppressWhere(now, [&](const CorrAlert& a) { return a.why && a.why->maintenance == label; });
  return "";
}

void Correlator::takeDirtyMaintenance(std::vector<std::string>& ids) {
  takeEachOnce(dirty_maintenance_, ids);
}

}  // namespace triaged::engine
