// The SLA arithmetic (triaged/rules/sla.h), part: Cron schedules in IANA zones.
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

// ---- Cron schedules ------------------------------------------------------------------------

namespace {

bool cronField(std::string_view f, int lo, int hi, const char* const* names, uint64_t& bits,
               std::string& err, const char* what) {
  auto number = [&](std::string_view t, int& v) {
    if (names) {
      for (int k = 0; names[k]; ++k) {
        std::string_view n = names[k];
        if (t.size() == 3 && std::equal(t.begin(), t.end(), n.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) == b;
            })) {
          v = k + lo;
          return true;
        }
      }
    }
    if (t.empty() || t.size() > 3) return false;
    v = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    return true;
  };
  bits = 0;
  size_t start = 0;
  while (start <= f.size()) {
    size_t comma = f.find(',', start);
    std::string_view part =
        f.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    int step = 1, a = lo, b = hi;
    size_t slash = part.find('/');
    if (slash != std::string_view::npos) {
      if (!number(part.substr(slash + 1), step) || step < 1) {
        err = std::string(what) + ": bad step in \"" + std::string(part) + "\"";
        return false;
      }
      part = part.substr(0, slash);
    }
    if (part != "*") {
      size_t dash = part.find('-');
      if (dash == std::string_view::npos) {
        if (!number(part, a)) {
          err = std::string(what) + ": \"" + std::string(part) + "\" is not a number";
          return false;
        }
        b = slash != std::string_view::npos ? hi : a;
      } else if (!number(part.substr(0, dash), a) || !number(part.substr(dash + 1), b)) {
        err = std::string(what) + ": bad range \"" + std::string(part) + "\"";
        return false;
      }
    }
    int top = hi == 6 ? 7 : hi;  // day of week: 7 is Sunday too
    if (a < lo || b > top || a > b) {
      err = std::string(what) + ": " + std::to_string(a) + "-" + std::to_string(b) +
            " is outside " + std::to_string(lo) + "-" + std::to_string(top);
      return false;
    }
    for (int v = a; v <= b; v += step) bits |= uint64_t{1} << (hi == 6 && v == 7 ? 0 : v);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

}  // namespace

bool parseCron(const std::string& text, Cron& out, std::string& err) {
  static const std::pair<const char*, const char*> kMacros[] = {
      {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
      {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"}};
  std::string spec = text;
  for (const auto& [m, e] : kMacros)
    if (text == m) spec = e;
  std::vector<std::string_view> fields;
  std::string_view sv = spec;
  size_t i = 0;
  while (i < sv.size()) {
    while (i < sv.size() && (sv[i] == ' ' || sv[i] == '\t')) ++i;
    size_t j = i;
    while (j < sv.size() && sv[j] != ' ' && sv[j] != '\t') ++j;
    if (j > i) fields.push_back(sv.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5) {
    err = "expected 5 fields (minute hour day-of-month month day-of-week), got " +
          std::to_string(fields.size());
    return false;
  }
  static const char* const kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",  "jul",
                                        "aug", "sep", "oct", "nov", "dec", nullptr};
  static const char* const kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", nullptr};
  uint64_t b = 0;
  Cron c;
  if (!cronField(fields[0], 0, 59, nullptr, b, err, "minute")) return false;
  c.minutes = b;
  if (!cronField(fields[1], 0, 23, nullptr, b, err, "hour")) return false;
  c.hours = static_cast<uint32_t>(b);
  if (!cronField(fields[2], 1, 31, nullptr, b, err, "day of month")) return false;
  c.days = static_cast<uint32_t>(b);
  c.any_day = fields[2] == "*";
  if (!cronField(fields[3], 1, 12, kMonths, b, err, "month")) return false;
  c.months = static_cast<uint16_t>(b);
  if (!cronField(fields[4], 0, 6, kDays, b, err, "day of week")) return false;
  c.weekdays = static_cast<uint8_t>(b);
  c.any_weekday = fields[4] == "*";
  out = c;
  return true;
}

Ms nextFire(const Cron& c, const Calendar& cal, Ms after) {
  int32_t day0 = cal.localDay(after);
  for (int32_t d = day0; d <= day0 + 366 * 5; ++d) {
    auto ymd = date::year_month_day(sys_days(days(d)));
    if (!(c.months >> static_cast<unsigned>(ymd.month()) & 1)) continue;
    bool dom = c.days >> static_cast<unsigned>(ymd.day()) & 1;
    int dow = (cal.weekdayOf(d) + 1) % 7;  // 0 Sunday
    bool wd = c.weekdays >> dow & 1;
    bool ok = c.any_day && c.any_weekday ? true
              : c.any_day                ? wd
              : c.any_weekday            ? dom
                                         : (dom || wd);
    if (!ok) continue;
    for (int h = 0; h < 24; ++h) {
      if (!(c.hours >> h & 1)) continue;
      for (int m = 0; m < 60; ++m) {
        if (!(c.minutes >> m & 1)) continue;
        Ms t = toUtc(cal.zone, d, h * 60 + m);
        if (t > after) return t;
      }
    }
  }
  return INT64_MAX;
}

}  // namespace triaged::rules::sla
