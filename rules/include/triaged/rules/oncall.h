// On-call schedules (rule files' `oncall_schedules`): people with their contact targets, layers
// that rotate them, and overrides. Who is on call at an instant: an override covering it, else
// the last layer that applies then (a layer may be limited to a calendar's agreed time), else
// no one. A layer whose rotation is a whole number of days hands off at the same local wall
// time in the schedule's zone (DST-correct: a daily shift on a DST day lasts 23 or 25 hours);
// a shorter rotation hands off every `rotation` of real time. Pure functions of their
// arguments; immutable; safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "triaged/rules/sla.h"

namespace date {
class time_zone;
}

namespace triaged::rules {

struct OncallPerson {
  std::string name;
  std::vector<std::string> targets;  // notification targets' names
};

struct OncallLayer {
  std::string name;
  std::vector<uint32_t> members;  // indexes into OncallSchedule::people, in rotation order
  int64_t rotation_ms = 0;
  bool wall_clock = false;     // rotation is whole days: hand-offs at start_local's wall time
  int64_t start_local_ms = 0;  // the first hand-off (to members[0]) as local wall time
  int64_t start_ms = 0;        // the same instant in UTC
  int32_t calendar = -1;       // index into RuleSet::calendars(); -1: always
};

struct OncallOverride {
  std::string id;  // "" for a rule file's
  std::string person;
  int64_t start_ms = 0, end_ms = 0;  // [start, end)
  std::string created_by, comment;
  int64_t created_ms = 0;
};

struct OncallShift {
  int person = -1;            // index into people; -1: no one
  std::string source;         // "override", or the layer's name
  int64_t until = INT64_MAX;  // when someone else takes over (searched up to 400 days ahead)
  int next_person = -1;       // who does
};

struct OncallSchedule {
  std::string name;
  std::string time_zone;  // as written ("UTC" when not)
  const date::time_zone* zone = nullptr;
  std::vector<OncallPerson> people;
  std::vector<OncallLayer> layers;
  std::vector<OncallOverride> overrides;  // from the rule file, sorted by start
  std::string file;
  int line = 0;

  int person(const std::string& name) const;
  // Who is on call at t (extra: overrides made through the API, non-overlapping), and when
  // that changes. `calendars`: the rule set's.
  OncallShift at(int64_t t, const std::vector<OncallOverride>& extra,
                 const std::vector<sla::Calendar>& calendars) const;
  // The person on call at t, without the search for the next hand-off.
  int personAt(int64_t t, const std::vector<OncallOverride>& extra,
               const std::vector<sla::Calendar>& calendars, std::string* source = nullptr) const;
  // The next instant after t at which a layer hands off, an override starts or ends, or a
  // layer's calendar opens or closes (INT64_MAX: none within 400 days).
  int64_t nextEdge(int64_t t, const std::vector<OncallOverride>& extra,
                   const std::vector<sla::Calendar>& calendars) const;
};

// "2026-12-24T09:00" (or with seconds) as local wall time in zone (a time in a DST gap moves
// to the gap's end, an ambiguous one takes the earlier instant), or an RFC 3339 time with an
// offset or Z. False when malformed. local_ms: the wall time as if it were UTC (for layers).
bool parseScheduleTime(const std::string& text, const date::time_zone* zone, int64_t& utc_ms,
                       int64_t* local_ms = nullptr);
// The first override of `list` that overlaps [start, end), or -1.
int overlappingOverride(const std::vector<OncallOverride>& list, int64_t start, int64_t end);

}  // namespace triaged::rules
