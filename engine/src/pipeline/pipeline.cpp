#include "pipeline/pipeline.h"

#include <malloc.h>
#include <prometheus/collectable.h>
#include <prometheus/histogram.h>

#include <chrono>

#include "common/log.h"
#include "common/metrics.h"
#include "pipeline/adaptive_spin.h"
#include "store/store_writer.h"
#include "triaged/api/batch_pool.h"

namespace triaged::engine {

namespace {

// One batch shared by the shards it was split across; the last shard to finish reports. The
// batch itself (its events and strings) is freed as soon as every shard has applied its part:
// with sync durability the report waits for the commit, and a batch held until then is most
// of the process's memory under load (the alerts keep their own copies).
struct BatchCtx {
  std::unique_ptr<api::EventBatch> batch;
  uint64_t events = 0;
  std::function<void(const api::BatchResult&)> done;
  std::atomic<int> remaining{0};
  std::atomic<int> applying{0};  // shards still reading `batch`
  uint64_t bytes = 0;            // its heap, counted in Pipeline::queued_bytes_
  std::atomic<uint64_t> new_alerts{0}, changed{0}, duplicates{0}, resolved{0};
  std::vector<uint8_t> outcomes;  // per event, when asked for; each shard writes its own indices
  std::chrono::steady_clock::time_point submitted;
};

// How many events ahead a shard fetches an alert's index slot, record and strings: each stage
// needs the one before in cache, and apply takes ~100 ns an event (a miss costs about as much).
constexpr size_t kPrefetchSlot = 12, kPrefetchAlert = 6, kPrefetchStrings = 2;

struct Task {
  std::shared_ptr<BatchCtx> ctx;  // a sub-batch, or
  std::vector<uint32_t> idx;
  std::function<void(const AlertTable&)> fn;  // a function to run on the shard
  bool expire = false;
  bool checkpoint = false;
};

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRIAGED_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TRIAGED_ASAN 1
#endif

// glibc returns the free pages of every arena to the kernel. Not under AddressSanitizer: its
// allocator replaces glibc's, whose arenas malloc_trim would then walk uninitialised.
void trimHeap() {
#ifndef TRIAGED_ASAN
  malloc_trim(0);
#endif
}

// The heap a batch holds: its vectors' capacity and its arenas.
uint64_t batchBytes(const api::EventBatch& b) {
  uint64_t n = b.events.capacity() * sizeof(api::Event) + b.labels.capacity() * sizeof(api::Label) +
               b.arena.bytes();
  for (const auto& a : b.more_arenas) n += a.bytes();
  return n;
}

// A sub-batch is done; the last one reports the batch.
void finishPart(BatchCtx& c) {
  if (c.remaining.fetch_sub(1, std::memory_order_acq_rel) != 1 || !c.done) return;
  api::BatchResult r;
  r.events = c.events;
  r.new_alerts = c.new_alerts.load();
  r.changed = c.changed.load();
  r.duplicates = c.duplicates.load();
  r.resolved = c.resolved.load();
  r.outcomes = c.outcomes.empty() ? nullptr : c.outcomes.data();
  c.done(r);
}

}  // namespace

struct Pipeline::Shard {
  StageQueue<Task> queue;          // spun on by AdaptiveSpin, not by its semaphore
  std::atomic<int64_t> queued{0};  // sub-batches reserved or waiting (the bound)
  std::atomic<uint64_t> alerts{0}, firing{0}, memory{0};
  AlertTable table;
  std::thread thread;
  explicit Shard(const PipelineOptions& o) : table(o.flap, o.resolved_retention_ms) {}
};

// Scrape-time view of the shards plus per-shard hot counters.
struct Pipeline::Metrics : prometheus::Collectable {
  Pipeline* p = nullptr;
  std::shared_ptr<HotCounterFamily> outcomes, changes, busy;
  prometheus::Family<prometheus::Histogram>* latency_family = nullptr;
  std::vector<prometheus::Histogram*> latency;

  std::vector<prometheus::MetricFamily> Collect() const override {
    auto gauge = [](const char* name, const char* help) {
      prometheus::MetricFamily f;
      f.name = name;
      f.help = help;
      f.type = prometheus::MetricType::Gauge;
      return f;
    };
    auto active = gauge("triaged_alerts_active", "Alerts in the dedup tables, by status.");
    auto depth = gauge("triaged_pipeline_queue_depth", "Sub-batches queued per dedup shard.");
    auto mem = gauge("triaged_alerts_memory_bytes", "Approximate heap bytes of the alert tables.");
    uint64_t firing = 0, total = 0, bytes = 0;
    for (size_t i = 0; i < p->shards_.size(); ++i) {
      auto& s = *p->shards_[i];
      firing += s.firing.load(std::memory_order_relaxed);
      total += s.alerts.load(std::memory_order_relaxed);
      bytes += s.memory.load(std::memory_order_relaxed);
      prometheus::ClientMetric m;
      m.label = {{"shard", std::to_string(i)}};
      m.gauge.value = static_cast<double>(s.queued.load(std::memory_order_relaxed));
      depth.metric.push_back(m);
    }
    prometheus::ClientMetric f, r, b;
    f.label = {{"status", "firing"}};
    f.gauge.value = static_cast<double>(firing);
    r.label = {{"status", "resolved"}};
    r.gauge.value = static_cast<double>(total - firing);
    active.metric = {f, r};
    b.gauge.value = static_cast<double>(bytes);
    mem.metric = {b};
    auto kept = gauge("triaged_pipeline_kept_batch_bytes",
                      "Capacity of applied batches kept for the next ones inputs build.");
    prometheus::ClientMetric k;
    k.gauge.value = static_cast<double>(api::batch_pool::keptBytes());
    kept.metric = {k};
    return {active, depth, mem, kept};
  }
};

Pipeline::Pipeline(PipelineOptions opts, const Clock& clock, api::MetricsHub& hub,
                   ChangeSink* changes)
    : opts_(opts), clock_(clock), changes_(changes), hub_(hub) {
  size_t n = std::max(1u, opts_.shards);
  for (size_t i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>(opts_));
  metrics_ = std::make_shared<Metrics>();
  metrics_->p = this;
  using Series = std::vector<std::vector<std::pair<std::string, std::string>>>;
  metrics_->outcomes = std::make_shared<HotCounterFamily>(
      "triaged_dedup_events_total", "Events processed by the dedup shards, by outcome.",
      Series{{{"outcome", "new"}},
             {{"outcome", "changed"}},
             {{"outcome", "duplicate"}},
             {{"outcome", "resolved"}},
             {{"outcome", "ignored"}}},
      n);
  Series kinds;
  for (auto k :
       {ChangeKind::kNew, ChangeKind::kSeverity, ChangeKind::kResolved, ChangeKind::kRefired,
        ChangeKind::kFlappingStarted, ChangeKind::kFlappingStopped, ChangeKind::kRelabeled})
    kinds.push_back({{"kind", changeKindName(k)}});
  metrics_->changes = std::make_shared<HotCounterFamily>(
      "triaged_alert_changes_total", "Alert changes sent downstream, by kind.", kinds, n);
  Series shard_series;
  for (size_t i = 0; i < n; ++i) shard_series.push_back({{"shard", std::to_string(i)}});
  metrics_->busy = std::make_shared<HotCounterFamily>(
      "triaged_pipeline_queue_full_total", "Batches refused because a shard queue was full.",
      shard_series, 1);
  metrics_->latency_family =
      &prometheus::BuildHistogram()
           .Name("triaged_pipeline_batch_latency_seconds")
           .Help("From a batch's submission to the end of its dedup, per shard.")
           .Register(hub_.registry());
  for (size_t i = 0; i < n; ++i)
    metrics_->latency.push_back(&metrics_->latency_family->Add(
        {{"shard", std::to_string(i)}},
        prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                0.025, 0.05, 0.1, 0.25, 1}));
  hub_.add(metrics_);
  hub_.add(metrics_->outcomes);
  hub_.add(metrics_->changes);
  hub_.add(metrics_->busy);
}

Pipeline::~Pipeline() {
  stop();
  hub_.remove(metrics_);
  hub_.remove(metrics_->outcomes);
  hub_.remove(metrics_->changes);
  hub_.remove(metrics_->busy);
  hub_.registry().Remove(*metrics_->latency_family);
}

void Pipeline::start() {
  if (started_) return;
  started_ = true;
  for (size_t i = 0; i < shards_.size(); ++i) {
    shards_[i]->thread = std::thread([this, i] {
      pthread_setname_np(pthread_self(), ("triaged-dedup-" + std::to_string(i)).c_str());
      try {
        run(*shards_[i], i);
      } catch (const std::exception& e) {
        log::get("pipeline")->critical("unexpected exception on dedup shard {}: {}", i, e.what());
        std::abort();
      }
    });
  }
}

void Pipeline::stop() {
  draining_ = true;
  if (stopped_.exchange(true) || !started_) return;
  for (auto& s : shards_) s->queue.enqueue(Task{});  // an empty task: the stop marker
  for (auto& s : shards_)
    if (s->thread.joinable()) s->thread.join();
}

api::SubmitStatus Pipeline::submit(std::unique_ptr<api::EventBatch>& batch,
                                   std::function<void(const api::BatchResult&)> done) {
  if (draining_.load(std::memory_order_acquire)) return api::SubmitStatus::kDraining;
  if (opts_.store && !opts_.store->healthy()) return api::SubmitStatus::kUnavailable;
  size_t n = shards_.size();
  const uint64_t bytes = batchBytes(*batch);
  uint64_t queued = queued_bytes_.load(std::memory_order_acquire);
  if (queued != 0 && queued + bytes > opts_.queue_bytes) {
    metrics_->busy->add(0, 0);
    return api::SubmitStatus::kBusy;
  }
  // Route: split the batch by fingerprint.
  thread_local std::vector<std::vector<uint32_t>> parts;
  parts.resize(n);
  for (auto& p : parts) p.clear();
  for (uint32_t i = 0; i < batch->events.size(); ++i)
    parts[shardOf(batch->events[i].fingerprint)].push_back(i);
  // Reserve room on every shard touched, or on none.
  size_t reserved = 0;
  for (; reserved < n; ++reserved) {
    if (parts[reserved].empty()) continue;
    auto& s = *shards_[reserved];
    if (s.queued.fetch_add(1, std::memory_order_acq_rel) >=
        static_cast<int64_t>(opts_.queue_batches)) {
      s.queued.fetch_sub(1, std::memory_order_acq_rel);
      metrics_->busy->add(0, reserved);
      break;
    }
  }
  if (reserved < n) {
    for (size_t i = 0; i < reserved; ++i)
      if (!parts[i].empty()) shards_[i]->queued.fetch_sub(1, std::memory_order_acq_rel);
    return api::SubmitStatus::kBusy;
  }
  auto ctx = std::make_shared<BatchCtx>();
  if (batch->want_outcomes) ctx->outcomes.resize(batch->events.size());
  ctx->events = batch->events.size();
  ctx->bytes = bytes;
  queued_bytes_.fetch_add(bytes, std::memory_order_acq_rel);
  ctx->batch = std::move(batch);
  ctx->done = std::move(done);
  ctx->submitted = std::chrono::steady_clock::now();
  int touched = 0;
  for (size_t i = 0; i < n; ++i) touched += !parts[i].empty();
  if (touched == 0) {  // an empty batch: nothing to do
    if (ctx->done) ctx->done(api::BatchResult{});
    return api::SubmitStatus::kAccepted;
  }
  ctx->remaining.store(touched, std::memory_order_release);
  ctx->applying.store(touched, std::memory_order_release);
  for (size_t i = 0; i < n; ++i) {
    if (parts[i].empty()) continue;
    Task t;
    t.ctx = ctx;
    t.idx = std::move(parts[i]);
    parts[i] = {};
    // Implicit producers: moodycamel keeps one sub-queue per producing thread, the effect of a
    // producer token without tying a token's lifetime to this queue's.
    shards_[i]->queue.enqueue(std::move(t));
  }
  return api::SubmitStatus::kAccepted;
}

bool Pipeline::runOnShard(size_t i, std::function<void(const AlertTable&)> fn) {
  if (stopped_.load(std::memory_order_acquire)) return false;
  Task t;
  t.fn = std::move(fn);
  shards_.at(i)->queue.enqueue(std::move(t));
  return true;
}

void Pipeline::expireNow() {
  for (auto& s : shards_) {
    Task t;
    t.expire = true;
    s->queue.enqueue(std::move(t));
  }
}

void Pipeline::checkpointNow() {
  for (auto& s : shards_) {
    Task t;
    t.checkpoint = true;
    s->queue.enqueue(std::move(t));
  }
}

void Pipeline::run(Shard& s, size_t index) {
  std::vector<AlertChange> changes;
  changes.reserve(1024);
  Task tasks[32];
  int64_t next_expire = clock_.nowMs() + opts_.expire_interval_ms;
  auto publish = [&] {
    s.alerts.store(s.table.size(), std::memory_order_relaxed);
    s.firing.store(s.table.firing(), std::memory_order_relaxed);
    s.memory.store(s.table.memoryBytes(), std::memory_order_relaxed);
  };
  auto flushChanges = [&](std::function<void()> committed) {
    if (changes.empty()) return;
    for (const auto& c : changes) {
      metrics_->changes->add(index, static_cast<size_t>(c.kind));
      // The store writes the strings with such a change (alertRecords()), and the sink takes
      // them (CorrelatorInput::from): the checkpoint need not.
      if (opts_.store || changes_) s.table.markSaved(c.fingerprint, carriesStrings(c));
    }
    if (changes_) changes_->consume(index, s.table, changes, std::move(committed));
    changes.clear();
  };
  int64_t next_checkpoint = clock_.nowMs() + opts_.checkpoint_interval_ms;
  bool stopping = false;
  bool trim = false;
  auto checkpointIfDue = [&](int64_t now) {
    if (now < next_checkpoint) return;
    checkpoint(s, index);
    next_checkpoint = now + opts_.checkpoint_interval_ms;
    // glibc keeps what the batches, store units and answers freed in its arenas (about
    // 100 MB under a sustained realistic load, measured): shard 0 gives it back every
    // checkpoint, so that RSS follows what is in use (bench/RESULTS.md); with the batches
    // kept for the inputs if no input took one in the last interval.
    if (index == 0) {
      api::batch_pool::releaseIdle();
      trim = true;
    }
  };
  AdaptiveSpin spin;
  while (true) {
    // After the stop marker, keep going until the queue is empty: moodycamel does not order
    // tasks of different producers, so work queued before the marker may come after it.
    if (!stopping) spin.beforeWait(s.queue);
    size_t got = stopping ? s.queue.try_dequeue_bulk(tasks, 32)
                          : s.queue.wait_dequeue_bulk_timed(
                                tasks, 32, std::chrono::milliseconds(opts_.expire_interval_ms));
    if (stopping && got == 0) {
      checkpoint(s, index);  // counters as they are at shutdown
      return;
    }
    int64_t now = clock_.nowMs();
    for (size_t k = 0; k < got; ++k) {
      Task& t = tasks[k];
      if (t.ctx) {
        auto& b = *t.ctx->batch;
        uint64_t counts[5] = {0, 0, 0, 0, 0};
        uint8_t* outcomes = t.ctx->outcomes.empty() ? nullptr : t.ctx->outcomes.data();
        const auto& idx = t.idx;
        const size_t n = idx.size();
        for (size_t j = 0; j < n; ++j) {
          // Each alert's slot, record and strings are fetched ahead (alert_table.h).
          if (j + kPrefetchSlot < n)
            s.table.prefetchSlot(b.events[idx[j + kPrefetchSlot]].fingerprint);
          // A change compares the event's texts with the alert's. The event's were written by
          // an input's thread on the other core: its annotations' array is fetched 6 ahead,
          // and its summary and annotations' strings 2 ahead when it changes its alert.
          if (j + kPrefetchAlert < n) {
            const api::Event& ahead = b.events[idx[j + kPrefetchAlert]];
            s.table.prefetchAlert(ahead.fingerprint);
            if (ahead.annotations_count) __builtin_prefetch(b.annotationsOf(ahead));
          }
          if (j + kPrefetchStrings < n) {
            const api::Event& ahead = b.events[idx[j + kPrefetchStrings]];
            if (s.table.prefetchStrings(ahead)) {
              __builtin_prefetch(ahead.summary.data());
              if (ahead.annotations_count) {
                const api::Label* a = b.annotationsOf(ahead);
                __builtin_prefetch(a[0].name.data());
                __builtin_prefetch(a[ahead.annotations_count - 1].value.data());
              }
            }
          }
          const uint32_t i = idx[j];
          auto o = static_cast<size_t>(s.table.apply(b, b.events[i], now, changes));
          ++counts[o];
          if (outcomes) outcomes[i] = static_cast<uint8_t>(o);
        }
        for (size_t o = 0; o < 5; ++o)
          if (counts[o]) metrics_->outcomes->add(index, o, counts[o]);
        if (t.ctx->applying.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          api::batch_pool::give(std::move(t.ctx->batch));  // for the next batch an input builds
          queued_bytes_.fetch_sub(t.ctx->bytes, std::memory_order_acq_rel);
        }
        // Durability sync: a sub-batch that changed something completes after the commit.
        bool wait = opts_.wait_for_commit && changes_ && !changes.empty();
        flushChanges(wait ? std::function<void()>([ctx = t.ctx] { finishPart(*ctx); }) : nullptr);
        publish();
        s.queued.fetch_sub(1, std::memory_order_acq_rel);
        auto& c = *t.ctx;
        c.new_alerts.fetch_add(counts[0], std::memory_order_relaxed);
        c.changed.fetch_add(counts[1], std::memory_order_relaxed);
        c.duplicates.fetch_add(counts[2] + counts[4], std::memory_order_relaxed);
        c.resolved.fetch_add(counts[3], std::memory_order_relaxed);
        metrics_->latency[index]->Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - c.submitted).count());
        if (!wait) finishPart(c);
      } else if (t.fn) {
        t.fn(s.table);
        // A query may have built large answers on this thread: give the freed pages back.
        trim = true;
      } else if (t.expire) {
        s.table.expire(now, changes);
        flushChanges(nullptr);
        checkpointIfDue(now);  // before what is queued after (the test clock's answer)
        publish();
      } else if (t.checkpoint) {
        checkpoint(s, index);
      } else {
        stopping = true;  // the stop marker
      }
      t = Task{};
    }
    if (now >= next_expire) {
      s.table.expire(now, changes);
      flushChanges(nullptr);
      checkpointIfDue(now);
      publish();
      next_expire = now + opts_.expire_interval_ms;
      if (trim) {
        trimHeap();
        trim = false;
      }
    }
  }
}

// Duplicates only bump counters in memory; this saves them (and changed texts) periodically,
// and hands the alerts whose texts changed to the sink (those that moved to new strings).
void Pipeline::checkpoint(Shard& s, size_t index) {
  if (!opts_.store && !changes_) return;
  StoreUnit unit;
  std::vector<uint64_t> texts;
  s.table.forEachUnsaved([&](const Alert& a, bool content) {
    if (content) texts.push_back(a.fingerprint);
    if (!opts_.store) return;
    if (content)
      unit.alerts.push_back(AlertRecord::of(a, true));
    else
      unit.counters.push_back({a.fingerprint, a.count, a.last_seen_ms, a.time_ms});
  });
  if (changes_ && !texts.empty()) changes_->refresh(index, s.table, texts);
  if (opts_.store) opts_.store->submit(std::move(unit));
}

void Pipeline::reserve(size_t n) {
  // Fingerprints spread evenly over the shards; a little room for the unevenness.
  size_t each = n / shards_.size() + n / shards_.size() / 16 + 16;
  for (auto& s : shards_) s->table.reserve(each);
}

bool Pipeline::restore(const AlertRecord& r, SharedBlob* shared) {
  auto& s = *shards_[shardOf(r.fingerprint)];
  if (!s.table.restore(r)) return false;
  if (shared) *shared = s.table.find(r.fingerprint)->strings.share();
  s.alerts.store(s.table.size(), std::memory_order_relaxed);
  s.firing.store(s.table.firing(), std::memory_order_relaxed);
  s.memory.store(s.table.memoryBytes(), std::memory_order_relaxed);
  return true;
}

}  // namespace triaged::engine
