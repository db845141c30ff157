// The service level part of the rule files: calendars, agreements (SLA, OLA, underpinning
// contracts) with availability targets and response/resolution targets, the service
// hierarchy's status propagation, and heartbeats. Parsed with the rest of the rule set,
// immutable, swapped whole on reload.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "triaged/rules/matcher.h"
#include "triaged/rules/sla.h"

namespace triaged::rules {

// How a service's status follows its children (Zabbix-compatible), and how it counts as a
// child of its parents.
struct ServiceHierarchy {
  std::vector<uint32_t> children;  // service indexes
  sla::Algorithm algorithm = sla::Algorithm::kMostCriticalOfChildren;
  std::vector<sla::StatusRule> status_rules;
  int64_t weight = 1;            // as a child, for weight rules
  sla::Propagation propagation;  // as a child
};

enum class AgreementType : uint8_t { kSla, kOla, kUc };
const char* agreementTypeName(AgreementType t);

// A response or resolution target per incident priority (index 0 = P1 .. 4 = P5; 0 = none).
struct ClockTarget {
  sla::Ms by_priority[5] = {0, 0, 0, 0, 0};
  bool any() const {
    for (auto d : by_priority)
      if (d) return true;
    return false;
  }
};

struct Agreement {
  std::string name;
  std::string file;
  int line = 0;
  AgreementType type = AgreementType::kSla;
  std::string counterparty;
  uint32_t service = 0;
  std::string target_text;  // as written, e.g. "99.95"
  int64_t slo_ppb = 0;      // 0: no availability target
  sla::PeriodSpec period;
  uint32_t calendar = 0;          // index into RuleSet::calendars() (0 = 24x7 UTC)
  sla::Ms effective_ms = 0;       // counts from then
  int down_from_severity = 4;     // major and above: DOWN
  int partial_from_severity = 3;  // minor: PARTIAL; lower non-OK: DEGRADED
  sla::Weights weights;
  sla::UnknownPolicy unknown = sla::UnknownPolicy::kExclude;
  ClockTarget response, resolution;
  uint32_t clock_calendar = 0;  // business hours of the clocks (default: calendar)
  Matchers pause_when;          // over the incident's fields: clocks pause while it matches
  Matchers start_when;          // a clock starts only for incidents that match (empty: all)
  Matchers stop_when;           // a clock also stops when the incident matches (e.g. assigned)
  std::vector<int> warn_at = {50, 75};
  std::vector<sla::BurnWindow> burn_windows;  // time-based burn-rate alerting
  bool burn_alerts = false;                   // raise burn-rate alerts on the availability target

  // The availability state of a service status (-1 OK, 0..5 severity).
  sla::State stateOf(int status) const {
    if (status < 0) return sla::State::kOk;
    if (status >= down_from_severity) return sla::State::kDown;
    if (status >= partial_from_severity) return sla::State::kPartial;
    return sla::State::kDegraded;
  }
};

struct HeartbeatDef {
  std::string name;
  std::string file;
  int line = 0;
  uint32_t service = UINT32_MAX;  // none
  sla::Ms period_ms = 0, grace_ms = 0, max_latency_ms = 0;
  bool has_schedule =
      false;  // a cron schedule instead of a period: a ping is due at each fire time
  sla::Cron schedule;
  std::string schedule_text;
  sla::Calendar schedule_zone;  // only its zone is used
  int severity = 5;
  std::vector<std::pair<std::string, std::string>> labels;
};

// An event-based SLO: good and valid event counts arrive as samples (each sample's value is a
// count since the previous one), summed per minute; multi-window burn-rate alerts.
struct SloDef {
  std::string name;
  std::string file;
  int line = 0;
  uint32_t service = UINT32_MAX;  // none
  std::string target_text;
  int64_t slo_ppb = 0;
  sla::Ms period_ms = 30 * 86'400'000LL;  // the budget's window (rolling)
  std::string good_metric, valid_metric;
  Matchers matchers;  // over the samples' labels
  std::vector<sla::BurnWindow> windows;
  int page_severity = 5, ticket_severity = 2;
  std::vector<std::pair<std::string, std::string>> labels;
};

// A capacity rule over a metric's samples: a threshold with hysteresis and/or a linear
// forecast (PromQL predict_linear) that raises when the limit is reached within the horizon.
struct CapacityDef {
  std::string name;
  std::string file;
  int line = 0;
  uint32_t service = UINT32_MAX;
  std::string metric;
  Matchers matchers;
  bool threshold = false;
  double raise_at = 0, clear_at = 0;
  sla::Ms raise_for = 0, clear_for = 0;
  bool forecast = false;
  sla::Ms window_ms = 6 * 3'600'000LL, horizon_ms = 24 * 3'600'000LL;
  double limit = 0;
  size_t min_samples = 5;
  double min_r_squared = 0;
  int severity = 2;
  std::vector<std::pair<std::string, std::string>> labels;
};

// "99.95" -> 999'500'000 parts per billion; false unless 0 < value <= 100 with at most 7
// decimals.
bool parsePercentPpb(const std::string& text, int64_t& ppb);

}  // namespace triaged::rules
