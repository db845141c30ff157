// The evaluator: turns incident changes into service state timelines, response and resolution
// clocks, and heartbeat states, and answers "did we meet the SLA, and why not" for any
// agreement and period. Pure logic on injected time, owned by one thread (the correlator
// stage runs it after each correlator round; replay and the report command run it alone).
// Arithmetic lives in rules/sla.h; this is the bookkeeping around it.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "triaged/rules/rule_set.h"
#include "triaged/rules/sla.h"

namespace triaged::engine {

class Correlator;
struct Incident;

// A change of a service's status: -1 OK, 0..5 severity, kUnknownStatus when not measured.
constexpr int kUnknownStatus = -2;
struct ServiceTransition {
  int64_t at_ms = 0;
  int status = -1;
  std::vector<uint64_t> incidents;  // the incidents at the worst severity (at most 20)
};

// What an incident looked like to the evaluator, kept for reports after it leaves memory.
struct IncidentSummary {
  uint64_t id = 0;
  int priority = 3;
  int64_t opened_ms = 0, acknowledged_ms = 0, resolved_ms = 0;
  uint64_t problem = 0;
  std::string title;
  std::vector<uint32_t> services;
};

enum class ClockTarget : uint8_t { kResponse, kResolution };
const char* clockTargetName(ClockTarget t);
enum class ClockStage : uint8_t { kInProgress, kPaused, kCompleted, kCancelled };
const char* clockStageName(ClockStage s);

struct TaskClock {
  uint64_t incident = 0;
  uint32_t agreement = 0;
  ClockTarget target = ClockTarget::kResponse;
  ClockStage stage = ClockStage::kInProgress;
  int priority = 3;
  int64_t start_ms = 0, duration_ms = 0, stop_ms = 0;
  int64_t paused_since = 0;  // while paused
  rules::sla::Intervals pauses;
  int64_t breach_ms = 0, original_breach_ms = 0;
  int crossed = 0;  // highest threshold crossed, in percent (0 none)
  bool breached = false;
  uint64_t gen = 0;
};

// Something the evaluator reports: an SLA warning or breach, a heartbeat going down or up.
struct SlaEvent {
  std::string type;  // "sla.warning", "sla.breach", "heartbeat.down", "heartbeat.up"
  int64_t at_ms = 0;
  uint64_t incident = 0;
  std::string agreement, target, heartbeat;
  int percent = 0;
  int64_t deadline_ms = 0;
};

// An alert the evaluator raises (heartbeat down, SLO burn rate, capacity): it is ingested and
// enters correlation like any other alert. resource = name, check = check.
struct GeneratedAlert {
  std::string name, service;
  std::string check = "heartbeat", summary;
  int severity = 5;
  bool firing = true;
  int64_t at_ms = 0;
  std::vector<std::pair<std::string, std::string>> labels;
};

struct HeartbeatRuntime {
  std::string name;
  uint32_t def = UINT32_MAX;  // index into the rule set's heartbeats; UINT32_MAX: implicit
  rules::sla::HeartbeatClock clock;
  int64_t max_latency_ms = 0, last_latency_ms = -1, created_ms = 0;
  rules::sla::HeartbeatState reported = rules::sla::HeartbeatState::kNew;
  uint64_t gen = 0;
};

// "5m", "6h", "30d": a window length as burn-rate alerts and metrics name it.
std::string durationLabel(int64_t ms);

// A metric sample (SLO event counts, capacity measurements).
struct Sample {
  std::string metric;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  int64_t at_ms = 0;
};

struct SloRuntime {
  explicit SloRuntime(int64_t longest_ms) : buckets(longest_ms) {}
  rules::sla::SloBuckets buckets;
  uint64_t good_total = 0, valid_total = 0;   // since start (counters)
  std::vector<double> burn_long, burn_short;  // per window pair, at the last evaluation
  std::vector<uint8_t> firing;                // per window pair
  bool no_data = true;
  double budget_remaining = 1;  // of the period's budget, as a fraction (may go negative)
};

struct CapacityRuntime {
  rules::sla::Hysteresis threshold;
  std::vector<std::pair<int64_t, double>> samples;  // inside the forecast window, oldest first
  std::optional<rules::sla::Forecast> fit;
  std::optional<double> time_left_ms;  // nullopt: never reaches the limit
  bool forecast_firing = false;
  double last_value = 0;
  int64_t last_ms = -1;
};

class Evaluator {
 public:
  Evaluator(std::shared_ptr<const rules::RuleSet> rules, int64_t now_ms);
  void reload(std::shared_ptr<const rules::RuleSet> rules, int64_t now_ms);

  // The incidents changed in a correlator round (each once), read from the correlator.
  void onIncidents(const Correlator& c, const std::vector<uint64_t>& ids, int64_t now_ms);
  // Runs every clock threshold and heartbeat deadline due at or before now.
  void advance(int64_t now_ms);
  int64_t nextDeadline() const;

  // A heartbeat signal; an unknown name creates an implicit heartbeat (period from the first
  // two pings is not guessed: implicit ones need `period_ms` > 0 on the first ping).
  enum class Signal : uint8_t { kPing, kFail, kPause, kResume };
  std::string heartbeat(const std::string& name, Signal s, int64_t now_ms, int64_t sent_at_ms = 0,
                        int64_t period_ms = 0, int64_t grace_ms = 0);

  // A sample: fed to every SLO and capacity rule whose metric and matchers it fits. Returns
  // how many rules it fed (0: none wants it).
  size_t onSample(const Sample& s, int64_t now_ms);
  // Burn rates, forecasts and time-based burn alerts (every 10 s from advance, and now).
  void evaluateSignals(int64_t now_ms);
  const std::map<std::string, SloRuntime>& slos() const { return slos_; }
  const std::map<std::string, CapacityRuntime>& capacity() const { return capacity_; }
  // Time-based burn rates of agreements with burn_alerts, by agreement then window pair.
  const std::map<std::string, std::vector<double>>& agreementBurn() const {
    return agreement_burn_;
  }
  // Agreed, excluded, unknown and downtime of an agreement over any interval (for counters).
  rules::sla::Availability window(uint32_t agreement, int64_t from_ms, int64_t to_ms) const;

  std::vector<SlaEvent> takeEvents() { return std::move(events_); }
  std::vector<GeneratedAlert> takeAlerts() { return std::move(alerts_); }

  // ---- State, for the API, metrics and reports (owning thread only) ----
  const rules::RuleSet& ruleSet() const { return *rules_; }
  int status(uint32_t service) const { return services_[service].status; }
  const std::vector<ServiceTransition>& timeline(uint32_t service) const {
    return services_[service].timeline;
  }
  const std::map<std::string, HeartbeatRuntime>& heartbeats() const { return heartbeats_; }
  // Open clocks and completed ones, by (incident, agreement, target).
  const std::map<std::tuple<uint64_t, uint32_t, uint8_t>, TaskClock>& clocks() const {
    return clocks_;
  }
  const absl::flat_hash_map<uint64_t, IncidentSummary>& incidentSummaries() const {
    return summaries_;
  }
  // Intervals when the engine was not running (UNKNOWN for every service).
  const rules::sla::Intervals& gaps() const { return gaps_; }
  size_t openClocks() const { return open_clocks_; }
  uint64_t breaches(uint32_t agreement, ClockTarget t) const;

  // Persistence: the state changed since the last call, and the state loaded at start.
  struct Dirty {
    std::vector<std::pair<uint32_t, ServiceTransition>> transitions;  // appended
    std::vector<TaskClock> clocks;                                    // upserted
    std::vector<std::string> heartbeats;                              // names, upserted
    std::vector<IncidentSummary> summaries;                           // upserted
    rules::sla::Intervals gaps;                                       // upserted (by start)
    std::vector<std::pair<std::string, int64_t>> slo_minutes;         // (SLO, minute) changed
    std::vector<std::tuple<std::string, int64_t, double>> capacity_samples;  // appended
    std::vector<std::string> capacity_states;                                // rules, upserted
    std::vector<std::pair<std::string, int64_t>> prune_slo, prune_capacity;  // older than: deleted
  };
  Dirty takeDirty();
  struct Restored {
    std::vector<std::pair<std::string, ServiceTransition>>
        transitions;                                        // by service name, in order
    std::vector<std::pair<std::string, TaskClock>> clocks;  // agreement by name
    std::vector<HeartbeatRuntime> heartbeats;
    std::vector<std::pair<IncidentSummary, std::vector<std::string>>>
        summaries;  // services by name
    rules::sla::Intervals gaps;
    int64_t last_alive_ms = 0;  // the previous run's last sign of life: [then, now) is a gap
    std::vector<std::tuple<std::string, int64_t, uint64_t, uint64_t>>
        slo_minutes;  // SLO, minute, good, valid
    std::vector<std::tuple<std::string, int64_t, double>>
        capacity_samples;                                                  // in time order per rule
    std::vector<std::pair<std::string, CapacityRuntime>> capacity_states;  // without samples
  };
  void restore(Restored r, int64_t now_ms);
  // Forgets, in memory, incidents resolved before `before_ms` and their finished clocks (the
  // store keeps them for its own retention).
  void prune(int64_t before_ms);

  // ---- Reports ----
  struct Report;
  // The agreement's figures for a period (clipped to now when it is the current one).
  Report report(uint32_t agreement, const rules::sla::Period& period, int64_t now_ms) const;
  // Many reports at once (the metrics refresh): one pass over incidents and clocks, not one
  // per agreement.
  std::vector<Report> reports(const std::vector<std::pair<uint32_t, rules::sla::Period>>& wanted,
                              int64_t now_ms) const;
  // Only the availability figures of report() (what the metrics refresh shows): no incident
  // lists, distributions or reliability.
  rules::sla::Availability periodAvailability(uint32_t agreement, const rules::sla::Period& period,
                                              int64_t now_ms) const;

 private:
  struct ServiceState {
    int own = -1;                       // worst contribution of its own incidents
    int status = -1;                    // final, with its children
    std::map<uint64_t, int> incidents;  // live incident -> severity
    int counts[6] = {0, 0, 0, 0, 0, 0};
    std::vector<ServiceTransition> timeline;
  };
  struct Contribution {
    int severity = -1;
    std::vector<uint32_t> services;
  };
  struct Timer {
    int64_t at;
    uint64_t seq;
    bool heartbeat;
    std::tuple<uint64_t, uint32_t, uint8_t> clock;
    std::string name;
    uint64_t gen;
    bool operator>(const Timer& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  void setContribution(uint64_t id, int severity, std::vector<uint32_t> services);
  void recomputeServices(int64_t now);
  void record(uint32_t service, int status, int64_t now);
  void updateClocks(const Incident& inc, int64_t now);
  void scheduleClock(TaskClock& c, int64_t now, bool retro);
  void fireClock(TaskClock& c, int64_t now);
  void scheduleHeartbeat(HeartbeatRuntime& h, int64_t now);
  void reportHeartbeat(HeartbeatRuntime& h, int64_t now);
  void push(Timer t);
  rules::sla::Ms clockDuration(uint32_t agreement, ClockTarget t, int priority) const;
  struct ReportIndex {
    std::vector<std::vector<const IncidentSummary*>> by_service;
    std::vector<std::vector<const TaskClock*>> by_agreement;
  };
  Report report(uint32_t agreement, const rules::sla::Period& period, int64_t now_ms,
                const ReportIndex* index) const;
  rules::sla::AvailabilityInput availabilityInput(uint32_t agreement, int64_t from, int64_t to,
                                                  int64_t now) const;
  void reloadSignals(int64_t now);
  void restoreSignals(Restored& r);
  void raise(const std::string& name, const std::string& check, uint32_t service, int severity,
             bool firing, const std::vector<std::pair<std::string, std::string>>& labels,
             std::string summary, int64_t now);

  std::shared_ptr<const rules::RuleSet> rules_;
  std::vector<ServiceState> services_;
  std::vector<uint32_t> order_pos_;
  std::vector<uint32_t> touched_;
  std::vector<uint8_t> touched_mark_;
  absl::flat_hash_map<uint64_t, Contribution> contributions_;
  absl::flat_hash_map<uint64_t, IncidentSummary> summaries_;
  std::map<std::tuple<uint64_t, uint32_t, uint8_t>, TaskClock> clocks_;
  std::map<std::string, HeartbeatRuntime> heartbeats_;
  std::map<std::string, SloRuntime> slos_;
  std::map<std::string, CapacityRuntime> capacity_;
  std::map<std::string, std::vector<double>> agreement_burn_;
  std::map<std::string, std::vector<uint8_t>> agreement_burn_firing_;
  std::map<std::string, std::vector<uint32_t>>
      by_metric_;  // metric -> SLO (i) or capacity (kCap | i)
  int64_t next_signals_ = 0, next_signal_prune_ = 0;
  bool has_signals_ = false;  // SLOs, forecasts or burn alerts to evaluate every 10 s
  rules::sla::Intervals gaps_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  uint64_t timer_seq_ = 0;
  size_t open_clocks_ = 0;
  std::map<std::pair<uint32_t, uint8_t>, uint64_t> breaches_;
  std::vector<SlaEvent> events_;
  std::vector<GeneratedAlert> alerts_;
  Dirty dirty_;
  std::vector<std::string> hb_dirty_mark_;
};

// The figures of one agreement over one period.
struct Evaluator::Report {
  std::string agreement, service, type, counterparty, period, target_text, calendar;
  int64_t period_start = 0, period_end = 0, evaluated_to = 0;
  int64_t slo_ppb = 0;
  rules::sla::Weights weights;
  rules::sla::Availability availability;
  bool met = false, final = false;  // final: the period has ended
  rules::sla::Reliability reliability;
  rules::sla::Distribution ack_ms,
      resolve_ms;  // MTTA and time to resolve, incidents opened in the period
  size_t incidents = 0, unacknowledged = 0;
  size_t by_priority[5] = {0, 0, 0, 0, 0};
  struct Compliance {
    size_t met = 0, breached = 0, in_progress = 0;
  } response, resolution;
  std::vector<std::pair<uint64_t, size_t>> problems;  // top recurring problems (id, incidents)
  std::vector<uint64_t> incident_ids;
  // Changes on the service (its name or one of its CIs) that started in the period
  // (ISO/IEC 20000-1 8.5.1): how many, how many were followed by incidents or failed, and
  // those incidents. Filled by renderReports from the changes the correlator holds.
  struct Changes {
    size_t total = 0, failed = 0, incidents = 0;  // failed: status failed or any incident after it
  } changes;
};

}  // namespace triaged::engine
