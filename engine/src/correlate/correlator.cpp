// Alert flow through the correlator: suppression, topology, rules, grouping, timers.
// Incident and problem operations are in correlator_ops.cpp.
#include "correlate/correlator.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "correlator_internal.h"
#include "triaged/api/ingest.h"

namespace triaged::engine {

uint64_t Correlator::recurrenceKey(std::string_view signature) {
  return XXH3_64bits(signature.data(), signature.size());
}

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
      "incident.opened",    "incident.updated",       "incident.acknowledged",
      "incident.assigned",  "incident.commented",     "incident.priority_changed",
      "incident.resolved",  "incident.reopened",      "incident.closed",
      "incident.merged",    "incident.ticket_linked", "incident.escalated",
      "problem.opened",     "problem.updated",        "problem.known_error",
      "problem.resolved",   "problem.closed",         "alert.suppressed",
      "alert.unsuppressed",
  };
  return k[t];
}

std::string_view AlertFacts::get(std::string_view name) const {
  AlertStrings s(copy_.data());
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

CorrelatorInput CorrelatorInput::from(const AlertTable& table, const AlertChange& c) {
  CorrelatorInput in;
  in.change = c;
  if (c.kind != ChangeKind::kNew && c.kind != ChangeKind::kRefired &&
      c.kind != ChangeKind::kRelabeled)
    return in;
  if (const Alert* a = table.find(c.fingerprint)) {
    in.strings = SharedStrings(a->strings.share());
    in.first_seen_ms = a->first_seen_ms;
  }
  return in;
}

Correlator::Texts Correlator::Texts::of(const AlertTable& table, const uint64_t* fingerprints,
                                        size_t n) {
  Texts t;
  t.at.reserve(n);
  for (size_t i = 0; i < n; ++i)
    if (const Alert* a = table.find(fingerprints[i]))
      t.at.emplace_back(fingerprints[i], SharedStrings(a->strings.share()));
  return t;
}

size_t Correlator::refreshTexts(Texts& texts) {
  size_t taken = 0;
  for (auto& [fp, strings] : texts.at) {
    auto it = alerts_.find(fp);
    if (it == alerts_.end()) continue;
    CorrAlert& a = *it->second;
    if (a.strings.same(strings)) continue;  // rewritten in place: it holds them already
    StringsCopy now(strings), held(a.strings);
    if (!AlertStrings(held.data()).sameSigned(AlertStrings(now.data()))) continue;
    a.strings = std::move(strings);
    ++taken;
  }
  return taken;
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
  inhibit_targets_.assign(rules_->inhibitRules().size(), {});
  inhibit_entries_.clear();
  for (uint64_t fp : alert_order_) {
    auto it = alerts_.find(fp);
    if (it == alerts_.end()) continue;
    CorrAlert& a = *it->second;
    a.ci = rules_->ciOf(AlertFacts(a));
    a.counted_on_ci = false;
    if (a.status != api::Status::kFiring) continue;
    ciCount(a, true);
    inhibitIndex(a, true, last_now_);
  }
  // Windows and inhibit rules may have changed: every firing alert is held (or released) by
  // the new ones at once; the windows' timers start over.
  ++windows_gen_;
  scheduleMaintenance(last_now_);
  resolveApiWindows();
  resuppressAll(last_now_);
}

const rules::Rule& Correlator::ruleAt(uint32_t i) const {
  return i < rules_->rules().size() ? rules_->rules()[i] : default_rule_;
}

uint32_t Correlator::ruleIndex(std::string_view name) const {
  const auto& rules = rules_->rules();
  for (uint32_t i = 0; i < rules.size(); ++i)
    if (rules[i].name == name) return i;
  return UINT32_MAX;
}

void Correlator::emit(CorrelatorEvent::Type t, int64_t now, uint64_t incident, uint64_t problem,
                      uint64_t alert) {
  bool held = false;
  if (Incident* inc = incident ? mutableIncident(incident) : nullptr) {
    held = inc->held;
    if (t == CorrelatorEvent::kIncidentOpened && !held) inc->opening_notified = true;
  }
  events_.push_back({t, now, incident, problem, alert, held});
}

// One hold-down timer per incident at most, however often its alerts resolve and fire again
// (a timer per resolution made the heap grow with the events, by the thousand per second
// under a realistic stream): a later deadline only moves `hold_down_due`, and the timer,
// when it comes, waits again until then.
void Correlator::scheduleHoldDown(Incident& inc, int64_t due) {
  inc.hold_down_due = due;
  if (inc.hold_down_queued) return;
  inc.hold_down_queued = true;
  schedule(due, kHoldDown, inc.id, 0);
}

void Correlator::schedulePrune(const Incident& inc) {
  int64_t ended = inc.closed_ms ? inc.closed_ms : inc.updated_ms;
  schedule(ended + opts_.retention_ms, kPrune, inc.id, 0);
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
  // An alert's map slot, then its record, then its incident are fetched a few changes ahead,
  // each once the one before is in cache: with many alerts each is a cache miss onChange would
  // otherwise wait for in turn.
  constexpr size_t kSlotAhead = 8, kAlertAhead = 4, kIncidentAhead = 1;
  const size_t n = changes.size();
  auto ahead = [&](size_t k) -> const CorrAlert* {
    auto it = alerts_.find(changes[k].change.fingerprint);
    return it == alerts_.end() ? nullptr : it->second.get();
  };
  for (size_t j = 0; j < n; ++j) {
    if (j + kSlotAhead < n) alerts_.prefetch(changes[j + kSlotAhead].change.fingerprint);
    if (j + kAlertAhead < n)
      if (const CorrAlert* a = ahead(j + kAlertAhead)) __builtin_prefetch(a);
    if (j + kIncidentAhead < n)
      if (const CorrAlert* a = ahead(j + kIncidentAhead))
        if (const Incident* inc = incident(a->incident)) __builtin_prefetch(inc);
    onChange(changes[j], now);
  }
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
    if (it == alerts_.end()) continue;
    it->second->forget_queued = false;
    if (it->second->status != api::Status::kResolved) continue;
    if (int64_t due = it->second->changed_ms + opts_.settings.reopen_window.count(); due > at) {
      queueForget(*it->second, due);  // resolved again since: its entry moves, not a new one
      continue;
    }
    // A member of an open incident is kept (if it fires again it is the same member, not a
    // new one); it is queued again when its incident resolves.
    if (const Incident* inc = incident(it->second->incident);
        inc &&
        (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged))
      continue;
    forget(fp);
  }
}

// forget_ stays in time order (every entry is pushed at its time or later) and holds one entry
// per alert, however often it resolves: an alert whose entry comes due while its reopen window
// still runs is queued again at the window's end.
void Correlator::queueForget(CorrAlert& a, int64_t at) {
  if (a.forget_queued) return;
  a.forget_queued = true;
  forget_.emplace_back(forget_.empty() ? at : std::max(at, forget_.back().first), a.fingerprint);
}

void Correlator::onChange(CorrelatorInput& in, int64_t now) {
  ++changes_applied_;
  const AlertChange& c = in.change;
  auto it = alerts_.find(c.fingerprint);
  if (c.kind == ChangeKind::kRelabeled) {
    if (it != alerts_.end() && in.strings) relabel(*it->second, std::move(in.strings), now);
    return;
  }
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
        if (a->counted_severity >= 0) {  // a firing alert moves to its new severity
          uncountFiring(*inc, *a);
          countFiring(*inc, *a);
        }
        int peak = inc->max_severity;
        inc->max_severity = std::max(inc->max_severity, static_cast<int>(a->severity));
        recompute(*inc, now, "triaged");
        if (a->flapping || a->suppressed != Suppression::kNone) {
          // A flapping alert's flips change state, not the news.
          touchState(*inc);
        } else {
          noteFlip(*inc, *a, now, "alert severity changed",
                   std::string(severityName(before)) + " -> " + severityName(a->severity));
          announce(*inc, now);
        }
        // Nor the stored record (a flip rewrites its entry's row alone), unless the peak moved.
        if (inc->max_severity != peak) touch(*inc);
      }
      break;
    case ChangeKind::kFlappingStarted:
    case ChangeKind::kFlappingStopped:
      // (Every flip before it reached this side as a change of its own: only news here, and
      // counted in the alert's one entry like its flips: an alert that starts and stops
      // flapping all day costs its incident one entry.)
      if (Incident* inc = mutableIncident(a->incident))
        noteFlip(*inc, *a, now,
                 c.kind == ChangeKind::kFlappingStarted ? "alert flapping" : "alert stable");
      break;
    case ChangeKind::kRelabeled:  // (taken above: not a change of state)
      break;
  }
}

// A suppressed alert is correlated as any other (its incident is held while all its firing
// alerts are suppressed): suppression decides who is told, not what happened.
void Correlator::onFiring(CorrAlert& a, int64_t now) {
  inhibitIndex(a, true, now);
  setSuppression(a, now);
  ciCount(a, true);
  bool became_down = a.ci != RuleSet::kNone && ci_firing_[a.ci].size() == 1;
  if (Incident* inc = mutableIncident(a.incident)) {
    if (inc->status == IncidentStatus::kResolved &&
        now - inc->resolved_ms <= opts_.settings.reopen_window.count())
      reopen(*inc, now, a.fingerprint);
    if (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged) {
      countFiring(*inc, a);
      ++inc->gen;  // cancels a pending hold-down
      refreshHeld(*inc, now);
      if (a.flapping) {
        touchState(*inc);  // counted, but a flapping alert's flips are not announced one by one
        return;
      }
      noteFlip(*inc, a, now, "alert fired again");
      if (a.suppressed == Suppression::kNone) announce(*inc, now);
      return;
    }
    uncountFiring(*inc, a);  // it leaves an incident that ended
  }
  a.incident = 0;
  route(a, now);
  if (became_down && a.incident) adoptDownstream(a.incident, a.ci, now);
}

void Correlator::onResolved(CorrAlert& a, int64_t now) {
  inhibitIndex(a, false, now);
  ciCount(a, false);
  queueForget(a, now + opts_.settings.reopen_window.count());
  Incident* inc = mutableIncident(a.incident);
  if (inc) uncountFiring(*inc, a);
  bool suppressed = a.suppressed != Suppression::kNone;
  if (suppressed) {  // only a firing alert is suppressed: it is not released, it resolved
    a.suppressed = Suppression::kNone;
    a.why.reset();
    --suppressed_firing_;
  }
  if (!inc) return;
  if (inc->status != IncidentStatus::kOpen && inc->status != IncidentStatus::kAcknowledged) return;
  if (a.flapping)
    touchState(*inc);
  else
    noteFlip(*inc, a, now, "alert resolved");
  refreshHeld(*inc, now);
  if (inc->firingAll() == 0) {
    ++inc->gen;
    scheduleHoldDown(*inc, now + opts_.settings.resolve_hold_down.count());
  } else if (!a.flapping && !suppressed) {
    announce(*inc, now);
  }
}

void Correlator::countFiring(Incident& inc, CorrAlert& a) {
  if (a.counted_severity >= 0) return;
  a.counted_severity = static_cast<int8_t>(std::clamp(static_cast<int>(a.severity), 0, 5));
  a.counted_maintenance = a.why && !a.why->maintenance.empty();
  a.counted_suppressed = a.suppressed != Suppression::kNone;
  if (a.counted_maintenance)
    ++inc.firing_maintenance;  // a window holds it: no downtime
  else
    ++inc.firing_by_severity[a.counted_severity];
  if (a.counted_suppressed) ++inc.firing_suppressed;
}

void Correlator::uncountFiring(Incident& inc, CorrAlert& a) {
  if (a.counted_severity < 0) return;
  auto dec = [](uint32_t& n) { n -= n > 0; };
  dec(a.counted_maintenance ? inc.firing_maintenance : inc.firing_by_severity[a.counted_severity]);
  if (a.counted_suppressed) dec(inc.firing_suppressed);
  a.counted_severity = -1;
  a.counted_maintenance = a.counted_suppressed = false;
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
        if (a.status != api::Status::kFiring || a.incident) continue;
        fps.push_back(fp);
      }
      g.pending.clear();
      if (!fps.empty()) {
        // Every alert of the group gives its key: the first's.
        Incident& inc = openIncident(
            g.rule, groupKey(&ruleAt(g.rule), *alerts_.find(fps[0])->second), fps, now);
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
      touch(*inc);
      emit(CorrelatorEvent::kIncidentUpdated, now, inc->id);
      return;
    }
    case kHoldDown: {
      Incident* inc = mutableIncident(t.id);
      if (!inc) return;
      inc->hold_down_queued = false;
      if (inc->firingAll()) return;    // an alert fired again: no hold-down runs
      if (inc->hold_down_due > now) {  // resolved again since: the hold-down runs from then
        scheduleHoldDown(*inc, inc->hold_down_due);
        return;
      }
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
      note(*inc, now, "triaged", "closed",
           "resolved for " + config::formatDuration(opts_.settings.close_after));
      emit(CorrelatorEvent::kIncidentClosed, now, inc->id);
      schedulePrune(*inc);
      return;
    }
    case kPrune: {
      Incident* inc = mutableIncident(t.id);
      if (!inc ||
          (inc->status != IncidentStatus::kClosed && inc->status != IncidentStatus::kMerged))
        return;
      int64_t ended = inc->closed_ms ? inc->closed_ms : inc->updated_ms;
      if (ended + opts_.retention_ms > now)
        return;  // reopened and closed again later: a later timer
      pruneGroup(*inc);
      held_ids_.erase(inc->id);
      // Its signature's recurrence, once nothing of it counts any more.
      if (auto r = recurrences_.find(recurrenceKey(inc->signature()));
          r != recurrences_.end() && !problems_.count(r->second.problem) &&
          std::all_of(r->second.opened.begin(), r->second.opened.end(), [&](const auto& o) {
            return o.first < now - opts_.settings.problem_window.count();
          }))
        recurrences_.erase(r);
      *inc = Incident{};  // frees it; the id stays a hole until the front is pruned
      while (!incidents_.empty() && !incidents_.front().id) {
        incidents_.pop_front();
        ++incident_base_;
      }
      return;
    }
    case kAbsence: {
      auto it = sequences_.find(t.id);
      if (it == sequences_.end() || it->second->gen != t.gen || !it->second->active) return;
      Sequence& s = *it->second;
      s.active = false;
      dirty_sequences_.insert(t.id);
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
    case kSilenceEdge:
    case kMaintenanceEdge:
    case kApiWindowEdge:
    case kChangeEdge:
      fireSuppressionTimer(t, now);
      return;
    case kForget: {
      auto it = alerts_.find(t.id);
      if (it == alerts_.end()) return;
      if (it->second->status == api::Status::kResolved &&
          it->second->changed_ms == static_cast<int64_t>(t.gen))
        forget(t.id);
      return;
    }
  }
}

}  // namespace triaged::engine
