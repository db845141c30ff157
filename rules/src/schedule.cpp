#include "triaged/rules/schedule.h"

#include <date/date.h>
#include <date/tz.h>

#include <chrono>
#include <sstream>
#include <string_view>

namespace triaged::rules {

using date::local_time;
using date::sys_time;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::minutes;

namespace {

// Start of the weekly occurrence on local day `day` (a start in a DST gap moves to the end
// of the gap; an ambiguous one takes the first instant).
int64_t occurrenceStart(const date::time_zone* zone, date::local_days day, int start_minute) {
  auto local_start = local_time<milliseconds>(day) + minutes(start_minute);
  if (!zone) return local_start.time_since_epoch().count();
  auto info = zone->get_info(local_start);
  if (info.result == date::local_info::nonexistent)
    return duration_cast<milliseconds>(info.first.end.time_since_epoch()).count();
  return duration_cast<milliseconds>(
             zone->to_sys(local_start, date::choose::earliest).time_since_epoch())
      .count();
}

date::local_days localDay(const date::time_zone* zone, int64_t ms) {
  sys_time<milliseconds> t{milliseconds(ms)};
  local_time<milliseconds> local =
      zone ? zone->to_local(t) : local_time<milliseconds>(t.time_since_epoch());
  return date::floor<date::days>(local);
}

bool occursOn(const Schedule& s, date::local_days day) {
  date::sys_days d(day.time_since_epoch());
  unsigned wd = date::weekday(d).iso_encoding();  // 1 = Monday
  if (s.weekly) return s.days_mask & (1u << (wd - 1));
  date::year_month_day ymd(d);
  unsigned dom = static_cast<unsigned>(ymd.day());
  if (s.month_day) return dom == static_cast<unsigned>(s.month_day);
  if (static_cast<int>(wd) != s.weekday) return false;
  if (s.nth > 0) return static_cast<int>((dom - 1) / 7 + 1) == s.nth;
  unsigned last = static_cast<unsigned>((ymd.year() / ymd.month() / date::last).day());
  return dom + 7 > last;  // the last such weekday of the month
}

bool valid(const Schedule& s) {
  if (s.duration_ms <= 0) return false;
  if (s.weekly) return s.days_mask != 0;
  return s.month_day
             ? s.month_day >= 1 && s.month_day <= 31
             : s.weekday >= 1 && s.weekday <= 7 && (s.nth == -1 || (s.nth >= 1 && s.nth <= 5));
}

}  // namespace

int64_t Schedule::activeUntil(int64_t now_ms) const {
  if (!recurring()) return now_ms >= start_ms && now_ms < end_ms ? end_ms : 0;
  if (!valid(*this)) return 0;
  auto today = localDay(zone, now_ms);
  // An occurrence that covers now started at most duration (+1 day of slack) ago.
  int64_t back = duration_ms / 86'400'000 + 1;
  int64_t best = 0;
  for (int64_t d = back; d >= 0; --d) {
    auto day = today - date::days(d);
    if (!occursOn(*this, day)) continue;
    int64_t start = occurrenceStart(zone, day, start_minute);
    if (now_ms >= start && now_ms < start + duration_ms) best = std::max(best, start + duration_ms);
  }
  return best;
}

std::vector<std::pair<int64_t, int64_t>> Schedule::occurrences(int64_t from_ms,
                                                               int64_t to_ms) const {
  std::vector<std::pair<int64_t, int64_t>> out;
  if (!recurring()) {
    if (start_ms < to_ms && end_ms > from_ms) out.emplace_back(start_ms, end_ms);
    return out;
  }
  if (!valid(*this) || to_ms <= from_ms) return out;
  auto first = localDay(zone, from_ms) - date::days(duration_ms / 86'400'000 + 1);
  auto last = localDay(zone, to_ms - 1);
  for (auto day = first; day <= last; day += date::days(1)) {
    if (!occursOn(*this, day)) continue;
    int64_t start = occurrenceStart(zone, day, start_minute);
    if (start < to_ms && start + duration_ms > from_ms)
      out.emplace_back(start, start + duration_ms);
  }
  return out;
}

int64_t Schedule::nextEdge(int64_t now_ms) const {
  int64_t next = INT64_MAX;
  auto consider = [&](int64_t t) {
    if (t > now_ms) next = std::min(next, t);
  };
  if (!recurring()) {
    consider(start_ms);
    consider(end_ms);
    return next;
  }
  constexpr int64_t kStep = 32 * 86'400'000LL;  // a month at most between occurrences
  for (int k = 0; k < 13 && next == INT64_MAX; ++k)
    for (auto [s, e] : occurrences(now_ms + k * kStep, now_ms + (k + 1) * kStep)) {
      consider(s);
      consider(e);
    }
  return next;
}

namespace {

// Only text of RFC 3339's shape reaches date::parse: it reads %T's seconds as a long double and
// converts them unchecked, which is undefined for garbage in the seconds (found by fuzz_rules).
bool rfc3339Shape(std::string_view t) {
  auto digits = [&](size_t at, size_t n) {
    if (at + n > t.size()) return false;
    for (size_t i = at; i < at + n; ++i)
      if (t[i] < '0' || t[i] > '9') return false;
    return true;
  };
  if (!digits(0, 4) || t.size() < 20 || t[4] != '-' || !digits(5, 2) || t[7] != '-' ||
      !digits(8, 2) || t[10] != 'T' || !digits(11, 2) || t[13] != ':' || !digits(14, 2) ||
      t[16] != ':' || !digits(17, 2))
    return false;
  size_t i = 19;
  if (t[i] == '.') {
    size_t first = ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    if (i == first || i - first > 9) return false;
  }
  std::string_view zone = t.substr(i);
  if (zone == "Z" || zone == "z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && digits(i + 1, 2) &&
         zone[3] == ':' && digits(i + 4, 2);
}

}  // namespace

bool parseTimestamp(const std::string& text, int64_t& out_ms) {
  if (!rfc3339Shape(text)) return false;
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
