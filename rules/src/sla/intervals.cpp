// The SLA arithmetic (triaged/rules/sla.h), part: Interval sets: normalize, intersect, subtract,
// clip. Semantics and test vectors: docs/sla.md.
#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "civil_time.h"
#include "triaged/rules/sla.h"

namespace triaged::rules::sla {

// ---- Interval sets ----------------------------------------------------------------------

Intervals normalize(Intervals v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](const Interval& i) { return i.b <= i.a; }),
          v.end());
  std::sort(v.begin(), v.end(), [](const Interval& x, const Interval& y) { return x.a < y.a; });
  Intervals out;
  for (const auto& i : v) {
    if (!out.empty() && i.a <= out.back().b)
      out.back().b = std::max(out.back().b, i.b);
    else
      out.push_back(i);
  }
  return out;
}

Intervals intersect(const Intervals& x, const Intervals& y) {
  Intervals out;
  size_t i = 0, j = 0;
  while (i < x.size() && j < y.size()) {
    Ms a = std::max(x[i].a, y[j].a), b = std::min(x[i].b, y[j].b);
    if (a < b) out.push_back({a, b});
    if (x[i].b < y[j].b)
      ++i;
    else
      ++j;
  }
  return out;
}

Intervals subtract(const Intervals& x, const Intervals& y) {
  Intervals out;
  size_t j = 0;
  for (const auto& i : x) {
    Ms a = i.a;
    while (j < y.size() && y[j].b <= a) ++j;
    size_t k = j;
    while (k < y.size() && y[k].a < i.b) {
      if (y[k].a > a) out.push_back({a, y[k].a});
      a = std::max(a, y[k].b);
      if (a >= i.b) break;
      ++k;
    }
    if (a < i.b) out.push_back({a, i.b});
  }
  return out;
}

Intervals clip(const Intervals& x, Ms a, Ms b) { return intersect(x, Intervals{{a, b}}); }

Ms totalLength(const Intervals& x) {
  Ms n = 0;
  for (const auto& i : x) n += i.length();
  return n;
}

}  // namespace triaged::rules::sla
