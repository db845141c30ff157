// The correlator stage: one thread that owns the Correlator. Dedup shards hand it alert changes
// (ChangeSink); the API hands it closures (run()). Both go through one bounded queue; when it
// is full, shards wait, their queues fill, and inputs answer 429: back-pressure, never loss.
// start/stop/reload from the control thread; consume and run from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "common/clock.h"
#include "correlate/correlator.h"
#include "evaluate/evaluator.h"
#include "pipeline/pipeline.h"
#include "triaged/api/metrics_hub.h"

namespace triaged::engine {

class EventHub;
class Escalator;

class CorrelatorStage final : public ChangeSink {
 public:
  // With a store, every change (alert rows, incidents, problems, silences) is written through
  // it, and completions wait for the commit.
  CorrelatorStage(std::shared_ptr<const rules::RuleSet> rules, CorrelatorOptions opts,
                  const Clock& clock, api::MetricsHub& hub, size_t queue_tasks = 4096,
                  StoreWriter* store = nullptr);
  ~CorrelatorStage() override;
  CorrelatorStage(const CorrelatorStage&) = delete;
  CorrelatorStage& operator=(const CorrelatorStage&) = delete;

  void start();
  // Processes everything queued, then joins the thread.
  void stop();
  void consume(size_t shard, const AlertTable& table, const std::vector<AlertChange>& changes,
               std::function<void()> committed) override;
  // Shares these alerts' strings with the correlator, which takes them in their order with the
  // shard's changes (Correlator::refreshTexts).
  void refresh(size_t shard, const AlertTable& table,
               const std::vector<uint64_t>& fingerprints) override;
  // Runs fn on the correlator thread after what is queued; false after stop().
  bool run(std::function<void(Correlator&, int64_t now_ms)> fn);
  // The same, once the SLA refresh under way (started at a 10 s mark, done a slice a turn) is
  // finished and published: the test clock's answer comes after everything due at its time.
  bool runAfterSlaRefresh(std::function<void(Correlator&, int64_t now_ms)> fn);
  // Runs fn with the evaluator (SLA, heartbeats) on the correlator thread; false after stop().
  bool evaluate(std::function<void(Evaluator&, Correlator&, int64_t now_ms)> fn);
  // Before start(): where heartbeat alerts are ingested (they enter correlation like any
  // other alert). A busy pipeline is retried on the next round; nothing is dropped.
  // Where committed rounds' events go (the live stream); before start().
  void setEventHub(EventHub* hub);
  void setAlertSink(api::EventSink* sink);
  // Metric samples for SLOs and capacity rules (at_ms INT64_MIN: now), on the correlator
  // thread; `done` gets how many fed a rule and how many matched none. False when stopping.
  bool samples(std::vector<Sample> samples,
               std::function<void(size_t used, size_t unmatched)> done);
  void countRejectedSamples(size_t n);
  // On the correlator thread (inside run()'s fn): calls done once what fn changed is
  // committed (at once without a store). API answers to changes go through here.
  void whenDurable(std::function<void()> done);
  // Before start(): the notification targets; each incident and problem event a target
  // accepts becomes an outbox entry in the same unit (transaction) as the change.
  void setTargets(std::vector<config::NotificationTarget> targets);
  // Before start(): the notification policies (escalation) and the on-call overrides made
  // through the API, as stored.
  void setPolicies(std::vector<config::NotificationPolicy> policies,
                   const std::vector<std::string>& override_records);
  // Runs fn with the escalator (policies, on-call overrides) on the correlator thread.
  bool escalation(std::function<void(Escalator&, Correlator&, int64_t now_ms)> fn);
  // Before start(): the correlator's state from the store (see Correlator::restore).
  // The evaluator's state from the store comes with it (see Evaluator::restore).
  void restore(Correlator::Restored state, Evaluator::Restored sla, int64_t now_ms);
  void reload(std::shared_ptr<const rules::RuleSet> rules, CorrelatorOptions opts);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace triaged::engine
