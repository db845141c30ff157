// The ingest pipeline after decoding: Route (by fingerprint) → Dedup shards. Each shard is a
// thread owning its AlertTable, fed through a bounded moodycamel queue of sub-batches. A batch
// is all-or-nothing: room is reserved on every shard it touches before anything is queued.
// submit() and runOnShard() may be called from any thread; start/stop from the control thread.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "dedup/alert_table.h"
#include "triaged/api/event.h"
#include "triaged/api/metrics_hub.h"
#include "triaged/config/config.h"

namespace triaged::engine {

class StoreWriter;

// Where alert changes go next (the correlator). Called on shard threads with each sub-batch's
// changes and the shard's table (to copy what it needs); may wait only to apply back-pressure.
// `committed`, when set, must be called once the changes' effects are durable (it completes
// the batch: the HTTP answer waits for it).
class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  virtual void consume(size_t shard, const AlertTable& table,
                       const std::vector<AlertChange>& changes,
                       std::function<void()> committed) = 0;
  // At each checkpoint, on the shard thread: these alerts' texts (summary, value, description,
  // annotations) changed without a change of state since the last checkpoint. Most were
  // rewritten in the strings the sink shares; a sink takes a share of the others (texts that
  // outgrew their strings): what it shows of them is at most a checkpoint interval old.
  virtual void refresh(size_t /*shard*/, const AlertTable& /*table*/,
                       const std::vector<uint64_t>& /*fingerprints*/) {}
};

struct PipelineOptions {
  unsigned shards = 1;
  uint64_t queue_batches = 1024;
  // Bytes of the batches not yet applied by every shard (all shards): beyond it submit()
  // answers busy, unless nothing is queued (a batch larger than the bound still gets through).
  uint64_t queue_bytes = 64ull << 20;
  int retry_after_seconds = 1;
  FlapOptions flap;
  int64_t resolved_retention_ms = 3'600'000;
  int64_t expire_interval_ms = 1000;  // how often shards look for alerts to resolve by timeout
  // Durability sync: a batch that changed alerts completes when the sink says its changes are
  // committed. Duplicates complete at once either way.
  bool wait_for_commit = false;
  // Where duplicates' counters are checkpointed (nullptr: nowhere), and how often; changed
  // texts go to the ChangeSink (ChangeSink::refresh) as often, store or not.
  StoreWriter* store = nullptr;
  int64_t checkpoint_interval_ms = 10'000;
};

class Pipeline final : public api::EventSink {
 public:
  Pipeline(PipelineOptions opts, const Clock& clock, api::MetricsHub& hub,
           ChangeSink* changes = nullptr);
  ~Pipeline() override;
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void start();
  // Refuses new batches (kDraining), processes what is queued, joins the shard threads.
  void stop();
  void beginDrain() { draining_.store(true, std::memory_order_release); }

  api::SubmitStatus submit(std::unique_ptr<api::EventBatch>& batch,
                           std::function<void(const api::BatchResult&)> done) override;
  int retryAfterSeconds() const override { return opts_.retry_after_seconds; }
  int64_t nowMs() const override { return clock_.nowMs(); }

  size_t shards() const { return shards_.size(); }
  size_t shardOf(uint64_t fingerprint) const {
    return static_cast<size_t>(((fingerprint >> 32) * shards_.size()) >> 32);
  }
  // Runs fn on shard i's thread, after what is already queued there. Not subject to the queue
  // bound (control traffic must get through a full pipeline); returns false after stop().
  bool runOnShard(size_t i, std::function<void(const AlertTable&)> fn);
  // Asks every shard to resolve expired alerts now (tests, with a ManualClock).
  void expireNow();
  // Asks every shard to checkpoint now (tests, with a ManualClock).
  void checkpointNow();
  // Puts back an alert from the store; before start() only. False when it is malformed.
  // With `shared`, it also holds the strings the table keeps (for the correlator).
  bool restore(const AlertRecord& r, SharedBlob* shared = nullptr);
  // Room for n alerts spread over the shards; before the first restore().
  void reserve(size_t n);

  struct Shard;
  std::atomic<uint64_t> queued_bytes_{0};

 private:
  void run(Shard& s, size_t index);
  void checkpoint(Shard& s, size_t index);

  PipelineOptions opts_;
  const Clock& clock_;
  ChangeSink* changes_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_{false};
  bool started_ = false;
  struct Metrics;
  std::shared_ptr<Metrics> metrics_;
  api::MetricsHub& hub_;
};

}  // namespace triaged::engine
