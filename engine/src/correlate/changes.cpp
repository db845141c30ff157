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
  } else {
    c.created_ms = now;
  }
  c.updated_ms = now;
  std::string id = c.id;
  changes_[id] = std::move(c);
  dirty_changes_.push_back(id);
  return "";
}

void Correlator::takeDirtyChanges(std::vector<std::string>& ids) {
  std::sort(dirty_changes_.begin(), dirty_changes_.end());
  dirty_changes_.erase(std::unique(dirty_changes_.begin(), dirty_changes_.end()),
                       dirty_changes_.end());
  for (auto& id : dirty_changes_) ids.push_back(std::move(id));
  dirty_changes_.clear();
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
    if (on.empty() || std::find(inc.changes.begin(), inc.changes.end(), id) != inc.changes.end())
      continue;
    inc.changes.push_back(id);
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
