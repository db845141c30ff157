// The SLA arithmetic (triaged/rules/sla.h), part: Capacity: least-squares forecasts.
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

// ---- Capacity -------------------------------------------------------------------------------

std::optional<double> Forecast::timeLeftMs(double threshold) const {
  if (slope_per_ms == 0) return std::nullopt;
  double t = (threshold - now_value) / slope_per_ms;
  if (!(t > 0)) return std::nullopt;
  return t;
}

std::optional<Forecast> leastSquares(const std::vector<std::pair<Ms, double>>& samples, Ms now,
                                     size_t n_min) {
  if (samples.size() < std::max<size_t>(n_min, 2)) return std::nullopt;
  // Centre times on the first sample so products of epoch milliseconds stay exact enough.
  double t0 = static_cast<double>(samples.front().first);
  double n = static_cast<double>(samples.size()), st = 0, sx = 0;
  for (const auto& [t, x] : samples) {
    st += static_cast<double>(t) - t0;
    sx += x;
  }
  double tm = st / n, xm = sx / n, stt = 0, stx = 0, sxx = 0;
  for (const auto& [t, x] : samples) {
    double dt = static_cast<double>(t) - t0 - tm, dx = x - xm;
    stt += dt * dt;
    stx += dt * dx;
    sxx += dx * dx;
  }
  if (stt == 0) return std::nullopt;
  Forecast f;
  f.n = samples.size();
  f.slope_per_ms = stx / stt;
  f.now_value = xm + f.slope_per_ms * (static_cast<double>(now) - t0 - tm);
  double ss_res = 0;
  for (const auto& [t, x] : samples) {
    double fit = xm + f.slope_per_ms * (static_cast<double>(t) - t0 - tm);
    ss_res += (x - fit) * (x - fit);
  }
  f.r_squared = sxx == 0 ? 1.0 : 1.0 - ss_res / sxx;
  f.residual_sigma = samples.size() > 2 ? std::sqrt(ss_res / (n - 2)) : 0.0;
  return f;
}

bool Hysteresis::sample(Ms t, double x) {
  if (x >= hi) {
    below_since = -1;
    if (above_since < 0) above_since = t;
    if (!raised && t - above_since >= for_ms) return raised = true;
  } else if (x <= lo) {
    above_since = -1;
    if (below_since < 0) below_since = t;
    if (raised && t - below_since >= clear_ms) {
      raised = false;
      return true;
    }
  } else {
    above_since = below_since = -1;
  }
  return false;
}

}  // namespace triaged::rules::sla
