#include "evaluate/evaluator.h"

#include <algorithm>

#include "correlate/correlator.h"
#include "correlate/incident_facts.h"

namespace triaged::engine {

namespace sla = rules::sla;

const char* clockTargetName(ClockTarget t) {
  return t == ClockTarget::kResponse ? "response" : "resolution";
}
const char* clockStageName(ClockStage s) {
  switch (s) {
    case ClockStage::kInProgress:
      return "in_progress";
    case ClockStage::kPaused:
      return "paused";
    case ClockStage::kCompleted:
      return "completed";
    case ClockStage::kCancelled:
      return "cancelled";
  }
  return "in_progress";
}

Evaluator::Evaluator(std::shared_ptr<const rules::RuleSet> rules, int64_t now_ms) {
  reload(std::move(rules), now_ms);
}

void Evaluator::reload(std::shared_ptr<const rules::RuleSet> rules, int64_t now_ms) {
  // Services are matched by name across reloads: a service keeps its timeline; a new one
  // starts OK now; a removed one's state is dropped (its stored history stays).
  std::map<std::string, ServiceState> old;
  std::vector<std::string> old_agreements;
  if (rules_) {
    for (uint32_t i = 0; i < services_.size(); ++i)
      old[rules_->services()[i].name] = std::move(services_[i]);
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
          if (uint32_t n = rules_->serviceByName(old_services[s]); n != rules::RuleSet::kNone)
            next.push_back(n);
      sum.services = std::move(next);
    }
  }
  // Clocks follow their agreement by name; those of removed agreements end.
  std::map<std::string, uint32_t> agreement_index;
  for (uint32_t i = 0; i < rules_->agreements().size(); ++i)
    agreement_index[rules_->agreements()[i].name] = i;
  std::map<std::tuple<uint64_t, uint32_t, uint8_t>, TaskClock> clocks;
  std::map<std::pair<uint32_t, uint8_t>, uint64_t> breaches;
  for (auto& [key, c] : clocks_) {
    auto it = c.agreement < old_agreements.size()
                  ? agreement_index.find(old_agreements[c.agreement])
                  : agreement_index.end();
    bool open = c.stage == ClockStage::kInProgress || c.stage == ClockStage::kPaused;
    if (it == agreement_index.end()) {
      if (open) --open_clocks_;
      continue;
    }
    c.agreement = it->second;
    ++c.gen;  // timers set under the old rules are stale
    if (c.breached) ++breaches[{c.agreement, static_cast<uint8_t>(c.target)}];
    clocks.emplace(std::make_tuple(c.incident, c.agreement, static_cast<uint8_t>(c.target)),
                   std::move(c));
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
  for (uint32_t k = 0; k < rules_->serviceOrder().size(); ++k)
    order_pos_[rules_->serviceOrder()[k]] = k;
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
    if (h.def != UINT32_MAX &&
        (h.def >= rules_->heartbeats().size() || rules_->heartbeats()[h.def].name != name))
      h.def = UINT32_MAX;  // left the rule files: kept as an implicit one
  reloadSignals(now_ms);
}

// ---- Service states ---------------------------------------------------------------------

void Evaluator::onIncidents(const Correlator& c, const std::vector<uint64_t>& ids, int64_t now) {
  for (uint64_t id : ids) {
    const Incident* inc = c.incident(id);
    if (!inc) continue;
    bool live =
        inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged;
    std::vector<uint32_t> svcs;
    auto add = [&](const std::string& name) {
      uint32_t s = rules_->serviceByName(name);
      if (s != rules::RuleSet::kNone && std::find(svcs.begin(), svcs.end(), s) == svcs.end())
        svcs.push_back(s);
    };
    if (!inc->service.empty()) add(inc->service);
    for (const auto& s : inc->services) add(s);
    // The service is as down as the incident's worst *firing* alert (not its peak: a resolved
    // critical beside a firing warning leaves a warning), and up again when the last alert
    // resolved, not when the hold-down later resolves the incident.
    int severity = live ? inc->severity() : -1;  // -1 when none fires
    if (!svcs.empty()) {
      auto& sum = summaries_[id];
      bool changed = sum.id == 0 || sum.priority != inc->priority ||
                     sum.acknowledged_ms != inc->acknowledged_ms ||
                     sum.resolved_ms != inc->resolved_ms || sum.problem != inc->problem ||
                     sum.services != svcs;
      if (changed) {
        sum = IncidentSummary{id,
                              inc->priority,
                              inc->opened_ms,
                              inc->acknowledged_ms,
                              inc->resolved_ms,
                              inc->problem,
                              inc->title,
                              svcs};
        dirty_.summaries.push_back(sum);
      }
    }
    setContribution(id, severity, std::move(svcs));
    updateClocks(*inc, now);
  }
  recomputeServices(now);
}

void Evaluator::setContribution(uint64_t id, int severity, std::vector<uint32_t> svcs) {
  // An incident that affects no service contributes to nothing: no entry is kept for it (one
  // per open incident was most of the evaluator's memory when no services are configured).
  bool contributes = severity >= 0 && !svcs.empty();
  auto it = contributions_.find(id);
  if (it == contributions_.end()) {
    if (!contributes) return;
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
  if (contributes) {
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

// ---- Heartbeats ---------------------------------------------------------------------------

std::string Evaluator::heartbeat(const std::string& name, Signal s, int64_t now, int64_t sent_at,
                                 int64_t period_ms, int64_t grace_ms) {
  auto it = heartbeats_.find(name);
  if (it == heartbeats_.end()) {
    if (s != Signal::kPing) return "unknown heartbeat \"" + name + "\"";
    if (period_ms <= 0)
      return "unknown heartbeat \"" + name + "\": give period= to create it with its first ping";
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
    case Signal::kFail:
      h.clock.failed_at = now;
      break;
    case Signal::kPause:
      h.clock.paused = true;
      break;
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
  d.capacity_states.erase(std::unique(d.capacity_states.begin(), d.capacity_states.end()),
                          d.capacity_states.end());
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
      if (uint32_t s = rules_->serviceByName(n); s != rules::RuleSet::kNone)
        sum.services.push_back(s);
    summaries_[sum.id] = std::move(sum);
  }
  std::map<std::string, uint32_t> agreement_index;
  for (uint32_t i = 0; i < rules_->agreements().size(); ++i)
    agreement_index[rules_->agreements()[i].name] = i;
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
  // Service transitions before the cut, as the store prunes them: the last one stays (the
  // state the history now starts in), so memory follows the retention, not the uptime.
  for (auto& s : services_) {
    auto& tl = s.timeline;
    size_t keep = 0;
    while (keep + 1 < tl.size() && tl[keep + 1].at_ms < before) ++keep;
    if (keep) tl.erase(tl.begin(), tl.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  std::vector<uint64_t> gone;
  for (const auto& [id, sum] : summaries_)
    if (sum.resolved_ms && sum.resolved_ms < before && !contributions_.contains(id))
      gone.push_back(id);
  for (uint64_t id : gone) {
    summaries_.erase(id);
    for (auto it = clocks_.lower_bound({id, 0, 0});
         it != clocks_.end() && std::get<0>(it->first) == id;) {
      bool open =
          it->second.stage == ClockStage::kInProgress || it->second.stage == ClockStage::kPaused;
      if (open) {
        ++it;
        continue;
      }
      it = clocks_.erase(it);
    }
  }
}

}  // namespace triaged::engine
