// Everything /metrics serves: the prometheus-cpp registry (counters, gauges, histograms built
// with its builders) plus custom collectables (per-thread hot counters, scrape-time gauges).
// Thread-safe: add/remove at set-up and tear-down, serialize() on scrape.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace triaged::api {

class MetricsHub {
 public:
  MetricsHub() : registry_(std::make_shared<prometheus::Registry>()) {}
  prometheus::Registry& registry() { return *registry_; }
  void add(std::shared_ptr<prometheus::Collectable> c);
  void remove(const std::shared_ptr<prometheus::Collectable>& c);
  // Text exposition format 0.0.4. Families with the same name from several collectables (one
  // per input, say) are merged into one family.
  std::string serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> extra_;
};

}  // namespace triaged::api
