#include "triaged/engine/correlator_stage.h"

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <cmath>
#include <limits>

#include <array>
#include <map>
#include <deque>
#include <cstring>

#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"
#include "triaged/engine/correlation_json.h"
#include "triaged/engine/log.h"
#include "triaged/engine/notification_filter.h"
#include "triaged/engine/notifier.h"
#include "triaged/engine/state_codec.h"
#include "triaged/engine/store_writer.h"

namespace triaged::engine {

struct CorrelatorStage::Impl {
  static constexpr size_t kMaxShards = 256;
  struct Task {
    std::vector<CorrelatorInput> changes;
    std::vector<AlertRecord> records;   // the rows to store, with a store
    std::function<void()> committed;  // the batch waiting on these changes
    size_t shard = 0;
    std::function<void(Correlator&, int64_t)> fn;
    // fn runs once every shard's changes submitted before it was queued are applied:
    // moodycamel keeps each producer's order, not the order between producers.
    std::vector<std::pair<size_t, uint64_t>> after;
    bool stop = false;
  };

  bool ready(const Task& t) const {
    for (auto& [shard, n] : t.after)
      if (applied[shard] < n) return false;
    return true;
  }
  void runDeferred(int64_t now) {
    while (!deferred.empty() && ready(deferred.front())) {
      deferred.front().fn(correlator, now);
      deferred.pop_front();
    }
  }

  Impl(std::shared_ptr<const rules::RuleSet> rules, CorrelatorOptions opts, const Clock& c, api::MetricsHub& hub,
       size_t cap, StoreWriter* st)
      : hub(hub),
        correlator(rules, opts),
        evaluator(rules, c.nowMs()),
        clock(c),
        started_ms(c.nowMs()),
        sla_retention_ms(opts.sla_retention_ms),
        capacity(cap),
        store(st) {
    auto& reg = hub.registry();
    auto& changes_family = prometheus::BuildCounter()
                               .Name("triaged_correlator_alert_changes_total")
                               .Help("Alert changes the correlator applied.")
                               .Register(reg);
    changes_total = &changes_family.Add({});
    auto& events_family = prometheus::BuildCounter()
                              .Name("triaged_correlator_events_total")
                              .Help("Incident, problem and suppression events, by type.")
                              .Register(reg);
    for (int t = 0; t <= CorrelatorEvent::kAlertUnsuppressed; ++t)
      events[t] = &events_family.Add({{"type", correlatorEventName(static_cast<CorrelatorEvent::Type>(t))}});
    auto gauges = [&](const char* name, const char* help) {
      return &prometheus::BuildGauge().Name(name).Help(help).Register(reg);
    };
    auto gauge = [&](const char* name, const char* help) { return &gauges(name, help)->Add({}); };
    open_incidents = gauge("triaged_incidents_open", "Incidents open or acknowledged.");
    open_problems = gauge("triaged_problems_open", "Problems open or known errors.");
    alerts = gauge("triaged_correlator_alerts", "Alerts the correlator tracks (firing and recently resolved).");
    suppressed = gauge("triaged_alerts_suppressed", "Firing alerts suppressed by a silence, maintenance or inhibition.");
    silences = gauge("triaged_silences_active", "Silences in effect now.");
    queue_depth = gauge("triaged_correlator_queue_tasks", "Tasks waiting for the correlator thread.");
    auto counters = [&](const char* name, const char* help) {
      return &prometheus::BuildCounter().Name(name).Help(help).Register(reg);
    };
    service_state = gauges("triaged_service_state",
                           "Service status: -1 OK, 0..5 the severity of its worst problem (Zabbix scale).");
    clock_breaches = counters("triaged_task_sla_breaches_total", "Response and resolution clocks that reached 100 percent.");
    heartbeat_state = gauges("triaged_heartbeat_state", "Heartbeat state: 0 new, 1 up, 2 late, 3 down, 4 paused.");
    sla_events = counters("triaged_sla_events_total", "SLA warnings and breaches, heartbeat downs and ups, by type.");
    clock_completed = counters("triaged_task_sla_completed_total",
                               "Response and resolution clocks that completed, by whether they breached.");
    slo_events = counters("triaged_slo_events_total", "Events counted by event-based SLOs, good and bad.");
    slo_burn = gauges("triaged_slo_burn_rate", "Error budget burn rate of an SLO (or an agreement's availability) over a window.");
    slo_budget = gauges("triaged_slo_error_budget_remaining_ratio", "Fraction of an SLO's error budget left over its period.");
    slo_alert = gauges("triaged_slo_alert_active", "Burn-rate alerts firing, by severity (page or ticket).");
    capacity_left = gauges("triaged_capacity_time_left_seconds",
                           "Time until a capacity rule's forecast reaches its limit (+Inf when it never does).");
    capacity_r2 = gauges("triaged_capacity_forecast_r_squared", "Goodness of fit of a capacity rule's forecast.");
    capacity_value = gauges("triaged_capacity_value", "Last sample of a capacity rule's metric.");
    auto& samples_family = prometheus::BuildCounter()
                               .Name("triaged_samples_total")
                               .Help("Metric samples posted, by result: used by a rule, matching none, rejected.")
                               .Register(reg);
    samples_used = &samples_family.Add({{"result", "used"}});
    samples_unmatched = &samples_family.Add({{"result", "unmatched"}});
    samples_rejected = &samples_family.Add({{"result", "rejected"}});
    auto histograms = [&](const char* name, const char* help) {
      return &prometheus::BuildHistogram().Name(name).Help(help).Register(reg);
    };
    ack_seconds = histograms("triaged_incident_ack_seconds", "Time from an incident opening to its acknowledgement.");
    restore_seconds = histograms("triaged_incident_restore_seconds", "Time from an incident opening to its resolution.");
  }

  ~Impl() { hub.setText("sla", nullptr); }

  void loop() {
    log::get("correlator")->info("correlator started");
    std::array<Task, 16> tasks;
    int64_t next_publish = 0;
    bool stopping = false;
    while (true) {
      int64_t now = clock.nowMs();
      int64_t deadline = std::min({correlator.nextDeadline(), evaluator.nextDeadline(), now + 1000});
      auto wait = std::chrono::milliseconds(std::max<int64_t>(1, deadline - now));
      size_t got = stopping ? queue.try_dequeue_bulk(tasks.begin(), tasks.size())
                            : queue.wait_dequeue_bulk_timed(tasks.begin(), tasks.size(), wait);
      if (stopping && got == 0) break;
      queued.fetch_sub(got, std::memory_order_acq_rel);
      now = clock.nowMs();
      for (size_t i = 0; i < got; ++i) {
        Task& t = tasks[i];
        if (!t.changes.empty()) {
          changes_total->Increment(static_cast<double>(t.changes.size()));
          correlator.apply(t.changes, now);
          ++applied[t.shard];
          for (auto& r : t.records) unit.alerts.push_back(std::move(r));
          if (t.committed) whenDurable(std::move(t.committed));
          runDeferred(now);
        } else if (t.fn) {
          if (deferred.empty() && ready(t))
            t.fn(correlator, now);
          else
            deferred.push_back(std::move(t));
        } else if (t.stop) {
          stopping = true;
        }
        t = Task{};
      }
      runDeferred(now);
      correlator.advance(now);
      evaluator.advance(now);
      auto evs = correlator.takeEvents();
      for (const auto& e : evs) events[e.type]->Increment();
      round(evs, now);
      if (now >= next_publish || stopping) {
        publish(now);
        next_publish = now + 1000;
      }
    }
    for (auto& t : deferred) t.fn(correlator, clock.nowMs());  // everything is applied by now
    deferred.clear();
    next_alive = 0;  // the last sign of life: a clean stop leaves no gap beyond it
    round(correlator.takeEvents(), clock.nowMs());
    publish(clock.nowMs());
  }

  // After each correlator round: the evaluator sees the incidents that changed, then the
  // round's changes go to the store (with the SLA events as outbox entries), and heartbeat
  // alerts to the pipeline.
  void round(const std::vector<CorrelatorEvent>& evs, int64_t now) {
    dirty_incidents.clear();
    dirty_silences.clear();
    correlator.takeDirty(dirty_incidents, dirty_silences);
    evaluator.onIncidents(correlator, dirty_incidents, now);
    auto sla = evaluator.takeEvents();
    for (const auto& e : sla) {
      sla_events->Add({{"type", e.type}}).Increment();
      if (e.type == "sla.breach")
        clock_breaches->Add({{"agreement", e.agreement}, {"target", e.target}}).Increment();
    }
    // The evaluator's changes are stored in the same unit as the round that caused them.
    auto changed = evaluator.takeDirty();
    if (store) {
      slaRows(evaluator, changed, unit.sla);
      if (now >= next_alive) {
        unit.meta.emplace_back("last_alive", std::to_string(now));
        next_alive = now + 1000;
      }
    }
    persist(evs, sla);
    // Service and heartbeat states are published as they change (availability every 10 s).
    const auto& rs = evaluator.ruleSet();
    observeIncidents(changed);
    for (const auto& [s, t] : changed.transitions)
      if (s < rs.services().size()) service_state->Add({{"service", rs.services()[s].name}}).Set(evaluator.status(s));
    for (const auto& name : changed.heartbeats) {
      auto it = evaluator.heartbeats().find(name);
      if (it != evaluator.heartbeats().end())
        heartbeat_state->Add({{"heartbeat", name}}).Set(static_cast<double>(it->second.clock.at(now)));
    }
    for (auto& a : evaluator.takeAlerts()) heartbeat_alerts.push_back(std::move(a));
    submitGeneratedAlerts();
  }

  // Histograms of time to acknowledge and to restore, and completed clocks, as they happen.
  void observeIncidents(const Evaluator::Dirty& changed) {
    const auto& rs = evaluator.ruleSet();
    static const prometheus::Histogram::BucketBoundaries kBuckets{60,    300,   900,    1800,   3600,  7200,
                                                                   14400, 28800, 86400, 259200, 604800};
    for (const auto& sum : changed.summaries) {
      if (sum.services.empty() || sum.services[0] >= rs.services().size()) continue;
      prometheus::Labels labels{{"service", rs.services()[sum.services[0]].name},
                                {"priority", std::to_string(sum.priority)}};
      auto& seen = observed[sum.id];
      // Only what happened while this process ran (a restart does not observe again).
      if (sum.acknowledged_ms && !seen.first && sum.acknowledged_ms >= started_ms) {
        seen.first = true;
        ack_seconds->Add(labels, kBuckets).Observe((sum.acknowledged_ms - sum.opened_ms) / 1000.0);
      }
      if (sum.resolved_ms && sum.resolved_ms >= started_ms) {
        restore_seconds->Add(labels, kBuckets).Observe((sum.resolved_ms - sum.opened_ms) / 1000.0);
        observed.erase(sum.id);
      } else if (!sum.acknowledged_ms) {
        observed.erase(sum.id);
      }
    }
    for (const auto& c : changed.clocks)
      if (c.stage == ClockStage::kCompleted && c.agreement < rs.agreements().size() && c.stop_ms >= started_ms)
        clock_completed
            ->Add({{"agreement", rs.agreements()[c.agreement].name}, {"target", clockTargetName(c.target)},
                   {"breached", c.breached ? "true" : "false"}})
            .Increment();
  }

  void submitGeneratedAlerts() {
    if (!alert_sink || heartbeat_alerts.empty()) return;
    api::IngestOptions opts;
    opts.name = "evaluator";
    opts.resolve_timeout_ms = 0;
    api::BatchBuilder b(opts, clock.nowMs());
    for (size_t i = 0; i < heartbeat_alerts.size(); ++i) {
      const auto& a = heartbeat_alerts[i];
      auto& e = b.begin(static_cast<int64_t>(i));
      e.source = b.keep("triaged");
      e.resource = b.keep(a.name);
      e.check = b.keep(a.check);
      e.service = b.keep(a.service);
      e.severity = static_cast<api::Severity>(std::clamp(a.severity, 1, 5));
      e.status = a.firing ? api::Status::kFiring : api::Status::kResolved;
      e.event_time_ms = a.at_ms;
      std::string summary = !a.summary.empty() ? a.summary
                            : "Heartbeat " + a.name + (a.firing ? " is down: no ping within its period and grace" : " is up");
      e.summary = b.keep(summary);
      if (a.check == "heartbeat") b.addLabel("heartbeat", a.name);
      for (const auto& [k, v] : a.labels) b.addLabel(k, v);
      if (!b.finish()) return;  // a bad label in the rule file: reported by the ingest counters
    }
    auto batch = b.take();
    if (alert_sink->submit(batch, [](const api::BatchResult&) {}) == api::SubmitStatus::kAccepted)
      heartbeat_alerts.clear();  // else kept, and tried again next round
  }

  void whenDurable(std::function<void()> f) {
    if (store)
      unit.committed.push_back(std::move(f));
    else
      f();
  }

  // Hands what this round changed to the store, with the completions waiting on it.
  void persist(const std::vector<CorrelatorEvent>& evs, const std::vector<SlaEvent>& sla) {
    windows.clear();
    correlator.takeDirtyWindows(windows);  // drained with or without a store: they only grow
    correlator.takeDirtySequences(unit.sequences);
    if (!store) {
      unit.sequences.clear();
      return;
    }
    for (const auto& w : windows) unit.windows.push_back({w.hash, w.rule, encodeWindow(w.seen)});
    for (uint64_t id : dirty_incidents) {
      Incident* inc = correlator.mutableIncidentForStore(id);
      if (!inc) continue;
      StoreUnit::Row row{id, static_cast<int>(inc->status), inc->updated_ms, {}, {}, {}};
      encodeIncident(row.record, *inc);
      incidentRows(correlator, *inc, inc->stored_alerts, inc->stored_timeline, row.alerts, row.timeline);
      inc->stored_alerts = static_cast<uint32_t>(inc->alerts.size());
      inc->stored_timeline = static_cast<uint32_t>(inc->timeline.size());
      unit.incidents.push_back(std::move(row));
    }
    uint64_t last_problem = 0;
    for (const auto& e : evs) {
      if (!e.problem || e.problem == last_problem) continue;
      last_problem = e.problem;
      auto it = correlator.problems().find(e.problem);
      if (it == correlator.problems().end()) continue;
      std::string rec;
      encodeProblem(rec, it->second);
      unit.problems.push_back({e.problem, static_cast<int>(it->second.status), it->second.updated_ms, std::move(rec)});
    }
    for (const auto& id : dirty_silences) {
      auto it = correlator.silences().find(id);
      if (it == correlator.silences().end()) continue;
      std::string rec;
      encodeSilence(rec, it->second);
      unit.silences.push_back({id, it->second.ends_ms, std::move(rec)});
    }
    for (const auto& e : evs) {
      if (targets.empty()) break;
      if (e.type == CorrelatorEvent::kAlertSuppressed || e.type == CorrelatorEvent::kAlertUnsuppressed) continue;
      std::string name = correlatorEventName(e.type);
      bool about_incident = name.rfind("incident.", 0) == 0;
      const Incident* inc = nullptr;
      std::string subject;
      if (about_incident) {
        inc = correlator.incident(e.incident);
        if (!inc) continue;
        subject = "incident " + std::to_string(e.incident);
      } else {
        subject = "problem " + std::to_string(e.problem);
      }
      std::string body;
      for (const auto& [t, filter] : targets) {
        if (!filter.accepts(name, inc)) continue;
        if (body.empty()) writeEventJson(body, correlator, e);
        OutboxEntry o;
        o.target = t.name;
        o.created_ms = e.at_ms;
        o.subject = subject;
        o.event = name;
        o.body = body;
        unit.outbox.push_back(std::move(o));
      }
    }
    for (const auto& e : sla) {
      if (targets.empty()) break;
      const Incident* inc = e.incident ? correlator.incident(e.incident) : nullptr;
      std::string body;
      for (const auto& [t, filter] : targets) {
        if (!filter.accepts(e.type, inc)) continue;
        if (body.empty()) {
          api::JsonWriter w(body);
          w.beginObject().field("event", e.type).field("at", api::formatRfc3339Ms(e.at_ms));
          if (!e.agreement.empty())
            w.field("agreement", e.agreement).field("target", e.target).field("percent", static_cast<int64_t>(e.percent));
          if (e.deadline_ms && e.deadline_ms != INT64_MAX) w.field("deadline", api::formatRfc3339Ms(e.deadline_ms));
          if (!e.heartbeat.empty()) w.field("heartbeat", e.heartbeat);
          if (inc) {
            w.key("incident").beginObject().field("id", inc->id).field("title", inc->title)
                .field("service", inc->service).field("priority", static_cast<int64_t>(inc->priority))
                .field("status", incidentStatusName(inc->status)).endObject();
          }
          w.endObject();
        }
        OutboxEntry o;
        o.target = t.name;
        o.created_ms = e.at_ms;
        o.subject = inc ? "incident " + std::to_string(inc->id) : "heartbeat " + e.heartbeat;
        o.event = e.type;
        o.body = body;
        unit.outbox.push_back(std::move(o));
      }
    }
    if (correlator.nextIncidentId() != saved_next_incident) {
      saved_next_incident = correlator.nextIncidentId();
      unit.meta.emplace_back("next_incident", std::to_string(saved_next_incident));
    }
    if (correlator.nextProblemId() != saved_next_problem) {
      saved_next_problem = correlator.nextProblemId();
      unit.meta.emplace_back("next_problem", std::to_string(saved_next_problem));
    }
    if (!unit.empty()) store->submit(std::move(unit));
    unit = StoreUnit{};
  }

  void publish(int64_t now) {
    open_incidents->Set(static_cast<double>(correlator.openIncidents()));
    open_problems->Set(static_cast<double>(correlator.openProblems()));
    alerts->Set(static_cast<double>(correlator.alertCount()));
    suppressed->Set(static_cast<double>(correlator.suppressedCount()));
    size_t n = 0;
    for (const auto& [id, s] : correlator.silences())
      if (now >= s.starts_ms && now < s.ends_ms) ++n;
    silences->Set(static_cast<double>(n));
    queue_depth->Set(static_cast<double>(queued.load(std::memory_order_relaxed)));
    publishSignals();  // SLO and capacity gauges: every second (cheap, per rule)
    if (now >= next_sla_publish) {
      evaluator.prune(now - sla_retention_ms);
      publishSla(now);
      next_sla_publish = now + 10'000;
    }
  }

  // SLA families: reports of every agreement for the current and previous period, open
  // clocks, and the agreed/unknown/excluded/downtime counters, every 10 s. With thousands of
  // agreements they are most of /metrics: they are rendered here as text once per refresh,
  // and a scrape copies them (MetricsHub::setText) rather than walking 100,000 series.
  void publishSla(int64_t now) {
    using api::MetricsHub;
    const auto& rs = evaluator.ruleSet();
    for (uint32_t s = 0; s < rs.services().size(); ++s)
      service_state->Add({{"service", rs.services()[s].name}}).Set(evaluator.status(s));
    std::vector<std::pair<uint32_t, rules::sla::Period>> wanted;
    for (uint32_t a = 0; a < rs.agreements().size(); ++a) {
      const auto& ag = rs.agreements()[a];
      if (!ag.slo_ppb) continue;
      const auto& cal = rs.calendars()[ag.calendar];
      auto cur = rules::sla::periodAt(ag.period, cal, now);
      wanted.emplace_back(a, cur);
      wanted.emplace_back(a, rules::sla::previousPeriod(ag.period, cal, cur));
    }
    auto reports = evaluator.reports(wanted, now);
    auto text = std::make_shared<std::string>();
    std::string& out = *text;
    out.reserve(reports.size() * 400 + rs.agreements().size() * 600);
    MetricsHub::family(out, "triaged_sla_availability_ratio", "gauge",
                       "Availability of an agreement's service for the current or previous period, to date or "
                       "projected to the period end (no sample while nothing is measured).");
    for (size_t k = 0; k < reports.size(); ++k) {
      const auto& r = reports[k];
      const auto& ag = rs.agreements()[wanted[k].first];
      const std::string& svc = rs.services()[ag.service].name;
      const char* label = k % 2 == 0 ? "current" : "previous";
      if (r.availability.to_date)
        MetricsHub::sample(out, "triaged_sla_availability_ratio",
                           {{"sla", ag.name}, {"service", svc}, {"period", label}, {"basis", "to_date"}},
                           *r.availability.to_date);
      // A period that has ended has nothing to project.
      if (r.availability.projected && k % 2 == 0)
        MetricsHub::sample(out, "triaged_sla_availability_ratio",
                           {{"sla", ag.name}, {"service", svc}, {"period", label}, {"basis", "projected"}},
                           *r.availability.projected);
    }
    MetricsHub::family(out, "triaged_sla_error_budget_remaining_seconds", "gauge",
                       "Downtime budget left in the current period (negative once overspent).");
    for (size_t k = 0; k < reports.size(); k += 2) {
      const auto& ag = rs.agreements()[wanted[k].first];
      MetricsHub::sample(out, "triaged_sla_error_budget_remaining_seconds",
                         {{"sla", ag.name}, {"service", rs.services()[ag.service].name}, {"period", "current"}},
                         reports[k].availability.budget_remaining_ms / 1000.0);
    }
    std::vector<std::array<double, 4>> active(rs.agreements().size(), {0, 0, 0, 0});
    for (const auto& [key, c] : evaluator.clocks())
      if ((c.stage == ClockStage::kInProgress || c.stage == ClockStage::kPaused) && c.agreement < active.size())
        active[c.agreement][static_cast<size_t>(c.target) * 2 + (c.stage == ClockStage::kPaused)] += 1;
    MetricsHub::family(out, "triaged_task_sla_active", "gauge", "Response and resolution clocks running or paused.");
    for (uint32_t a = 0; a < rs.agreements().size(); ++a) {
      const auto& ag = rs.agreements()[a];
      for (size_t t = 0; t < 2; ++t) {
        const auto& targets = t == 0 ? ag.response : ag.resolution;
        if (!targets.any()) continue;
        for (size_t st = 0; st < 2; ++st)
          MetricsHub::sample(out, "triaged_task_sla_active",
                             {{"agreement", ag.name}, {"target", t == 0 ? "response" : "resolution"},
                              {"stage", st == 0 ? "in_progress" : "paused"}},
                             active[a][t * 2 + st]);
      }
    }
    for (const auto& [name, h] : evaluator.heartbeats())
      heartbeat_state->Add({{"heartbeat", name}}).Set(static_cast<double>(h.clock.at(now)));
    publishCounters(now, out);
    hub.setText("sla", std::move(text));
  }

  // Agreed, excluded, unknown and downtime seconds since the last refresh, per agreement.
  struct SlaCounters {
    double agreed = 0, unknown = 0, net = 0, gross = 0;
    std::map<std::string, double> excluded;
  };
  void publishCounters(int64_t now, std::string& out) {
    using api::MetricsHub;
    const auto& rs = evaluator.ruleSet();
    if (counted_to != 0 && counted_to < now) {
      for (uint32_t a = 0; a < rs.agreements().size(); ++a) {
        const auto& ag = rs.agreements()[a];
        if (!ag.slo_ppb) continue;
        auto w = evaluator.window(a, counted_to, now);
        auto& c = sla_counters[{ag.name, rs.services()[ag.service].name}];
        c.agreed += w.agreed_ms / 1000.0;
        c.unknown += w.unknown_ms / 1000.0;
        c.net += w.downtime_net_ms / 1000.0;
        c.gross += w.downtime_gross_ms / 1000.0;
        for (const auto& [reason, ms] : w.excluded_by_reason) c.excluded[reason] += ms / 1000.0;
      }
    }
    counted_to = now;
    // Counters keep every series they ever had (an agreement removed by a reload stays, frozen).
    MetricsHub::family(out, "triaged_sla_agreed_seconds_total", "counter", "Agreed service time elapsed, per agreement.");
    for (const auto& [k, c] : sla_counters)
      MetricsHub::sample(out, "triaged_sla_agreed_seconds_total", {{"sla", k.first}, {"service", k.second}}, c.agreed);
    MetricsHub::family(out, "triaged_sla_unknown_seconds_total", "counter",
                       "Agreed time not measured (the engine was not running).");
    for (const auto& [k, c] : sla_counters)
      MetricsHub::sample(out, "triaged_sla_unknown_seconds_total", {{"sla", k.first}, {"service", k.second}}, c.unknown);
    MetricsHub::family(out, "triaged_sla_excluded_seconds_total", "counter",
                       "Agreed time excluded (approved maintenance), by reason.");
    for (const auto& [k, c] : sla_counters)
      for (const auto& [reason, v] : c.excluded)
        MetricsHub::sample(out, "triaged_sla_excluded_seconds_total",
                           {{"sla", k.first}, {"service", k.second}, {"reason", reason}}, v);
    MetricsHub::family(out, "triaged_sla_downtime_seconds_total", "counter",
                       "Weighted downtime in agreed time: net (exclusions removed) and gross.");
    for (const auto& [k, c] : sla_counters) {
      MetricsHub::sample(out, "triaged_sla_downtime_seconds_total", {{"sla", k.first}, {"service", k.second}, {"kind", "net"}},
                         c.net);
      MetricsHub::sample(out, "triaged_sla_downtime_seconds_total",
                         {{"sla", k.first}, {"service", k.second}, {"kind", "gross"}}, c.gross);
    }
  }

  void publishSignals() {
    const auto& rs = evaluator.ruleSet();
    for (const auto& d : rs.slos()) {
      auto it = evaluator.slos().find(d.name);
      if (it == evaluator.slos().end()) continue;
      const auto& r = it->second;
      auto& counted = slo_counted[d.name];
      uint64_t bad_total = r.valid_total - std::min(r.good_total, r.valid_total);
      uint64_t bad_counted = counted.second - std::min(counted.first, counted.second);
      if (r.good_total > counted.first)
        slo_events->Add({{"slo", d.name}, {"class", "good"}}).Increment(static_cast<double>(r.good_total - counted.first));
      if (bad_total > bad_counted)
        slo_events->Add({{"slo", d.name}, {"class", "bad"}}).Increment(static_cast<double>(bad_total - bad_counted));
      counted = {r.good_total, r.valid_total};
      slo_budget->Add({{"slo", d.name}}).Set(r.budget_remaining);
      double page = 0, ticket = 0;
      for (size_t w = 0; w < d.windows.size() && w < r.firing.size(); ++w) {
        slo_burn->Add({{"slo", d.name}, {"window", durationLabel(d.windows[w].long_ms)}}).Set(r.burn_long[w]);
        slo_burn->Add({{"slo", d.name}, {"window", durationLabel(d.windows[w].short_ms)}}).Set(r.burn_short[w]);
        if (r.firing[w]) (d.windows[w].page ? page : ticket) += 1;
      }
      slo_alert->Add({{"slo", d.name}, {"severity", "page"}}).Set(page);
      slo_alert->Add({{"slo", d.name}, {"severity", "ticket"}}).Set(ticket);
    }
    for (const auto& ag : rs.agreements()) {
      if (!ag.burn_alerts) continue;
      auto found = evaluator.agreementBurn().find(ag.name);
      if (found == evaluator.agreementBurn().end()) continue;
      const std::string& name = ag.name;
      const auto& burns = found->second;
      const auto& wins = ag.burn_windows;
      for (size_t w = 0; w < wins.size() && 2 * w + 1 < burns.size(); ++w) {
        slo_burn->Add({{"slo", name}, {"window", durationLabel(wins[w].long_ms)}}).Set(burns[2 * w]);
        slo_burn->Add({{"slo", name}, {"window", durationLabel(wins[w].short_ms)}}).Set(burns[2 * w + 1]);
      }
    }
    for (const auto& d : rs.capacity()) {
      auto it = evaluator.capacity().find(d.name);
      if (it == evaluator.capacity().end()) continue;
      const auto& r = it->second;
      if (r.last_ms >= 0) capacity_value->Add({{"rule", d.name}}).Set(r.last_value);
      if (!d.forecast) continue;
      capacity_left->Add({{"rule", d.name}})
          .Set(r.time_left_ms ? *r.time_left_ms / 1000.0 : std::numeric_limits<double>::infinity());
      if (r.fit) capacity_r2->Add({{"rule", d.name}}).Set(r.fit->r_squared);
    }
  }


  void push(Task t) {
    queued.fetch_add(1, std::memory_order_acq_rel);
    queue.enqueue(std::move(t));
  }

  api::MetricsHub& hub;
  Correlator correlator;
  Evaluator evaluator;
  const Clock& clock;
  api::EventSink* alert_sink = nullptr;
  std::vector<GeneratedAlert> heartbeat_alerts;
  int64_t next_sla_publish = 0, next_alive = 0, started_ms = 0;
  int64_t sla_retention_ms = 400 * 86'400'000LL;
  size_t capacity;
  StoreWriter* store;
  StoreUnit unit;  // correlator thread only: this round's changes
  std::vector<std::pair<config::NotificationTarget, NotificationFilter>> targets;
  std::vector<uint64_t> dirty_incidents;
  std::vector<ThresholdWindow> windows;
  std::vector<std::string> dirty_silences;
  uint64_t saved_next_incident = 1, saved_next_problem = 1;
  moodycamel::BlockingConcurrentQueue<Task> queue;
  std::atomic<size_t> queued{0};
  std::array<std::atomic<uint64_t>, kMaxShards> submitted{};
  std::array<uint64_t, kMaxShards> applied{};  // correlator thread only
  std::deque<Task> deferred;                  // correlator thread only
  std::atomic<bool> stopped{false};
  std::thread thread;
  prometheus::Counter* changes_total;
  prometheus::Counter* events[CorrelatorEvent::kAlertUnsuppressed + 1];
  prometheus::Gauge *open_incidents, *open_problems, *alerts, *suppressed, *silences, *queue_depth;
  prometheus::Family<prometheus::Gauge>*service_state, *heartbeat_state;
  prometheus::Family<prometheus::Counter>*clock_breaches, *sla_events, *clock_completed, *slo_events;
  std::map<std::pair<std::string, std::string>, SlaCounters> sla_counters;  // (sla, service)
  prometheus::Family<prometheus::Gauge>*slo_burn, *slo_budget, *slo_alert, *capacity_left, *capacity_r2, *capacity_value;
  prometheus::Family<prometheus::Histogram>*ack_seconds, *restore_seconds;
  prometheus::Counter *samples_used, *samples_unmatched, *samples_rejected;
  int64_t counted_to = 0;  // SLA counters cover agreed time up to here
  std::map<std::string, std::pair<uint64_t, uint64_t>> slo_counted;  // good, valid already counted
  absl::flat_hash_map<uint64_t, std::pair<bool, bool>> observed;     // incident: ack, restore observed
};

CorrelatorStage::CorrelatorStage(std::shared_ptr<const rules::RuleSet> rules, CorrelatorOptions opts,
                                 const Clock& clock, api::MetricsHub& hub, size_t queue_tasks, StoreWriter* store)
    : impl_(std::make_unique<Impl>(std::move(rules), std::move(opts), clock, hub, queue_tasks, store)) {}

CorrelatorStage::~CorrelatorStage() { stop(); }

void CorrelatorStage::start() {
  impl_->thread = std::thread([this] { impl_->loop(); });
}

void CorrelatorStage::stop() {
  if (!impl_->thread.joinable() || impl_->stopped.exchange(true)) return;
  Impl::Task t;
  t.stop = true;
  impl_->push(std::move(t));
  impl_->thread.join();
}

void CorrelatorStage::consume(size_t shard, const AlertTable& table, const std::vector<AlertChange>& changes,
                              std::function<void()> committed) {
  Impl::Task t;
  t.shard = shard % Impl::kMaxShards;
  t.changes.reserve(changes.size());
  for (const auto& c : changes) t.changes.push_back(CorrelatorInput::from(table, c));
  if (impl_->store) {
    t.records.reserve(changes.size());
    for (const auto& c : changes) {
      const Alert* a = table.find(c.fingerprint);
      if (!a) continue;
      bool status_change = c.kind == ChangeKind::kNew || c.kind == ChangeKind::kRefired || c.kind == ChangeKind::kResolved;
      AlertRecord r = AlertRecord::of(*a, c.kind == ChangeKind::kNew || c.kind == ChangeKind::kRefired);
      r.changed_ms = status_change ? c.at_ms : 0;
      t.records.push_back(std::move(r));
    }
  }
  t.committed = std::move(committed);
  // Back-pressure: a full correlator queue holds this shard, which fills its own queue, which
  // makes inputs answer 429. Waiting here is bounded by the correlator's progress.
  while (impl_->queued.load(std::memory_order_acquire) >= impl_->capacity &&
         !impl_->stopped.load(std::memory_order_acquire))
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  impl_->submitted[t.shard].fetch_add(1, std::memory_order_acq_rel);
  impl_->push(std::move(t));
}

bool CorrelatorStage::run(std::function<void(Correlator&, int64_t)> fn) {
  if (impl_->stopped.load(std::memory_order_acquire)) return false;
  Impl::Task t;
  t.fn = std::move(fn);
  for (size_t i = 0; i < Impl::kMaxShards; ++i)
    if (uint64_t n = impl_->submitted[i].load(std::memory_order_acquire)) t.after.emplace_back(i, n);
  impl_->push(std::move(t));
  return true;
}

void CorrelatorStage::whenDurable(std::function<void()> done) { impl_->whenDurable(std::move(done)); }

void CorrelatorStage::setTargets(std::vector<config::NotificationTarget> targets) {
  impl_->targets.clear();
  for (auto& t : targets) {
    NotificationFilter f(t);
    impl_->targets.emplace_back(std::move(t), std::move(f));
  }
}

void CorrelatorStage::restore(Correlator::Restored state, Evaluator::Restored sla, int64_t now_ms) {
  impl_->evaluator.restore(std::move(sla), now_ms);
  impl_->correlator.restore(std::move(state), now_ms);
  impl_->saved_next_incident = impl_->correlator.nextIncidentId();
  impl_->saved_next_problem = impl_->correlator.nextProblemId();
  // Alerts routed again during the restore may have opened incidents: store them. The
  // evaluator sees every live incident once, which rebuilds service states and clocks.
  std::vector<uint64_t> live;
  for (const auto& inc : impl_->correlator.incidents())
    if (inc.id && (inc.status == IncidentStatus::kOpen || inc.status == IncidentStatus::kAcknowledged))
      live.push_back(inc.id);
  impl_->evaluator.onIncidents(impl_->correlator, live, now_ms);
  impl_->round(impl_->correlator.takeEvents(), now_ms);
  impl_->publish(now_ms);
}

bool CorrelatorStage::evaluate(std::function<void(Evaluator&, Correlator&, int64_t)> fn) {
  return run([this, fn = std::move(fn)](Correlator& c, int64_t now) { fn(impl_->evaluator, c, now); });
}

void CorrelatorStage::setAlertSink(api::EventSink* sink) { impl_->alert_sink = sink; }

bool CorrelatorStage::samples(std::vector<Sample> samples, std::function<void(size_t used, size_t unmatched)> done) {
  return run([this, samples = std::move(samples), done = std::move(done)](Correlator&, int64_t now) mutable {
    size_t used = 0, unmatched = 0;
    for (auto& s : samples) {
      if (s.at_ms == INT64_MIN) s.at_ms = now;
      (impl_->evaluator.onSample(s, now) ? used : unmatched) += 1;
    }
    impl_->samples_used->Increment(static_cast<double>(used));
    impl_->samples_unmatched->Increment(static_cast<double>(unmatched));
    // Threshold crossings raise their alerts in this round.
    for (auto& a : impl_->evaluator.takeAlerts()) impl_->heartbeat_alerts.push_back(std::move(a));
    impl_->submitGeneratedAlerts();
    impl_->publishSignals();  // the answer comes after the gauges show the samples
    // ... and after what they changed (SLO minutes, capacity samples) is stored.
    impl_->whenDurable([done = std::move(done), used, unmatched] { done(used, unmatched); });
  });
}

void CorrelatorStage::countRejectedSamples(size_t n) { impl_->samples_rejected->Increment(static_cast<double>(n)); }

void CorrelatorStage::reload(std::shared_ptr<const rules::RuleSet> rules, CorrelatorOptions opts) {
  run([this, rules = std::move(rules), opts = std::move(opts)](Correlator& c, int64_t now) mutable {
    impl_->sla_retention_ms = opts.sla_retention_ms;
    impl_->evaluator.reload(rules, now);
    c.reload(std::move(rules), std::move(opts));
    std::vector<uint64_t> live;
    for (const auto& inc : c.incidents())
      if (inc.id && (inc.status == IncidentStatus::kOpen || inc.status == IncidentStatus::kAcknowledged))
        live.push_back(inc.id);
    impl_->evaluator.onIncidents(c, live, now);
    log::get("correlator")->info("rule set reloaded ({} rules)", c.ruleSet().rules().size());
  });
}

}  // namespace triaged::engine
