// The SLA arithmetic (triaged/rules/sla.h), part: Burn-rate thresholds and per-minute SLO buckets.
// Semantics and test vectors: docs/sla.md.
#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "civil_time.h"
#include "triaged/rules/sla.h"

namespace triaged::rules::sla {

// ---- Burn rates and SLO buckets -------------------------------------------------------------

double burnThreshold(double budget_fraction, Ms period_ms, Ms long_window_ms) {
  return budget_fraction * static_cast<double>(period_ms) / static_cast<double>(long_window_ms);
}

std::vector<BurnWindow> defaultBurnWindows() {
  const Ms h = 3'600'000, m = 60'000;
  return {{1 * h, 5 * m, 0.02, true},
          {6 * h, 30 * m, 0.05, true},
          {24 * h, 2 * h, 0.10, false},
          {72 * h, 6 * h, 0.10, false}};
}

SloBuckets::SloBuckets(Ms longest_window_ms)
    : minutes_(static_cast<size_t>(longest_window_ms / 60'000 + 2)) {}

bool SloBuckets::add(Ms t, uint64_t good, uint64_t valid) {
  int64_t minute = t >= 0 ? t / 60'000 : (t - 59'999) / 60'000;
  size_t n = minutes_.size();
  if (newest_ != INT64_MIN && minute <= newest_ - static_cast<int64_t>(n))
    return false;  // older than the ring
  newest_ = std::max(newest_, minute);
  Bucket& b = minutes_[static_cast<size_t>(
      ((minute % static_cast<int64_t>(n)) + static_cast<int64_t>(n)) % static_cast<int64_t>(n))];
  if (b.minute > minute) return false;  // older than the ring holds
  if (b.minute < minute) b = Bucket{minute, 0, 0};
  b.good += good;
  b.valid += valid;
  return true;
}

SloBuckets::Sums SloBuckets::sum(Ms now, Ms window_ms) const {
  Sums s;
  int64_t last = now >= 0 ? now / 60'000 : (now - 59'999) / 60'000;
  int64_t count =
      std::min<int64_t>((window_ms + 59'999) / 60'000, static_cast<int64_t>(minutes_.size()));
  int64_t n = static_cast<int64_t>(minutes_.size());
  for (int64_t m = last - count + 1; m <= last; ++m) {
    const Bucket& b = minutes_[static_cast<size_t>(((m % n) + n) % n)];
    if (b.minute != m) continue;
    s.good += b.good;
    s.valid += b.valid;
  }
  return s;
}

SloBuckets::Sums SloBuckets::minute(int64_t m) const {
  int64_t n = static_cast<int64_t>(minutes_.size());
  const Bucket& b = minutes_[static_cast<size_t>(((m % n) + n) % n)];
  if (b.minute != m) return {};
  return {b.good, b.valid};
}

Burn burn(const SloBuckets::Sums& s, int64_t slo_ppb) {
  Burn b;
  if (s.valid == 0) return b;
  b.no_data = false;
  uint64_t bad = s.valid - std::min(s.good, s.valid);
  b.error_ratio = static_cast<double>(bad) / static_cast<double>(s.valid);
  double budget = static_cast<double>(kPpb - slo_ppb) / kPpb;
  b.burn = budget > 0 ? b.error_ratio / budget : 0;
  return b;
}

}  // namespace triaged::rules::sla
