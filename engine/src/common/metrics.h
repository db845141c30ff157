// Metrics: one prometheus-cpp registry per daemon, serialized on /metrics, plus the two things
// prometheus-cpp lacks: process metrics (CPU, memory, fds, start time) and hot counters that
// are per-thread plain integers summed only at scrape time.
// HotCounters: each slot is written by one thread only; collect() may run on any thread.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace triaged::engine {

// A family of counters with fixed label sets, each with one slot per writer thread.
// Writers call add(writer, series, n); the scrape sums over writers.
class HotCounterFamily : public prometheus::Collectable {
 public:
  static constexpr size_t kMaxWriters = 64;
  HotCounterFamily(std::string name, std::string help,
                   std::vector<std::vector<std::pair<std::string, std::string>>> series,
                   size_t writers);
  // Single-writer per (writer) slot; relaxed atomics compile to plain loads and stores.
  void add(size_t writer, size_t series, uint64_t n = 1) {
    auto& c = slots_[writer * stride_ + series].v;
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value(size_t series) const;
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct alignas(8) Slot {
    std::atomic<uint64_t> v{0};
  };
  std::string name_, help_;
  std::vector<std::vector<std::pair<std::string, std::string>>> series_;
  size_t writers_, stride_;
  std::unique_ptr<Slot[]> slots_;
};

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds: the names every Prometheus
// client library uses, read from /proc/self at scrape time.
class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector();
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double start_time_seconds_ = 0;
};

// Serializes a registry (and extra collectables) in the text exposition format 0.0.4.
std::string serializeMetrics(const std::vector<std::weak_ptr<prometheus::Collectable>>& sources);

}  // namespace triaged::engine
