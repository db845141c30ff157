// The store writer: one thread that owns the store's connection while the daemon runs. Stages
// hand it units of change (alert rows, incident, problem and silence records, counters) with
// the completions waiting on them; it commits whatever is queued in one transaction (group
// commit: a commit is under way while the next group gathers) and only then runs the
// completions. An HTTP 2xx sent from a completion means the change is on disk.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "store/store.h"
#include "store/store_units.h"
#include "triaged/api/event.h"
#include "triaged/api/metrics_hub.h"

namespace triaged::engine {

struct StoreWriterOptions {
  int64_t alert_retention_ms = 3'600'000;  // resolved alerts (the dedup tables' retention)
  int64_t incident_retention_ms =
      90 * 86'400'000LL;  // closed or merged incidents, closed problems, expired silences
  int64_t sla_retention_ms =
      400 * 86'400'000LL;  // service state history, summaries of ended incidents
  int64_t prune_interval_ms = 60'000;
  // No alert, counter, incident, problem or silence row to write for this long (meta rows such
  // as the correlator's sign of life do not count): the backend gives back its page cache
  // (Store::releaseCache).
  int64_t idle_release_ms = 1'000;
  size_t queue_units = 4096;  // submit() waits beyond this: back-pressure up to the inputs
};

class StoreWriter {
 public:
  StoreWriter(Store& store, StoreWriterOptions opts, const Clock& clock, api::MetricsHub& hub);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Reads the stored alerts' row ids (unless adoptRows gave them) and starts the thread.
  void start();
  // Before start(): the row ids of every stored alert, as start-up recovery read them with the
  // alerts, so that start() need not read them again (a second of a failover with 1 M alerts).
  void adoptRows(std::vector<std::pair<uint64_t, int64_t>> rows);
  // Before start(): units submitted from now on wait in the queue for start() instead of being
  // refused (recovery submits the first round of the restored state before the writer starts).
  void holdUntilStarted();
  // Commits everything queued, runs its completions, joins the thread.
  void stop();
  // From any thread. Waits while the queue is full.
  void submit(StoreUnit unit);
  // Runs fn after everything submitted before it is committed (tests, backup).
  void barrier(std::function<void()> fn);
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  // False from a failed commit until the next one succeeds (the database is away): the
  // pipeline takes no new events meanwhile (503), /-/ready says so.
  bool healthy() const { return healthy_.load(std::memory_order_acquire); }
  // Before start(): where new outbox entries go once committed (with their ids).
  void onOutbox(std::function<void(std::vector<OutboxEntry>)> sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> commits_{0};
  std::atomic<bool> healthy_{true};
};

}  // namespace triaged::engine
