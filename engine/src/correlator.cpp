// Alert flow through the correlator: suppression, topology, rules, grouping, timers.
// Incident and problem operations are in correlator_ops.cpp.
#include "triaged/engine/correlator.h"

#include <algorithm>
#include <cstring>

#include <xxhash.h>

#include "correlator_internal.h"

namespace triaged::engine {

using rules::RuleSet;

const char* incidentStatusName(IncidentStatus s) {
  static const char* k[] = {"open", "acknowledged", "resolved", "closed", "merged"};
  return k[static_cast<int>(s)];
}
const char* problemStatusName(ProblemStatus s) {
  static const char* k[] = {"open", "known_error", "resolved", "closed"};
  return k[static_cast<int>(s)];
}
const char* suppressionName(Suppression s) {
  static const char* k[] = {"none", "silenced", "maintenance", "inhibited"};
  return k[static_cast<int>(s)];
}
const char* correlatorEventName(CorrelatorEvent::Type t) {
  static const char* k[] = {
      "incident.opened",       "incident.updated",  "incident.acknowledged",   "incident.assigned",
      "incident.commented",    "incident.priority_changed", "incident.resolved", "incident.reopened",
      "incident.closed",       "incident.merged",   "incident.ticket_linked",  "problem.opened",
      "problem.updated",       "problem.known_error", "problem.resolved",      "problem.closed",
      "alert.suppressed",      "alert.unsuppressed",
  };
  return k[t];
}

std::string_view AlertFacts::get(std::string_view name) const {
  AlertStrings s(a_.strings.get());
  switch (name.size()) {  // the canonical fields first: they are normalized at ingest
    case 5:
      if (name == "check") return s.field(AlertStrings::kCheck);
      break;
    case 6:
      if (name == "source") return s.field(AlertStrings::kSource);
      if (name == "status") return api::statusName(a_.status);
      break;
    case 7:
      if (name == "service") return s.field(AlertStrings::kService);
      if (name == "summary") return s.field(AlertStrings::kSummary);
      break;
    case 8:
      if (name == "resource") return s.field(AlertStrings::kResource);
      if (name == "severity") return rules::severityText(static_cast<int>(a_.severity));
      break;
  }
  std::string_view v;
  return s.findLabel(name, v) ? v : std::string_view();
}

Correlator::Correlator(std::shared_ptr<const RuleSet> rules, CorrelatorOptions opts) {
  reload(std::move(rules), std::move(opts));
}

Correlator::~Correlator() = default;

void Correlator::reload(std::shared_ptr<const RuleSet> rules, CorrelatorOptions opts) {
  rules_ = rules ? std::move(rules) : RuleSet::empty();
  opts_ = std::move(opts);
  const auto& c = opts_.settings;
  default_rule_ = rules::Rule{};
  default_rule_.name = "default";
  default_rule_.group_by = c.default_group_by;
  default_rule_.group_wait = c.default_group_wait.count();
  default_rule_.group_interval = c.default_group_interval.count();
  const auto& cis = rules_->cis();
  dependents_.assign(cis.size(), {});
  below_mark_.assign(cis.size(), 0);
  for (uint32_t i = 0; i < cis.size(); ++i) {
    for (uint32_t d : cis[i].depends_on) dependents_[d].push_back(i);
    for (uint32_t m : cis[i].members) dependents_[m].push_back(i);
  }
  // CI indices and inhibition indices refer to the old rule set: rebuild them from the alerts.
  ci_firing_.assign(cis.size(), {});
  inhibit_sources_.assign(rules_->inhibitRules().size(), {});
  inhibited_.assign(rules_->inhibitRules().size(), {});
  for (uint64_t fp : alert_order_) {
    auto it = alerts_.find(fp);
    if (it == alerts_.end()) continue;
    CorrAlert& a = *it->second;
    a.ci = rules_->ciOf(AlertFacts(a));
    a.counted_on_ci = false;
    if (a.status != api::Status::kFiring) continue;
    if (a.suppressed == Suppression::kNone) ciCount(a, true);
    inhibitIndex(a, true, last_now_);
  }
}

const rules::Rule& Correlator::ruleAt(uint32_t i) const {
  return i < rules_->rules().size() ? rules_->rules()[i] : default_rule_;
}

// A closed incident's group is forgotten unless it gathers alerts again: group state stays
// bounded by the groups in use, not every group ever seen.
void Correlator::pruneGroup(const Incident& inc) {
  if (!inc.group_hash) return;
  if (inc.threshold_group) {
    auto it = thresholds_.find(inc.group_hash);
    if (it != thresholds_.end() && it->second->incident == inc.id && it->second->seen.empty()) thresholds_.erase(it);
    return;
  }
  auto it = groups_.find(inc.group_hash);
  if (it != groups_.end() && it->second->incident == inc.id && !it->second->waiting) groups_.erase(it);
}

uint32_t Correlator::ruleIndex(std::string_view name) const {
  const auto& rules = rules_->rules();
  for (uint32_t i = 0; i < rules.size(); ++i)
    if (rules[i].name == name) return i;
  return UINT32_MAX;
}

void Correlator::emit(CorrelatorEvent::Type t, int64_t now, uint64_t incident, uint64_t problem, uint64_t alert) {
  events_.push_back({t, now, incident, problem, alert});
}

void Correlator::note(Incident& inc, int64_t now, std::string actor, const char* action, std::string detail,
                      uint64_t alert) {
  inc.updated_ms = now;
  if (inc.timeline.size() >= opts_.settings.timeline_max_entries) {
    ++inc.timeline_dropped;
    return;
  }
  inc.timeline.push_back({now, std::move(actor), action, std::move(detail), alert});
}

void Correlator::schedule(int64_t at, TimerKind kind, uint64_t id, uint64_t gen) {
  timers_.push({at, timer_seq_++, kind, id, gen});
}

int64_t Correlator::nextDeadline() const {
  int64_t t = timers_.empty() ? INT64_MAX : timers_.top().at;
  return forget_.empty() ? t : std::min(t, forget_.front().first);
}

void Correlator::apply(std::vector<CorrelatorInput>& changes, int64_t now) {
  advance(now);  // timers due before these changes fire first
  for (auto& c : changes) onChange(c, now);
  advance(now);
}

void Correlator::advance(int64_t now) {
  if (now > last_now_) last_now_ = now;
  while (!timers_.empty() && timers_.top().at <= now) {
    Timer t = timers_.top();
    timers_.pop();
    fire(t, t.at);
  }
  // Resolved alerts are forgotten reopen_window after they resolved (if still resolved).
  while (!forget_.empty() && forget_.front().first <= now) {
    auto [at, fp] = forget_.front();
    forget_.pop_front();
    auto it = alerts_.find(fp);
    if (it == alerts_.end() || it->second->status != api::Status::kResolved ||
        it->second->changed_ms + opts_.settings.reopen_window.count() > at)
      continue;
    // A member of an open incident is kept (if it fires again it is the same member, not a
    // new one); it is queued again when its incident resolves.
    if (const Incident* inc = incident(it->second->incident);
        inc && (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged))
      continue;
    forget(fp);
  }
}

const CorrAlert* Correlator::alert(uint64_t fp) const {
  auto it = alerts_.find(fp);
  return it == alerts_.end() ? nullptr : it->second.get();
}

void Correlator::onChange(CorrelatorInput& in, int64_t now) {
  ++changes_applied_;
  const AlertChange& c = in.change;
  auto it = alerts_.find(c.fingerprint);
  CorrAlert* a;
  if (it == alerts_.end()) {
    if (c.status == api::Status::kResolved || !in.strings) return;  // never seen firing
    auto fresh = std::make_unique<CorrAlert>();
    a = fresh.get();
    a->fingerprint = c.fingerprint;
    a->first_seen_ms = in.first_seen_ms ? in.first_seen_ms : now;
    a->strings = std::move(in.strings);
    a->status = api::Status::kResolved;  // becomes firing below
    a->severity = c.severity;
    a->ci = rules_->ciOf(AlertFacts(*a));
    alerts_.emplace(c.fingerprint, std::move(fresh));
    alert_order_.push_back(c.fingerprint);
  } else {
    a = it->second.get();
    if (in.strings) a->strings = std::move(in.strings);
  }
  api::Severity before = a->severity;
  a->severity = c.severity;
  a->flapping = c.flapping;
  a->changed_ms = now;
  switch (c.kind) {
    case ChangeKind::kNew:
    case ChangeKind::kRefired:
      if (a->status != api::Status::kFiring) {
        a->status = api::Status::kFiring;
        onFiring(*a, now);
      }
      break;
    case ChangeKind::kResolved:
      if (a->status == api::Status::kFiring) {
        a->status = api::Status::kResolved;
        onResolved(*a, now);
      }
      break;
    case ChangeKind::kSeverity:
      if (Incident* inc = mutableIncident(a->incident); inc && before != a->severity) {
        inc->max_severity = std::max(inc->max_severity, static_cast<int>(a->severity));
        note(*inc, now, "triaged", "alert severity changed",
             std::string(severityName(before)) + " -> " + severityName(a->severity));
        recompute(*inc, now, "triaged");
        announce(*inc, now);
      }
      break;
    case ChangeKind::kFlappingStarted:
    case ChangeKind::kFlappingStopped:
      if (Incident* inc = mutableIncident(a->incident))
        note(*inc, now, "triaged", c.kind == ChangeKind::kFlappingStarted ? "alert flapping" : "alert stable", {},
             a->fingerprint);
      break;
  }
}

void Correlator::onFiring(CorrAlert& a, int64_t now) {
  inhibitIndex(a, true, now);
  if (checkSuppression(a, now)) return;
  ciCount(a, true);
  bool became_down = a.ci != RuleSet::kNone && ci_firing_[a.ci].size() == 1;
  if (Incident* inc = mutableIncident(a.incident)) {
    if (inc->status == IncidentStatus::kResolved && now - inc->resolved_ms <= opts_.settings.reopen_window.count())
      reopen(*inc, now, a.fingerprint);
    if (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged) {
      ++inc->firing;
      ++inc->gen;  // cancels a pending hold-down
      note(*inc, now, "triaged", "alert fired again", {}, a.fingerprint);
      announce(*inc, now);
      return;
    }
  }
  a.incident = 0;
  route(a, now);
  if (became_down && a.incident) adoptDownstream(a.incident, a.ci, now);
}

void Correlator::onResolved(CorrAlert& a, int64_t now) {
  inhibitIndex(a, false, now);
  bool counted = a.suppressed == Suppression::kNone;
  ciCount(a, false);
  forget_.emplace_back(now + opts_.settings.reopen_window.count(), a.fingerprint);
  if (!counted) return;
  Incident* inc = mutableIncident(a.incident);
  if (!inc || (inc->status != IncidentStatus::kOpen && inc->status != IncidentStatus::kAcknowledged)) return;
  if (inc->firing) --inc->firing;
  note(*inc, now, "triaged", "alert resolved", {}, a.fingerprint);
  if (inc->firing == 0) {
    ++inc->gen;
    schedule(now + opts_.settings.resolve_hold_down.count(), kHoldDown, inc->id, inc->gen);
  } else {
    announce(*inc, now);
  }
}

void Correlator::forget(uint64_t fp) {
  auto it = alerts_.find(fp);
  if (it == alerts_.end()) return;
  alerts_.erase(it);
  if (++alert_order_stale_ > alert_order_.size() / 2) {
    std::vector<uint64_t> keep;
    keep.reserve(alerts_.size());
    for (uint64_t f : alert_order_)
      if (alerts_.count(f)) keep.push_back(f);
    alert_order_ = std::move(keep);
    alert_order_stale_ = 0;
  }
}

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
    if (inc && (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged))
      return a->incident;
  }
  for (uint32_t m : rules_->cis()[ci].members)
    if (uint64_t id = ciIncident(m, depth + 1)) return id;
  return 0;
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

void Correlator::route(CorrAlert& a, int64_t now) {
  if (joinUpstream(a, now)) return;
  AlertFacts f(a);
  const auto& rules = rules_->rules();
  rules_->ruleIndex().candidates(f, scratch_);
  for (uint32_t i : scratch_) {
    if (a.incident) break;
    const auto& r = rules[i];
    bool taken = false;
    if (r.type == rules::RuleType::kSequence) {
      bool first = matchesAll(r.match, f);
      if (first || matchesAll(r.then_match, f)) {
        sequenceAlert(i, a, first, now);
        taken = true;
      }
    } else if (r.matches(f)) {
      if (r.type == rules::RuleType::kGroup)
        groupAlert(i, a, now);
      else
        thresholdAlert(i, a, now);
      taken = true;
    }
    if (taken && !r.continue_matching) return;
  }
  if (!a.incident && a.rule == UINT32_MAX) groupAlert(UINT32_MAX, a, now);
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

void Correlator::groupAlert(uint32_t rule_index, CorrAlert& a, int64_t now) {
  const rules::Rule& rule = ruleAt(rule_index);
  a.rule = rule_index;
  uint64_t gh = groupHash(rule, a);
  auto& slot = groups_[gh];
  if (!slot) {
    slot = std::make_unique<Group>();
    slot->key = groupKey(&rule, a);
  }
  Group& g = *slot;
  if (Incident* inc = mutableIncident(g.incident)) {
    bool young = rule.max_age == 0 || now - inc->opened_ms < rule.max_age;
    if (young && inc->status == IncidentStatus::kResolved &&
        now - inc->resolved_ms <= opts_.settings.reopen_window.count())
      reopen(*inc, now, a.fingerprint);
    if (young && (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged)) {
      addAlert(*inc, a, AlertRole::kMember, now, true);
      return;
    }
    g.incident = 0;
  }
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
  Incident& inc = openIncident(rule_index, g.key, {a.fingerprint}, now);
  g.incident = inc.id;
  inc.group_hash = gh;
}

void Correlator::thresholdAlert(uint32_t rule_index, CorrAlert& a, int64_t now) {
  const rules::Rule& rule = ruleAt(rule_index);
  a.rule = rule_index;
  uint64_t th = groupHash(rule, a);
  auto& slot = thresholds_[th];
  if (!slot) {
    slot = std::make_unique<Threshold>();
    slot->key = groupKey(&rule, a);
  }
  Threshold& t = *slot;
  if (Incident* inc = mutableIncident(t.incident)) {
    bool young = rule.max_age == 0 || now - inc->opened_ms < rule.max_age;
    if (young && inc->status == IncidentStatus::kResolved &&
        now - inc->resolved_ms <= opts_.settings.reopen_window.count())
      reopen(*inc, now, a.fingerprint);
    if (young && (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged)) {
      addAlert(*inc, a, AlertRole::kMember, now, true);
      return;
    }
    t.incident = 0;
  }
  // Sliding window: firings at or after now - window count (a firing exactly `window` ago does).
  t.seen.emplace_back(now, a.fingerprint);
  while (!t.seen.empty() && t.seen.front().first < now - rule.window) t.seen.pop_front();
  while (t.seen.size() > rule.count) t.seen.pop_front();
  if (t.seen.size() < rule.count) return;
  std::vector<uint64_t> fps;
  for (const auto& [at, fp] : t.seen) {
    const CorrAlert* x = alert(fp);
    if (x && !x->incident && std::find(fps.begin(), fps.end(), fp) == fps.end())
      fps.push_back(fp);
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
  if (is_first) {
    s.first = a.fingerprint;
    s.at = now;
    size_t n = AlertStrings(a.strings.get()).bytes();
    s.strings = std::make_unique<char[]>(n);
    std::memcpy(s.strings.get(), a.strings.get(), n);
    s.active = true;
    ++s.gen;
    if (rule.mode == rules::SequenceMode::kAbsence) schedule(now + rule.within, kAbsence, sh, s.gen);
    return;
  }
  if (!s.active || now - s.at > rule.within) return;  // a second without a first: nothing
  s.active = false;
  ++s.gen;
  if (rule.mode == rules::SequenceMode::kPair) {
    std::vector<uint64_t> fps;
    if (const CorrAlert* f = alert(s.first); f && !f->incident) fps.push_back(s.first);
    fps.push_back(a.fingerprint);
    openIncident(rule_index, s.key, fps, now);
  }
}

void Correlator::fire(const Timer& t, int64_t now) {
  switch (t.kind) {
    case kGroupWait: {
      auto it = groups_.find(t.id);
      if (it == groups_.end() || it->second->gen != t.gen || !it->second->waiting) return;
      Group& g = *it->second;
      g.waiting = false;
      std::vector<uint64_t> fps;
      for (uint64_t fp : g.pending) {
        auto at = alerts_.find(fp);
        if (at == alerts_.end()) continue;
        CorrAlert& a = *at->second;
        if (a.status != api::Status::kFiring || a.incident || a.suppressed != Suppression::kNone) continue;
        if (checkSuppression(a, now)) {  // inhibited or silenced while it waited
          ciCount(a, false);
          continue;
        }
        fps.push_back(fp);
      }
      g.pending.clear();
      if (!fps.empty()) {
        Incident& inc = openIncident(g.rule, g.key, fps, now);
        g.incident = inc.id;
        inc.group_hash = t.id;
      }
      return;
    }
    case kAnnounce: {
      Incident* inc = mutableIncident(t.id);
      if (!inc || !inc->update_pending) return;
      inc->update_pending = false;
      inc->announced_ms = now;
      emit(CorrelatorEvent::kIncidentUpdated, now, inc->id);
      return;
    }
    case kHoldDown: {
      Incident* inc = mutableIncident(t.id);
      if (!inc || inc->gen != t.gen || inc->firing) return;
      if (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged)
        markResolved(*inc, "triaged", "all alerts resolved", now);
      return;
    }
    case kClose: {
      Incident* inc = mutableIncident(t.id);
      if (!inc || inc->gen != t.gen || inc->status != IncidentStatus::kResolved) return;
      inc->status = IncidentStatus::kClosed;
      inc->closed_ms = now;
      pruneGroup(*inc);
      note(*inc, now, "triaged", "closed", "resolved for " + config::formatDuration(opts_.settings.close_after));
      emit(CorrelatorEvent::kIncidentClosed, now, inc->id);
      return;
    }
    case kAbsence: {
      auto it = sequences_.find(t.id);
      if (it == sequences_.end() || it->second->gen != t.gen || !it->second->active) return;
      Sequence& s = *it->second;
      s.active = false;
      // The first alert may be gone (resolved and forgotten): its copy still names the incident.
      const CorrAlert* f = alert(s.first);
      CorrAlert proto;
      proto.fingerprint = s.first;
      proto.strings = std::move(s.strings);
      if (!proto.strings) return;
      uint32_t rule_index = ruleIndex(s.rule_name);
      std::vector<uint64_t> fps;
      if (f && !f->incident) fps.push_back(s.first);
      openIncident(rule_index, s.key, fps, now, &proto);
      return;
    }
    case kSuppressionEnd: {
      auto it = alerts_.find(t.id);
      if (it == alerts_.end()) return;
      CorrAlert& a = *it->second;
      if (a.suppressed == Suppression::kNone || a.suppressed_until != static_cast<int64_t>(t.gen)) return;
      releaseSuppressed({t.id}, now);
      return;
    }
    case kForget: {
      auto it = alerts_.find(t.id);
      if (it == alerts_.end()) return;
      if (it->second->status == api::Status::kResolved && it->second->changed_ms == static_cast<int64_t>(t.gen))
        forget(t.id);
      return;
    }
  }
}

}  // namespace triaged::engine
