#include "triaged/rules/matcher_index.h"

#include <algorithm>

namespace triaged::rules {

void MatcherIndex::build() {
  std::map<std::string, size_t> counts;
  for (const auto& p : pending_)
    for (const auto& m : *p.ms)
      if (m->op() == MatchOp::kEqual && !m->value().empty()) ++counts[m->name()];
  for (const auto& p : pending_) {
    const Matcher* best = nullptr;
    for (const auto& m : *p.ms) {
      if (m->op() != MatchOp::kEqual || m->value().empty()) continue;
      if (!best || counts[m->name()] > counts[best->name()]) best = m.get();
    }
    if (!best) {
      always_.push_back(p.id);
      continue;
    }
    auto it = std::find(names_.begin(), names_.end(), best->name());
    size_t n = static_cast<size_t>(it - names_.begin());
    if (it == names_.end()) {
      names_.push_back(best->name());
      by_value_.emplace_back();
    }
    by_value_[n][best->value()].push_back(p.id);
  }
  std::sort(always_.begin(), always_.end());
  pending_.clear();
  pending_.shrink_to_fit();
}

void MatcherIndex::candidates(const Facts& f, std::vector<uint32_t>& out) const {
  out.assign(always_.begin(), always_.end());
  bool sorted = true;
  for (size_t i = 0; i < names_.size(); ++i) {
    auto v = f.get(names_[i]);
    auto it = by_value_[i].find(v);
    if (it == by_value_[i].end()) continue;
    sorted = sorted && out.empty();
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  if (!sorted || names_.size() > 1 || !always_.empty()) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
}

}  // namespace triaged::rules
