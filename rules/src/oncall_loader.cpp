#include "oncall_loader.h"

#include <algorithm>
#include <map>
#include <set>

namespace triaged::rules {

using config::ErrorSink;
using config::MapReader;

namespace {

constexpr int64_t kDay = 86'400'000;

std::string describe(const OncallOverride& o, size_t index) {
  return "overrides[" + std::to_string(index) + "] (" + o.person + ")";
}

}  // namespace

void OncallLoader::schedule(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
  MapReader r(n, p, sink);
  if (!r.valid()) return;
  OncallSchedule s;
  s.file = sink.file();
  s.line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
  r.getString("name", s.name, true);
  s.time_zone = "UTC";
  r.getString("time_zone", s.time_zone);
  if (s.time_zone != "UTC" && !findZone(s.time_zone, s.zone))
    sink.add(n["time_zone"], p + ".time_zone", "unknown time zone \"" + s.time_zone + "\"");
  config::forEachInList(r.take("people"), p + ".people", sink,
                        [&](const YAML::Node& pn, const std::string& pp) {
                          MapReader pr(pn, pp, sink);
                          if (!pr.valid()) return;
                          OncallPerson person;
                          pr.getString("name", person.name, true);
                          pr.getStringList("targets", person.targets);
                          pr.finish();
                          if (person.name.empty()) return;
                          if (s.person(person.name) >= 0)
                            sink.add(pn, pp + ".name", "duplicate person \"" + person.name + "\"");
                          else
                            s.people.push_back(std::move(person));
                        });
  if (!n["people"].IsDefined()) sink.add(n, p + ".people", "is required (who can be on call)");
  config::forEachInList(
      r.take("layers"), p + ".layers", sink, [&](const YAML::Node& ln, const std::string& lp) {
        MapReader lr(ln, lp, sink);
        if (!lr.valid()) return;
        OncallLayer l;
        l.name = "layer " + std::to_string(s.layers.size() + 1);
        lr.getString("name", l.name);
        std::vector<std::string> members;
        lr.getStringList("members", members);
        if (members.empty())
          sink.add(ln, lp + ".members", "is required (people, in rotation order)");
        for (size_t i = 0; i < members.size(); ++i) {
          int idx = s.person(members[i]);
          if (idx < 0)
            sink.add(ln["members"][i], lp + ".members[" + std::to_string(i) + "]",
                     "unknown person \"" + members[i] + "\" (not in people)");
          else
            l.members.push_back(static_cast<uint32_t>(idx));
        }
        config::Duration rotation{0};
        lr.getDuration("rotation", rotation, config::Duration{60'000});
        if (rotation.count() == 0) sink.add(ln, lp + ".rotation", "is required (e.g. 1d, 1w, 12h)");
        if (rotation > std::chrono::hours(24 * 366)) {
          sink.add(ln["rotation"], lp + ".rotation", "must be at most 366d");
          rotation = config::Duration{0};
        }
        l.rotation_ms = rotation.count();
        l.wall_clock = l.rotation_ms > 0 && l.rotation_ms % kDay == 0;
        std::string start;
        lr.getString("start", start, true);
        if (!start.empty() && !parseScheduleTime(start, s.zone, l.start_ms, &l.start_local_ms))
          sink.add(ln["start"], lp + ".start",
                   "expected a local time like 2026-11-02T09:00 (in the schedule's time_zone) or "
                   "an RFC 3339 time");
        std::string calendar;
        lr.getString("calendar", calendar);
        if (!calendar.empty())
          layer_calendars_.push_back(
              {{rs_.oncall_.size(), s.layers.size()},
               {calendar, {sink.file(), ln["calendar"].Mark().line + 1}, lp + ".calendar"}});
        lr.finish();
        s.layers.push_back(std::move(l));
      });
  config::forEachInList(
      r.take("overrides"), p + ".overrides", sink,
      [&](const YAML::Node& on, const std::string& op) {
        MapReader orr(on, op, sink);
        if (!orr.valid()) return;
        OncallOverride o;
        std::string start, end;
        orr.getString("person", o.person, true);
        orr.getString("start", start, true);
        orr.getString("end", end, true);
        orr.getString("comment", o.comment);
        orr.finish();
        if (!o.person.empty() && s.person(o.person) < 0)
          return sink.add(on["person"], op + ".person",
                          "unknown person \"" + o.person + "\" (not in people)");
        bool ok = !start.empty() && !end.empty();
        if (!start.empty() && !parseScheduleTime(start, s.zone, o.start_ms)) {
          sink.add(on["start"], op + ".start", "expected a local time like 2026-12-24T09:00");
          ok = false;
        }
        if (!end.empty() && !parseScheduleTime(end, s.zone, o.end_ms)) {
          sink.add(on["end"], op + ".end", "expected a local time like 2026-12-27T09:00");
          ok = false;
        }
        if (!ok || o.person.empty()) return;
        if (o.end_ms <= o.start_ms) return sink.add(on["end"], op + ".end", "must be after start");
        int other = overlappingOverride(s.overrides, o.start_ms, o.end_ms);
        if (other >= 0)
          return sink.add(
              on, op,
              "overlaps " +
                  describe(s.overrides[static_cast<size_t>(other)], static_cast<size_t>(other)) +
                  ": one person covers a time");
        s.overrides.push_back(std::move(o));
      });
  r.finish();
  std::stable_sort(s.overrides.begin(), s.overrides.end(),
                   [](const auto& a, const auto& b) { return a.start_ms < b.start_ms; });
  rs_.oncall_.push_back(std::move(s));
}

void OncallLoader::link(config::ConfigErrors& errors) {
  std::set<std::string> names;
  for (const auto& s : rs_.oncall_)
    if (!s.name.empty() && !names.insert(s.name).second)
      errors.push_back(
          {s.file, s.line, 0, "oncall_schedules", "duplicate on-call schedule \"" + s.name + "\""});
  for (auto& pending : layer_calendars_) {
    const auto& where = pending.first;
    const PendingRef& ref = pending.second;
    const auto& cals = rs_.calendars_;
    auto it = std::find_if(cals.begin(), cals.end(),
                           [&](const sla::Calendar& c) { return c.name == ref.name; });
    if (it == cals.end()) {
      errors.push_back(
          {ref.origin.file, ref.origin.line, 0, ref.path, "unknown calendar \"" + ref.name + "\""});
      continue;
    }
    rs_.oncall_[where.first].layers[where.second].calendar =
        static_cast<int32_t>(it - cals.begin());
  }
}

}  // namespace triaged::rules
