#include "triaged/api/metrics_hub.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
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
        target.insert(target.end(), std::make_move_iterator(f.metric.begin()),
                      std::make_move_iterator(f.metric.end()));
      }
    }
  }
  std::string out = prometheus::TextSerializer().Serialize(all);
  std::vector<std::shared_ptr<const std::string>> texts;
  {
    std::lock_guard lk(mu_);
    for (const auto& [k, t] : texts_) texts.push_back(t);
  }
  size_t n = out.size();
  for (const auto& t : texts)
    if (t) n += t->size();
  out.reserve(n);  // one allocation for megabytes of rendered texts, not one per append
  for (const auto& t : texts)
    if (t) out += *t;
  return out;
}

void MetricsHub::setText(const std::string& key, std::shared_ptr<const std::string> text) {
  std::lock_guard lk(mu_);
  for (auto& [k, t] : texts_)
    if (k == key) {
      t = std::move(text);
      return;
    }
  texts_.emplace_back(key, std::move(text));
}

void MetricsHub::family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void MetricsHub::sample(std::string& out, const char* name,
                        std::initializer_list<std::pair<const char*, std::string_view>> labels,
                        double value) {
  out += name;
  if (labels.size()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k;
      out += "=\"";
      for (char c : v) {
        if (c == '\\')
          out += "\\\\";
        else if (c == '"')
          out += "\\\"";
        else if (c == '\n')
          out += "\\n";
        else
          out += c;
      }
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, r.ptr);
  }
  out += '\n';
}

}  // namespace triaged::api
