// The evaluator's signals: event-based SLOs with multi-window burn-rate alerts, capacity rules
// (threshold with hysteresis, linear forecast), and burn-rate alerts on agreements'
// availability targets. Every alert raised here is ingested and correlated like any other.
#include <algorithm>
#include <cmath>

#include "evaluate/evaluator.h"

namespace triaged::engine {

namespace sla = rules::sla;

namespace {

constexpr uint32_t kCapacityBit = 0x8000'0000u;

// Labels as facts for the rules' matchers (the metric name is "__name__", as in Prometheus).
class SampleFacts final : public rules::Facts {
 public:
  explicit SampleFacts(const Sample& s) : s_(s) {}
  std::string_view get(std::string_view name) const override {
    if (name == "__name__") return s_.metric;
    for (const auto& [k, v] : s_.labels)
      if (k == name) return v;
    return {};
  }

 private:
  const Sample& s_;
};

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

std::string durationLabel(int64_t ms) {
  if (ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  return std::to_string(ms / 60'000) + "m";
}

void Evaluator::reloadSignals(int64_t now) {
  // SLOs and capacity rules keep their state by name (a changed window length starts the
  // buckets again); those that left the rule files are dropped with their alerts resolved.
  std::map<std::string, SloRuntime> slos;
  std::map<std::string, CapacityRuntime> capacity;
  by_metric_.clear();
  for (uint32_t i = 0; i < rules_->slos().size(); ++i) {
    const auto& d = rules_->slos()[i];
    sla::Ms longest = 0;
    for (const auto& w : d.windows) longest = std::max(longest, w.long_ms);
    longest = std::max(longest, d.period_ms);
    auto old = slos_.find(d.name);
    if (old != slos_.end() && old->second.buckets.longest() >= longest + 60'000 &&
        old->second.firing.size() == d.windows.size()) {
      slos.emplace(d.name, std::move(old->second));
      slos_.erase(old);
    } else {
      SloRuntime r(longest);
      r.firing.assign(d.windows.size(), 0);
      r.burn_long.assign(d.windows.size(), 0);
      r.burn_short.assign(d.windows.size(), 0);
      slos.emplace(d.name, std::move(r));
    }
    by_metric_[d.good_metric].push_back(i);
    by_metric_[d.valid_metric].push_back(i);
  }
  for (uint32_t i = 0; i < rules_->capacity().size(); ++i) {
    const auto& d = rules_->capacity()[i];
    auto old = capacity_.find(d.name);
    CapacityRuntime r;
    if (old != capacity_.end()) r = std::move(old->second);
    r.threshold.hi = d.raise_at;
    r.threshold.lo = d.clear_at;
    r.threshold.for_ms = d.raise_for;
    r.threshold.clear_ms = d.clear_for;
    capacity.emplace(d.name, std::move(r));
    by_metric_[d.metric].push_back(kCapacityBit | i);
  }
  // Alerts of rules that are gone resolve now.
  for (const auto& [name, r] : slos_)
    for (size_t w = 0; w < r.firing.size(); ++w)
      if (r.firing[w])
        raise(name, "slo-burn-" + std::to_string(w), UINT32_MAX, 0, false, {}, "", now);
  for (const auto& [name, r] : capacity_) {
    if (r.threshold.raised) raise(name, "capacity-threshold", UINT32_MAX, 0, false, {}, "", now);
    if (r.forecast_firing) raise(name, "capacity-forecast", UINT32_MAX, 0, false, {}, "", now);
  }
  slos_ = std::move(slos);
  capacity_ = std::move(capacity);
  std::map<std::string, uint32_t> burning;  // agreements with burn alerts, by name
  for (uint32_t k = 0; k < rules_->agreements().size(); ++k)
    if (rules_->agreements()[k].burn_alerts) burning[rules_->agreements()[k].name] = k;
  for (auto it = agreement_burn_firing_.begin(); it != agreement_burn_firing_.end();) {
    auto found = burning.find(it->first);
    if (found == burning.end() ||
        it->second.size() != rules_->agreements()[found->second].burn_windows.size()) {
      for (size_t w = 0; w < it->second.size(); ++w)
        if (it->second[w])
          raise(it->first, "sla-burn-" + std::to_string(w), UINT32_MAX, 0, false, {}, "", now);
      agreement_burn_.erase(it->first);
      it = agreement_burn_firing_.erase(it);
    } else {
      ++it;
    }
  }
  next_signals_ = 0;
  has_signals_ = !rules_->slos().empty();
  for (const auto& d : rules_->capacity()) has_signals_ |= d.forecast;
  for (const auto& a : rules_->agreements()) has_signals_ |= a.burn_alerts;
}

void Evaluator::raise(const std::string& name, const std::string& check, uint32_t service,
                      int severity, bool firing,
                      const std::vector<std::pair<std::string, std::string>>& labels,
                      std::string summary, int64_t now) {
  GeneratedAlert a;
  a.name = name;
  a.check = check;
  a.firing = firing;
  a.at_ms = now;
  a.severity = firing ? severity : 1;
  a.labels = labels;
  a.summary = std::move(summary);
  if (service != UINT32_MAX && service < rules_->services().size())
    a.service = rules_->services()[service].name;
  alerts_.push_back(std::move(a));
}

size_t Evaluator::onSample(const Sample& s, int64_t now) {
  auto it = by_metric_.find(s.metric);
  if (it == by_metric_.end()) return 0;
  SampleFacts facts(s);
  size_t fed = 0;
  for (uint32_t ref : it->second) {
    if (ref & kCapacityBit) {
      const auto& d = rules_->capacity()[ref & ~kCapacityBit];
      if (!rules::matchesAll(d.matchers, facts)) continue;
      auto& r = capacity_.at(d.name);
      if (s.at_ms < r.last_ms) continue;  // out of order: a series moves forward only
      ++fed;
      r.last_ms = s.at_ms;
      r.last_value = s.value;
      dirty_.capacity_states.push_back(d.name);
      if (d.forecast) dirty_.capacity_samples.emplace_back(d.name, s.at_ms, s.value);
      if (d.threshold && r.threshold.sample(s.at_ms, s.value)) {
        raise(d.name, "capacity-threshold", d.service, d.severity, r.threshold.raised, d.labels,
              r.threshold.raised
                  ? d.metric + " at " + fixed(s.value, 4) + ", at or above " + fixed(d.raise_at, 4)
                  : d.metric + " back at " + fixed(s.value, 4),
              now);
      }
      if (d.forecast) {
        r.samples.emplace_back(s.at_ms, s.value);
        auto keep = std::find_if(r.samples.begin(), r.samples.end(),
                                 [&](const auto& p) { return p.first >= s.at_ms - d.window_ms; });
        r.samples.erase(r.samples.begin(), keep);
        if (r.samples.size() > 100'000)
          r.samples.erase(r.samples.begin(), r.samples.begin() + 50'000);
      }
    } else {
      const auto& d = rules_->slos()[ref];
      if (!rules::matchesAll(d.matchers, facts)) continue;
      if (!(s.value >= 0) || s.value > 1e15) continue;  // counts: non-negative and finite
      auto& r = slos_.at(d.name);
      uint64_t n = static_cast<uint64_t>(std::llround(s.value));
      bool good = s.metric == d.good_metric;
      if (!r.buckets.add(s.at_ms, good ? n : 0, good ? 0 : n))
        continue;  // older than the longest window
      ++fed;
      int64_t minute = s.at_ms >= 0 ? s.at_ms / 60'000 : (s.at_ms - 59'999) / 60'000;
      dirty_.slo_minutes.emplace_back(d.name, minute);
      if (good)
        r.good_total += n;
      else
        r.valid_total += n;
    }
  }
  return fed;
}

void Evaluator::evaluateSignals(int64_t now) {
  next_signals_ = now + 10'000;
  if (now >= next_signal_prune_) {  // stored minutes and samples beyond each rule's window
    next_signal_prune_ = now + 600'000;
    for (const auto& [name, r] : slos_)
      dirty_.prune_slo.emplace_back(name, (now - r.buckets.longest()) / 60'000 - 1);
    for (const auto& d : rules_->capacity())
      dirty_.prune_capacity.emplace_back(d.name, now - d.window_ms);
  }
  for (const auto& d : rules_->slos()) {
    auto& r = slos_.at(d.name);
    auto total = r.buckets.sum(now, d.period_ms);
    auto b = sla::burn(total, d.slo_ppb);
    r.no_data = b.no_data;
    // Budget left of the period: 1 - consumed, where consumed = error ratio / allowed ratio.
    r.budget_remaining = b.no_data ? 1 : 1 - b.burn;
    for (size_t w = 0; w < d.windows.size(); ++w) {
      const auto& win = d.windows[w];
      auto lb = sla::burn(r.buckets.sum(now, win.long_ms), d.slo_ppb);
      auto sb = sla::burn(r.buckets.sum(now, win.short_ms), d.slo_ppb);
      r.burn_long[w] = lb.burn;
      r.burn_short[w] = sb.burn;
      double threshold = sla::burnThreshold(win.budget_fraction, d.period_ms, win.long_ms);
      // No data is a state: it neither raises nor clears an alert.
      if (lb.no_data || sb.no_data) continue;
      bool firing = lb.burn >= threshold && sb.burn >= threshold;
      if (firing == static_cast<bool>(r.firing[w])) continue;
      r.firing[w] = firing;
      std::string window = durationLabel(win.long_ms) + "/" + durationLabel(win.short_ms);
      auto labels = d.labels;
      labels.emplace_back("window", window);
      labels.emplace_back("slo", d.name);
      raise(d.name, "slo-burn-" + std::to_string(w), d.service,
            win.page ? d.page_severity : d.ticket_severity, firing, labels,
            firing
                ? "SLO " + d.name + " burns its error budget at " + fixed(lb.burn, 2) + "x over " +
                      durationLabel(win.long_ms) + " and " + fixed(sb.burn, 2) + "x over " +
                      durationLabel(win.short_ms) + " (threshold " + fixed(threshold, 2) + ")"
                : "SLO " + d.name + " burn rate back under " + fixed(threshold, 2) + " over " +
                      window,
            now);
    }
  }
  for (const auto& d : rules_->capacity()) {
    if (!d.forecast) continue;
    auto& r = capacity_.at(d.name);
    auto keep = std::find_if(r.samples.begin(), r.samples.end(),
                             [&](const auto& p) { return p.first >= now - d.window_ms; });
    r.samples.erase(r.samples.begin(), keep);
    r.fit = sla::leastSquares(r.samples, now, d.min_samples);
    r.time_left_ms = r.fit ? r.fit->timeLeftMs(d.limit) : std::nullopt;
    bool firing = r.fit && r.time_left_ms && *r.time_left_ms <= static_cast<double>(d.horizon_ms) &&
                  r.fit->r_squared >= d.min_r_squared;
    if (firing == r.forecast_firing) continue;
    r.forecast_firing = firing;
    auto labels = d.labels;
    labels.emplace_back("capacity", d.name);
    raise(d.name, "capacity-forecast", d.service, d.severity, firing, labels,
          firing ? d.metric + " reaches " + fixed(d.limit, 4) + " in " +
                       fixed(*r.time_left_ms / 3'600'000.0, 1) + " h at the trend of the last " +
                       durationLabel(d.window_ms) + " (R² " + fixed(r.fit->r_squared, 3) + ")"
                 : d.metric + " no longer forecast to reach " + fixed(d.limit, 4) + " within " +
                       durationLabel(d.horizon_ms),
          now);
  }
  // Time-based SLIs: the bad-time ratio over each window pair of an agreement's availability.
  for (uint32_t a = 0; a < rules_->agreements().size(); ++a) {
    const auto& ag = rules_->agreements()[a];
    if (!ag.burn_alerts || !ag.slo_ppb) continue;
    auto& burns = agreement_burn_[ag.name];
    auto& firing = agreement_burn_firing_[ag.name];
    burns.assign(ag.burn_windows.size() * 2, 0);
    firing.resize(ag.burn_windows.size(), 0);
    const auto& cal = rules_->calendars()[ag.calendar];
    sla::Ms period =
        sla::periodAt(ag.period, cal, now).end - sla::periodAt(ag.period, cal, now).start;
    auto ratio = [&](sla::Ms w) -> std::optional<double> {
      auto av = window(a, now - w, now);
      if (av.measured_ms <= 0) return std::nullopt;
      double allowed = static_cast<double>(sla::kPpb - ag.slo_ppb) / sla::kPpb;
      return av.downtime_net_ms / static_cast<double>(av.measured_ms) / allowed;
    };
    for (size_t w = 0; w < ag.burn_windows.size(); ++w) {
      const auto& win = ag.burn_windows[w];
      auto lb = ratio(win.long_ms), sb = ratio(win.short_ms);
      burns[2 * w] = lb.value_or(0);
      burns[2 * w + 1] = sb.value_or(0);
      if (!lb || !sb) continue;
      double threshold = sla::burnThreshold(win.budget_fraction, period, win.long_ms);
      bool on = *lb >= threshold && *sb >= threshold;
      if (on == static_cast<bool>(firing[w])) continue;
      firing[w] = on;
      std::vector<std::pair<std::string, std::string>> labels{
          {"window", durationLabel(win.long_ms) + "/" + durationLabel(win.short_ms)},
          {"sla", ag.name}};
      raise(ag.name, "sla-burn-" + std::to_string(w), ag.service, win.page ? 5 : 2, on, labels,
            on ? "Agreement " + ag.name + " burns its downtime budget at " + fixed(*lb, 2) +
                     "x over " + durationLabel(win.long_ms) + " (threshold " + fixed(threshold, 2) +
                     ")"
               : "Agreement " + ag.name + " burn rate back under " + fixed(threshold, 2),
            now);
    }
  }
}

void Evaluator::restoreSignals(Restored& r) {
  for (const auto& [name, minute, good, valid] : r.slo_minutes) {
    auto it = slos_.find(name);
    if (it == slos_.end()) continue;  // the SLO left the rule files
    it->second.buckets.add(minute * 60'000, good, valid);
  }
  for (auto& [name, state] : r.capacity_states) {
    auto it = capacity_.find(name);
    if (it == capacity_.end()) continue;
    auto& mine = it->second;
    // The rule's current thresholds stay; what it had seen comes back.
    mine.threshold.raised = state.threshold.raised;
    mine.threshold.above_since = state.threshold.above_since;
    mine.threshold.below_since = state.threshold.below_since;
    mine.forecast_firing = state.forecast_firing;
    mine.last_ms = state.last_ms;
    mine.last_value = state.last_value;
  }
  for (const auto& [name, at, value] : r.capacity_samples) {
    auto it = capacity_.find(name);
    if (it != capacity_.end()) it->second.samples.emplace_back(at, value);
  }
  next_signals_ = 0;
}

}  // namespace triaged::engine
