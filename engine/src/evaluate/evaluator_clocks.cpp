// The evaluator, part: response and resolution clocks of incidents (docs/sla.md).
#include <algorithm>

#include "correlate/correlator.h"
#include "correlate/incident_facts.h"
#include "evaluate/evaluator.h"

namespace triaged::engine {

namespace sla = rules::sla;

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
        if (c.stage == ClockStage::kCompleted && t == ClockTarget::kResolution && live &&
            c.stop_ms) {
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
        bool stop = (t == ClockTarget::kResponse ? inc.acknowledged_ms != 0 || !live : !live) ||
                    stop_matched;
        if (stop) {
          int64_t at = stop_matched && live                                 ? now
                       : t == ClockTarget::kResponse && inc.acknowledged_ms ? inc.acknowledged_ms
                       : inc.resolved_ms                                    ? inc.resolved_ms
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
        // A held incident's response clock stands still: no one was asked to respond.
        bool pause = (t == ClockTarget::kResponse && inc.held) ||
                     (!ag.pause_when.empty() && rules::matchesAll(ag.pause_when, facts));
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
    int64_t at =
        sla::businessDeadline(cal, c.start_ms, c.duration_ms * lv / 100, c.pauses, open_pause);
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

}  // namespace triaged::engine
