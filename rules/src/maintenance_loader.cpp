#include "maintenance_loader.h"

#include <algorithm>
#include <cstdio>

#include "triaged/rules/maintenance.h"

namespace triaged::rules {

using config::ErrorSink;
using config::MapReader;

namespace {

void matchers(MapReader& r, const char* key, Matchers& out) {
  YAML::Node n = r.node()[key];
  std::string text;
  r.getString(key, text);
  if (text.empty()) return;
  std::string err;
  if (!parseMatchers(text, out, &err))
    r.sink().add(n, r.childPath(key), "invalid matchers: " + err);
}

// start (HH:MM), duration and time_zone of a recurrence.
void recurrenceTimes(MapReader& r, Schedule& s) {
  ServiceLevelsLoader::clockTime(r, "start", s.start_minute, false);
  config::Duration d{0};
  r.getDuration("duration", d, config::Duration{1});
  s.duration_ms = d.count();
  if (!r.has("duration")) r.sink().add(r.node(), r.childPath("duration"), "is required");
  std::string zone = "UTC";
  YAML::Node zone_node = r.node()["time_zone"];
  r.getString("time_zone", zone);
  if (!findZone(zone, s.zone))
    r.sink().add(zone_node, r.childPath("time_zone"), "unknown time zone \"" + zone + "\"");
}

void weekly(MapReader& parent, Schedule& s) {
  MapReader r(parent.take("weekly"), parent.childPath("weekly"), parent.sink());
  if (!r.valid()) return;
  s.weekly = true;
  s.days_mask = ServiceLevelsLoader::daysMask(r);
  recurrenceTimes(r, s);
  r.finish();
}

// monthly: {day: 15} or {nth: 2 | last, weekday: tue}, with start, duration, time_zone.
void monthly(MapReader& parent, Schedule& s) {
  MapReader r(parent.take("monthly"), parent.childPath("monthly"), parent.sink());
  if (!r.valid()) return;
  s.monthly = true;
  const YAML::Node& n = r.node();
  bool by_day = r.has("day"), by_weekday = r.has("nth") || r.has("weekday");
  if (by_day == by_weekday)
    r.sink().add(n, parent.childPath("monthly"), "give either day, or nth and weekday");
  if (by_day) {
    int64_t day = 0;
    r.getInt("day", day, 1, 31);
    s.month_day = static_cast<int>(day);
  }
  if (by_weekday) {
    std::string nth, weekday;
    YAML::Node nth_node = n["nth"], wd_node = n["weekday"];
    r.getString("nth", nth, true);
    r.getString("weekday", weekday, true);
    static const char* kNth[] = {"1", "2", "3", "4", "5"};
    auto at = std::find(std::begin(kNth), std::end(kNth), nth);
    if (nth == "last")
      s.nth = -1;
    else if (at != std::end(kNth))
      s.nth = static_cast<int>(at - std::begin(kNth)) + 1;
    else if (!nth.empty())
      r.sink().add(nth_node, r.childPath("nth"), "expected 1..5 or last, got \"" + nth + "\"");
    static const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    auto d = std::find(std::begin(kDays), std::end(kDays), weekday);
    if (d != std::end(kDays))
      s.weekday = static_cast<int>(d - std::begin(kDays)) + 1;
    else if (!weekday.empty())
      r.sink().add(wd_node, r.childPath("weekday"),
                   "unknown day \"" + weekday + "\" (mon, tue, wed, thu, fri, sat, sun)");
  }
  recurrenceTimes(r, s);
  r.finish();
}

}  // namespace

void readMaintenanceWindow(MapReader& r, const std::string& path, MaintenanceWindow& w,
                           std::vector<PendingRef>& cis, std::vector<PendingRef>& services) {
  const YAML::Node& n = r.node();
  r.getString("name", w.name, true);
  r.getString("change_id", w.change_id);
  matchers(r, "match", w.match);
  readRefs(r, "cis", cis);
  readRefs(r, "services", services);
  if (w.match.empty() && cis.empty() && services.empty())
    r.sink().add(n, path, "covers nothing: give match, cis or services");
  std::string start, end;
  YAML::Node sn = n["start"], en = n["end"];
  r.getString("start", start);
  r.getString("end", end);
  bool one_off = !start.empty() || !end.empty();
  r.getString("during_change", w.during_change);
  int kinds = one_off + r.has("weekly") + r.has("monthly") + !w.during_change.empty();
  if (kinds > 1)
    r.sink().add(n, path, "give one schedule: start and end, weekly, monthly, or during_change");
  if (!w.during_change.empty()) {
    // active while the change runs
  } else if (r.has("weekly")) {
    weekly(r, w.schedule);
  } else if (r.has("monthly")) {
    monthly(r, w.schedule);
  } else if (one_off) {
    if (!parseTimestamp(start, w.schedule.start_ms))
      r.sink().add(sn, r.childPath("start"),
                   "expected an RFC 3339 timestamp, got \"" + start + "\"");
    if (!parseTimestamp(end, w.schedule.end_ms))
      r.sink().add(en, r.childPath("end"), "expected an RFC 3339 timestamp, got \"" + end + "\"");
    else if (w.schedule.end_ms <= w.schedule.start_ms)
      r.sink().add(en, r.childPath("end"), "must be after start");
  } else {
    r.sink().add(n, path, "needs a schedule: start and end, weekly, monthly, or during_change");
  }
}

bool parseMaintenanceWindow(const std::string& text, const RuleSet& rs, MaintenanceWindow& out,
                            std::vector<std::string>& names_cis,
                            std::vector<std::string>& names_services, std::string* error) {
  config::ConfigErrors errors;
  ErrorSink sink("body", errors);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    *error = std::string("body is not valid JSON: ") + e.what();
    return false;
  }
  std::vector<PendingRef> cis, services;
  {
    MapReader r(root, "", sink);
    if (r.valid()) {
      readMaintenanceWindow(r, "body", out, cis, services);
      r.take("id");  // the API's own keys
      r.take("comment");
      r.take("created_by");
      r.finish();
    }
  }
  for (const auto& c : cis) {
    uint32_t i = rs.ciByName(c.name);
    if (i == RuleSet::kNone)
      errors.push_back({"body", 0, 0, c.path, "unknown configuration item \"" + c.name + "\""});
    else
      out.cis.push_back(i);
    names_cis.push_back(c.name);
  }
  for (const auto& s : services) {
    uint32_t i = rs.serviceByName(s.name);
    if (i == RuleSet::kNone)
      errors.push_back({"body", 0, 0, s.path, "unknown service \"" + s.name + "\""});
    else
      out.services.push_back(i);
    names_services.push_back(s.name);
  }
  if (errors.empty()) return true;
  *error = errors.front().path + ": " + errors.front().message;
  return false;
}

}  // namespace triaged::rules
