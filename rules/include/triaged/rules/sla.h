// The arithmetic of service level management: interval sets, service-hour calendars in IANA
// time zones, reporting periods, availability and error budgets, reliability figures,
// Zabbix-compatible status propagation, burn-rate thresholds and per-minute SLO buckets,
// business-time clocks, least-squares capacity forecasts and heartbeat states.
// Everything here is a pure function of its arguments (time is passed in, in integer
// milliseconds since the Unix epoch, intervals half-open [a, b)); targets are integer parts
// per billion so budgets are exact. Semantics and test vectors: docs/sla.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace date {
class time_zone;
}

namespace triaged::rules::sla {

using Ms = int64_t;
constexpr int64_t kPpb = 1'000'000'000;

// ---- Interval sets ----------------------------------------------------------------------
struct Interval {
  Ms a = 0, b = 0;
  Ms length() const { return b - a; }
  bool operator==(const Interval&) const = default;
};
// Sorted, disjoint, non-empty, non-adjacent intervals.
using Intervals = std::vector<Interval>;
Intervals normalize(Intervals v);
Intervals intersect(const Intervals& x, const Intervals& y);
Intervals subtract(const Intervals& x, const Intervals& y);
Intervals clip(const Intervals& x, Ms a, Ms b);
Ms totalLength(const Intervals& x);

// ---- Calendars (agreed service time) ----------------------------------------------------
// Weekly service hours: on days_mask (bit 0 Monday .. bit 6 Sunday) from start_minute to
// end_minute local time; end <= start crosses midnight into the next day; 0..1440 is the day.
struct ServiceHours {
  uint8_t days_mask = 0x7f;
  int start_minute = 0;
  int end_minute = 1440;
};
// A holiday: local dates [first, last] inclusive, as days since 1970-01-01 (civil).
struct Holiday {
  int32_t first_day = 0, last_day = 0;
  std::string name;
};
struct Calendar {
  std::string name;
  const date::time_zone* zone = nullptr;  // null: UTC
  std::vector<ServiceHours> hours;        // empty: every hour of every day
  std::vector<Holiday> holidays;          // own and included calendars' holidays
  // Agreed time inside [from, to): the service hours of each local civil date (a start or
  // end in a DST gap moves to the end of the gap; an ambiguous one takes the earlier
  // instant), minus holidays (whole local days).
  Intervals agreed(Ms from, Ms to) const;
  // Local civil day number of an instant in this calendar's zone, and the UTC start of a day.
  int32_t localDay(Ms t) const;
  Ms dayStart(int32_t day) const;
  int32_t weekdayOf(int32_t day) const;  // 0 Monday .. 6 Sunday
};
// "2026-12-24" -> civil day number; false when malformed.
bool parseLocalDate(const std::string& text, int32_t& day);
std::string formatLocalDate(int32_t day);

// ---- Periods -----------------------------------------------------------------------------
enum class PeriodKind : uint8_t { kDay, kWeek, kMonth, kQuarter, kYear, kRolling };
struct PeriodSpec {
  PeriodKind kind = PeriodKind::kMonth;
  Ms rolling_ms = 0;  // kRolling: the window length
};
struct Period {
  Ms start = 0, end = 0;
  std::string label;  // "2026-10", "2026-Q4", "2026-W43", "2026-10-05", "2026", "rolling-30d"
};
// The period of `spec` that contains t, in the calendar's zone (ISO weeks start on Monday).
Period periodAt(const PeriodSpec& spec, const Calendar& cal, Ms t);
// The period before p (same kind).
Period previousPeriod(const PeriodSpec& spec, const Calendar& cal, const Period& p);
// A period written as a label ("2026-10", "2026-Q4", "2026-W43", "2026-10-05", "2026") in
// the calendar's zone, whatever the agreement's own period is; nullopt when malformed.
std::optional<Period> parsePeriod(const std::string& label, const Calendar& cal);

// ---- Service states and availability -------------------------------------------------------
enum class State : uint8_t { kOk, kDegraded, kPartial, kDown, kUnknown };
const char* stateName(State s);
struct Weights {
  int64_t down_ppb = kPpb, partial_ppb = 300'000'000, degraded_ppb = 0;
  int64_t of(State s) const {
    return s == State::kDown       ? down_ppb
           : s == State::kPartial  ? partial_ppb
           : s == State::kDegraded ? degraded_ppb
                                   : 0;
  }
};
enum class UnknownPolicy : uint8_t { kExclude, kCountUp, kCountDown };
// One piece of a service's state timeline, with the incidents that caused it.
struct StatePiece {
  Ms a = 0, b = 0;
  State state = State::kOk;
  std::vector<uint64_t> incidents;
};
struct ExcludedInterval {
  Ms a = 0, b = 0;
  std::string reason;     // "maintenance", "customer", ...
  std::string change_id;  // maintenance must reference its change
};
struct AvailabilityInput {
  Intervals agreed_all;                    // M_all: the whole period's agreed time, from the start
  std::vector<ExcludedInterval> excluded;  // X
  std::vector<StatePiece> timeline;        // sorted, non-overlapping; time not covered is UNKNOWN
  Ms now = 0;
  int64_t slo_ppb = 999'000'000;
  Weights weights;
  UnknownPolicy unknown = UnknownPolicy::kExclude;
};
struct DowntimeInterval {
  Ms a = 0, b = 0;
  State state = State::kDown;
  bool excluded = false;  // inside an exclusion: gross only
  std::vector<uint64_t> incidents;
};
struct Availability {
  Ms agreed_ms = 0;        // |M_now|
  Ms agreed_total_ms = 0;  // |M_all|
  Ms excluded_ms = 0;      // |M_now ∩ X|
  std::vector<std::pair<std::string, Ms>> excluded_by_reason;
  Ms unknown_ms = 0;                                  // UNKNOWN time in M_now \ X
  Ms measured_ms = 0;                                 // |M_now \ X \ U|
  double downtime_net_ms = 0, downtime_gross_ms = 0;  // weighted
  std::optional<double> to_date;                      // nullopt: no data (measured = 0)
  std::optional<double> projected;
  int64_t budget_total_ms = 0;
  double budget_remaining_ms = 0;  // may be negative
  std::optional<double> budget_consumed;
  bool at_risk = false;                    // budget_remaining < 0
  std::vector<DowntimeInterval> downtime;  // pieces with weight > 0 inside agreed time
};
Availability availability(const AvailabilityInput& in);

// ---- Reliability ---------------------------------------------------------------------------
struct Distribution {
  size_t n = 0;
  double mean = 0, median = 0, p90 = 0;  // n = 0: all 0, reported as n/a
};
Distribution distribution(std::vector<double> v);
struct Reliability {
  size_t failures = 0;
  Distribution restore_ms;                                // MTRS and its median, p90
  std::optional<double> mtbf_ms, mtbsi_ms, availability;  // n = 0: none
};
// Failures: maximal runs of pieces whose weight is at least `threshold_ppb`, inside `agreed`.
Reliability reliability(const std::vector<StatePiece>& timeline, const Intervals& agreed,
                        const Weights& w, int64_t threshold_ppb = kPpb);

// ---- Zabbix-compatible status propagation --------------------------------------------------
// Status: -1 OK, 0 not classified .. 5 disaster (triaged severities info 1 .. critical 5).
enum class Algorithm : uint8_t { kSetOk, kMostCriticalIfAll, kMostCriticalOfChildren };
enum class PropagationKind : uint8_t { kAsIs, kIncrease, kDecrease, kIgnore, kFixed };
struct Propagation {
  PropagationKind kind = PropagationKind::kAsIs;
  int value = 0;  // increase/decrease by, or the fixed status
};
enum class StatusRuleType : uint8_t { kNGe, kNPGe, kNL, kNPL, kWGe, kWPGe, kWL, kWPL };
struct StatusRule {
  StatusRuleType type = StatusRuleType::kNGe;
  int64_t limit_value = 1;
  int limit_status = 0;
  int new_status = 0;
};
struct ChildStatus {
  int status = -1;
  int64_t weight = 0;
  Propagation propagation;
};
int propagate(int status, const Propagation& p);
bool ruleHolds(const StatusRule& r, const std::vector<ChildStatus>& children);
// final = max(main algorithm, every rule that holds); all children ignored -> OK.
int serviceStatus(Algorithm alg, const std::vector<ChildStatus>& children,
                  const std::vector<StatusRule>& rules);

// ---- Event-based SLOs and burn rates --------------------------------------------------------
// Burn-rate threshold of a window pair: budget_fraction · period / long_window.
double burnThreshold(double budget_fraction, Ms period_ms, Ms long_window_ms);
struct BurnWindow {
  Ms long_ms = 0, short_ms = 0;
  double budget_fraction = 0;
  bool page = true;  // page (else ticket)
};
// The workbook's four pairs (1h/5m 2 %, 6h/30m 5 % page; 1d/2h 10 %, 3d/6h 10 % ticket).
std::vector<BurnWindow> defaultBurnWindows();

// Good and valid events per minute, in a ring covering the longest window; every window
// sum is exact (not an extrapolation).
class SloBuckets {
 public:
  explicit SloBuckets(Ms longest_window_ms);
  // An event (or a count) at t; events older than the ring are refused (false).
  bool add(Ms t, uint64_t good, uint64_t valid);
  struct Sums {
    uint64_t good = 0, valid = 0;
  };
  // Sum over the minutes in [now - window, now] (the minute containing now included).
  Sums sum(Ms now, Ms window_ms) const;
  // What one minute (t / 60,000, floored) holds; zero when the ring no longer has it.
  Sums minute(int64_t minute) const;
  Ms longest() const { return static_cast<Ms>(minutes_.size()) * 60'000; }

 private:
  struct Bucket {
    int64_t minute = INT64_MIN;
    uint64_t good = 0, valid = 0;
  };
  std::vector<Bucket> minutes_;
  int64_t newest_ = INT64_MIN;
};
struct Burn {
  bool no_data = true;  // valid = 0: burn 0, never NaN
  double error_ratio = 0, burn = 0;
};
Burn burn(const SloBuckets::Sums& s, int64_t slo_ppb);

// ---- Business-time clocks ------------------------------------------------------------------
// Business time in [start, t) inside the calendar's agreed time and outside pauses.
Ms businessTime(const Calendar& cal, Ms start, Ms t, const Intervals& pauses);
// The instant at which businessTime(start, ·) reaches `duration` (walking agreed intervals
// forward); INT64_MAX if not within ~10 years. `open_pause_from` > 0: paused from then on.
Ms businessDeadline(const Calendar& cal, Ms start, Ms duration, const Intervals& pauses,
                    Ms open_pause_from = 0);

// ---- Capacity --------------------------------------------------------------------------------
struct Forecast {
  size_t n = 0;
  double slope_per_ms = 0, now_value = 0, r_squared = 0, residual_sigma = 0;
  double predict(Ms h) const { return now_value + slope_per_ms * static_cast<double>(h); }
  // Time until the fitted line reaches `threshold`; nullopt when it never does (+Inf).
  std::optional<double> timeLeftMs(double threshold) const;
};
// Ordinary least squares over (t, x) samples, evaluated at now (PromQL predict_linear).
std::optional<Forecast> leastSquares(const std::vector<std::pair<Ms, double>>& samples, Ms now,
                                     size_t n_min = 2);
// Hysteresis: raised when x >= hi for `for_ms`, cleared when x <= lo for `clear_ms`.
struct Hysteresis {
  double hi = 0, lo = 0;
  Ms for_ms = 0, clear_ms = 0;
  bool raised = false;
  Ms above_since = -1, below_since = -1;
  // Feeds a sample; returns true when `raised` changed.
  bool sample(Ms t, double x);
};

// ---- Cron schedules ------------------------------------------------------------------------
// Five fields (minute hour day-of-month month day-of-week), with *, lists, ranges, steps,
// month and weekday names (7 is Sunday too), or @hourly/@daily/@weekly/@monthly/@yearly.
// As in Vixie cron, when both day fields are restricted a day matching either one fires.
struct Cron {
  uint64_t minutes = 0;          // bit m
  uint32_t hours = 0, days = 0;  // bit h; bit d (1..31)
  uint16_t months = 0;           // bit m (1..12)
  uint8_t weekdays = 0;          // bit 0 Sunday .. 6 Saturday
  bool any_day = true, any_weekday = true;
};
bool parseCron(const std::string& text, Cron& out, std::string& err);
// The first fire time strictly after `after`, in the calendar's zone (a local time in a DST gap
// fires at the gap's end; an ambiguous one once, at the earlier instant); INT64_MAX if none
// within five years.
Ms nextFire(const Cron& c, const Calendar& zone, Ms after);

// ---- Heartbeats ------------------------------------------------------------------------------
enum class HeartbeatState : uint8_t { kNew, kUp, kLate, kDown, kPaused };
const char* heartbeatStateName(HeartbeatState s);
struct HeartbeatClock {
  Ms period_ms = 0, grace_ms = 0;
  Ms last_success = -1;  // -1: never
  Ms failed_at = -1;     // a fail signal after the last success
  bool paused = false;
  HeartbeatState at(Ms now) const;
  // When the state will next change by itself (LATE, then DOWN); INT64_MAX when it won't.
  Ms nextChange(Ms now) const;
};

}  // namespace triaged::rules::sla
