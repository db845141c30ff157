// The SLA arithmetic (triaged/rules/sla.h), part: Service-hour calendars: agreed time per local
// civil date, holidays. Semantics and test vectors: docs/sla.md.
#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "civil_time.h"
#include "triaged/rules/sla.h"

namespace triaged::rules::sla {

// ---- Calendars ----------------------------------------------------------------------------

int32_t Calendar::localDay(Ms t) const {
  date::sys_time<milliseconds> st{milliseconds(t)};
  if (!zone) return static_cast<int32_t>(date::floor<days>(st).time_since_epoch().count());
  return static_cast<int32_t>(date::floor<days>(zone->to_local(st)).time_since_epoch().count());
}

Ms Calendar::dayStart(int32_t day) const { return toUtc(zone, day, 0); }

int32_t Calendar::weekdayOf(int32_t day) const {
  return static_cast<int32_t>(date::weekday(sys_days(days(day))).iso_encoding()) - 1;
}

Intervals Calendar::agreed(Ms from, Ms to) const {
  if (to <= from) return {};
  int32_t d0 = localDay(from) - 1, d1 = localDay(to - 1);
  Intervals hours_iv;
  if (hours.empty()) {
    hours_iv.push_back({from, to});
  } else {
    for (int32_t d = d0; d <= d1; ++d) {
      int wd = weekdayOf(d);
      for (const auto& h : hours) {
        if (!(h.days_mask & (1u << wd))) continue;
        Ms a = toUtc(zone, d, h.start_minute);
        Ms b = h.end_minute > h.start_minute ? toUtc(zone, d, h.end_minute)
                                             : toUtc(zone, d + 1, h.end_minute);
        hours_iv.push_back({a, b});
      }
    }
    hours_iv = clip(normalize(std::move(hours_iv)), from, to);
  }
  if (holidays.empty()) return hours_iv;
  Intervals off;
  for (const auto& h : holidays) {
    if (h.last_day < d0 || h.first_day > d1 + 1) continue;
    off.push_back({dayStart(h.first_day), dayStart(h.last_day + 1)});
  }
  return subtract(hours_iv, normalize(std::move(off)));
}

bool parseLocalDate(const std::string& text, int32_t& day) {
  int y, m, d;
  char tail;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
    return false;
  date::year_month_day v{date::year(y), date::month(static_cast<unsigned>(m)),
                         date::day(static_cast<unsigned>(d))};
  if (!v.ok()) return false;
  day = dayOf(v);
  return true;
}

std::string formatLocalDate(int32_t day) { return date::format("%F", sys_days(days(day))); }

}  // namespace triaged::rules::sla
