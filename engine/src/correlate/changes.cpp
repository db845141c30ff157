// Changes as records (ISO/IEC 20000-1 8.5.1): what a change tool reports, and the incidents
// opened on a change's CIs or services during it or within correlation.change_window after it.
#include <algorithm>

#include "correlator_internal.h"

namespace triaged::engine {

std::string Correlator::putChange(ChangeRecord c, int64_t now) {
  if (c.id.empty()) return "field \"id\" is required";
  if (auto prev = changes_.find(c.id); prev != changes_.end()) {
    c.created_ms = prev->second.created_ms;
    c.incidents = std::move(prev->second.incidents);  // links stay: they were facts then
    change_by_seq_.erase(prev->second.seq);
  } else {
    c.created_ms = now;
  }
  c.updated_ms = now;
  c.seq = next_silence_++;
  std::string id = c.id;
  ChangeRecord& put = changes_[id] = std::move(c);
  change_by_seq_[put.seq] = id;
  dirty_changes_.push_back(id);
  scheduleChange(put, now);
  changeEdge(id, now);  // windows that follow it hold or release at once
  return "";
}

int64_t Correlator::windowActiveUntil(const rules::MaintenanceWindow& w, int64_t now) const {
  if (w.during_change.empty()) return w.schedule.activeUntil(now);
  auto it = changes_.find(w.during_change);
  return it == changes_.end() ? 0 : it->second.runningUntil(now);
}

void Correlator::scheduleChange(const ChangeRecord& c, int64_t now) {
  for (int64_t t : {c.start(), c.end()})
    if (t > now) schedule(t, kChangeEdge, c.seq, static_cast<uint64_t>(t));
}

// The windows that follow this change: what they hold and what they cover, evaluated again.
void Correlator::changeEdge(const std::string& change, int64_t now) {
  std::vector<const rules::MaintenanceWindow*> following;
  for (const auto& w : rules_->maintenance())
    if (w.during_change == change) following.push_back(&w);
  for (const auto& [id, m] : maintenance_)
    if (m.window.during_change == change && !m.ended_ms) following.push_back(&m.window);
  if (following.empty()) return;
  resuppressWhere(now, [&](const CorrAlert& a) {
    if (a.why && !a.why->maintenance.empty()) return true;
    for (const auto* w : following)
      if (windowCovers(*w, a)) return true;
    return false;
  });
}

void Correlator::takeDirtyChanges(std::vector<std::string>& ids) {
  takeEachOnce(dirty_changes_, ids);
}

// At its opening: every change that has started, touches one of its CIs or services and ended
// no longer than change_window ago (or has not ended) is linked, with a timeline entry.
void Correlator::linkChanges(Incident& inc, int64_t now) {
  if (changes_.empty()) return;
  const int64_t window = opts_.settings.change_window.count();
  for (auto& [id, ch] : changes_) {
    int64_t start = ch.start(), end = ch.end();
    if (ch.status == "cancelled" || !start || start > now || (end && now > end + window)) continue;
    std::string on;
    for (const auto& ci : ch.cis)
      if (std::binary_search(inc.cis.begin(), inc.cis.end(), ci)) {
        on = ci;
        break;
      }
    if (on.empty())
      for (const auto& s : ch.services)
        if (std::binary_search(inc.services.begin(), inc.services.end(), s)) {
          on = s;
          break;
        }
    const auto& linked = inc.extra().changes;
    if (on.empty() || std::find(linked.begin(), linked.end(), id) != linked.end()) continue;
    inc.edit().changes.push_back(id);
    ch.incidents.push_back(inc.id);
    dirty_changes_.push_back(id);
    ++changes_linked_;
    std::string when = end && now > end
                           ? std::to_string((now - end) / 60'000) + " min after change "
                           : "during change ";
    note(inc, now, "triaged", "linked to change", "opened " + when + id + " on " + on);
  }
}

}  // namespace triaged::engine
