// The SLA arithmetic (triaged/rules/sla.h), part: Zabbix-compatible status propagation and status
// rules. Semantics and test vectors: docs/sla.md.
#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "civil_time.h"
#include "triaged/rules/sla.h"

namespace triaged::rules::sla {

// ---- Status propagation ---------------------------------------------------------------------

int propagate(int status, const Propagation& p) {
  if (status < 0) return -1;  // never applied to OK
  switch (p.kind) {
    case PropagationKind::kAsIs:
      return status;
    case PropagationKind::kIncrease:
      return std::min(5, status + p.value);
    case PropagationKind::kDecrease:
      return std::max(0, status - p.value);
    case PropagationKind::kFixed:
      return p.value;
    case PropagationKind::kIgnore:
      return status;
  }
  return status;
}

namespace {
struct Totals {
  int64_t count = 0, weight = 0, n = 0, total_weight = 0;
};
Totals totalsAtLeast(const std::vector<ChildStatus>& children, int limit) {
  Totals t;
  for (const auto& c : children) {
    if (c.propagation.kind == PropagationKind::kIgnore) continue;
    int s = propagate(c.status, c.propagation);
    ++t.n;
    t.total_weight += c.weight;
    if (s >= limit) {
      ++t.count;
      t.weight += c.weight;
    }
  }
  return t;
}
}  // namespace

bool ruleHolds(const StatusRule& r, const std::vector<ChildStatus>& children) {
  bool less = r.type == StatusRuleType::kNL || r.type == StatusRuleType::kNPL ||
              r.type == StatusRuleType::kWL || r.type == StatusRuleType::kWPL;
  // "Fewer than N with status <= L" is "total - count(status >= L + 1) < N".
  Totals t = totalsAtLeast(children, less ? r.limit_status + 1 : r.limit_status);
  int64_t N = r.limit_value;
  switch (r.type) {
    case StatusRuleType::kNGe:
      return t.count >= N;
    case StatusRuleType::kNPGe:
      return t.n > 0 && 100 * t.count >= N * t.n;
    case StatusRuleType::kNL:
      return t.n - t.count < N;
    case StatusRuleType::kNPL:
      return t.n > 0 && 100 * (t.n - t.count) < N * t.n;
    case StatusRuleType::kWGe:
      return t.weight >= N;
    case StatusRuleType::kWPGe:
      return t.total_weight > 0 &&
             static_cast<__int128>(100) * t.weight >= static_cast<__int128>(N) * t.total_weight;
    case StatusRuleType::kWL:
      return t.total_weight - t.weight < N;
    case StatusRuleType::kWPL:
      return t.total_weight > 0 && static_cast<__int128>(100) * (t.total_weight - t.weight) <
                                       static_cast<__int128>(N) * t.total_weight;
  }
  return false;
}

int serviceStatus(Algorithm alg, const std::vector<ChildStatus>& children,
                  const std::vector<StatusRule>& rules) {
  int worst = -1;
  bool any_ok = false, any = false;
  for (const auto& c : children) {
    if (c.propagation.kind == PropagationKind::kIgnore) continue;
    any = true;
    int s = propagate(c.status, c.propagation);
    if (s < 0) any_ok = true;
    worst = std::max(worst, s);
  }
  if (!any) return -1;
  int status = alg == Algorithm::kSetOk                         ? -1
               : alg == Algorithm::kMostCriticalIfAll && any_ok ? -1
                                                                : worst;
  for (const auto& r : rules)
    if (ruleHolds(r, children)) status = std::max(status, r.new_status);
  return status;
}

}  // namespace triaged::rules::sla
