// The SLA arithmetic (triaged/rules/sla.h), part: Heartbeat states.
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

// ---- Heartbeats -----------------------------------------------------------------------------

const char* heartbeatStateName(HeartbeatState s) {
  switch (s) {
    case HeartbeatState::kNew:
      return "new";
    case HeartbeatState::kUp:
      return "up";
    case HeartbeatState::kLate:
      return "late";
    case HeartbeatState::kDown:
      return "down";
    case HeartbeatState::kPaused:
      return "paused";
  }
  return "new";
}

HeartbeatState HeartbeatClock::at(Ms now) const {
  if (paused) return HeartbeatState::kPaused;
  if (failed_at >= 0 && failed_at >= last_success) return HeartbeatState::kDown;
  if (last_success < 0) return HeartbeatState::kNew;
  Ms due = last_success + period_ms;
  if (now >= due + grace_ms) return HeartbeatState::kDown;
  if (now >= due) return HeartbeatState::kLate;
  return HeartbeatState::kUp;
}

Ms HeartbeatClock::nextChange(Ms now) const {
  if (paused || last_success < 0 || (failed_at >= 0 && failed_at >= last_success)) return INT64_MAX;
  Ms due = last_success + period_ms;
  if (now < due) return due;
  if (now < due + grace_ms) return due + grace_ms;
  return INT64_MAX;
}

}  // namespace triaged::rules::sla
