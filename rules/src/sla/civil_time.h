// Civil time helpers shared by the SLA arithmetic's files (calendars, periods, cron) and the
// on-call rotations (oncall.cpp): local
// wall time to UTC in a zone (a time in a DST gap moves to the gap's end, an ambiguous one
// takes the earlier instant), and civil day numbers. Internal to rules/src.
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

// Local wall time in ms (as if it were UTC) to UTC.
inline Ms localToUtc(const date::time_zone* zone, Ms local_ms) {
  if (!zone) return local_ms;
  date::local_time<milliseconds> lt{milliseconds(local_ms)};
  auto info = zone->get_info(lt);
  if (info.result == date::local_info::nonexistent)  // in a gap: the end of the gap
    return std::chrono::duration_cast<milliseconds>(info.first.end.time_since_epoch()).count();
  return std::chrono::duration_cast<milliseconds>(
             zone->to_sys(lt, date::choose::earliest).time_since_epoch())
      .count();
}

inline Ms toUtc(const date::time_zone* zone, int32_t day, int minute) {
  return localToUtc(zone, (static_cast<Ms>(day) * 1440 + minute) * 60'000);
}

inline date::year_month_day ymd(int32_t day) { return date::year_month_day(sys_days(days(day))); }
inline int32_t dayOf(const date::year_month_day& d) {
  return static_cast<int32_t>(sys_days(d).time_since_epoch().count());
}

}  // namespace triaged::rules::sla
