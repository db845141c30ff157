#include "triaged/rules/oncall.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>

#include "sla/civil_time.h"
#include "triaged/rules/schedule.h"

namespace triaged::rules {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kHorizon = 400 * kDay;

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t toUtc(const date::time_zone* zone, int64_t local_ms) {
  return sla::localToUtc(zone, local_ms);
}

int64_t toLocal(const date::time_zone* zone, int64_t utc_ms) {
  if (!zone) return utc_ms;
  return zone->to_local(date::sys_time<milliseconds>{milliseconds(utc_ms)})
      .time_since_epoch()
      .count();
}

// The hand-off number of a layer at t (shift k runs from handoff(k) to handoff(k + 1)).
int64_t handoff(const OncallLayer& l, const date::time_zone* zone, int64_t k) {
  if (!l.wall_clock) return l.start_ms + k * l.rotation_ms;
  return toUtc(zone, l.start_local_ms + k * l.rotation_ms);
}

int64_t shiftAt(const OncallLayer& l, const date::time_zone* zone, int64_t t) {
  int64_t k = l.wall_clock ? floorDiv(toLocal(zone, t) - l.start_local_ms, l.rotation_ms)
                           : floorDiv(t - l.start_ms, l.rotation_ms);
  // Around a fall-back hour local time is ambiguous: settle on real instants.
  while (handoff(l, zone, k + 1) <= t) ++k;
  while (handoff(l, zone, k) > t) --k;
  return k;
}

bool applies(const OncallLayer& l, const std::vector<sla::Calendar>& calendars, int64_t t) {
  if (l.calendar < 0 || static_cast<size_t>(l.calendar) >= calendars.size()) return true;
  return !calendars[l.calendar].agreed(t, t + 1).empty();
}

const OncallOverride* covering(const std::vector<OncallOverride>& list, int64_t t) {
  for (const auto& o : list)
    if (o.start_ms <= t && t < o.end_ms) return &o;
  return nullptr;
}

}  // namespace

int OncallSchedule::person(const std::string& n) const {
  for (size_t i = 0; i < people.size(); ++i)
    if (people[i].name == n) return static_cast<int>(i);
  return -1;
}

int OncallSchedule::personAt(int64_t t, const std::vector<OncallOverride>& extra,
                             const std::vector<sla::Calendar>& calendars,
                             std::string* source) const {
  const OncallOverride* o = covering(extra, t);
  if (!o) o = covering(overrides, t);
  if (o) {
    if (source) *source = "override";
    return person(o->person);
  }
  for (size_t i = layers.size(); i-- > 0;) {
    const auto& l = layers[i];
    if (l.members.empty() || !applies(l, calendars, t)) continue;
    int64_t k = shiftAt(l, zone, t);
    int64_t n = static_cast<int64_t>(l.members.size());
    if (source) *source = l.name;
    return static_cast<int>(l.members[static_cast<size_t>(((k % n) + n) % n)]);
  }
  if (source) source->clear();
  return -1;
}

int64_t OncallSchedule::nextEdge(int64_t t, const std::vector<OncallOverride>& extra,
                                 const std::vector<sla::Calendar>& calendars) const {
  int64_t best = INT64_MAX;
  for (const auto& l : layers) {
    if (l.members.empty()) continue;
    best = std::min(best, handoff(l, zone, shiftAt(l, zone, t) + 1));
    if (l.calendar >= 0 && static_cast<size_t>(l.calendar) < calendars.size()) {
      auto agreed = calendars[l.calendar].agreed(t + 1, t + 8 * kDay);
      if (!agreed.empty())
        best = std::min(best, agreed.front().a > t + 1 ? agreed.front().a : agreed.front().b);
      else
        best = std::min(best, t + 8 * kDay);
    }
  }
  for (const auto* list : {&overrides, &extra})
    for (const auto& o : *list) {
      if (o.start_ms > t) best = std::min(best, o.start_ms);
      if (o.end_ms > t) best = std::min(best, o.end_ms);
    }
  return best;
}

OncallShift OncallSchedule::at(int64_t t, const std::vector<OncallOverride>& extra,
                               const std::vector<sla::Calendar>& calendars) const {
  OncallShift s;
  s.person = personAt(t, extra, calendars, &s.source);
  int64_t e = t;
  for (int i = 0; i < 2000; ++i) {
    e = nextEdge(e, extra, calendars);
    if (e == INT64_MAX || e > t + kHorizon) break;
    int q = personAt(e, extra, calendars);
    if (q != s.person) {
      s.until = e;
      s.next_person = q;
      break;
    }
  }
  return s;
}

bool parseScheduleTime(const std::string& text, const date::time_zone* zone, int64_t& utc_ms,
                       int64_t* local_ms) {
  bool offset =
      !text.empty() &&
      (text.back() == 'Z' || text.back() == 'z' ||
       (text.size() > 19 && (text[text.size() - 6] == '+' || text[text.size() - 6] == '-')));
  if (offset) {
    if (!parseTimestamp(text, utc_ms)) return false;
    if (local_ms) *local_ms = toLocal(zone, utc_ms);
    return true;
  }
  // YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS, read by hand (date::parse of a time without
  // seconds reads past what it checks).
  if (text.size() != 16 && text.size() != 19) return false;
  auto num = [&](size_t at, size_t n, int& out) {
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, sec = 0;
  if (!num(0, 4, y) || text[4] != '-' || !num(5, 2, mo) || text[7] != '-' || !num(8, 2, d) ||
      text[10] != 'T' || !num(11, 2, h) || text[13] != ':' || !num(14, 2, mi))
    return false;
  if (text.size() == 19 && (text[16] != ':' || !num(17, 2, sec))) return false;
  date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(mo)),
                           date::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return false;
  int64_t l = static_cast<int64_t>(date::sys_days(ymd).time_since_epoch().count()) * kDay +
              ((h * 60 + mi) * 60 + sec) * int64_t{1000};
  if (local_ms) *local_ms = l;
  utc_ms = toUtc(zone, l);
  return true;
}

int overlappingOverride(const std::vector<OncallOverride>& list, int64_t start, int64_t end) {
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i].start_ms < end && start < list[i].end_ms) return static_cast<int>(i);
  return -1;
}

}  // namespace triaged::rules
