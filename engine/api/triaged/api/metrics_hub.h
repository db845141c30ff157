// Everything /metrics serves: the prometheus-cpp registry (counters, gauges, histograms built
// with its builders) plus custom collectables (per-thread hot counters, scrape-time gauges).
// Thread-safe: add/remove at set-up and tear-down, serialize() on scrape.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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
  // Families rendered ahead of the scrape by their owner (large, slowly refreshed families:
  // the scrape copies them). `key` names the block; a new text replaces the old one. The
  // text is complete exposition format (HELP, TYPE, samples) of families found nowhere else.
  void setText(const std::string& key, std::shared_ptr<const std::string> text);

  // Exposition helpers for such blocks.
  static void family(std::string& out, const char* name, const char* type, const char* help);
  static void sample(std::string& out, const char* name,
                     std::initializer_list<std::pair<const char*, std::string_view>> labels,
                     double value);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> extra_;
  std::vector<std::pair<std::string, std::shared_ptr<const std::string>>> texts_;
};

}  // namespace triaged::api
