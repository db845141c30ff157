#include "store/store_writer.h"

#include <absl/container/flat_hash_map.h>
#include <concurrentqueue/blockingconcurrentqueue.h>

#include <chrono>
#include <stdexcept>

#include "common/log.h"

namespace triaged::engine {

struct StoreWriter::Impl {
  struct Item {
    StoreUnit unit;
    bool stop = false;
  };

  Impl(Store& s, StoreWriterOptions o, const Clock& c, api::MetricsHub& h,
       std::atomic<uint64_t>& commits, std::atomic<bool>& healthy)
      : store(s), opts(o), clock(c), hub(h), commits_total(commits), healthy(healthy) {
    auto& reg = hub.registry();
    commits_family = &prometheus::BuildCounter()
                          .Name("triaged_store_commits_total")
                          .Help("Store transactions, by result.")
                          .Register(reg);
    ok = &commits_family->Add({{"result", "success"}});
    failed = &commits_family->Add({{"result", "error"}});
    rows_family = &prometheus::BuildCounter()
                       .Name("triaged_store_rows_written_total")
                       .Help("Rows written by the store, by table.")
                       .Register(reg);
    for (const char* t : {"alerts", "counters", "incidents", "problems", "silences"})
      written.push_back(&rows_family->Add({{"table", t}}));
    pruned_family = &prometheus::BuildCounter()
                         .Name("triaged_store_rows_pruned_total")
                         .Help("Rows removed by retention, by table.")
                         .Register(reg);
    for (const char* t : {"alerts", "incidents", "problems", "silences", "incident_rows", "outbox",
                          "sla", "records"})
      pruned.push_back(&pruned_family->Add({{"table", t}}));
    latency_family = &prometheus::BuildHistogram()
                          .Name("triaged_store_commit_seconds")
                          .Help("Time to write and commit one group of changes.")
                          .Register(reg);
    latency = &latency_family->Add(
        {}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1, 0.25, 1});
    depth_family = &prometheus::BuildGauge()
                        .Name("triaged_store_queue_units")
                        .Help("Units of change waiting for the store writer.")
                        .Register(reg);
    depth = &depth_family->Add({});
    up_family = &prometheus::BuildGauge()
                     .Name("triaged_store_up")
                     .Help(
                         "1 while the state store commits; 0 from a failed commit until one "
                         "succeeds again (ingest answers 503 meanwhile).")
                     .Register(reg);
    up = &up_family->Add({{"backend", s.backend()}});
    up->Set(1);
    checkpoints_family =
        &prometheus::BuildCounter()
             .Name("triaged_store_checkpoints_total")
             .Help(
                 "SQLite write-ahead log checkpoints, by who ran them (background: "
                 "the checkpoint thread; writer: the store writer, copying the "
                 "last pages so the log starts again, or the whole log at its "
                 "limit) and result.")
             .Register(reg);
    for (const char* by : {"background", "writer"})
      for (const char* result : {"success", "error"})
        checkpoint_counters.push_back(&checkpoints_family->Add({{"by", by}, {"result", result}}));
    if (std::string_view(s.backend()) == "sqlite") {
      wal_family = &prometheus::BuildGauge()
                        .Name("triaged_store_wal_pages")
                        .Help("Pages in SQLite's write-ahead log after the last commit.")
                        .Register(reg);
      wal_pages = &wal_family->Add({});
      cache_family =
          &prometheus::BuildGauge()
               .Name("triaged_store_cache_bytes")
               .Help(
                   "Memory of SQLite's page cache (the writer's connection, at most "
                   "state.cache_bytes); given back after a second without rows to write.")
               .Register(reg);
      cache_bytes = &cache_family->Add({});
      journal_family =
          &prometheus::BuildGauge()
               .Name("triaged_store_journal_entries")
               .Help(
                   "Changes to stored alerts in SQLite's alert journal after the last commit, "
                   "not yet folded into the alerts table (at as many as there are alerts).")
               .Register(reg);
      journal_entries = &journal_family->Add({});
    }
  }

  ~Impl() {
    auto& reg = hub.registry();
    reg.Remove(*commits_family);
    reg.Remove(*rows_family);
    reg.Remove(*pruned_family);
    reg.Remove(*latency_family);
    reg.Remove(*depth_family);
    reg.Remove(*up_family);
    reg.Remove(*checkpoints_family);
    if (wal_family) reg.Remove(*wal_family);
    if (cache_family) reg.Remove(*cache_family);
    if (journal_family) reg.Remove(*journal_family);
  }

  // The backend's checkpoints since the last look, into the counters.
  void publishCheckpoints() {
    Store::Checkpoints now = store.checkpoints();
    uint64_t counts[4] = {now.background, now.background_failed, now.writer, now.writer_failed};
    for (size_t k = 0; k < 4; ++k) {
      if (counts[k] > checkpoints_seen[k])
        checkpoint_counters[k]->Increment(static_cast<double>(counts[k] - checkpoints_seen[k]));
      checkpoints_seen[k] = counts[k];
    }
    if (wal_pages) wal_pages->Set(now.wal_pages);
    if (journal_entries) journal_entries->Set(static_cast<double>(now.journal_entries));
    publishCache();
  }
  void publishCache() {
    if (cache_bytes) cache_bytes->Set(static_cast<double>(store.cacheBytes()));
  }

  // Commits the group; retries (holding everything back) until it succeeds or the writer stops.
  // Returns the alert, counter, incident, problem and silence rows it wrote.
  size_t commit(std::vector<Item>& group) {
    auto t0 = std::chrono::steady_clock::now();
    units.clear();
    for (auto& it : group) units.push_back(&it.unit);
    for (int attempt = 0;; ++attempt) {
      try {
        rows.begin();
        store.commit(units, rows);
        break;
      } catch (const std::exception& e) {
        rows.rollback();  // the rows it gave out were not stored after all
        failed->Increment();
        healthy.store(false, std::memory_order_release);
        up->Set(0);
        log::get("store")->error(
            "commit failed ({}), retrying: {} units wait; no acknowledgement is sent meanwhile",
            e.what(), group.size());
        if (stopping && attempt >= 3) {
          log::get("store")->critical(
              "giving up at shutdown: {} units were not stored and were not acknowledged",
              group.size());
          return 0;
        }
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::min(1000, 50 << std::min(attempt, 4))));
      }
    }
    ok->Increment();
    if (!healthy.exchange(true, std::memory_order_acq_rel)) {
      up->Set(1);
      log::get("store")->info("{} {}: commits succeed again", store.backend(), store.path());
    }
    commits_total.fetch_add(1, std::memory_order_relaxed);
    latency->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    size_t n[5] = {0, 0, 0, 0, 0};
    for (auto& it : group) {
      n[0] += it.unit.alerts.size();
      n[1] += it.unit.counters.size();
      for (const auto& r : it.unit.incidents) n[2] += !r.record.empty();
      n[3] += it.unit.problems.size();
      n[4] += it.unit.silences.size();
    }
    size_t rows_written = 0;
    for (size_t k = 0; k < 5; ++k) {
      if (n[k]) written[k]->Increment(static_cast<double>(n[k]));
      rows_written += n[k];
    }
    publishCheckpoints();  // before the completions: what they acknowledge is in the gauges
    std::vector<OutboxEntry> fresh;
    for (auto& it : group)
      for (auto& o : it.unit.outbox) fresh.push_back(std::move(o));
    if (!fresh.empty() && outbox_sink) outbox_sink(std::move(fresh));
    for (auto& it : group)
      for (auto& f : it.unit.committed) f();
    return rows_written;
  }

  void prune(int64_t now) {
    PruneCounts n = store.prune({now - opts.alert_retention_ms, now - opts.incident_retention_ms,
                                 now - opts.sla_retention_ms},
                                rows);
    for (size_t k = 0; k < kPrunedTables; ++k)
      if (n[k]) pruned[k]->Increment(static_cast<double>(n[k]));
  }

  void loop() {
    log::get("store")->info("store writer started");
    std::vector<Item> group;
    Item items[64];
    int64_t next_prune = clock.nowMs() + opts.prune_interval_ms;
    int64_t last_rows = clock.nowMs();  // the last commit that wrote rows (not only meta)
    bool cache_held = false;            // rows written since the cache was last given back
    bool stop_seen = false;
    while (true) {
      size_t got = stop_seen
                       ? queue.try_dequeue_bulk(items, 64)
                       : queue.wait_dequeue_bulk_timed(items, 64, std::chrono::milliseconds(200));
      for (size_t k = 0; k < got; ++k) {
        if (items[k].stop)
          stop_seen = true;
        else
          group.push_back(std::move(items[k]));
        items[k] = Item{};
      }
      // Take what else is there: the group grows while the previous commit was syncing.
      while (group.size() < 4096) {
        size_t more = queue.try_dequeue_bulk(items, 64);
        if (!more) break;
        for (size_t k = 0; k < more; ++k) {
          if (items[k].stop)
            stop_seen = true;
          else
            group.push_back(std::move(items[k]));
          items[k] = Item{};
        }
      }
      queued.fetch_sub(group.size(), std::memory_order_acq_rel);
      depth->Set(static_cast<double>(queued.load(std::memory_order_relaxed)));
      int64_t now = clock.nowMs();
      if (!group.empty()) {
        if (commit(group) > 0) {
          last_rows = now;
          cache_held = true;
        }
        group.clear();
      }
      if (now >= next_prune) {
        prune(now);
        publishCheckpoints();  // retention folds SQLite's journal first
        next_prune = now + opts.prune_interval_ms;
        last_rows = now;  // its pages are in the cache too
        cache_held = true;
      }
      if (cache_held && now - last_rows >= opts.idle_release_ms) {
        // Idle but for the correlator's sign of life (a meta row a second): the page cache (up
        // to state.cache_bytes) need not stay resident meanwhile.
        store.releaseCache();
        cache_held = false;
        publishCache();
      }
      if (stop_seen && got == 0) break;
    }
  }

  Store& store;
  StoreWriterOptions opts;
  const Clock& clock;
  api::MetricsHub& hub;
  std::atomic<uint64_t>& commits_total;
  std::atomic<bool>& healthy;
  std::function<void(std::vector<OutboxEntry>)> outbox_sink;
  AlertRowIds rows;                                   // writer thread only (once started)
  bool rows_known = false;                            // adopted from recovery, or read by start()
  std::vector<std::pair<uint64_t, int64_t>> adopted;  // until the thread indexes them
  std::atomic<bool> holding{false};                   // units submitted before start() wait for it
  std::vector<StoreUnit*> units;                      // the group being committed
  moodycamel::BlockingConcurrentQueue<Item> queue;
  std::atomic<size_t> queued{0};
  std::atomic<bool> stopping{false};
  std::thread thread;
  prometheus::Family<prometheus::Counter>*commits_family, *rows_family, *pruned_family;
  prometheus::Family<prometheus::Histogram>* latency_family;
  prometheus::Family<prometheus::Gauge>*depth_family, *up_family;
  prometheus::Counter *ok, *failed;
  std::vector<prometheus::Counter*> written, pruned;
  prometheus::Histogram* latency;
  prometheus::Gauge *depth, *up;
  prometheus::Family<prometheus::Counter>* checkpoints_family;
  prometheus::Family<prometheus::Gauge>* wal_family = nullptr;  // SQLite only
  std::vector<prometheus::Counter*> checkpoint_counters;  // background ok/error, writer ok/error
  uint64_t checkpoints_seen[4] = {0, 0, 0, 0};
  prometheus::Gauge* wal_pages = nullptr;
  prometheus::Family<prometheus::Gauge>* cache_family = nullptr;  // SQLite only
  prometheus::Gauge* cache_bytes = nullptr;
  prometheus::Family<prometheus::Gauge>* journal_family = nullptr;  // SQLite only
  prometheus::Gauge* journal_entries = nullptr;
};

StoreWriter::StoreWriter(Store& store, StoreWriterOptions opts, const Clock& clock,
                         api::MetricsHub& hub)
    : impl_(std::make_unique<Impl>(store, opts, clock, hub, commits_, healthy_)) {}

StoreWriter::~StoreWriter() { stop(); }

void StoreWriter::adoptRows(std::vector<std::pair<uint64_t, int64_t>> rows) {
  impl_->adopted = std::move(rows);
  impl_->rows_known = true;
}

void StoreWriter::holdUntilStarted() { impl_->holding.store(true, std::memory_order_release); }

void StoreWriter::start() {
  if (!impl_->rows_known) impl_->store.loadAlertRows(impl_->rows);
  impl_->rows_known = true;
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "triaged-store");
    // The adopted row ids go into the index here, before the first commit can use it.
    impl_->rows.reserve(impl_->adopted.size());
    for (auto [fingerprint, row] : impl_->adopted) impl_->rows.loaded(fingerprint, row);
    std::vector<std::pair<uint64_t, int64_t>>().swap(impl_->adopted);
    impl_->loop();
  });
}

void StoreWriter::stop() {
  if (!impl_->thread.joinable() || impl_->stopping.exchange(true)) return;
  Impl::Item stop;
  stop.stop = true;
  impl_->queued.fetch_add(1, std::memory_order_acq_rel);
  impl_->queue.enqueue(std::move(stop));
  impl_->thread.join();
}

void StoreWriter::submit(StoreUnit unit) {
  if (unit.empty()) return;
  if ((!impl_->thread.joinable() && !impl_->holding.load(std::memory_order_acquire)) ||
      impl_->stopping.load(std::memory_order_acquire)) {
    // Not running (tests, or after stop): nothing will commit; say so rather than hang.
    log::get("store")->error("store writer is not running: {} alert rows not stored",
                             unit.alerts.size());
    return;
  }
  while (impl_->queued.load(std::memory_order_acquire) >= impl_->opts.queue_units)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  impl_->queued.fetch_add(1, std::memory_order_acq_rel);
  Impl::Item it;
  it.unit = std::move(unit);
  impl_->queue.enqueue(std::move(it));
}

void StoreWriter::onOutbox(std::function<void(std::vector<OutboxEntry>)> sink) {
  impl_->outbox_sink = std::move(sink);
}

void StoreWriter::barrier(std::function<void()> fn) {
  StoreUnit u;
  u.committed.push_back(std::move(fn));
  submit(std::move(u));
}

}  // namespace triaged::engine
