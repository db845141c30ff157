#include "correlate/correlator_stage.h"

#include <concurrentqueue/blockingconcurrentqueue.h>

#include <array>
#include <chrono>
#include <deque>
#include <future>

#include "common/log.h"
#include "correlate/correlator_metrics.h"
#include "evaluate/generated_alerts.h"
#include "evaluate/sla_metrics.h"
#include "notify/escalation.h"
#include "notify/outbox_builder.h"
#include "store/round_rows.h"
#include "store/state_codec.h"
#include "store/store_writer.h"
#include "stream/stream_events.h"

namespace triaged::engine {

struct CorrelatorStage::Impl {
  static constexpr size_t kMaxShards = 256;
  struct Task {
    std::vector<CorrelatorInput> changes;
    std::vector<AlertRecord> records;  // the rows to store, with a store
    Correlator::Texts texts;           // alerts' new texts (refresh)
    std::function<void()> committed;   // the batch waiting on these changes
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

  Impl(std::shared_ptr<const rules::RuleSet> rules, CorrelatorOptions opts, const Clock& c,
       api::MetricsHub& hub, size_t cap, StoreWriter* st)
      : correlator(rules, opts),
        evaluator(rules, c.nowMs()),
        clock(c),
        metrics(hub),
        sla_metrics(hub, c.nowMs()),
        escalator(&hub),
        sla_retention_ms(opts.sla_retention_ms),
        capacity(cap),
        store(st) {}

  void loop() {
    log::get("correlator")->info("correlator started");
    std::array<Task, 16> tasks;
    // The gauges follow the daemon's clock and, at least every second, the machine's: a
    // daemon whose clock is held (the test clock) still shows what changed.
    int64_t next_publish = 0;
    auto next_publish_steady = std::chrono::steady_clock::now();
    bool stopping = false;
    while (true) {
      int64_t now = clock.nowMs();
      int64_t deadline = std::min({correlator.nextDeadline(), evaluator.nextDeadline(),
                                   escalator.nextDeadline(), now + 1000});
      if (sla_metrics.slaPending()) deadline = now;  // the refresh's next slice is due
      auto wait = std::chrono::milliseconds(std::max<int64_t>(1, deadline - now));
      size_t got = stopping ? queue.try_dequeue_bulk(tasks.begin(), tasks.size())
                            : queue.wait_dequeue_bulk_timed(tasks.begin(), tasks.size(), wait);
      if (stopping && got == 0) break;
      queued.fetch_sub(got, std::memory_order_acq_rel);
      now = clock.nowMs();
      // No stream client, nor one that could still resume: build no stream events this turn.
      streaming = hub && hub->wanted();
      for (size_t i = 0; i < got; ++i) {
        Task& t = tasks[i];
        if (!t.changes.empty()) {
          metrics.applied(t.changes.size());
          correlator.apply(t.changes, now);
          if (streaming)
            appendAlertEvents(correlator, t.changes, stream_events);
          else
            unstreamed = true;
          ++applied[t.shard];
          for (auto& r : t.records) unit.alerts.push_back(std::move(r));
          if (t.committed) whenDurable(std::move(t.committed));
          runDeferred(now);
        } else if (!t.texts.at.empty()) {
          correlator.refreshTexts(t.texts);
          ++applied[t.shard];
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
      auto evs = takeEvents(now);
      metrics.events(evs);
      round(evs, now);
      auto steady = std::chrono::steady_clock::now();
      if (now >= next_publish || steady >= next_publish_steady || stopping) {
        publish(now);
        next_publish = now + 1000;
        next_publish_steady = steady + std::chrono::seconds(1);
      }
      // One slice of the SLA refresh per turn (a stopping stage finishes it).
      while (sla_metrics.stepSla(evaluator, now) && stopping) {
      }
    }
    for (auto& t : deferred) t.fn(correlator, clock.nowMs());  // everything is applied by now
    deferred.clear();
    next_alive = 0;  // the last sign of life: a clean stop leaves no gap beyond it
    round(takeEvents(clock.nowMs()), clock.nowMs());
    publish(clock.nowMs());
  }

  // The round's events, with the escalation steps they start, stop or make due.
  std::vector<CorrelatorEvent> takeEvents(int64_t now) {
    auto evs = correlator.takeEvents();
    if (!escalator.enabled()) return evs;
    escalator.round(correlator, evs, now);
    return evs;
  }

  // After each correlator round: the evaluator sees the incidents that changed, then the
  // round's changes go to the store (with the outbox entries they cause), and the alerts the
  // evaluator raised to the pipeline.
  void round(const std::vector<CorrelatorEvent>& evs, int64_t now) {
    dirty_incidents.clear();
    dirty_silences.clear();
    correlator.takeDirty(dirty_incidents, dirty_silences);
    evaluator.onIncidents(correlator, dirty_incidents, now);
    auto sla = evaluator.takeEvents();
    // The evaluator's changes are stored in the same unit as the round that caused them.
    auto changed = evaluator.takeDirty();
    if (store) {
      slaRows(evaluator, changed, unit.sla);
      if (now >= next_alive) {
        unit.meta.emplace_back("last_alive", std::to_string(now));
        next_alive = now + 1000;
      }
    }
    rows.collect(correlator, dirty_incidents, dirty_silences, evs, store ? &unit : nullptr);
    if (hub) {
      RoundChanges changes{dirty_incidents, dirty_silences, rows.maintenanceTaken(), evs, sla};
      // Published once this round is committed: a client never sees what a crash takes back.
      if (streaming) appendRoundEvents(correlator, evaluator, changes, now, stream_events);
      if (!stream_events.empty())
        whenDurable([hub = hub, events = std::move(stream_events)]() mutable {
          hub->publish(std::move(events));
        });
      stream_events = {};
      // Events not built leave a gap in the stream, marked in commit order too.
      if (!streaming && (unstreamed || !changes.empty()))
        whenDurable([hub = hub] { hub->skipped(); });
      unstreamed = false;
    }
    auto fired = escalator.takeFired();
    if (store) {
      for (auto& r : escalator.takeDirtyOverrides())
        unit.records.push_back(
            {"oncall_override", std::move(r.id), r.ends_ms, std::move(r.record)});
      outbox.build(correlator, evs, sla, escalator, fired, unit.outbox);
      if (!unit.empty()) store->submit(std::move(unit));
      unit = StoreUnit{};
    }
    sla_metrics.onRound(evaluator, sla, changed, now);
    for (auto& a : evaluator.takeAlerts()) generated_alerts.push_back(std::move(a));
    submitGeneratedAlerts();
  }

  void submitGeneratedAlerts() {
    if (!alert_sink || generated_alerts.empty()) return;
    auto batch = generatedAlertBatch(generated_alerts, clock.nowMs());
    if (!batch) return;  // a bad label in the rule file: reported by the ingest counters
    if (alert_sink->submit(batch, [](const api::BatchResult&) {}) == api::SubmitStatus::kAccepted)
      generated_alerts.clear();  // else kept, and tried again next round
  }

  void whenDurable(std::function<void()> f) {
    if (store)
      unit.committed.push_back(std::move(f));
    else
      f();
  }

  void publish(int64_t now) {
    metrics.publish(correlator, queued.load(std::memory_order_relaxed), now);
    sla_metrics.publishSignals(
        evaluator);  // SLO and capacity gauges: every second (cheap, per rule)
    if (now >= next_sla_publish) {
      evaluator.prune(now - sla_retention_ms);
      sla_metrics.startSla(evaluator, now);  // sliced: see the loop
      next_sla_publish = now + 10'000;
    }
  }

  void push(Task t) {
    queued.fetch_add(1, std::memory_order_acq_rel);
    queue.enqueue(std::move(t));
  }

  Correlator correlator;
  Evaluator evaluator;
  const Clock& clock;
  CorrelatorMetrics metrics;
  SlaMetrics sla_metrics;
  Escalator escalator;
  OutboxBuilder outbox;
  RoundRows rows;
  api::EventSink* alert_sink = nullptr;
  EventHub* hub = nullptr;
  bool streaming = true;    // this turn builds stream events (a client follows, or may resume)
  bool unstreamed = false;  // alert changes applied this turn without their events
  std::vector<StreamEvent> stream_events;  // this round's, until it is handed to the store
  std::vector<GeneratedAlert> generated_alerts;
  int64_t next_sla_publish = 0, next_alive = 0;
  int64_t sla_retention_ms = 400 * 86'400'000LL;
  size_t capacity;
  StoreWriter* store;
  StoreUnit unit;  // correlator thread only: this round's changes
  std::vector<uint64_t> dirty_incidents;
  std::vector<std::string> dirty_silences;
  moodycamel::BlockingConcurrentQueue<Task> queue;
  std::atomic<size_t> queued{0};
  std::array<std::atomic<uint64_t>, kMaxShards> submitted{};
  std::array<uint64_t, kMaxShards> applied{};  // correlator thread only
  std::deque<Task> deferred;                   // correlator thread only
  std::atomic<bool> stopped{false};
  std::thread thread;
};

CorrelatorStage::CorrelatorStage(std::shared_ptr<const rules::RuleSet> rules,
                                 CorrelatorOptions opts, const Clock& clock, api::MetricsHub& hub,
                                 size_t queue_tasks, StoreWriter* store)
    : impl_(std::make_unique<Impl>(std::move(rules), std::move(opts), clock, hub, queue_tasks,
                                   store)) {}

CorrelatorStage::~CorrelatorStage() { stop(); }

void CorrelatorStage::start() {
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "triaged-correl");  // 15 characters at most
    impl_->loop();
  });
}

void CorrelatorStage::stop() {
  if (!impl_->thread.joinable() || impl_->stopped.exchange(true)) return;
  Impl::Task t;
  t.stop = true;
  impl_->push(std::move(t));
  impl_->thread.join();
}

void CorrelatorStage::consume(size_t shard, const AlertTable& table,
                              const std::vector<AlertChange>& changes,
                              std::function<void()> committed) {
  Impl::Task t;
  t.shard = shard % Impl::kMaxShards;
  t.changes.reserve(changes.size());
  for (const auto& c : changes) t.changes.push_back(CorrelatorInput::from(table, c));
  if (impl_->store) alertRecords(table, changes, t.records);
  t.committed = std::move(committed);
  // Back-pressure: a full correlator queue holds this shard, which fills its own queue, which
  // makes inputs answer 429. Waiting here is bounded by the correlator's progress.
  while (impl_->queued.load(std::memory_order_acquire) >= impl_->capacity &&
         !impl_->stopped.load(std::memory_order_acquire))
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  impl_->submitted[t.shard].fetch_add(1, std::memory_order_acq_rel);
  impl_->push(std::move(t));
}

void CorrelatorStage::refresh(size_t shard, const AlertTable& table,
                              const std::vector<uint64_t>& fingerprints) {
  // In parts: a task holds the shares of 4,096 alerts (64 KiB), not of every changed alert.
  constexpr size_t kPart = 4096;
  for (size_t i = 0; i < fingerprints.size(); i += kPart) {
    Impl::Task t;
    t.shard = shard % Impl::kMaxShards;
    t.texts = Correlator::Texts::of(table, fingerprints.data() + i,
                                    std::min(kPart, fingerprints.size() - i));
    if (t.texts.at.empty()) continue;
    // Not held back by a full queue: a checkpoint's parts are bounded by the shard's alerts.
    impl_->submitted[t.shard].fetch_add(1, std::memory_order_acq_rel);
    impl_->push(std::move(t));
  }
}

bool CorrelatorStage::runAfterSlaRefresh(std::function<void(Correlator&, int64_t)> fn) {
  return run([this, fn = std::move(fn)](Correlator& c, int64_t now) {
    while (impl_->sla_metrics.stepSla(impl_->evaluator, now)) {
    }
    fn(c, now);
  });
}

bool CorrelatorStage::run(std::function<void(Correlator&, int64_t)> fn) {
  if (impl_->stopped.load(std::memory_order_acquire)) return false;
  Impl::Task t;
  t.fn = std::move(fn);
  for (size_t i = 0; i < Impl::kMaxShards; ++i)
    if (uint64_t n = impl_->submitted[i].load(std::memory_order_acquire))
      t.after.emplace_back(i, n);
  impl_->push(std::move(t));
  return true;
}

void CorrelatorStage::whenDurable(std::function<void()> done) {
  impl_->whenDurable(std::move(done));
}

void CorrelatorStage::setTargets(std::vector<config::NotificationTarget> targets) {
  impl_->outbox.setTargets(std::move(targets));
}

void CorrelatorStage::restore(Correlator::Restored state, Evaluator::Restored sla, int64_t now_ms) {
  impl_->evaluator.restore(std::move(sla), now_ms);
  impl_->correlator.restore(std::move(state), now_ms);
  impl_->escalator.restore(impl_->correlator, now_ms);
  impl_->rows.stored(impl_->correlator);
  // Alerts routed again during the restore may have opened incidents: store them. The
  // evaluator sees every live incident once, which rebuilds service states and clocks.
  impl_->evaluator.onIncidents(impl_->correlator, impl_->correlator.liveIncidentIds(), now_ms);
  impl_->round(impl_->takeEvents(now_ms), now_ms);
  impl_->publish(now_ms);
}

bool CorrelatorStage::evaluate(std::function<void(Evaluator&, Correlator&, int64_t)> fn) {
  return run(
      [this, fn = std::move(fn)](Correlator& c, int64_t now) { fn(impl_->evaluator, c, now); });
}

void CorrelatorStage::setPolicies(std::vector<config::NotificationPolicy> policies,
                                  const std::vector<std::string>& override_records) {
  impl_->escalator.configure(std::move(policies));
  impl_->escalator.restoreOverrides(override_records);
}

bool CorrelatorStage::escalation(std::function<void(Escalator&, Correlator&, int64_t)> fn) {
  return run(
      [this, fn = std::move(fn)](Correlator& c, int64_t now) { fn(impl_->escalator, c, now); });
}

void CorrelatorStage::setAlertSink(api::EventSink* sink) { impl_->alert_sink = sink; }

void CorrelatorStage::setEventHub(EventHub* hub) { impl_->hub = hub; }

bool CorrelatorStage::samples(std::vector<Sample> samples,
                              std::function<void(size_t used, size_t unmatched)> done) {
  return run([this, samples = std::move(samples), done = std::move(done)](Correlator&,
                                                                          int64_t now) mutable {
    size_t used = 0, unmatched = 0;
    for (auto& s : samples) {
      if (s.at_ms == INT64_MIN) s.at_ms = now;
      (impl_->evaluator.onSample(s, now) ? used : unmatched) += 1;
    }
    impl_->sla_metrics.countSamples(used, unmatched);
    // Threshold crossings raise their alerts in this round.
    for (auto& a : impl_->evaluator.takeAlerts()) impl_->generated_alerts.push_back(std::move(a));
    impl_->submitGeneratedAlerts();
    impl_->sla_metrics.publishSignals(
        impl_->evaluator);  // the answer comes after the gauges show the samples
    // ... and after what they changed (SLO minutes, capacity samples) is stored.
    impl_->whenDurable([done = std::move(done), used, unmatched] { done(used, unmatched); });
  });
}

void CorrelatorStage::countRejectedSamples(size_t n) { impl_->sla_metrics.countRejectedSamples(n); }

void CorrelatorStage::reload(std::shared_ptr<const rules::RuleSet> rules, CorrelatorOptions opts) {
  // Returns once the new rules are in effect: a read after a reload's answer sees them (the
  // queue is FIFO per producer only, so waiting is what orders them).
  auto applied = std::make_shared<std::promise<void>>();
  auto done = applied->get_future();
  bool queued = run([this, applied, rules = std::move(rules), opts = std::move(opts)](
                        Correlator& c, int64_t now) mutable {
    impl_->sla_retention_ms = opts.sla_retention_ms;
    impl_->evaluator.reload(rules, now);
    c.reload(std::move(rules), std::move(opts));
    impl_->evaluator.onIncidents(c, c.liveIncidentIds(), now);
    log::get("correlator")->info("rule set reloaded ({} rules)", c.ruleSet().rules().size());
    applied->set_value();
  });
  if (queued && impl_->thread.joinable()) done.wait();
}

}  // namespace triaged::engine
