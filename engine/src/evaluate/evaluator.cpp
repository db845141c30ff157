#include "evaluate/evaluator.h"

#include <algorithm>

#include "correlate/correlator.h"
#include "correlate/incident_facts.h"

namespace triaged::engine {

namespace sla = rules::sla;

const char* clockTargetName(ClockTarget t) { return t == ClockTarget::kResponse ? "response" : "resolution"; }
const char* clockStageName(ClockStage s) {
  switch (s) {
    case ClockStage::kInProgress: return "in_progress";
    case ClockStage::kPaused: return "paused";
    case ClockStage::kCompleted: return "completed";
    case ClockStage::kCancelled: return "cancelled";
  }
  return "in_progress";
}

Evaluator::Evaluator(std::shared_ptr<const rules::RuleSet> rules, int64_t now_ms) { reload(std::move(rules), now_ms); }

void Evaluator::reload(std::shared_ptr<const rules::RuleSet> rules, int64_t now_ms) {
  // Services are matched by name across reloads: a service keeps its timeline; a new one
  // starts OK now; a removed one's state is dropped (its stored history stays).
  std::map<std::string, ServiceState> old;
  std::vector<std::string> old_agreements;
  if (rules_) {
    for (uint32_t i = 0; i < services_.size(); ++i) old[rules_->services()[i].name] = std::move(services_[i]);
    for (const auto& a : rules_->agreements()) old_agreements.push_back(a.name);
  }
  std::vector<std::string> old_services;
  if (rules_)
    for (const auto& svc : rules_->services()) old_services.push_back(svc.name);
  rules_ = std::move(rules);
  // Summaries of incidents refer to services by index: follow them by name.
  if (!old_services.empty()) {
    for (auto& [id, sum] : summaries_) {
      std::vector<uint32_t> next;
      for (uint32_t s : sum.services)
        if (s < old_services.size())
          if (uint32_t n = rules_->serviceByName(old_services[s]); n != rules::RuleSet::kNone) next.push_back(n);
      sum.services = std::move(next);
    }
  }
  // Clocks follow their agreement by name; those of removed agreements end.
  std::map<std::string, uint32_t> agreement_index;
  for (uint32_t i = 0; i < rules_->agreements().size(); ++i) agreement_index[rules_->agreements()[i].name] = i;
  std::map<std::tuple<uint64_t, uint32_t, uint8_t>, TaskClock> clocks;
  std::map<std::pair<uint32_t, uint8_t>, uint64_t> breaches;
  for (auto& [key, c] : clocks_) {
    auto it = c.agreement < old_agreements.size() ? agreement_index.find(old_agreements[c.agreement]) : agreement_index.end();
    bool open = c.stage == ClockStage::kInProgress || c.stage == ClockStage::kPaused;
    if (it == agreement_index.end()) {
      if (open) --open_clocks_;
      continue;
    }
    c.agreement = it->second;
    ++c.gen;  // timers set under the old rules are stale
    if (c.breached) ++breaches[{c.agreement, static_cast<uint8_t>(c.target)}];
    clocks.emplace(std::make_tuple(c.incident, c.agreement, static_cast<uint8_t>(c.target)), std::move(c));
  }
  clocks_ = std::move(clocks);
  breaches_ = std::move(breaches);
  for (auto& [key, c] : clocks_)
    if (c.stage == ClockStage::kInProgress) scheduleClock(c, now_ms, true);
  const auto& svcs = rules_->services();
  services_.assign(svcs.size(), ServiceState{});
  for (uint32_t i = 0; i < svcs.size(); ++i) {
    auto it = old.find(svcs[i].name);
    if (it != old.end()) {
      services_[i] = std::move(it->second);
    } else {
      services_[i].timeline.push_back({now_ms, -1, {}});
      dirty_.transitions.emplace_back(i, services_[i].timeline.back());
    }
  }
  // Contributions refer to service indexes, which a reload may change: they are rebuilt from
  // the live incidents (the stage calls onIncidents with all of them after a reload). The
  // statuses and timelines stay, so only a real change records a transition.
  for (auto& st : services_) {
    st.incidents.clear();
    std::fill(std::begin(st.counts), std::end(st.counts), 0);
  }
  contributions_.clear();
  order_pos_.assign(svcs.size(), 0);
  for (uint32_t k = 0; k < rules_->serviceOrder().size(); ++k) order_pos_[rules_->serviceOrder()[k]] = k;
  touched_mark_.assign(svcs.size(), 0);
  touched_.clear();
  // Heartbeats from the rule files (existing ones keep their clocks).
  for (uint32_t i = 0; i < rules_->heartbeats().size(); ++i) {
    const auto& d = rules_->heartbeats()[i];
    auto& h = heartbeats_[d.name];
    if (h.name.empty()) {
      h.name = d.name;
      h.created_ms = now_ms;
    }
    h.def = i;
    h.clock.period_ms = d.period_ms;
    h.clock.grace_ms = d.grace_ms;
    h.max_latency_ms = d.max_latency_ms;
    scheduleHeartbeat(h, now_ms);
  }
  for (auto& [name, h] : heartbeats_)
    if (h.def != UINT32_MAX && (h.def >= rules_->heartbeats().size() || rules_->heartbeats()[h.def].name != name))
      h.def = UINT32_MAX;  // left the rule files: kept as an implicit one
  reloadSignals(now_ms);
}

// ---- Service states ---------------------------------------------------------------------

void Evaluator::onIncidents(const Correlator& c, const std::vector<uint64_t>& ids, int64_t now) {
  for (uint64_t id : ids) {
    const Incident* inc = c.incident(id);
    if (!inc) continue;
    bool live = inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged;
    std::vector<uint32_t> svcs;
    auto add = [&](const std::string& name) {
      uint32_t s = rules_->serviceByName(name);
      if (s != rules::RuleSet::kNone && std::find(svcs.begin(), svcs.end(), s) == svcs.end()) svcs.push_back(s);
    };
    if (!inc->service.empty()) add(inc->service);
    for (const auto& s : inc->services) add(s);
    // The service is as down as the incident's worst *firing* alert (not its peak: a resolved
    // critical beside a firing warning leaves a warning), and up again when the last alert
    // resolved, not when the hold-down later resolves the incident.
    int severity = live && inc->firing > 0 ? inc->severity() : -1;
    if (!svcs.empty()) {
      auto& sum = summaries_[id];
      bool changed = sum.id == 0 || sum.priority != inc->priority || sum.acknowledged_ms != inc->acknowledged_ms ||
                     sum.resolved_ms != inc->resolved_ms || sum.problem != inc->problem || sum.services != svcs;
      if (changed) {
        sum = IncidentSummary{id, inc->priority, inc->opened_ms, inc->acknowledged_ms, inc->resolved_ms,
                              inc->problem, inc->title, svcs};
        dirty_.summaries.push_back(sum);
      }
    }
    setContribution(id, severity, std::move(svcs));
    updateClocks(*inc, now);
  }
  recomputeServices(now);
}

void Evaluator::setContribution(uint64_t id, int severity, std::vector<uint32_t> svcs) {
  auto it = contributions_.find(id);
  if (it == contributions_.end()) {
    if (severity < 0) return;
    it = contributions_.emplace(id, Contribution{}).first;
  }
  Contribution& c = it->second;
  if (c.severity == severity && c.services == svcs) return;
  auto touch = [&](uint32_t s) {
    if (!touched_mark_[s]) {
      touched_mark_[s] = 1;
      touched_.push_back(s);
    }
  };
  if (c.severity >= 0)
    for (uint32_t s : c.services) {
      auto& st = services_[s];
      if (st.incidents.erase(id)) --st.counts[std::clamp(c.severity, 0, 5)];
      touch(s);
    }
  c.severity = severity;
  c.services = std::move(svcs);
  if (severity >= 0) {
    for (uint32_t s : c.services) {
      auto& st = services_[s];
      st.incidents[id] = severity;
      ++st.counts[std::clamp(severity, 0, 5)];
      touch(s);
    }
  } else {
    contributions_.erase(it);
  }
}

void Evaluator::recomputeServices(int64_t now) {
  if (touched_.empty()) return;
  // Children before parents: a min-heap on the position in the service order.
  auto later = [&](uint32_t a, uint32_t b) { return order_pos_[a] > order_pos_[b]; };
  std::make_heap(touched_.begin(), touched_.end(), later);
  while (!touched_.empty()) {
    std::pop_heap(touched_.begin(), touched_.end(), later);
    uint32_t s = touched_.back();
    touched_.pop_back();
    touched_mark_[s] = 0;
    auto& st = services_[s];
    st.own = -1;
    for (int k = 5; k >= 0; --k)
      if (st.counts[k]) {
        st.own = k;
        break;
      }
    int status = st.own;
    const auto& h = rules_->services()[s].hierarchy;
    if (!h.children.empty()) {
      std::vector<sla::ChildStatus> children;
      for (uint32_t c : h.children) {
        const auto& ch = rules_->services()[c].hierarchy;
        children.push_back({services_[c].status, ch.weight, ch.propagation});
      }
      status = std::max(status, sla::serviceStatus(h.algorithm, children, h.status_rules));
    }
    bool incidents_changed = false;
    if (!st.timeline.empty() && status >= 0 && status == st.status) {
      // Same status; the incidents behind it may have changed (one resolved, another still
      // down): record that too, so downtime names every incident that caused it.
      std::vector<uint64_t> ids;
      for (const auto& [id, sev] : st.incidents)
        if (sev == st.own && ids.size() < 20) ids.push_back(id);
      incidents_changed = ids != st.timeline.back().incidents;
    }
    if (status == st.status && !incidents_changed) continue;
    st.status = status;
    record(s, status, now);
    for (uint32_t p : rules_->services()[s].parents)
      if (!touched_mark_[p]) {
        touched_mark_[p] = 1;
        touched_.push_back(p);
        std::push_heap(touched_.begin(), touched_.end(), later);
      }
  }
}

void Evaluator::record(uint32_t s, int status, int64_t now) {
  auto& st = services_[s];
  ServiceTransition t{now, status, {}};
  for (const auto& [id, sev] : st.incidents)
    if (sev == st.own && t.incidents.size() < 20) t.incidents.push_back(id);
  if (!st.timeline.empty() && st.timeline.back().at_ms == now)
    st.timeline.back() = t;  // two changes at one instant: the last one holds
  else
    st.timeline.push_back(t);
  dirty_.transitions.emplace_back(s, std::move(t));
}

// ---- Response and resolution clocks ----------------------------------------------------------


sla::Ms Evaluator::clockDuration(uint32_t a, ClockTarget t, int priority) const {
  const auto& ag = rules_->agreements()[a];
  const auto& target = t == ClockTarget::kResponse ? ag.response : ag.resolution;
  return priority >= 1 && priority <= 5 ? target.by_priority[priority - 1] : 0;
}

void Evaluator::updateClocks(const Incident& inc, int64_t now) {
  auto sit = summaries_.find(inc.id);
  if (sit == summaries_.end()) return;  // touches no service with agreements
  IncidentFacts facts(inc);
  bool live = inc.status == IncidentStatus::kOpen || inc.status == IncidentStatus::kAcknowledged;
  for (uint32_t s : sit->second.services) {
    for (uint32_t a : rules_->services()[s].agreements) {
      const auto& ag = rules_->agreements()[a];
      for (ClockTarget t : {ClockTarget::kResponse, ClockTarget::kResolution}) {
        auto key = std::make_tuple(inc.id, a, static_cast<uint8_t>(t));
        auto it = clocks_.find(key);
        sla::Ms duration = clockDuration(a, t, inc.priority);
        if (it == clocks_.end()) {
          // Attach: a live incident with a target for its priority; the clock starts when the
          // incident opened (retroactive), so a late attach may already be breached.
          if (!live || duration <= 0) continue;
          if (t == ClockTarget::kResponse && inc.acknowledged_ms) continue;
          if (!ag.start_when.empty() && !rules::matchesAll(ag.start_when, facts)) continue;
          if (!ag.stop_when.empty() && rules::matchesAll(ag.stop_when, facts)) continue;
          TaskClock c;
          c.incident = inc.id;
          c.agreement = a;
          c.target = t;
          c.priority = inc.priority;
          c.start_ms = inc.opened_ms;
          c.duration_ms = duration;
          it = clocks_.emplace(key, c).first;
          ++open_clocks_;
          scheduleClock(it->second, now, true);
          it->second.original_breach_ms = it->second.breach_ms;
        }
        TaskClock& c = it->second;
        if (c.stage == ClockStage::kCompleted && t == ClockTarget::kResolution && live && c.stop_ms) {
          // Reopened: the resolution clock resumes; the time it stood resolved does not count.
          c.pauses.push_back({c.stop_ms, std::max(c.stop_ms, now)});
          c.pauses = sla::normalize(std::move(c.pauses));
          c.stop_ms = 0;
          c.stage = ClockStage::kInProgress;
          ++open_clocks_;
          scheduleClock(c, now, true);
          continue;
        }
        if (c.stage == ClockStage::kCompleted || c.stage == ClockStage::kCancelled) continue;
        bool stop_matched = !ag.stop_when.empty() && rules::matchesAll(ag.stop_when, facts);
        bool stop = (t == ClockTarget::kResponse ? inc.acknowledged_ms != 0 || !live : !live) || stop_matched;
        if (stop) {
          int64_t at = stop_matched && live                               ? now
                       : t == ClockTarget::kResponse && inc.acknowledged_ms ? inc.acknowledged_ms
                       : inc.resolved_ms                                  ? inc.resolved_ms
                                                                          : now;
          if (c.stage == ClockStage::kPaused) {
            c.pauses.push_back({c.paused_since, std::max(c.paused_since, at)});
            c.paused_since = 0;
          }
          c.stage = ClockStage::kCompleted;
          c.stop_ms = at;
          c.breached = c.breached || (c.breach_ms != INT64_MAX && at >= c.breach_ms);
          ++c.gen;
          --open_clocks_;
          dirty_.clocks.push_back(c);
          continue;
        }
        bool changed = false;
        if (duration > 0 && duration != c.duration_ms) {  // priority changed: its target applies
          c.duration_ms = duration;
          c.priority = inc.priority;
          changed = true;
        }
        bool pause = !ag.pause_when.empty() && rules::matchesAll(ag.pause_when, facts);
        if (pause && c.stage == ClockStage::kInProgress) {
          c.stage = ClockStage::kPaused;
          c.paused_since = now;
          changed = true;
        } else if (!pause && c.stage == ClockStage::kPaused) {
          c.pauses.push_back({c.paused_since, now});
          c.pauses = sla::normalize(std::move(c.pauses));
          c.paused_since = 0;
          c.stage = ClockStage::kInProgress;
          changed = true;
        }
        if (changed) scheduleClock(c, now, false);
      }
    }
  }
}

// Computes the breach instant and sets the timer for the next threshold not yet crossed.
// With `retro`, thresholds already behind `now` are crossed at once, reporting only the
// highest (one breach event, not a warning, a warning and a breach).
void Evaluator::scheduleClock(TaskClock& c, int64_t now, bool retro) {
  const auto& ag = rules_->agreements()[c.agreement];
  const auto& cal = rules_->calendars()[ag.clock_calendar];
  int64_t open_pause = c.stage == ClockStage::kPaused ? c.paused_since : 0;
  c.breach_ms = sla::businessDeadline(cal, c.start_ms, c.duration_ms, c.pauses, open_pause);
  ++c.gen;
  dirty_.clocks.push_back(c);
  std::vector<int> levels = ag.warn_at;
  levels.push_back(100);
  int due_level = 0;
  for (int lv : levels) {
    if (lv <= c.crossed) continue;
    int64_t at = sla::businessDeadline(cal, c.start_ms, c.duration_ms * lv / 100, c.pauses, open_pause);
    if (at == INT64_MAX) return;  // paused: no timer until it resumes
    if (retro && at <= now) {
      due_level = lv;
      continue;
    }
    if (due_level) break;
    push(Timer{at, 0, false, {c.incident, c.agreement, static_cast<uint8_t>(c.target)}, {}, c.gen});
    return;
  }
  if (due_level) {
    c.crossed = due_level - 1;  // fireClock crosses exactly this one
    fireClock(c, now);
  }
}

void Evaluator::fireClock(TaskClock& c, int64_t now) {
  const auto& ag = rules_->agreements()[c.agreement];
  const auto& cal = rules_->calendars()[ag.clock_calendar];
  std::vector<int> levels = ag.warn_at;
  levels.push_back(100);
  int level = 0;
  int64_t at = 0;
  for (int lv : levels) {
    if (lv <= c.crossed) continue;
    at = sla::businessDeadline(cal, c.start_ms, c.duration_ms * lv / 100, c.pauses, 0);
    if (at > now) break;
    level = lv;  // the highest one due
  }
  if (!level) return;
  c.crossed = level;
  SlaEvent e;
  e.type = level >= 100 ? "sla.breach" : "sla.warning";
  e.at_ms = now;
  e.incident = c.incident;
  e.agreement = ag.name;
  e.target = clockTargetName(c.target);
  e.percent = level;
  e.deadline_ms = c.breach_ms;
  events_.push_back(std::move(e));
  if (level >= 100 && !c.breached) {
    c.breached = true;
    ++breaches_[{c.agreement, static_cast<uint8_t>(c.target)}];
  }
  dirty_.clocks.push_back(c);
  scheduleClock(c, now, false);
}

uint64_t Evaluator::breaches(uint32_t agreement, ClockTarget t) const {
  auto it = breaches_.find({agreement, static_cast<uint8_t>(t)});
  return it == breaches_.end() ? 0 : it->second;
}

// ---- Heartbeats ---------------------------------------------------------------------------

std::string Evaluator::heartbeat(const std::string& name, Signal s, int64_t now, int64_t sent_at, int64_t period_ms,
                                 int64_t grace_ms) {
  auto it = heartbeats_.find(name);
  if (it == heartbeats_.end()) {
    if (s != Signal::kPing) return "unknown heartbeat \"" + name + "\"";
    if (period_ms <= 0) return "unknown heartbeat \"" + name + "\": give period= to create it with its first ping";
    HeartbeatRuntime h;
    h.name = name;
    h.created_ms = now;
    h.clock.period_ms = period_ms;
    h.clock.grace_ms = grace_ms;
    it = heartbeats_.emplace(name, std::move(h)).first;
  }
  auto& h = it->second;
  switch (s) {
    case Signal::kPing:
      h.clock.last_success = now;
      h.last_latency_ms = sent_at > 0 ? now - sent_at : -1;
      break;
    case Signal::kFail: h.clock.failed_at = now; break;
    case Signal::kPause: h.clock.paused = true; break;
    case Signal::kResume:
      h.clock.paused = false;
      if (h.clock.last_success >= 0) h.clock.last_success = now;  // a fresh period from the resume
      break;
  }
  reportHeartbeat(h, now);
  scheduleHeartbeat(h, now);
  dirty_.heartbeats.push_back(name);
  return {};
}

void Evaluator::scheduleHeartbeat(HeartbeatRuntime& h, int64_t now) {
  ++h.gen;
  // A cron heartbeat is due at the first fire time after its last ping: that is its period.
  if (h.def != UINT32_MAX && h.def < rules_->heartbeats().size()) {
    const auto& d = rules_->heartbeats()[h.def];
    if (d.has_schedule) {
      int64_t from = h.clock.last_success >= 0 ? h.clock.last_success : h.created_ms;
      int64_t next = sla::nextFire(d.schedule, d.schedule_zone, from);
      h.clock.period_ms = next == INT64_MAX ? INT64_MAX / 4 : next - from;
    }
  }
  int64_t at = h.clock.nextChange(now);
  if (at != INT64_MAX) push(Timer{at, 0, true, {}, h.name, h.gen});
}

void Evaluator::reportHeartbeat(HeartbeatRuntime& h, int64_t now) {
  auto state = h.clock.at(now);
  bool was_down = h.reported == sla::HeartbeatState::kDown;
  bool down = state == sla::HeartbeatState::kDown;
  if (down != was_down) {
    GeneratedAlert a;
    a.name = h.name;
    a.firing = down;
    a.at_ms = now;
    if (h.def != UINT32_MAX) {
      const auto& d = rules_->heartbeats()[h.def];
      a.severity = d.severity;
      a.labels = d.labels;
      if (d.service != UINT32_MAX) a.service = rules_->services()[d.service].name;
    }
    alerts_.push_back(a);
    SlaEvent e;
    e.type = down ? "heartbeat.down" : "heartbeat.up";
    e.at_ms = now;
    e.heartbeat = h.name;
    events_.push_back(std::move(e));
  }
  if (state != h.reported) dirty_.heartbeats.push_back(h.name);
  h.reported = state;
}

// ---- Timers ---------------------------------------------------------------------------------

void Evaluator::push(Timer t) {
  t.seq = timer_seq_++;
  timers_.push(std::move(t));
}

int64_t Evaluator::nextDeadline() const {
  int64_t t = timers_.empty() ? INT64_MAX : timers_.top().at;
  return has_signals_ ? std::min(t, next_signals_) : t;
}

void Evaluator::advance(int64_t now) {
  if (now >= next_signals_) evaluateSignals(now);
  while (!timers_.empty() && timers_.top().at <= now) {
    Timer t = timers_.top();
    timers_.pop();
    if (t.heartbeat) {
      auto it = heartbeats_.find(t.name);
      if (it == heartbeats_.end() || it->second.gen != t.gen) continue;
      reportHeartbeat(it->second, t.at);
      scheduleHeartbeat(it->second, t.at);
    } else {
      auto it = clocks_.find(t.clock);
      if (it == clocks_.end() || it->second.gen != t.gen) continue;
      if (it->second.stage != ClockStage::kInProgress) continue;
      fireClock(it->second, t.at);
    }
  }
}

// ---- Persistence -------------------------------------------------------------------------------

Evaluator::Dirty Evaluator::takeDirty() {
  Dirty d = std::move(dirty_);
  dirty_ = Dirty{};
  // One row per clock and heartbeat: the last state of each.
  std::map<std::tuple<uint64_t, uint32_t, uint8_t>, size_t> last;
  std::vector<TaskClock> clocks;
  for (auto& c : d.clocks) {
    auto key = std::make_tuple(c.incident, c.agreement, static_cast<uint8_t>(c.target));
    auto [it, fresh] = last.emplace(key, clocks.size());
    if (fresh)
      clocks.push_back(std::move(c));
    else
      clocks[it->second] = std::move(c);
  }
  d.clocks = std::move(clocks);
  std::sort(d.heartbeats.begin(), d.heartbeats.end());
  d.heartbeats.erase(std::unique(d.heartbeats.begin(), d.heartbeats.end()), d.heartbeats.end());
  std::sort(d.slo_minutes.begin(), d.slo_minutes.end());
  d.slo_minutes.erase(std::unique(d.slo_minutes.begin(), d.slo_minutes.end()), d.slo_minutes.end());
  std::sort(d.capacity_states.begin(), d.capacity_states.end());
  d.capacity_states.erase(std::unique(d.capacity_states.begin(), d.capacity_states.end()), d.capacity_states.end());
  return d;
}

void Evaluator::restore(Restored r, int64_t now) {
  for (auto& s : services_) s.timeline.clear();
  std::vector<uint8_t> seen(services_.size(), 0);
  for (auto& [name, t] : r.transitions) {
    uint32_t s = rules_->serviceByName(name);
    if (s == rules::RuleSet::kNone) continue;
    seen[s] = 1;
    services_[s].timeline.push_back(std::move(t));
  }
  dirty_.transitions.clear();
  for (uint32_t s = 0; s < services_.size(); ++s) {
    if (!seen[s]) {
      services_[s].timeline.push_back({now, -1, {}});
      dirty_.transitions.emplace_back(s, services_[s].timeline.back());
    }
    // The state now is rebuilt from the restored incidents (onIncidents after restore);
    // until then it is OK, which records a transition if it was not.
    services_[s].status = services_[s].timeline.back().status;
  }
  gaps_ = std::move(r.gaps);
  if (r.last_alive_ms > 0 && r.last_alive_ms < now) {
    gaps_.push_back({r.last_alive_ms, now});
    gaps_ = sla::normalize(gaps_);
    dirty_.gaps.push_back({r.last_alive_ms, now});
  }
  restoreSignals(r);
  for (auto& [sum, names] : r.summaries) {
    sum.services.clear();
    for (const auto& n : names)
      if (uint32_t s = rules_->serviceByName(n); s != rules::RuleSet::kNone) sum.services.push_back(s);
    summaries_[sum.id] = std::move(sum);
  }
  std::map<std::string, uint32_t> agreement_index;
  for (uint32_t i = 0; i < rules_->agreements().size(); ++i) agreement_index[rules_->agreements()[i].name] = i;
  for (auto& [agreement, c] : r.clocks) {
    auto found = agreement_index.find(agreement);
    if (found == agreement_index.end()) continue;
    uint32_t a = found->second;
    c.agreement = a;
    auto key = std::make_tuple(c.incident, a, static_cast<uint8_t>(c.target));
    auto& slot = clocks_[key] = c;
    if (slot.breached) ++breaches_[{a, static_cast<uint8_t>(c.target)}];
    if (slot.stage == ClockStage::kInProgress || slot.stage == ClockStage::kPaused) {
      ++open_clocks_;
      // Thresholds passed while the daemon was down are crossed now (one event, the highest).
      scheduleClock(slot, now, true);
    }
  }
  for (auto& h : r.heartbeats) {
    auto& mine = heartbeats_[h.name];
    uint32_t def = mine.def;
    auto period = mine.clock.period_ms, grace = mine.clock.grace_ms;
    mine = std::move(h);
    mine.def = def;
    if (def != UINT32_MAX) {
      mine.clock.period_ms = period;
      mine.clock.grace_ms = grace;
    }
    reportHeartbeat(mine, now);
    scheduleHeartbeat(mine, now);
  }
}

void Evaluator::prune(int64_t before) {
  std::vector<uint64_t> gone;
  for (const auto& [id, sum] : summaries_)
    if (sum.resolved_ms && sum.resolved_ms < before && !contributions_.contains(id)) gone.push_back(id);
  for (uint64_t id : gone) {
    summaries_.erase(id);
    for (auto it = clocks_.lower_bound({id, 0, 0}); it != clocks_.end() && std::get<0>(it->first) == id;) {
      bool open = it->second.stage == ClockStage::kInProgress || it->second.stage == ClockStage::kPaused;
      if (open) {
        ++it;
        continue;
      }
      it = clocks_.erase(it);
    }
  }
}

// ---- Reports ---------------------------------------------------------------------------------

sla::AvailabilityInput Evaluator::availabilityInput(uint32_t a, int64_t start, int64_t end, int64_t now) const {
  const auto& ag = rules_->agreements()[a];
  const auto& cal = rules_->calendars()[ag.calendar];
  const auto& svc = rules_->services()[ag.service];
  const auto& tl = services_[ag.service].timeline;
  sla::AvailabilityInput in;
  int64_t from = std::max(start, ag.effective_ms);
  in.agreed_all = cal.agreed(from, end);
  in.now = now;
  in.slo_ppb = ag.slo_ppb ? ag.slo_ppb : sla::kPpb;
  in.weights = ag.weights;
  in.unknown = ag.unknown;
  // From the transition in force at `start` (the timeline is in time order).
  size_t first = static_cast<size_t>(
      std::upper_bound(tl.begin(), tl.end(), start, [](int64_t t, const ServiceTransition& x) { return t < x.at_ms; }) -
      tl.begin());
  for (size_t i = first ? first - 1 : 0; i < tl.size() && tl[i].at_ms < now; ++i) {
    int64_t a0 = tl[i].at_ms, b0 = i + 1 < tl.size() ? tl[i + 1].at_ms : now;
    a0 = std::max(a0, start);
    b0 = std::min(b0, now);
    if (b0 <= a0) continue;
    sla::State st = tl[i].status == kUnknownStatus ? sla::State::kUnknown : ag.stateOf(tl[i].status);
    // Engine gaps are UNKNOWN whatever the last state was.
    for (const auto& piece : sla::subtract({{a0, b0}}, gaps_)) in.timeline.push_back({piece.a, piece.b, st, tl[i].incidents});
  }
  std::sort(in.timeline.begin(), in.timeline.end(), [](const auto& x, const auto& y) { return x.a < y.a; });
  // Approved maintenance (windows with a change id covering the service) is excluded time.
  for (const auto& w : rules_->maintenance()) {
    if (w.change_id.empty()) continue;
    bool covers = std::find(w.services.begin(), w.services.end(), ag.service) != w.services.end();
    for (uint32_t ci : svc.cis) covers |= std::find(w.cis.begin(), w.cis.end(), ci) != w.cis.end();
    if (!covers) continue;
    for (const auto& [s, e] : w.schedule.occurrences(start, end)) in.excluded.push_back({s, e, "maintenance", w.change_id});
  }
  return in;
}

sla::Availability Evaluator::window(uint32_t a, int64_t from, int64_t to) const {
  return sla::availability(availabilityInput(a, from, to, to));
}

Evaluator::Report Evaluator::report(uint32_t a, const sla::Period& p, int64_t now) const {
  return report(a, p, now, nullptr);
}

std::vector<Evaluator::Report> Evaluator::reports(const std::vector<std::pair<uint32_t, sla::Period>>& wanted,
                                                  int64_t now) const {
  ReportIndex index;
  index.by_service.resize(services_.size());
  index.by_agreement.resize(rules_->agreements().size());
  for (const auto& [id, s] : summaries_)
    for (uint32_t svc : s.services)
      if (svc < index.by_service.size()) index.by_service[svc].push_back(&s);
  for (const auto& [key, c] : clocks_)
    if (c.agreement < index.by_agreement.size()) index.by_agreement[c.agreement].push_back(&c);
  std::vector<Report> out;
  out.reserve(wanted.size());
  for (const auto& [a, p] : wanted) out.push_back(report(a, p, now, &index));
  return out;
}

Evaluator::Report Evaluator::report(uint32_t a, const sla::Period& p, int64_t now, const ReportIndex* index) const {
  const auto& ag = rules_->agreements()[a];
  const auto& cal = rules_->calendars()[ag.calendar];
  const auto& svc = rules_->services()[ag.service];
  Report r;
  r.agreement = ag.name;
  r.service = svc.name;
  r.type = rules::agreementTypeName(ag.type);
  r.counterparty = ag.counterparty;
  r.period = p.label;
  r.target_text = ag.target_text;
  r.calendar = cal.name;
  r.period_start = p.start;
  r.period_end = p.end;
  r.slo_ppb = ag.slo_ppb;
  r.weights = ag.weights;
  r.final = now >= p.end;
  r.evaluated_to = std::min(now, p.end);
  sla::AvailabilityInput in = availabilityInput(a, p.start, p.end, r.evaluated_to);
  r.availability = sla::availability(in);
  r.met = true;  // no target, or nothing measured yet
  // Exact comparison: (measured - D) / measured >= slo  <=>  (measured - D) * 1e9 >= slo * measured.
  if (ag.slo_ppb && r.availability.measured_ms > 0) {
    double lhs = (static_cast<double>(r.availability.measured_ms) - r.availability.downtime_net_ms) * sla::kPpb;
    double rhs = static_cast<double>(ag.slo_ppb) * static_cast<double>(r.availability.measured_ms);
    r.met = lhs >= rhs;
  }
  r.reliability = sla::reliability(in.timeline, sla::clip(in.agreed_all, p.start, r.evaluated_to), ag.weights);
  // Incidents of the service opened in the period.
  std::vector<double> ack, res;
  std::map<uint64_t, size_t> problems;
  std::vector<const IncidentSummary*> candidates;
  if (index) {
    candidates = index->by_service[ag.service];
  } else {
    for (const auto& [id, s] : summaries_) candidates.push_back(&s);
  }
  for (const IncidentSummary* sp : candidates) {
    const auto& s = *sp;
    uint64_t id = s.id;
    if (s.opened_ms < p.start || s.opened_ms >= p.end) continue;
    if (std::find(s.services.begin(), s.services.end(), ag.service) == s.services.end()) continue;
    r.incident_ids.push_back(id);
    if (s.priority >= 1 && s.priority <= 5) ++r.by_priority[s.priority - 1];
    if (s.acknowledged_ms)
      ack.push_back(static_cast<double>(s.acknowledged_ms - s.opened_ms));
    else
      ++r.unacknowledged;
    if (s.resolved_ms) res.push_back(static_cast<double>(s.resolved_ms - s.opened_ms));
    if (s.problem) ++problems[s.problem];
  }
  std::sort(r.incident_ids.begin(), r.incident_ids.end());
  r.incidents = r.incident_ids.size();
  r.ack_ms = sla::distribution(ack);
  r.resolve_ms = sla::distribution(res);
  for (const auto& [id, n] : problems) r.problems.emplace_back(id, n);
  std::stable_sort(r.problems.begin(), r.problems.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  if (r.problems.size() > 10) r.problems.resize(10);
  std::vector<const TaskClock*> clocks;
  if (index) {
    clocks = index->by_agreement[a];
  } else {
    for (const auto& [key, c] : clocks_) clocks.push_back(&c);
  }
  for (const TaskClock* cp : clocks) {
    const auto& c = *cp;
    if (c.agreement != a || c.start_ms < p.start || c.start_ms >= p.end) continue;
    auto& comp = c.target == ClockTarget::kResponse ? r.response : r.resolution;
    if (c.stage == ClockStage::kCompleted)
      ++(c.breached ? comp.breached : comp.met);
    else if (c.breached)
      ++comp.breached;
    else
      ++comp.in_progress;
  }
  return r;
}

}  // namespace triaged::engine
