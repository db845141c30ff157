#include "triaged/engine/correlator_stage.h"

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <array>
#include <deque>
#include <cstring>

#include "triaged/engine/correlation_json.h"
#include "triaged/engine/log.h"
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
      : correlator(std::move(rules), std::move(opts)), clock(c), capacity(cap), store(st) {
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
    auto gauge = [&](const char* name, const char* help) {
      return &prometheus::BuildGauge().Name(name).Help(help).Register(reg).Add({});
    };
    open_incidents = gauge("triaged_incidents_open", "Incidents open or acknowledged.");
    open_problems = gauge("triaged_problems_open", "Problems open or known errors.");
    alerts = gauge("triaged_correlator_alerts", "Alerts the correlator tracks (firing and recently resolved).");
    suppressed = gauge("triaged_alerts_suppressed", "Firing alerts suppressed by a silence, maintenance or inhibition.");
    silences = gauge("triaged_silences_active", "Silences in effect now.");
    queue_depth = gauge("triaged_correlator_queue_tasks", "Tasks waiting for the correlator thread.");
  }

  void loop() {
    log::get("correlator")->info("correlator started");
    std::array<Task, 16> tasks;
    int64_t next_publish = 0;
    bool stopping = false;
    while (true) {
      int64_t now = clock.nowMs();
      int64_t deadline = std::min(correlator.nextDeadline(), now + 1000);
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
      auto evs = correlator.takeEvents();
      for (const auto& e : evs) events[e.type]->Increment();
      persist(evs);
      if (now >= next_publish || stopping) {
        publish(now);
        next_publish = now + 1000;
      }
    }
    for (auto& t : deferred) t.fn(correlator, clock.nowMs());  // everything is applied by now
    deferred.clear();
    persist(correlator.takeEvents());
    publish(clock.nowMs());
  }

  void whenDurable(std::function<void()> f) {
    if (store)
      unit.committed.push_back(std::move(f));
    else
      f();
  }

  // Hands what this round changed to the store, with the completions waiting on it.
  void persist(const std::vector<CorrelatorEvent>& evs) {
    if (!store) return;
    dirty_incidents.clear();
    dirty_silences.clear();
    correlator.takeDirty(dirty_incidents, dirty_silences);
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
      int priority = 0;
      std::string subject;
      if (about_incident) {
        const Incident* inc = correlator.incident(e.incident);
        if (!inc) continue;
        priority = inc->priority;
        subject = "incident " + std::to_string(e.incident);
      } else {
        subject = "problem " + std::to_string(e.problem);
      }
      std::string body;
      for (const auto& t : targets) {
        if (!Notifier::accepts(t, name, priority)) continue;
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
  }

  void push(Task t) {
    queued.fetch_add(1, std::memory_order_acq_rel);
    queue.enqueue(std::move(t));
  }

  Correlator correlator;
  const Clock& clock;
  size_t capacity;
  StoreWriter* store;
  StoreUnit unit;  // correlator thread only: this round's changes
  std::vector<config::NotificationTarget> targets;
  std::vector<uint64_t> dirty_incidents;
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
  impl_->targets = std::move(targets);
}

void CorrelatorStage::restore(Correlator::Restored state, int64_t now_ms) {
  impl_->correlator.restore(std::move(state), now_ms);
  impl_->saved_next_incident = impl_->correlator.nextIncidentId();
  impl_->saved_next_problem = impl_->correlator.nextProblemId();
  // Alerts routed again during the restore may have opened incidents: store them.
  impl_->persist(impl_->correlator.takeEvents());
  impl_->publish(now_ms);
}

void CorrelatorStage::reload(std::shared_ptr<const rules::RuleSet> rules, CorrelatorOptions opts) {
  run([rules = std::move(rules), opts = std::move(opts)](Correlator& c, int64_t) mutable {
    c.reload(std::move(rules), std::move(opts));
    log::get("correlator")->info("rule set reloaded ({} rules)", c.ruleSet().rules().size());
  });
}

}  // namespace triaged::engine
