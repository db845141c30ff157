// The evaluator's Prometheus metrics: service and heartbeat states, SLA events, clock
// completions, time to acknowledge and restore, SLO and capacity gauges, samples, and the
// per-agreement SLA families rendered as text every 10 s (docs/sla.md "Metrics").
// Owned by the correlator stage and used on its thread only.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <array>
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
  // Availability of every agreement for the current and previous period, open clocks, and the
  // agreed/unknown/excluded/downtime counters (every 10 s). With thousands of agreements they
  // are most of /metrics: rendered here as text once per refresh, and a scrape copies them
  // (MetricsHub::setText) rather than walking 100,000 series. A refresh is done in slices of
  // kSliceAgreements agreements, one per turn of the correlator thread, so that it never
  // holds the correlator for long (10,000 agreements: 100 slices); each agreement's figures are
  // as of its slice, and the text is published when the last slice is done. The open clocks
  // are counted first, kSliceClocks a turn (200,000 clocks in one turn held it 3–8 ms), and
  // after the first slice each text reserves what all of them will need (a text of megabytes
  // doubling took a slice 2–8 ms).
  static constexpr uint32_t kSliceAgreements = 100;
  static constexpr uint32_t kSliceClocks = 16384;
  void setSliceClocks(uint32_t n) { slice_clocks_ = std::max<uint32_t>(n, 1); }  // (tests)
  void startSla(const Evaluator& ev, int64_t now);  // unless one is under way
  bool stepSla(const Evaluator& ev, int64_t now);   // one slice; false when none remains
  bool slaPending() const { return refresh_.active; }
  void publishSla(const Evaluator& ev, int64_t now) {  // a whole refresh at once
    startSla(ev, now);
    while (stepSla(ev, now)) {
    }
  }
  void countSamples(size_t used, size_t unmatched);
  void countRejectedSamples(size_t n);

 private:
  void observeIncidents(const Evaluator& ev, const Evaluator::Dirty& changed);

  struct SlaCounters {
    double agreed = 0, unknown = 0, net = 0, gross = 0;
    std::map<std::string, double> excluded;
    int64_t counted_to = 0;  // agreed time counted up to here (this agreement's last slice)
    bool shown = false;      // a series since its first counted window
    uint64_t rendered = 0;   // the refresh that rendered it last
  };
  struct Refresh {
    bool active = false;
    uint64_t number = 0;
    const rules::RuleSet* rules = nullptr;  // a reload starts the refresh again
    int64_t started = 0;
    uint32_t next = 0;  // the next agreement
    // One text per family, each published under its own key (no 10 MB concatenation).
    enum Part {
      kAvailability,
      kBudget,
      kActive,
      kAgreed,
      kUnknown,
      kExcluded,
      kDowntime,
      kObjective,
      kBudgetRatio,
      kParts
    };
    std::array<std::string, kParts> parts;
    std::vector<std::array<double, 4>> clocks;  // running, paused: per agreement
    bool clocks_counted = false;
    std::tuple<uint64_t, uint32_t, uint8_t> next_clock{};  // where the next turn counts from
  };
  void countClocks(const Evaluator& ev);
  void sliceAgreement(const Evaluator& ev, uint32_t a, int64_t now);
  void renderCounters(const std::pair<std::string, std::string>& key, SlaCounters& c);
  void finishSla(const Evaluator& ev, int64_t now);
  api::MetricsHub& hub_;
  int64_t started_ms_;
  prometheus::Family<prometheus::Gauge>*service_state_, *heartbeat_state_;
  prometheus::Gauge* last_refresh_ = nullptr;
  prometheus::Family<prometheus::Counter>*clock_breaches_, *sla_events_, *clock_completed_,
      *slo_events_;
  prometheus::Family<prometheus::Gauge>*slo_burn_, *slo_budget_, *slo_alert_, *capacity_left_,
      *capacity_r2_, *capacity_value_;
  prometheus::Family<prometheus::Histogram>*ack_seconds_, *restore_seconds_;
  prometheus::Counter *samples_used_, *samples_unmatched_, *samples_rejected_;
  std::map<std::pair<std::string, std::string>, SlaCounters> sla_counters_;  // (sla, service)
  int64_t counted_to_ = 0;  // the last refresh's start: 0 before the first
  std::map<std::string, std::pair<uint64_t, uint64_t>> slo_counted_;  // good, valid already counted
  absl::flat_hash_map<uint64_t, std::pair<bool, bool>>
      observed_;                                      // incident: ack, restore observed
  Refresh refresh_;                                   // the refresh under way
  std::array<size_t, Refresh::kParts> part_bytes_{};  // each text's size when last published
  uint32_t slice_clocks_ = kSliceClocks;
  const rules::RuleSet* gauges_for_ = nullptr;      // the rule set service_gauges_ are for
  std::vector<prometheus::Gauge*> service_gauges_;  // triaged_service_state, per service
};

}  // namespace triaged::engine
