// When a maintenance window is active: a one-off interval, or a weekly or monthly recurrence
// of local times in an IANA time zone (DST-correct: each occurrence starts at its local wall
// time and lasts `duration` of real time). Immutable; safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace date {
class time_zone;
}

namespace triaged::rules {

struct Schedule {
  bool weekly = false;
  // One-off: [start_ms, end_ms).
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  // Weekly: on the days in days_mask (bit 0 = Monday .. bit 6 = Sunday), starting at
  // start_minute after local midnight, lasting duration_ms.
  uint8_t days_mask = 0;
  int start_minute = 0;
  int64_t duration_ms = 0;
  const date::time_zone* zone = nullptr;  // null: UTC
  // Monthly (start_minute, duration_ms and zone as weekly): on day `month_day` of each month
  // (1..31; a month without that day has none), or on the `nth` (1..5, or -1 for the last)
  // ISO `weekday` (1 = Monday .. 7 = Sunday) of each month.
  bool monthly = false;
  int month_day = 0, nth = 0, weekday = 0;

  bool recurring() const { return weekly || monthly; }
  // End of the occurrence that covers now_ms, or 0 when none does.
  int64_t activeUntil(int64_t now_ms) const;
  // Every occurrence overlapping [from_ms, to_ms), as [start, end) pairs in time order.
  std::vector<std::pair<int64_t, int64_t>> occurrences(int64_t from_ms, int64_t to_ms) const;
  // The next start or end after now_ms (within about 13 months), or INT64_MAX.
  int64_t nextEdge(int64_t now_ms) const;
};

// "2026-11-21T10:00:00Z" or with an offset; false on error.
bool parseTimestamp(const std::string& text, int64_t& out_ms);
// Looks up an IANA zone name; false when unknown.
bool findZone(const std::string& name, const date::time_zone*& out);

}  // namespace triaged::rules
