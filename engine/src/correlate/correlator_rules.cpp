// Group, threshold and sequence rules: where an alert goes once no upstream incident took it.
#include <xxhash.h>

#include <algorithm>

#include "correlator_internal.h"

namespace triaged::engine {

using rules::RuleSet;

// A closed incident's group is forgotten unless it gathers alerts again: group state stays
// bounded by the groups in use, not every group ever seen.
void Correlator::pruneGroup(const Incident& inc) {
  if (!inc.group_hash) return;
  if (inc.threshold_group) {
    auto it = thresholds_.find(inc.group_hash);
    if (it != thresholds_.end() && it->second->incident == inc.id && it->second->seen.empty()) {
      thresholds_.erase(it);
      dirty_windows_.insert(inc.group_hash);
    }
    return;
  }
  auto it = groups_.find(inc.group_hash);
  if (it != groups_.end() && it->second->incident == inc.id && !it->second->waiting)
    groups_.erase(it);
}

// The group's identity without building its key: a hash over the rule and the values.
uint64_t Correlator::groupHash(const rules::Rule& rule, const CorrAlert& a) const {
  uint64_t h = XXH3_64bits(rule.name.data(), rule.name.size());
  if (rule.groupsByAll()) return XXH3_64bits_withSeed(&a.fingerprint, sizeof a.fingerprint, h);
  AlertFacts f(a);
  for (const auto& name : rule.group_by) {
    auto v = f.get(name);
    h = XXH3_64bits_withSeed(v.data(), v.size(), h ^ 0x9e3779b97f4a7c15ULL);
  }
  return h;
}

std::string Correlator::groupKey(const rules::Rule* rule, const CorrAlert& a) const {
  if (rule->groupsByAll()) return fingerprintHex(a.fingerprint);
  AlertFacts f(a);
  std::string key;
  for (size_t i = 0; i < rule->group_by.size(); ++i) {
    if (i) key += ',';
    key += rule->group_by[i];
    key += '=';
    key += f.get(rule->group_by[i]);
  }
  return key;
}

// The group's incident takes the alert while it is open and younger than max_age, reopening
// it first if it resolved within reopen_window; otherwise the group forgets it.
bool Correlator::joinGroupIncident(uint64_t& incident_id, const rules::Rule& rule, CorrAlert& a,
                                   int64_t now) {
  Incident* inc = mutableIncident(incident_id);
  if (!inc) return false;
  bool young = rule.max_age == 0 || now - inc->opened_ms < rule.max_age;
  if (young && inc->status == IncidentStatus::kResolved &&
      now - inc->resolved_ms <= opts_.settings.reopen_window.count())
    reopen(*inc, now, a.fingerprint);
  if (young &&
      (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged)) {
    addAlert(*inc, a, AlertRole::kMember, now, true);
    return true;
  }
  incident_id = 0;
  return false;
}

void Correlator::groupAlert(uint32_t rule_index, CorrAlert& a, int64_t now) {
  const rules::Rule& rule = ruleAt(rule_index);
  a.rule = rule_index;
  uint64_t gh = groupHash(rule, a);
  auto& slot = groups_[gh];
  if (!slot) slot = std::make_unique<Group>();
  Group& g = *slot;
  if (joinGroupIncident(g.incident, rule, a, now)) return;
  if (g.waiting) {
    g.pending.push_back(a.fingerprint);
    return;
  }
  if (rule.group_wait > 0) {
    g.waiting = true;
    g.rule = rule_index;
    g.pending.assign(1, a.fingerprint);
    schedule(now + rule.group_wait, kGroupWait, gh, ++g.gen);
    return;
  }
  Incident& inc = openIncident(rule_index, groupKey(&rule, a), {a.fingerprint}, now);
  g.incident = inc.id;
  inc.group_hash = gh;
}

void Correlator::thresholdAlert(uint32_t rule_index, CorrAlert& a, int64_t now) {
  const rules::Rule& rule = ruleAt(rule_index);
  a.rule = rule_index;
  uint64_t th = groupHash(rule, a);
  auto& slot = thresholds_[th];
  if (!slot) slot = std::make_unique<Threshold>();
  Threshold& t = *slot;
  if (t.key.empty()) t.key = groupKey(&rule, a);  // a window restored from the store has none yet
  if (t.rule_name.empty()) t.rule_name = rule.name;  // the hash includes it: never changes
  if (joinGroupIncident(t.incident, rule, a, now)) return;
  // Sliding window: firings at or after now - window count (a firing exactly `window` ago does).
  if (!rerouting_) {
    t.seen.emplace_back(now, a.fingerprint);
  } else {
    // At start-up: the stored window already counts this firing if it holds the alert at or
    // after the time it last changed; otherwise (its change was committed, its effect was not)
    // the firing goes in at its own time, in time order.
    int64_t at = std::min(a.changed_ms, now);
    for (const auto& [when, fp] : t.seen)
      if (fp == a.fingerprint && when >= at) return;
    auto pos = std::upper_bound(
        t.seen.begin(), t.seen.end(), at,
        [](int64_t x, const std::pair<int64_t, uint64_t>& s) { return x < s.first; });
    t.seen.insert(pos, {at, a.fingerprint});
  }
  dirty_windows_.insert(th);
  while (!t.seen.empty() && t.seen.front().first < now - rule.window) t.seen.pop_front();
  while (t.seen.size() > rule.count) t.seen.pop_front();
  if (t.seen.size() < rule.count) return;
  std::vector<uint64_t> fps;
  for (const auto& [at, fp] : t.seen) {
    const CorrAlert* x = alert(fp);
    if (x && !x->incident && std::find(fps.begin(), fps.end(), fp) == fps.end()) fps.push_back(fp);
  }
  t.seen.clear();
  Incident& inc = openIncident(rule_index, t.key, fps, now);
  t.incident = inc.id;
  inc.group_hash = th;
  inc.threshold_group = true;
}

void Correlator::sequenceAlert(uint32_t rule_index, CorrAlert& a, bool is_first, int64_t now) {
  const rules::Rule& rule = ruleAt(rule_index);
  a.rule = rule_index;
  uint64_t sh = groupHash(rule, a);
  auto& slot = sequences_[sh];
  if (!slot) {
    slot = std::make_unique<Sequence>();
    slot->key = groupKey(&rule, a);
    slot->rule_name = rule.name;
  }
  Sequence& s = *slot;
  // At start-up: a stored state that saw this alert fire (at or after its last change) has
  // already counted it (and scheduled its deadline); a first seen again would restart the
  // sequence, and a satisfied absence rule would report its second as missing.
  if (rerouting_ && s.first == a.fingerprint && s.at >= std::min(a.changed_ms, now)) return;
  if (is_first) {
    dirty_sequences_.insert(sh);
    s.first = a.fingerprint;
    s.at = rerouting_ ? std::min(a.changed_ms, now) : now;
    s.strings = a.strings.share();
    s.active = true;
    ++s.gen;
    if (rule.mode == rules::SequenceMode::kAbsence)
      schedule(s.at + rule.within, kAbsence, sh, s.gen);
    return;
  }
  if (!s.active || now - s.at > rule.within) return;  // a second without a first: nothing
  s.active = false;
  dirty_sequences_.insert(sh);
  ++s.gen;
  if (rule.mode == rules::SequenceMode::kPair) {
    std::vector<uint64_t> fps;
    if (const CorrAlert* f = alert(s.first); f && !f->incident) fps.push_back(s.first);
    fps.push_back(a.fingerprint);
    openIncident(rule_index, s.key, fps, now);
  }
}

}  // namespace triaged::engine
