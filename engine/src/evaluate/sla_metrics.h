// The evaluator's Prometheus metrics: service and heartbeat states, SLA events, clock
// completions, time to acknowledge and restore, SLO and capacity gauges, samples, and the
// per-agreement SLA families rendered as text every 10 s (docs/sla.md "Metrics").
// Owned by the correlator stage and used on its thread only.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "evaluate/evaluator.h"
#include "triaged/api/metrics_hub.h"

namespace triaged::engine {

class SlaMetrics {
 public:
  SlaMetrics(api::MetricsHub& hub, int64_t started_ms);
  ~SlaMetrics();  // withdraws the rendered SLA text from the hub
  SlaMetrics(const SlaMetrics&) = delete;
  SlaMetrics& operator=(const SlaMetrics&) = delete;

  // After each correlator round: the SLA events it raised and what the evaluator changed.
  void onRound(const Evaluator& ev, const std::vector<SlaEvent>& events,
               const Evaluator::Dirty& changed, int64_t now);
  // SLO and capacity gauges (every second: cheap, per rule).
  void publishSignals(const Evaluator& ev);
  // Reports of every agreement for the current and previous period, open clocks, and the
  // agreed/unknown/excluded/downtime counters (every 10 s). With thousands of agreements they
  // are most of /metrics: rendered here as text once per refresh, and a scrape copies them
  // (MetricsHub::setText) rather than walking 100,000 series.
  void publishSla(const Evaluator& ev, int64_t now);
  void countSamples(size_t used, size_t unmatched);
  void countRejectedSamples(size_t n);

 private:
  void observeIncidents(const Evaluator& ev, const Evaluator::Dirty& changed);
  void publishCounters(const Evaluator& ev, int64_t now, std::string& out);

  struct SlaCounters {
    double agreed = 0, unknown = 0, net = 0, gross = 0;
    std::map<std::string, double> excluded;
  };
  api::MetricsHub& hub_;
  int64_t started_ms_;
  prometheus::Family<prometheus::Gauge>*service_state_, *heartbeat_state_;
  prometheus::Family<prometheus::Counter>*clock_breaches_, *sla_events_, *clock_completed_,
      *slo_events_;
  prometheus::Family<prometheus::Gauge>*slo_burn_, *slo_budget_, *slo_alert_, *capacity_left_,
      *capacity_r2_, *capacity_value_;
  prometheus::Family<prometheus::Histogram>*ack_seconds_, *restore_seconds_;
  prometheus::Counter *samples_used_, *samples_unmatched_, *samples_rejected_;
  std::map<std::pair<std::string, std::string>, SlaCounters> sla_counters_;  // (sla, service)
  int64_t counted_to_ = 0;  // SLA counters cover agreed time up to here
  std::map<std::string, std::pair<uint64_t, uint64_t>> slo_counted_;  // good, valid already counted
  absl::flat_hash_map<uint64_t, std::pair<bool, bool>>
      observed_;  // incident: ack, restore observed
};

}  // namespace triaged::engine
