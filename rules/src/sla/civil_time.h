// Civil time helpers shared by the SLA arithmetic's files (calendars, periods, cron): local
// wall time to UTC in a zone (a time in a DST gap moves to the gap's end, an ambiguous one
// takes the earlier instant), and civil day numbers. Internal to rules/src/sla.
#pragma once

#include <date/date.h>
#include <date/tz.h>

#include <chrono>

#include "triaged/rules/sla.h"

namespace triaged::rules::sla {

using date::days;
using date::local_days;
using date::sys_days;
using std::chrono::milliseconds;
using std::chrono::minutes;

inline Ms toUtc(const date::time_zone* zone, int32_t day, int minute) {
  auto lt = local_days(days(day)) + minutes(minute);
  if (!zone) return std::chrono::duration_cast<milliseconds>(lt.time_since_epoch()).count();
  auto info = zone->get_info(lt);
  if (info.result == date::local_info::nonexistent)  // in a gap: the end of the gap
    return std::chrono::duration_cast<milliseconds>(info.first.end.time_since_epoch()).count();
  return std::chrono::duration_cast<milliseconds>(
             zone->to_sys(lt, date::choose::earliest).time_since_epoch())
      .count();
}

inline date::year_month_day ymd(int32_t day) { return date::year_month_day(sys_days(days(day))); }
inline int32_t dayOf(const date::year_month_day& d) {
  return static_cast<int32_t>(sys_days(d).time_since_epoch().count());
}

}  // namespace triaged::rules::sla
