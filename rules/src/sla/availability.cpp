// The SLA arithmetic (triaged/rules/sla.h), part: Availability, error budgets and reliability
// (MTRS, MTBF, MTBSI). Semantics and test vectors: docs/sla.md.
#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "civil_time.h"
#include "triaged/rules/sla.h"

namespace triaged::rules::sla {

// ---- Availability -------------------------------------------------------------------------

const char* stateName(State s) {
  switch (s) {
    case State::kOk:
      return "ok";
    case State::kDegraded:
      return "degraded";
    case State::kPartial:
      return "partial";
    case State::kDown:
      return "down";
    case State::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Availability availability(const AvailabilityInput& in) {
  Availability r;
  const Ms kMin = INT64_MIN / 2;
  Intervals m_all = normalize(in.agreed_all);
  Intervals m_now = clip(m_all, kMin, in.now);
  Intervals x;
  for (const auto& e : in.excluded) x.push_back({e.a, e.b});
  x = normalize(std::move(x));
  r.agreed_ms = totalLength(m_now);
  r.agreed_total_ms = totalLength(m_all);
  Intervals x_now = intersect(m_now, x);
  r.excluded_ms = totalLength(x_now);
  for (const auto& e : in.excluded) {
    bool seen = std::any_of(r.excluded_by_reason.begin(), r.excluded_by_reason.end(),
                            [&](const auto& p) { return p.first == e.reason; });
    if (seen) continue;
    Intervals mine;  // every exclusion of this reason, overlaps counted once
    for (const auto& f : in.excluded)
      if (f.reason == e.reason) mine.push_back({f.a, f.b});
    Ms len = totalLength(intersect(m_now, normalize(std::move(mine))));
    if (len > 0) r.excluded_by_reason.emplace_back(e.reason, len);
  }
  // Known time (any state but UNKNOWN); the rest of M_now is unknown.
  Intervals known;
  for (const auto& p : in.timeline)
    if (p.state != State::kUnknown) known.push_back({p.a, p.b});
  known = normalize(std::move(known));
  Intervals u_all = subtract(m_now, known);  // unknown, maintenance included
  Intervals u = subtract(u_all, x);
  r.unknown_ms = totalLength(u);
  __int128 net = 0, gross = 0;  // ppb·ms
  for (const auto& p : in.timeline) {
    int64_t w = in.weights.of(p.state);
    if (w <= 0 || p.state == State::kUnknown) continue;
    Intervals seg = clip(m_now, p.a, p.b);
    if (seg.empty()) continue;
    Intervals outside = subtract(seg, x), inside = intersect(seg, x);
    gross += static_cast<__int128>(w) * totalLength(seg);
    net += static_cast<__int128>(w) * totalLength(outside);
    for (const auto& i : outside) r.downtime.push_back({i.a, i.b, p.state, false, p.incidents});
    for (const auto& i : inside) r.downtime.push_back({i.a, i.b, p.state, true, p.incidents});
  }
  Ms measured = r.agreed_ms - r.excluded_ms;
  if (in.unknown == UnknownPolicy::kExclude) {
    measured -= r.unknown_ms;
  } else if (in.unknown == UnknownPolicy::kCountDown) {
    net += static_cast<__int128>(kPpb) * r.unknown_ms;
    gross += static_cast<__int128>(kPpb) * totalLength(u_all);
    for (const auto& i : u_all)
      r.downtime.push_back(
          {i.a,
           i.b,
           State::kUnknown,
           !intersect(Intervals{i}, x).empty() && subtract(Intervals{i}, x).empty(),
           {}});
  }
  std::sort(r.downtime.begin(), r.downtime.end(),
            [](const auto& p, const auto& q) { return p.a < q.a; });
  r.measured_ms = measured;
  r.downtime_net_ms = static_cast<double>(net) / kPpb;
  r.downtime_gross_ms = static_cast<double>(gross) / kPpb;
  if (measured > 0)
    r.to_date = (static_cast<double>(measured) - r.downtime_net_ms) / static_cast<double>(measured);
  Ms all_minus_x = totalLength(subtract(m_all, x));
  if (all_minus_x > 0)
    r.projected =
        (static_cast<double>(all_minus_x) - r.downtime_net_ms) / static_cast<double>(all_minus_x);
  r.budget_total_ms =
      static_cast<int64_t>(static_cast<__int128>(all_minus_x) * (kPpb - in.slo_ppb) / kPpb);
  r.budget_remaining_ms = static_cast<double>(r.budget_total_ms) - r.downtime_net_ms;
  if (r.budget_total_ms > 0)
    r.budget_consumed = r.downtime_net_ms / static_cast<double>(r.budget_total_ms);
  r.at_risk = r.budget_remaining_ms < 0;
  return r;
}

// ---- Reliability --------------------------------------------------------------------------

Distribution distribution(std::vector<double> v) {
  Distribution d;
  d.n = v.size();
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  d.mean = sum / static_cast<double>(v.size());
  size_t n = v.size();
  d.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  size_t rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n)));  // nearest rank
  d.p90 = v[std::max<size_t>(rank, 1) - 1];
  return d;
}

Reliability reliability(const std::vector<StatePiece>& timeline, const Intervals& agreed,
                        const Weights& w, int64_t threshold_ppb) {
  Intervals failing;
  for (const auto& p : timeline)
    if (p.state != State::kUnknown && w.of(p.state) >= threshold_ppb && w.of(p.state) > 0)
      failing.push_back({p.a, p.b});
  // Adjacent failing pieces (DOWN then DOWN with another incident) are one failure.
  Intervals failures = intersect(normalize(std::move(failing)), normalize(agreed));
  Reliability r;
  r.failures = failures.size();
  std::vector<double> durations;
  for (const auto& f : failures) durations.push_back(static_cast<double>(f.length()));
  r.restore_ms = distribution(durations);
  if (failures.empty()) return r;
  double m = static_cast<double>(totalLength(normalize(agreed)));
  double n = static_cast<double>(failures.size());
  double down = r.restore_ms.mean * n;
  r.mtbf_ms = (m - down) / n;
  r.mtbsi_ms = m / n;
  r.availability = *r.mtbf_ms / (*r.mtbf_ms + r.restore_ms.mean);
  return r;
}

}  // namespace triaged::rules::sla
