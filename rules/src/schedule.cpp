#include "triaged/rules/schedule.h"

#include <date/date.h>
#include <date/tz.h>

#include <chrono>
#include <sstream>

namespace triaged::rules {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::minutes;
using date::local_time;
using date::sys_time;

int64_t Schedule::activeUntil(int64_t now_ms) const {
  if (!weekly) return now_ms >= start_ms && now_ms < end_ms ? end_ms : 0;
  if (!days_mask || duration_ms <= 0) return 0;
  sys_time<milliseconds> now{milliseconds(now_ms)};
  local_time<milliseconds> local =
      zone ? zone->to_local(now) : local_time<milliseconds>(now.time_since_epoch());
  auto today = date::floor<date::days>(local);
  // An occurrence that covers now started at most duration (+1 day of slack) ago.
  int64_t back = duration_ms / 86'400'000 + 1;
  int64_t best = 0;
  for (int64_t d = back; d >= 0; --d) {
    auto day = today - date::days(d);
    unsigned wd = date::weekday(date::sys_days(day.time_since_epoch())).iso_encoding();  // 1=Mon
    if (!(days_mask & (1u << (wd - 1)))) continue;
    auto local_start = local_time<milliseconds>(day) + minutes(start_minute);
    int64_t start;
    if (zone) {
      // A start in a DST gap moves to the end of the gap; an ambiguous one takes the first.
      auto info = zone->get_info(local_start);
      if (info.result == date::local_info::nonexistent)
        start = duration_cast<milliseconds>(info.first.end.time_since_epoch()).count();
      else
        start = duration_cast<milliseconds>(
                    zone->to_sys(local_start, date::choose::earliest).time_since_epoch())
                    .count();
    } else {
      start = local_start.time_since_epoch().count();
    }
    if (now_ms >= start && now_ms < start + duration_ms) best = std::max(best, start + duration_ms);
  }
  return best;
}

bool parseTimestamp(const std::string& text, int64_t& out_ms) {
  std::string t = text;
  if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) t.replace(t.size() - 1, 1, "+00:00");
  std::istringstream in(t);
  sys_time<milliseconds> tp;
  in >> date::parse("%FT%T%Ez", tp);
  if (in.fail()) return false;
  in.peek();
  if (!in.eof()) return false;
  out_ms = tp.time_since_epoch().count();
  return true;
}

bool findZone(const std::string& name, const date::time_zone*& out) {
  try {
    out = date::locate_zone(name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace triaged::rules
