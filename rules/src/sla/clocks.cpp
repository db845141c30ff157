// The SLA arithmetic (triaged/rules/sla.h), part: Business-time clocks: deadlines in agreed time.
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

// ---- Business-time clocks -------------------------------------------------------------------

Ms businessTime(const Calendar& cal, Ms start, Ms t, const Intervals& pauses) {
  if (t <= start) return 0;
  return totalLength(subtract(cal.agreed(start, t), normalize(pauses)));
}

Ms businessDeadline(const Calendar& cal, Ms start, Ms duration, const Intervals& pauses,
                    Ms open_pause_from) {
  Intervals p = normalize(pauses);
  if (open_pause_from > 0)
    p = normalize([&] {
      Intervals q = p;
      q.push_back({open_pause_from, INT64_MAX / 2});
      return q;
    }());
  if (duration <= 0) return start;
  const Ms kChunk = 31LL * 86'400'000;
  Ms acc = 0;
  for (Ms from = start; from < start + 3700LL * 86'400'000; from += kChunk) {
    for (const auto& i : subtract(cal.agreed(from, from + kChunk), p)) {
      if (acc + i.length() >= duration) return i.a + (duration - acc);
      acc += i.length();
    }
  }
  return INT64_MAX;
}

}  // namespace triaged::rules::sla
