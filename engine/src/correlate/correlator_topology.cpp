// Topology: which CIs are down, symptoms joining upstream incidents, root causes.
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "correlator_internal.h"

namespace triaged::engine {

using rules::RuleSet;

void Correlator::ciCount(CorrAlert& a, bool add) {
  if (a.ci == RuleSet::kNone || add == a.counted_on_ci) return;
  auto& v = ci_firing_[a.ci];
  if (add) {
    v.push_back(a.fingerprint);
  } else {
    auto it = std::find(v.begin(), v.end(), a.fingerprint);
    if (it != v.end()) {
      *it = v.back();  // order does not matter, only membership (and it stays deterministic)
      v.pop_back();
    }
  }
  a.counted_on_ci = add;
}

bool Correlator::ciDown(uint32_t ci, int depth) const {
  const auto& c = rules_->cis()[ci];
  if (c.members.empty() || depth > 32) return !ci_firing_[ci].empty();
  for (uint32_t m : c.members)
    if (!ciDown(m, depth + 1)) return false;
  return true;
}

uint64_t Correlator::ciIncident(uint32_t ci, int depth) const {
  if (depth > 32) return 0;
  for (uint64_t fp : ci_firing_[ci]) {
    const CorrAlert* a = alert(fp);
    if (!a || !a->incident) continue;
    const Incident* inc = incident(a->incident);
    if (inc &&
        (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged))
      return a->incident;
  }
  for (uint32_t m : rules_->cis()[ci].members)
    if (uint64_t id = ciIncident(m, depth + 1)) return id;
  return 0;
}

bool Correlator::joinUpstream(CorrAlert& a, int64_t now) {
  if (a.ci == RuleSet::kNone) return false;
  const auto& cis = rules_->cis();
  // Climb to the most upstream CI that is down. A redundancy group that is down leads to the
  // member that failed last (the one with the newest incident), so the whole failure of the
  // group is one incident.
  uint32_t root = RuleSet::kNone;
  uint32_t at = a.ci;
  for (int depth = 0; depth < 32; ++depth) {
    uint32_t next = RuleSet::kNone;
    const auto& c = cis[at];
    for (uint32_t u : c.depends_on)
      if (ciDown(u) && ciIncident(u)) {
        next = u;
        break;
      }
    if (next == RuleSet::kNone) break;
    while (!cis[next].members.empty()) {  // descend into the group to its last-failed member
      uint32_t best = RuleSet::kNone;
      uint64_t newest = 0;
      for (uint32_t m : cis[next].members)
        if (uint64_t id = ciIncident(m); id > newest) {
          newest = id;
          best = m;
        }
      if (best == RuleSet::kNone) break;
      next = best;
    }
    root = at = next;
  }
  if (root == RuleSet::kNone) return false;
  uint64_t id = ciIncident(root);
  Incident* inc = mutableIncident(id);
  if (!inc) return false;
  if (!inc->root_cause) {
    for (uint64_t fp : ci_firing_[root]) {
      if (CorrAlert* r = const_cast<CorrAlert*>(alert(fp)); r && r->incident == id) {
        inc->root_cause = fp;
        r->role = AlertRole::kRootCause;
        break;
      }
    }
  }
  addAlert(*inc, a, AlertRole::kSymptom, now, true);
  return true;
}

// The CI of a newly firing alert just went down: open incidents made only of alerts on CIs that
// depend on it become symptoms of this one (unless someone is already working on them).
void Correlator::adoptDownstream(uint64_t incident_id, uint32_t ci, int64_t now) {
  Incident* target = mutableIncident(incident_id);
  if (!target || dependents_[ci].empty()) return;
  // The CIs below this one: dependents, and groups whose redundancy is now exhausted.
  below_mark_.resize(rules_->cis().size(), 0);
  std::vector<uint32_t> below{ci};
  below_mark_[ci] = 1;
  for (size_t k = 0; k < below.size(); ++k) {
    for (uint32_t d : dependents_[below[k]]) {
      if (below_mark_[d]) continue;
      if (!rules_->cis()[d].members.empty() && !ciDown(d)) continue;  // redundancy still holds
      below_mark_[d] = 1;
      below.push_back(d);
    }
  }
  std::vector<uint64_t> adopt;
  for (size_t k = 1; k < below.size(); ++k) {
    for (uint64_t fp : ci_firing_[below[k]]) {
      const CorrAlert* a = alert(fp);
      if (!a || !a->incident || a->incident == incident_id) continue;
      if (std::find(adopt.begin(), adopt.end(), a->incident) != adopt.end()) continue;
      const Incident* other = incident(a->incident);
      if (!other || other->status != IncidentStatus::kOpen) continue;
      bool all_below = true;
      for (uint64_t m : other->alerts) {
        const CorrAlert* ma = alert(m);
        if (ma && (ma->ci == RuleSet::kNone || !below_mark_[ma->ci] || ma->ci == ci)) {
          all_below = false;
          break;
        }
      }
      if (all_below) adopt.push_back(a->incident);
    }
  }
  for (uint32_t c : below) below_mark_[c] = 0;
  if (adopt.empty()) return;
  std::sort(adopt.begin(), adopt.end());
  for (uint64_t from : adopt) {
    Incident* src = mutableIncident(from);
    for (uint64_t fp : src->alerts)
      if (auto it = alerts_.find(fp); it != alerts_.end() && it->second->incident == from)
        it->second->role = AlertRole::kSymptom;
    merge(from, incident_id, "triaged", now);
  }
  for (uint64_t fp : ci_firing_[ci]) {
    if (auto it = alerts_.find(fp); it != alerts_.end() && it->second->incident == incident_id) {
      target->root_cause = fp;
      it->second->role = AlertRole::kRootCause;
      break;
    }
  }
  note(*target, now, "triaged", "root cause identified", {}, target->root_cause);
}

}  // namespace triaged::engine
