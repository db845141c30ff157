// The SLA arithmetic (triaged/rules/sla.h), part: Reporting periods: day, ISO week, month, quarter,
// year, rolling; labels. Semantics and test vectors: docs/sla.md.
#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "civil_time.h"
#include "triaged/rules/sla.h"

namespace triaged::rules::sla {

// ---- Periods ------------------------------------------------------------------------------

namespace {

Period monthPeriod(const Calendar& cal, int y, unsigned m, unsigned months) {
  date::year_month start{date::year(y), date::month(m)};
  auto end = start + date::months(months);
  Period p;
  p.start = cal.dayStart(dayOf(start / 1));
  p.end = cal.dayStart(dayOf(end / 1));
  char buf[32];
  if (months == 12)
    std::snprintf(buf, sizeof buf, "%04d", y);
  else if (months == 3)
    std::snprintf(buf, sizeof buf, "%04d-Q%u", y, (m - 1) / 3 + 1);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02u", y, m);
  p.label = buf;
  return p;
}

Period weekPeriod(const Calendar& cal, int32_t monday) {
  Period p;
  p.start = cal.dayStart(monday);
  p.end = cal.dayStart(monday + 7);
  iso_week::year_weeknum_weekday w{sys_days(days(monday))};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-W%02u", static_cast<int>(w.year()),
                static_cast<unsigned>(w.weeknum()));
  p.label = buf;
  return p;
}

Period dayPeriod(const Calendar& cal, int32_t day) {
  return Period{cal.dayStart(day), cal.dayStart(day + 1), formatLocalDate(day)};
}

}  // namespace

Period periodAt(const PeriodSpec& spec, const Calendar& cal, Ms t) {
  int32_t day = cal.localDay(t);
  auto d = ymd(day);
  int y = static_cast<int>(d.year());
  unsigned m = static_cast<unsigned>(d.month());
  switch (spec.kind) {
    case PeriodKind::kDay:
      return dayPeriod(cal, day);
    case PeriodKind::kWeek:
      return weekPeriod(cal, day - cal.weekdayOf(day));
    case PeriodKind::kMonth:
      return monthPeriod(cal, y, m, 1);
    case PeriodKind::kQuarter:
      return monthPeriod(cal, y, (m - 1) / 3 * 3 + 1, 3);
    case PeriodKind::kYear:
      return monthPeriod(cal, y, 1, 12);
    case PeriodKind::kRolling:
      return Period{t - spec.rolling_ms, t,
                    "rolling-" + std::to_string(spec.rolling_ms / 86'400'000) + "d"};
  }
  return {};
}

Period previousPeriod(const PeriodSpec& spec, const Calendar& cal, const Period& p) {
  if (spec.kind == PeriodKind::kRolling)
    return Period{p.start - spec.rolling_ms, p.start, p.label + "-previous"};
  return periodAt(spec, cal, p.start - 1);
}

std::optional<Period> parsePeriod(const std::string& label, const Calendar& cal) {
  int y = 0;
  unsigned n = 0;
  char tail;
  int32_t day;
  if (parseLocalDate(label, day)) return dayPeriod(cal, day);
  if (label.size() == 4 && std::sscanf(label.c_str(), "%4d%c", &y, &tail) == 1)
    return monthPeriod(cal, y, 1, 12);
  if (label.size() == 7 && std::sscanf(label.c_str(), "%4d-Q%1u%c", &y, &n, &tail) == 2 && n >= 1 &&
      n <= 4)
    return monthPeriod(cal, y, (n - 1) * 3 + 1, 3);
  if (label.size() == 8 && std::sscanf(label.c_str(), "%4d-W%2u%c", &y, &n, &tail) == 2 && n >= 1 &&
      n <= 53) {
    iso_week::year_weeknum_weekday w{iso_week::year(y), iso_week::weeknum(n), iso_week::mon};
    if (!w.ok()) return std::nullopt;
    return weekPeriod(cal, static_cast<int32_t>(sys_days(w).time_since_epoch().count()));
  }
  if (label.size() == 7 && std::sscanf(label.c_str(), "%4d-%2u%c", &y, &n, &tail) == 2 && n >= 1 &&
      n <= 12)
    return monthPeriod(cal, y, n, 1);
  return std::nullopt;
}

}  // namespace triaged::rules::sla
