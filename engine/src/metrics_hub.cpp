#include "triaged/api/metrics_hub.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <map>

namespace triaged::api {

void MetricsHub::add(std::shared_ptr<prometheus::Collectable> c) {
  std::lock_guard lk(mu_);
  extra_.push_back(std::move(c));
}

void MetricsHub::remove(const std::shared_ptr<prometheus::Collectable>& c) {
  std::lock_guard lk(mu_);
  extra_.erase(std::remove(extra_.begin(), extra_.end(), c), extra_.end());
}

std::string MetricsHub::serialize() const {
  std::vector<prometheus::MetricFamily> all = registry_->Collect();
  std::vector<std::shared_ptr<prometheus::Collectable>> extra;
  {
    std::lock_guard lk(mu_);
    extra = extra_;
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < all.size(); ++i) index[all[i].name] = i;
  for (const auto& c : extra) {
    for (auto& f : c->Collect()) {
      auto it = index.find(f.name);
      if (it == index.end()) {
        index[f.name] = all.size();
        all.push_back(std::move(f));
      } else {
        auto& target = all[it->second].metric;
        target.insert(target.end(), std::make_move_iterator(f.metric.begin()), std::make_move_iterator(f.metric.end()));
      }
    }
  }
  return prometheus::TextSerializer().Serialize(all);
}

}  // namespace triaged::api
