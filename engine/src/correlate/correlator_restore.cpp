// Start-up recovery: the correlator's state rebuilt from what the store kept.
#include <algorithm>
#include <cstring>
#include <thread>

#include "correlator_internal.h"

namespace triaged::engine {

Correlator::RestoredAlert Correlator::RestoredAlert::of(const AlertRecord& r, SharedBlob shared) {
  RestoredAlert a;
  a.fingerprint = r.fingerprint;
  a.strings = shared ? SharedStrings(std::move(shared))
                     : SharedStrings::copyOf(r.strings.data(), r.strings.size());
  a.first_seen_ms = r.first_seen_ms;
  a.changed_ms = r.changed_ms;
  a.severity = r.severity;
  a.status = r.status;
  a.flapping = r.flapping;
  return a;
}

void Correlator::takeDirty(std::vector<uint64_t>& incidents, std::vector<std::string>& silences) {
  for (uint64_t id : dirty_incidents_) {
    if (Incident* inc = mutableIncident(id)) inc->dirty = false;
    incidents.push_back(id);
  }
  dirty_incidents_.clear();
  takeEachOnce(dirty_silences_, silences);
}

// The stored form of a window or sequence, by hash: an empty one when it is gone.
ThresholdWindow Correlator::windowOf(uint64_t h, const Threshold* t) {
  ThresholdWindow w{h, {}, {}};
  if (t) {
    w.rule = t->rule_name;
    w.seen.assign(t->seen.begin(), t->seen.end());
  }
  return w;
}

SequenceState Correlator::sequenceOf(uint64_t h, const Sequence* s) {
  SequenceState q;
  q.hash = h;
  if (s) {
    q.rule = s->rule_name;
    q.key = s->key;
    q.first = s->first;
    q.at = s->at;
    q.active = s->active;
    if (s->active && s->strings) {
      StringsCopy copy(s->strings);
      q.strings.assign(copy.data(), AlertStrings(copy.data()).bytes());
    }
  }
  return q;
}

namespace {

template <class Map, class Out, class Of>
void takeByHash(absl::flat_hash_set<uint64_t>& dirty, const Map& map, std::vector<Out>& out,
                Of of) {
  std::vector<uint64_t> hashes(dirty.begin(), dirty.end());
  std::sort(hashes.begin(), hashes.end());
  for (uint64_t h : hashes) {
    auto it = map.find(h);
    out.push_back(of(h, it == map.end() ? nullptr : it->second.get()));
  }
  dirty.clear();
}

}  // namespace

void Correlator::takeDirtyWindows(std::vector<ThresholdWindow>& out) {
  takeByHash(dirty_windows_, thresholds_, out, &Correlator::windowOf);
}

void Correlator::takeDirtySequences(std::vector<SequenceState>& out) {
  takeByHash(dirty_sequences_, sequences_, out, &Correlator::sequenceOf);
}

std::vector<Correlator::ThresholdWindow> Correlator::thresholdWindows() const {
  std::vector<ThresholdWindow> out;
  for (const auto& [h, t] : thresholds_)
    if (!t->seen.empty()) out.push_back(windowOf(h, t.get()));
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.hash < y.hash; });
  return out;
}

std::vector<Correlator::SequenceState> Correlator::sequenceStates() const {
  std::vector<SequenceState> out;
  for (const auto& [h, s] : sequences_) out.push_back(sequenceOf(h, s.get()));
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.hash < y.hash; });
  return out;
}

void Correlator::restore(Restored st, int64_t now) {
  const auto& c = opts_.settings;
  last_now_ = std::max(last_now_, now);
  uint64_t top = 0, bottom = UINT64_MAX;
  for (const auto& inc : st.incidents) {
    top = std::max(top, inc.id);
    bottom = std::min(bottom, inc.id);
  }
  next_incident_ = std::max({next_incident_, st.next_incident, top + 1});
  incident_base_ = st.incidents.empty() ? next_incident_ : bottom;
  incidents_.clear();
  incidents_.resize(next_incident_ - incident_base_);  // ids pruned in between stay holes (id 0)
  // Which incident each alert last joined, and with what role (a merged incident's alerts
  // moved to the one it merged into).
  absl::flat_hash_map<uint64_t, std::pair<uint64_t, AlertRole>> member;
  size_t memberships = 0;
  for (const auto& inc : st.incidents) memberships += inc.alerts.size();
  member.reserve(memberships);  // one table for a million alerts, not twenty rehashes
  for (size_t k = 0; k < st.incidents.size(); ++k) {
    Incident& inc = st.incidents[k];
    if (inc.status != IncidentStatus::kMerged)
      for (size_t i = 0; i < inc.alerts.size(); ++i) {
        auto& m = member[inc.alerts[i]];
        if (inc.id > m.first)
          m = {inc.id, i < st.roles[k].size() ? st.roles[k][i] : AlertRole::kMember};
      }
    inc.firing_by_severity = {};
    inc.firing_maintenance = inc.firing_suppressed = 0;
    inc.dirty = false;
    inc.gen = 0;
    uint64_t id = inc.id;
    incidents_[id - incident_base_] = std::move(inc);
  }
  open_by_priority_ = {};
  for (const auto& inc : incidents_)
    if (inc.id &&
        (inc.status == IncidentStatus::kOpen || inc.status == IncidentStatus::kAcknowledged))
      countOpen(inc, +1);

  uint64_t top_problem = 0;
  problems_.clear();
  for (auto& p : st.problems) {
    top_problem = std::max(top_problem, p.id);
    problems_[p.id] = std::move(p);
  }
  next_problem_ = std::max({next_problem_, st.next_problem, top_problem + 1});
  silences_.clear();
  silence_by_seq_.clear();
  for (auto& s : st.silences) {
    s.seq = next_silence_++;
    silence_by_seq_[s.seq] = s.id;
    silences_[s.id] = std::move(s);
  }
  silence_index_.reset();
  maintenance_.clear();
  maintenance_by_seq_.clear();
  for (auto& m : st.maintenance) {
    m.seq = next_silence_++;
    maintenance_by_seq_[m.seq] = m.id;
    maintenance_[m.id] = std::move(m);
  }
  resolveApiWindows();
  changes_.clear();
  change_by_seq_.clear();
  for (auto& ch : st.changes) {
    ch.seq = next_silence_++;
    change_by_seq_[ch.seq] = ch.id;
    changes_[ch.id] = std::move(ch);
  }

  // Alerts: members of live incidents come back as they were; the others are routed again.
  alerts_.clear();
  alert_order_.clear();
  alert_order_stale_ = 0;
  forget_.clear();
  alerts_.reserve(st.alerts.size());
  alert_order_.reserve(st.alerts.size());
  std::sort(st.alerts.begin(), st.alerts.end(), [](const RestoredAlert& a, const RestoredAlert& b) {
    return a.first_seen_ms != b.first_seen_ms ? a.first_seen_ms < b.first_seen_ms
                                              : a.fingerprint < b.fingerprint;
  });
  // Each live incident's rule, looked up by name once (not once per alert).
  std::vector<uint32_t> rule_of(incidents_.size(), UINT32_MAX);
  for (size_t k = 0; k < incidents_.size(); ++k)
    if (incidents_[k].id) rule_of[k] = ruleIndex(incidents_[k].rule);
  // Each alert's correlator record is built on two threads, halves of the list, reading only
  // what is fixed by now (memberships, incidents, rules); the ones kept are then indexed in
  // order on this thread. `again`: firing since its incident ended (or in none) — it was
  // suppressed or waiting in a group, and is routed again below.
  struct Made {
    std::unique_ptr<CorrAlert> alert;  // null: a resolved alert past reopen_window, not kept
    bool again = false, counted = false;
  };
  std::vector<Made> made(st.alerts.size());
  auto build = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      RestoredAlert& r = st.alerts[i];
      auto m = member.find(r.fingerprint);
      bool firing = r.status == api::Status::kFiring;
      const Incident* inc = m == member.end() ? nullptr : incident(m->second.first);
      bool live = inc && (inc->status == IncidentStatus::kOpen ||
                          inc->status == IncidentStatus::kAcknowledged ||
                          inc->status == IncidentStatus::kResolved);
      // A resolved alert is kept for reopen_window (or while its incident is live), as in
      // advance().
      if (!firing && !live && r.changed_ms + c.reopen_window.count() <= now) continue;
      auto a = std::make_unique<CorrAlert>();
      a->fingerprint = r.fingerprint;
      a->strings = std::move(r.strings);
      a->first_seen_ms = r.first_seen_ms;
      a->changed_ms = r.changed_ms;
      a->severity = r.severity;
      a->status = r.status;
      a->flapping = r.flapping;
      a->ci = rules_->ciOf(AlertFacts(*a));
      Made& out = made[i];
      out.again = firing && (!inc || (!live && r.changed_ms >= inc->updated_ms));
      if (inc && !out.again) {
        a->incident = inc->id;
        a->role = m->second.second;
        a->rule = rule_of[inc->id - incident_base_];
        out.counted = firing && (inc->status == IncidentStatus::kOpen ||
                                 inc->status == IncidentStatus::kAcknowledged);
      }
      if (out.again) {
        a->status = api::Status::kResolved;  // becomes firing when routed below
      } else if (!firing) {
        a->forget_queued = true;
      }
      out.alert = std::move(a);
    }
  };
  if (made.size() < 8192) {
    build(0, made.size());
  } else {
    size_t half = made.size() / 2;
    std::jthread beside([&] { build(half, made.size()); });
    build(0, half);
  }
  std::vector<uint64_t> reroute;
  std::vector<CorrAlert*> kept;                          // in alert_order_'s order
  std::vector<std::pair<uint64_t, CorrAlert*>> counted;  // (incident, alert) firing in it
  kept.reserve(made.size());
  counted.reserve(made.size());
  for (Made& m : made) {
    if (!m.alert) continue;
    CorrAlert* a = m.alert.get();
    if (!alerts_.try_emplace(a->fingerprint, std::move(m.alert)).second) continue;  // first kept
    if (m.again)
      reroute.push_back(a->fingerprint);
    else if (a->forget_queued)
      forget_.emplace_back(a->changed_ms + c.reopen_window.count(), a->fingerprint);
    if (m.counted) counted.emplace_back(a->incident, a);  // once its suppression is known
    alert_order_.push_back(a->fingerprint);
    kept.push_back(a);
  }
  std::vector<Made>().swap(made);
  std::sort(forget_.begin(), forget_.end());
  // Each member's flips go on counting in the entry that counted them before; a flip's row
  // is stored without the incident's record, so `updated` is the later of the two.
  for (auto& inc : incidents_) {
    if (inc.status != IncidentStatus::kOpen && inc.status != IncidentStatus::kAcknowledged)
      continue;
    for (size_t i = 0; i < inc.timeline.size(); ++i)
      if (const auto& e = inc.timeline[i]; e.alert && isFlipAction(e.action)) {
        inc.updated_ms = std::max(inc.updated_ms, lastFlipMs(e));
        if (auto it = alerts_.find(e.alert); it != alerts_.end() && it->second->incident == inc.id)
          it->second->flip_entry = static_cast<uint32_t>(i + 1);
      }
  }

  // CI and inhibition indexes from the firing members (reload's rebuild); then what holds
  // each firing member now (silences, windows and inhibition are state, not history), and
  // the incidents' counts.
  const auto& cis = rules_->cis();
  ci_firing_.assign(cis.size(), {});
  inhibit_sources_.assign(rules_->inhibitRules().size(), {});
  inhibit_targets_.assign(rules_->inhibitRules().size(), {});
  inhibit_entries_.clear();
  for (CorrAlert* x : kept) {
    CorrAlert& a = *x;
    if (a.status != api::Status::kFiring) continue;
    ciCount(a, true);
    inhibitIndex(a, true, now);
  }
  suppressed_firing_ = 0;
  for (CorrAlert* x : kept) {
    CorrAlert& a = *x;
    SuppressionReasons why;
    a.suppressed = suppressionAt(a, now, why);
    if (a.suppressed == Suppression::kNone) continue;
    a.why = std::make_unique<SuppressionReasons>(std::move(why));
    ++suppressed_firing_;
  }
  for (auto [id, a] : counted) countFiring(*mutableIncident(id), *a);

  // Groups, threshold windows and recurrences of the live incidents; their timers.
  groups_.clear();
  thresholds_.clear();
  sequences_.clear();
  recurrences_.clear();
  timers_ = {};
  for (const auto& [id, s] : silences_) scheduleSilence(s, now);
  for (const auto& [id, m] : maintenance_) scheduleApiWindow(m, now);
  for (const auto& [id, ch] : changes_) scheduleChange(ch, now);
  scheduleMaintenance(now);
  for (auto& inc : incidents_) {
    if (!inc.id) continue;
    if (!inc.rule.empty() && inc.opened_ms >= now - c.problem_window.count() &&
        inc.status != IncidentStatus::kMerged) {
      Recurrence& rec = recurrences_[recurrenceKey(inc.signature())];
      if (inc.problem) {
        rec.problem = inc.problem;
      } else {
        rec.opened.emplace_back(inc.opened_ms, inc.id);
        while (rec.opened.size() > c.problem_incidents) rec.dropOldest();
      }
    }
    bool live = inc.status == IncidentStatus::kOpen ||
                inc.status == IncidentStatus::kAcknowledged ||
                inc.status == IncidentStatus::kResolved;
    if (!live) {
      schedulePrune(inc);
      continue;
    }
    if (inc.group_hash) {
      if (inc.threshold_group) {
        auto& t = thresholds_[inc.group_hash];
        if (!t) t = std::make_unique<Threshold>();
        t->key = inc.group_key;
        t->incident = inc.id;
      } else {
        auto& g = groups_[inc.group_hash];
        if (!g) g = std::make_unique<Group>();
        g->rule = ruleIndex(inc.rule);
        g->incident = inc.id;
      }
    }
    if (inc.status == IncidentStatus::kResolved) {
      schedule(inc.resolved_ms + c.close_after.count(), kClose, inc.id, inc.gen);
      continue;
    }
    if (inc.firingAll() == 0) {
      // Its last alert resolved before the restart: the hold-down runs from then.
      int64_t last = inc.updated_ms;
      for (uint64_t fp : inc.alerts)
        if (const CorrAlert* a = alert(fp); a && a->incident == inc.id)
          last = std::max(last, a->changed_ms);
      scheduleHoldDown(inc, last + c.resolve_hold_down.count());
    }
    if (inc.update_pending) schedule(inc.announced_ms + inc.interval_ms, kAnnounce, inc.id, 0);
  }
  // Problems whose signature recurred: later incidents join while the problem is open.
  for (const auto& [id, p] : problems_) {
    auto& rec = recurrences_[recurrenceKey(p.signature)];
    if (id > rec.problem) rec.problem = id;
  }
  dirty_incidents_.clear();
  dirty_silences_.clear();
  dirty_maintenance_.clear();
  dirty_changes_.clear();
  dirty_windows_.clear();
  dirty_sequences_.clear();
  events_.clear();

  // Sequence states as stored; an absence rule's deadline is scheduled again (one that passed
  // during the stop fires at once). A state whose rule is gone or changed type is deleted.
  auto ruleOf = [this](const std::string& name, rules::RuleType type) -> const rules::Rule* {
    uint32_t i = ruleIndex(name);
    return i != UINT32_MAX && ruleAt(i).type == type ? &ruleAt(i) : nullptr;
  };
  for (auto& q : st.sequences) {
    const rules::Rule* rule = ruleOf(q.rule, rules::RuleType::kSequence);
    if (!rule) {
      dirty_sequences_.insert(q.hash);
      continue;
    }
    auto& s = sequences_[q.hash];
    s = std::make_unique<Sequence>();
    s->key = q.key;
    s->rule_name = q.rule;
    s->first = q.first;
    s->at = q.at;
    s->active = q.active;
    s->gen = 1;
    // A damaged copy is dropped: no title, no absence incident.
    if (AlertStrings::wellFormed(q.strings))
      s->strings = SharedStrings::copyOf(q.strings.data(), q.strings.size());
    if (s->active && rule->mode == rules::SequenceMode::kAbsence)
      schedule(s->at + rule->within, kAbsence, q.hash, s->gen);
  }

  // Threshold windows as stored, less the firings that have left them since; a window whose
  // rule is gone (or no longer a threshold) or that has emptied is deleted from the store.
  for (auto& w : st.windows) {
    const rules::Rule* rule = ruleOf(w.rule, rules::RuleType::kThreshold);
    if (rule) std::erase_if(w.seen, [&](const auto& s) { return s.first < now - rule->window; });
    if (!rule || w.seen.empty()) {
      dirty_windows_.insert(w.hash);
      continue;
    }
    auto& t = thresholds_[w.hash];
    if (!t) t = std::make_unique<Threshold>();
    t->rule_name = w.rule;
    std::sort(w.seen.begin(), w.seen.end());
    t->seen.assign(w.seen.begin(), w.seen.end());
    for (const auto& [at, fp] : t->seen)
      if (const CorrAlert* x = alert(fp); x && t->key.empty()) t->key = groupKey(rule, *x);
  }

  // Firing alerts in no live incident: suppressed, waiting in a group or a threshold window,
  // the first of a sequence, or committed just before a crash without their effect. Routing
  // them now, in the order they fired, gives the effect they would have had; threshold windows
  // and sequences count them at their firing times. (A group's wait starts again from now.)
  std::stable_sort(reroute.begin(), reroute.end(), [this](uint64_t x, uint64_t y) {
    return alerts_.find(x)->second->changed_ms < alerts_.find(y)->second->changed_ms;
  });
  // Held states as the suppression of now says (a silence may have ended during the stop).
  held_ids_.clear();
  for (auto& inc : incidents_) {
    if (inc.id && inc.held) held_ids_.insert(inc.id);
    if (inc.id) refreshHeld(inc, now);
  }
  rerouting_ = true;
  for (uint64_t fp : reroute) {
    CorrAlert& a = *alerts_.find(fp)->second;
    a.status = api::Status::kFiring;
    onFiring(a, now);
  }
  rerouting_ = false;
}

}  // namespace triaged::engine
