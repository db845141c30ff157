// The correlator's own metrics: alert changes applied, events by type, and the gauges of its
// state (open incidents and problems, alerts tracked, suppressed, silences in effect, queue
// depth). Owned by the correlator stage and used on its thread only.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "correlate/correlator.h"
#include "triaged/api/metrics_hub.h"

namespace triaged::engine {

class CorrelatorMetrics {
 public:
  explicit CorrelatorMetrics(api::MetricsHub& hub) {
    auto& reg = hub.registry();
    changes_ = &prometheus::BuildCounter()
                    .Name("triaged_correlator_alert_changes_total")
                    .Help("Alert changes the correlator applied.")
                    .Register(reg)
                    .Add({});
    auto& events = prometheus::BuildCounter()
                       .Name("triaged_correlator_events_total")
                       .Help("Incident, problem and suppression events, by type.")
                       .Register(reg);
    for (int t = 0; t <= CorrelatorEvent::kAlertUnsuppressed; ++t)
      events_[t] =
          &events.Add({{"type", correlatorEventName(static_cast<CorrelatorEvent::Type>(t))}});
    auto gauge = [&](const char* name, const char* help) {
      return &prometheus::BuildGauge().Name(name).Help(help).Register(reg).Add({});
    };
    auto& open = prometheus::BuildGauge()
                     .Name("triaged_incidents_open")
                     .Help("Incidents open or acknowledged, by priority (1 highest).")
                     .Register(reg);
    for (int p = 1; p <= 5; ++p) open_incidents_[p] = &open.Add({{"priority", std::to_string(p)}});
    open_problems_ = gauge("triaged_problems_open", "Problems open or known errors.");
    alerts_ = gauge("triaged_correlator_alerts",
                    "Alerts the correlator tracks (firing and recently resolved).");
    timers_ = gauge("triaged_correlator_timers",
                    "Timers pending on the correlator (group waits, announcements, hold-downs, "
                    "closes, window edges): at most a few per incident, whatever the event rate.");
    suppressed_ = gauge("triaged_alerts_suppressed",
                        "Firing alerts suppressed by a silence, maintenance or inhibition.");
    silences_ = gauge("triaged_silences_active", "Silences in effect now.");
    held_ = gauge("triaged_incidents_held",
                  "Incidents open or acknowledged whose firing alerts are all suppressed.");
    queue_depth_ =
        gauge("triaged_correlator_queue_tasks", "Tasks waiting for the correlator thread.");
    changes_active_ = gauge("triaged_changes_in_progress",
                            "Changes started and not ended (not cancelled), on the changes API.");
    after_change_ = &prometheus::BuildCounter()
                         .Name("triaged_incidents_after_change_total")
                         .Help(
                             "Incidents opened during a change or within change_window after it "
                             "on its CIs or services.")
                         .Register(reg)
                         .Add({});
  }

  void applied(size_t changes) { changes_->Increment(static_cast<double>(changes)); }
  void events(const std::vector<CorrelatorEvent>& evs) {
    for (const auto& e : evs) events_[e.type]->Increment();
  }
  void publish(const Correlator& c, size_t queued, int64_t now) {
    for (int p = 1; p <= 5; ++p) open_incidents_[p]->Set(static_cast<double>(c.openIncidents(p)));
    open_problems_->Set(static_cast<double>(c.openProblems()));
    alerts_->Set(static_cast<double>(c.alertCount()));
    timers_->Set(static_cast<double>(c.timerCount()));
    suppressed_->Set(static_cast<double>(c.suppressedCount()));
    held_->Set(static_cast<double>(c.heldIncidents()));
    size_t n = 0;
    for (const auto& [id, s] : c.silences())
      if (now >= s.starts_ms && now < s.ends_ms) ++n;
    silences_->Set(static_cast<double>(n));
    queue_depth_->Set(static_cast<double>(queued));
    size_t active = 0;
    for (const auto& [id, ch] : c.changes())
      if (ch.status != "cancelled" && ch.start() && ch.start() <= now &&
          (!ch.end() || ch.end() > now))
        ++active;
    changes_active_->Set(static_cast<double>(active));
    uint64_t linked = c.incidentsLinkedToChanges();
    if (linked > linked_) after_change_->Increment(static_cast<double>(linked - linked_));
    linked_ = linked;
  }

 private:
  prometheus::Counter *changes_, *after_change_;
  uint64_t linked_ = 0;
  prometheus::Counter* events_[CorrelatorEvent::kAlertUnsuppressed + 1];
  prometheus::Gauge* open_incidents_[6]{};
  prometheus::Gauge *open_problems_, *alerts_, *timers_, *suppressed_, *silences_, *held_,
      *queue_depth_, *changes_active_;
};

}  // namespace triaged::engine
