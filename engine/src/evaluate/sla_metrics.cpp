#include "evaluate/sla_metrics.h"

#include <array>
#include <limits>

namespace triaged::engine {

SlaMetrics::SlaMetrics(api::MetricsHub& hub, int64_t started_ms)
    : hub_(hub), started_ms_(started_ms) {
  auto& reg = hub.registry();
  auto gauges = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(reg);
  };
  auto counters = [&](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(reg);
  };
  service_state_ =
      gauges("triaged_service_state",
             "Service status: -1 OK, 0..5 the severity of its worst problem (Zabbix scale).");
  clock_breaches_ = counters("triaged_task_sla_breaches_total",
                             "Response and resolution clocks that reached 100 percent.");
  heartbeat_state_ =
      gauges("triaged_heartbeat_state", "Heartbeat state: 0 new, 1 up, 2 late, 3 down, 4 paused.");
  last_refresh_ =
      &gauges("triaged_sla_last_refresh_timestamp_seconds",
              "When the service level figures were last refreshed in full (Unix time, the "
              "machine's clock): stale means the correlator thread is stuck.")
           ->Add({});
  sla_events_ = counters("triaged_sla_events_total",
                         "SLA warnings and breaches, heartbeat downs and ups, by type.");
  clock_completed_ =
      counters("triaged_task_sla_completed_total",
               "Response and resolution clocks that completed, by whether they breached.");
  slo_events_ =
      counters("triaged_slo_events_total", "Events counted by event-based SLOs, good and bad.");
  slo_burn_ =
      gauges("triaged_slo_burn_rate",
             "Error budget burn rate of an SLO (or an agreement's availability) over a window.");
  slo_budget_ = gauges("triaged_slo_error_budget_remaining_ratio",
                       "Fraction of an SLO's error budget left over its period.");
  slo_alert_ =
      gauges("triaged_slo_alert_active", "Burn-rate alerts firing, by severity (page or ticket).");
  capacity_left_ =
      gauges("triaged_capacity_time_left_seconds",
             "Time until a capacity rule's forecast reaches its limit (+Inf when it never does).");
  capacity_r2_ = gauges("triaged_capacity_forecast_r_squared",
                        "Goodness of fit of a capacity rule's forecast.");
  capacity_value_ = gauges("triaged_capacity_value", "Last sample of a capacity rule's metric.");
  auto& samples_family =
      prometheus::BuildCounter()
          .Name("triaged_samples_total")
          .Help("Metric samples posted, by result: used by a rule, matching none, rejected.")
          .Register(reg);
  samples_used_ = &samples_family.Add({{"result", "used"}});
  samples_unmatched_ = &samples_family.Add({{"result", "unmatched"}});
  samples_rejected_ = &samples_family.Add({{"result", "rejected"}});
  auto histograms = [&](const char* name, const char* help) {
    return &prometheus::BuildHistogram().Name(name).Help(help).Register(reg);
  };
  ack_seconds_ = histograms("triaged_incident_ack_seconds",
                            "Time from an incident opening to its acknowledgement.");
  restore_seconds_ = histograms("triaged_incident_restore_seconds",
                                "Time from an incident opening to its resolution.");
}

namespace {
// The SLA families' texts, in the order they are registered with the hub (Refresh::Part).
constexpr const char* kPartKeys[] = {"sla.availability", "sla.budget",    "sla.active",
                                     "sla.agreed",       "sla.unknown",   "sla.excluded",
                                     "sla.downtime",     "sla.objective", "sla.budget_ratio"};
}  // namespace

SlaMetrics::~SlaMetrics() {
  for (const char* k : kPartKeys) hub_.setText(k, nullptr);
}

void SlaMetrics::onRound(const Evaluator& ev, const std::vector<SlaEvent>& events,
                         const Evaluator::Dirty& changed, int64_t now) {
  for (const auto& e : events) {
    sla_events_->Add({{"type", e.type}}).Increment();
    if (e.type == "sla.breach")
      clock_breaches_->Add({{"agreement", e.agreement}, {"target", e.target}}).Increment();
  }
  // Service and heartbeat states are published as they change (availability every 10 s).
  const auto& rs = ev.ruleSet();
  observeIncidents(ev, changed);
  for (const auto& [s, t] : changed.transitions)
    if (s < rs.services().size())
      service_state_->Add({{"service", rs.services()[s].name}}).Set(ev.status(s));
  for (const auto& name : changed.heartbeats) {
    auto it = ev.heartbeats().find(name);
    if (it != ev.heartbeats().end())
      heartbeat_state_->Add({{"heartbeat", name}})
          .Set(static_cast<double>(it->second.clock.at(now)));
  }
}

void SlaMetrics::countSamples(size_t used, size_t unmatched) {
  samples_used_->Increment(static_cast<double>(used));
  samples_unmatched_->Increment(static_cast<double>(unmatched));
}

void SlaMetrics::countRejectedSamples(size_t n) {
  samples_rejected_->Increment(static_cast<double>(n));
}

void SlaMetrics::observeIncidents(const Evaluator& ev, const Evaluator::Dirty& changed) {
  const auto& rs = ev.ruleSet();
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800};
  for (const auto& sum : changed.summaries) {
    if (sum.services.empty() || sum.services[0] >= rs.services().size()) continue;
    prometheus::Labels labels{{"service", rs.services()[sum.services[0]].name},
                              {"priority", std::to_string(sum.priority)}};
    auto& seen = observed_[sum.id];
    // Only what happened while this process ran (a restart does not observe again).
    if (sum.acknowledged_ms && !seen.first && sum.acknowledged_ms >= started_ms_) {
      seen.first = true;
      ack_seconds_->Add(labels, kBuckets).Observe((sum.acknowledged_ms - sum.opened_ms) / 1000.0);
    }
    if (sum.resolved_ms && sum.resolved_ms >= started_ms_) {
      restore_seconds_->Add(labels, kBuckets).Observe((sum.resolved_ms - sum.opened_ms) / 1000.0);
      observed_.erase(sum.id);
    } else if (!sum.acknowledged_ms) {
      observed_.erase(sum.id);
    }
  }
  for (const auto& c : changed.clocks)
    if (c.stage == ClockStage::kCompleted && c.agreement < rs.agreements().size() &&
        c.stop_ms >= started_ms_)
      clock_completed_
          ->Add({{"agreement", rs.agreements()[c.agreement].name},
                 {"target", clockTargetName(c.target)},
                 {"breached", c.breached ? "true" : "false"}})
          .Increment();
}

void SlaMetrics::startSla(const Evaluator& ev, int64_t now) {
  using api::MetricsHub;
  if (refresh_.active) return;
  const auto& rs = ev.ruleSet();
  if (gauges_for_ != &rs) {  // (finding a series by its labels is what costs: once per reload)
    service_gauges_.clear();
    for (const auto& svc : rs.services())
      service_gauges_.push_back(&service_state_->Add({{"service", svc.name}}));
    gauges_for_ = &rs;
  }
  for (uint32_t s = 0; s < rs.services().size(); ++s) service_gauges_[s]->Set(ev.status(s));
  Refresh r;
  r.active = true;
  r.number = refresh_.number + 1;
  r.rules = &rs;
  r.started = now;
  struct Family {
    const char *name, *type, *help;
  };
  static constexpr Family kFamilies[Refresh::kParts] = {
      {"triaged_sla_availability_ratio", "gauge",
       "Availability of an agreement's service for the current or previous period, to date or "
       "projected to the period end (no sample while nothing is measured)."},
      {"triaged_sla_error_budget_remaining_seconds", "gauge",
       "Downtime budget left in the current period (negative once overspent)."},
      {"triaged_task_sla_active", "gauge", "Response and resolution clocks running or paused."},
      {"triaged_sla_agreed_seconds_total", "counter",
       "Agreed service time elapsed, per agreement."},
      {"triaged_sla_unknown_seconds_total", "counter",
       "Agreed time not measured (the engine was not running)."},
      {"triaged_sla_excluded_seconds_total", "counter",
       "Agreed time excluded (approved maintenance), by reason."},
      {"triaged_sla_downtime_seconds_total", "counter",
       "Weighted downtime in agreed time: net (exclusions removed) and gross."},
      {"triaged_sla_objective_ratio", "gauge",
       "The availability an agreement promises (0.999 for \"99.9\")."},
      {"triaged_sla_error_budget_remaining_ratio", "gauge",
       "Share of the current period's downtime budget left: 1 untouched, 0 spent, negative "
       "overspent."}};
  for (size_t i = 0; i < Refresh::kParts; ++i)
    MetricsHub::family(r.parts[i], kFamilies[i].name, kFamilies[i].type, kFamilies[i].help);
  r.clocks.assign(rs.agreements().size(), {0, 0, 0, 0});
  refresh_ = std::move(r);
}

// One turn's share of the open clocks, in key order from where the last turn stopped (a clock
// added or removed between turns is counted as it is when its turn comes, or not at all).
void SlaMetrics::countClocks(const Evaluator& ev) {
  auto& r = refresh_;
  const auto& clocks = ev.clocks();
  auto it = clocks.lower_bound(r.next_clock);
  for (uint32_t k = 0; k < slice_clocks_ && it != clocks.end(); ++k, ++it) {
    const TaskClock& c = it->second;
    if ((c.stage == ClockStage::kInProgress || c.stage == ClockStage::kPaused) &&
        c.agreement < r.clocks.size())
      r.clocks[c.agreement][static_cast<size_t>(c.target) * 2 + (c.stage == ClockStage::kPaused)] +=
          1;
  }
  if (it == clocks.end())
    r.clocks_counted = true;
  else
    r.next_clock = it->first;
}

bool SlaMetrics::stepSla(const Evaluator& ev, int64_t now) {
  if (!refresh_.active) return false;
  const auto& rs = ev.ruleSet();
  if (refresh_.rules != &rs) {  // reloaded: the agreements are others
    refresh_.active = false;
    startSla(ev, now);
  }
  if (!refresh_.clocks_counted) {
    countClocks(ev);
    return true;
  }
  uint32_t n = static_cast<uint32_t>(rs.agreements().size());
  uint32_t end = std::min(n, refresh_.next + kSliceAgreements);
  for (uint32_t a = refresh_.next; a < end; ++a) sliceAgreement(ev, a, now);
  if (refresh_.next == 0 && end > 0 && end < n) {
    // What was published last time, or half as much again as the first slice's share of all
    // agreements (their names, and so their lines, differ in length).
    for (size_t i = 0; i < Refresh::kParts; ++i) {
      auto& part = refresh_.parts[i];
      size_t last = part_bytes_[i] + part_bytes_[i] / 8;
      size_t estimate = part.size() / end * n;
      part.reserve(std::max(estimate + estimate / 2, last));
    }
  }
  refresh_.next = end;
  if (end < n) return true;
  finishSla(ev, now);
  return false;
}

void SlaMetrics::sliceAgreement(const Evaluator& ev, uint32_t a, int64_t now) {
  using api::MetricsHub;
  const auto& rs = ev.ruleSet();
  const auto& ag = rs.agreements()[a];
  for (size_t t = 0; t < 2; ++t) {
    const auto& targets = t == 0 ? ag.response : ag.resolution;
    if (!targets.any()) continue;
    for (size_t st = 0; st < 2; ++st)
      MetricsHub::sample(refresh_.parts[Refresh::kActive], "triaged_task_sla_active",
                         {{"agreement", ag.name},
                          {"target", t == 0 ? "response" : "resolution"},
                          {"stage", st == 0 ? "in_progress" : "paused"}},
                         refresh_.clocks[a][t * 2 + st]);
  }
  if (!ag.slo_ppb) return;
  const std::string& svc = rs.services()[ag.service].name;
  const auto& cal = rs.calendars()[ag.calendar];
  auto cur = rules::sla::periodAt(ag.period, cal, now);
  auto prev = rules::sla::previousPeriod(ag.period, cal, cur);
  auto c = ev.periodAvailability(a, cur, now), p = ev.periodAvailability(a, prev, now);
  auto& out = refresh_.parts[Refresh::kAvailability];
  if (c.to_date)
    MetricsHub::sample(
        out, "triaged_sla_availability_ratio",
        {{"sla", ag.name}, {"service", svc}, {"period", "current"}, {"basis", "to_date"}},
        *c.to_date);
  if (c.projected)
    MetricsHub::sample(
        out, "triaged_sla_availability_ratio",
        {{"sla", ag.name}, {"service", svc}, {"period", "current"}, {"basis", "projected"}},
        *c.projected);
  if (p.to_date)  // (a period that has ended has nothing to project)
    MetricsHub::sample(
        out, "triaged_sla_availability_ratio",
        {{"sla", ag.name}, {"service", svc}, {"period", "previous"}, {"basis", "to_date"}},
        *p.to_date);
  MetricsHub::sample(refresh_.parts[Refresh::kBudget], "triaged_sla_error_budget_remaining_seconds",
                     {{"sla", ag.name}, {"service", svc}, {"period", "current"}},
                     c.budget_remaining_ms / 1000.0);
  MetricsHub::sample(refresh_.parts[Refresh::kObjective], "triaged_sla_objective_ratio",
                     {{"sla", ag.name}, {"service", svc}}, ag.slo_ppb / 1e9);
  if (c.budget_total_ms > 0)
    MetricsHub::sample(refresh_.parts[Refresh::kBudgetRatio],
                       "triaged_sla_error_budget_remaining_ratio",
                       {{"sla", ag.name}, {"service", svc}, {"period", "current"}},
                       c.budget_remaining_ms / static_cast<double>(c.budget_total_ms));
  // The counters: agreed time since this agreement's last slice (or since the last refresh,
  // for an agreement new since); the first refresh only marks where counting starts.
  auto key = std::make_pair(ag.name, svc);
  if (counted_to_ == 0 && !sla_counters_.count(key)) {
    sla_counters_[key].counted_to = now;
    return;
  }
  auto& k = sla_counters_[key];
  int64_t from = k.counted_to ? k.counted_to : counted_to_;
  if (from < now) {
    auto w = ev.window(a, from, now);
    k.agreed += w.agreed_ms / 1000.0;
    k.unknown += w.unknown_ms / 1000.0;
    k.net += w.downtime_net_ms / 1000.0;
    k.gross += w.downtime_gross_ms / 1000.0;
    for (const auto& [reason, ms] : w.excluded_by_reason) k.excluded[reason] += ms / 1000.0;
    k.counted_to = now;
  }
  k.shown = true;
  renderCounters(key, k);
}

void SlaMetrics::renderCounters(const std::pair<std::string, std::string>& key, SlaCounters& c) {
  using api::MetricsHub;
  c.rendered = refresh_.number;
  auto& p = refresh_.parts;
  MetricsHub::sample(p[Refresh::kAgreed], "triaged_sla_agreed_seconds_total",
                     {{"sla", key.first}, {"service", key.second}}, c.agreed);
  MetricsHub::sample(p[Refresh::kUnknown], "triaged_sla_unknown_seconds_total",
                     {{"sla", key.first}, {"service", key.second}}, c.unknown);
  for (const auto& [reason, v] : c.excluded)
    MetricsHub::sample(p[Refresh::kExcluded], "triaged_sla_excluded_seconds_total",
                       {{"sla", key.first}, {"service", key.second}, {"reason", reason}}, v);
  MetricsHub::sample(p[Refresh::kDowntime], "triaged_sla_downtime_seconds_total",
                     {{"sla", key.first}, {"service", key.second}, {"kind", "net"}}, c.net);
  MetricsHub::sample(p[Refresh::kDowntime], "triaged_sla_downtime_seconds_total",
                     {{"sla", key.first}, {"service", key.second}, {"kind", "gross"}}, c.gross);
}

void SlaMetrics::finishSla(const Evaluator& ev, int64_t now) {
  // Counters keep every series they ever had (an agreement removed by a reload stays, frozen).
  for (auto& [k, c] : sla_counters_)
    if (c.shown && c.rendered != refresh_.number) renderCounters(k, c);
  counted_to_ = refresh_.started;
  for (const auto& [name, h] : ev.heartbeats())
    heartbeat_state_->Add({{"heartbeat", name}}).Set(static_cast<double>(h.clock.at(now)));
  for (size_t i = 0; i < Refresh::kParts; ++i) {
    part_bytes_[i] = refresh_.parts[i].size();
    hub_.setText(kPartKeys[i], std::make_shared<const std::string>(std::move(refresh_.parts[i])));
  }
  last_refresh_->SetToCurrentTime();
  uint64_t number = refresh_.number;
  refresh_ = Refresh{};
  refresh_.number = number;
}

void SlaMetrics::publishSignals(const Evaluator& ev) {
  const auto& rs = ev.ruleSet();
  for (const auto& d : rs.slos()) {
    auto it = ev.slos().find(d.name);
    if (it == ev.slos().end()) continue;
    const auto& r = it->second;
    auto& counted = slo_counted_[d.name];
    uint64_t bad_total = r.valid_total - std::min(r.good_total, r.valid_total);
    uint64_t bad_counted = counted.second - std::min(counted.first, counted.second);
    if (r.good_total > counted.first)
      slo_events_->Add({{"slo", d.name}, {"class", "good"}})
          .Increment(static_cast<double>(r.good_total - counted.first));
    if (bad_total > bad_counted)
      slo_events_->Add({{"slo", d.name}, {"class", "bad"}})
          .Increment(static_cast<double>(bad_total - bad_counted));
    counted = {r.good_total, r.valid_total};
    slo_budget_->Add({{"slo", d.name}}).Set(r.budget_remaining);
    double page = 0, ticket = 0;
    for (size_t w = 0; w < d.windows.size() && w < r.firing.size(); ++w) {
      slo_burn_->Add({{"slo", d.name}, {"window", durationLabel(d.windows[w].long_ms)}})
          .Set(r.burn_long[w]);
      slo_burn_->Add({{"slo", d.name}, {"window", durationLabel(d.windows[w].short_ms)}})
          .Set(r.burn_short[w]);
      if (r.firing[w]) (d.windows[w].page ? page : ticket) += 1;
    }
    slo_alert_->Add({{"slo", d.name}, {"severity", "page"}}).Set(page);
    slo_alert_->Add({{"slo", d.name}, {"severity", "ticket"}}).Set(ticket);
  }
  for (const auto& ag : rs.agreements()) {
    if (!ag.burn_alerts) continue;
    auto found = ev.agreementBurn().find(ag.name);
    if (found == ev.agreementBurn().end()) continue;
    const std::string& name = ag.name;
    const auto& burns = found->second;
    const auto& wins = ag.burn_windows;
    for (size_t w = 0; w < wins.size() && 2 * w + 1 < burns.size(); ++w) {
      slo_burn_->Add({{"slo", name}, {"window", durationLabel(wins[w].long_ms)}}).Set(burns[2 * w]);
      slo_burn_->Add({{"slo", name}, {"window", durationLabel(wins[w].short_ms)}})
          .Set(burns[2 * w + 1]);
    }
  }
  for (const auto& d : rs.capacity()) {
    auto it = ev.capacity().find(d.name);
    if (it == ev.capacity().end()) continue;
    const auto& r = it->second;
    if (r.last_ms >= 0) capacity_value_->Add({{"rule", d.name}}).Set(r.last_value);
    if (!d.forecast) continue;
    capacity_left_->Add({{"rule", d.name}})
        .Set(r.time_left_ms ? *r.time_left_ms / 1000.0 : std::numeric_limits<double>::infinity());
    if (r.fit) capacity_r2_->Add({{"rule", d.name}}).Set(r.fit->r_squared);
  }
}

}  // namespace triaged::engine
