#include "triaged/rules/sla.h"

#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace triaged::rules::sla {

using date::days;
using date::local_days;
using date::sys_days;
using std::chrono::milliseconds;
using std::chrono::minutes;

// ---- Interval sets ----------------------------------------------------------------------

Intervals normalize(Intervals v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](const Interval& i) { return i.b <= i.a; }), v.end());
  std::sort(v.begin(), v.end(), [](const Interval& x, const Interval& y) { return x.a < y.a; });
  Intervals out;
  for (const auto& i : v) {
    if (!out.empty() && i.a <= out.back().b)
      out.back().b = std::max(out.back().b, i.b);
    else
      out.push_back(i);
  }
  return out;
}

Intervals intersect(const Intervals& x, const Intervals& y) {
  Intervals out;
  size_t i = 0, j = 0;
  while (i < x.size() && j < y.size()) {
    Ms a = std::max(x[i].a, y[j].a), b = std::min(x[i].b, y[j].b);
    if (a < b) out.push_back({a, b});
    if (x[i].b < y[j].b)
      ++i;
    else
      ++j;
  }
  return out;
}

Intervals subtract(const Intervals& x, const Intervals& y) {
  Intervals out;
  size_t j = 0;
  for (const auto& i : x) {
    Ms a = i.a;
    while (j < y.size() && y[j].b <= a) ++j;
    size_t k = j;
    while (k < y.size() && y[k].a < i.b) {
      if (y[k].a > a) out.push_back({a, y[k].a});
      a = std::max(a, y[k].b);
      if (a >= i.b) break;
      ++k;
    }
    if (a < i.b) out.push_back({a, i.b});
  }
  return out;
}

Intervals clip(const Intervals& x, Ms a, Ms b) { return intersect(x, Intervals{{a, b}}); }

Ms totalLength(const Intervals& x) {
  Ms n = 0;
  for (const auto& i : x) n += i.length();
  return n;
}

// ---- Calendars ----------------------------------------------------------------------------

namespace {

Ms toUtc(const date::time_zone* zone, int32_t day, int minute) {
  auto lt = local_days(days(day)) + minutes(minute);
  if (!zone) return std::chrono::duration_cast<milliseconds>(lt.time_since_epoch()).count();
  auto info = zone->get_info(lt);
  if (info.result == date::local_info::nonexistent)  // in a gap: the end of the gap
    return std::chrono::duration_cast<milliseconds>(info.first.end.time_since_epoch()).count();
  return std::chrono::duration_cast<milliseconds>(zone->to_sys(lt, date::choose::earliest).time_since_epoch())
      .count();
}

date::year_month_day ymd(int32_t day) { return date::year_month_day(sys_days(days(day))); }
int32_t dayOf(const date::year_month_day& d) { return static_cast<int32_t>(sys_days(d).time_since_epoch().count()); }

}  // namespace

int32_t Calendar::localDay(Ms t) const {
  date::sys_time<milliseconds> st{milliseconds(t)};
  if (!zone) return static_cast<int32_t>(date::floor<days>(st).time_since_epoch().count());
  return static_cast<int32_t>(date::floor<days>(zone->to_local(st)).time_since_epoch().count());
}

Ms Calendar::dayStart(int32_t day) const { return toUtc(zone, day, 0); }

int32_t Calendar::weekdayOf(int32_t day) const {
  return static_cast<int32_t>(date::weekday(sys_days(days(day))).iso_encoding()) - 1;
}

Intervals Calendar::agreed(Ms from, Ms to) const {
  if (to <= from) return {};
  int32_t d0 = localDay(from) - 1, d1 = localDay(to - 1);
  Intervals hours_iv;
  if (hours.empty()) {
    hours_iv.push_back({from, to});
  } else {
    for (int32_t d = d0; d <= d1; ++d) {
      int wd = weekdayOf(d);
      for (const auto& h : hours) {
        if (!(h.days_mask & (1u << wd))) continue;
        Ms a = toUtc(zone, d, h.start_minute);
        Ms b = h.end_minute > h.start_minute ? toUtc(zone, d, h.end_minute) : toUtc(zone, d + 1, h.end_minute);
        hours_iv.push_back({a, b});
      }
    }
    hours_iv = clip(normalize(std::move(hours_iv)), from, to);
  }
  if (holidays.empty()) return hours_iv;
  Intervals off;
  for (const auto& h : holidays) {
    if (h.last_day < d0 || h.first_day > d1 + 1) continue;
    off.push_back({dayStart(h.first_day), dayStart(h.last_day + 1)});
  }
  return subtract(hours_iv, normalize(std::move(off)));
}

bool parseLocalDate(const std::string& text, int32_t& day) {
  int y, m, d;
  char tail;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return false;
  date::year_month_day v{date::year(y), date::month(static_cast<unsigned>(m)), date::day(static_cast<unsigned>(d))};
  if (!v.ok()) return false;
  day = dayOf(v);
  return true;
}

std::string formatLocalDate(int32_t day) { return date::format("%F", sys_days(days(day))); }

// ---- Periods ------------------------------------------------------------------------------

namespace {

Period monthPeriod(const Calendar& cal, int y, unsigned m, unsigned months) {
  date::year_month start{date::year(y), date::month(m)};
  auto end = start + date::months(months);
  Period p;
  p.start = cal.dayStart(dayOf(start / 1));
  p.end = cal.dayStart(dayOf(end / 1));
  char buf[32];
  if (months == 12)
    std::snprintf(buf, sizeof buf, "%04d", y);
  else if (months == 3)
    std::snprintf(buf, sizeof buf, "%04d-Q%u", y, (m - 1) / 3 + 1);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02u", y, m);
  p.label = buf;
  return p;
}

Period weekPeriod(const Calendar& cal, int32_t monday) {
  Period p;
  p.start = cal.dayStart(monday);
  p.end = cal.dayStart(monday + 7);
  iso_week::year_weeknum_weekday w{sys_days(days(monday))};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-W%02u", static_cast<int>(w.year()), static_cast<unsigned>(w.weeknum()));
  p.label = buf;
  return p;
}

Period dayPeriod(const Calendar& cal, int32_t day) {
  return Period{cal.dayStart(day), cal.dayStart(day + 1), formatLocalDate(day)};
}

}  // namespace

Period periodAt(const PeriodSpec& spec, const Calendar& cal, Ms t) {
  int32_t day = cal.localDay(t);
  auto d = ymd(day);
  int y = static_cast<int>(d.year());
  unsigned m = static_cast<unsigned>(d.month());
  switch (spec.kind) {
    case PeriodKind::kDay: return dayPeriod(cal, day);
    case PeriodKind::kWeek: return weekPeriod(cal, day - cal.weekdayOf(day));
    case PeriodKind::kMonth: return monthPeriod(cal, y, m, 1);
    case PeriodKind::kQuarter: return monthPeriod(cal, y, (m - 1) / 3 * 3 + 1, 3);
    case PeriodKind::kYear: return monthPeriod(cal, y, 1, 12);
    case PeriodKind::kRolling:
      return Period{t - spec.rolling_ms, t, "rolling-" + std::to_string(spec.rolling_ms / 86'400'000) + "d"};
  }
  return {};
}

Period previousPeriod(const PeriodSpec& spec, const Calendar& cal, const Period& p) {
  if (spec.kind == PeriodKind::kRolling) return Period{p.start - spec.rolling_ms, p.start, p.label + "-previous"};
  return periodAt(spec, cal, p.start - 1);
}

std::optional<Period> parsePeriod(const std::string& label, const Calendar& cal) {
  int y = 0;
  unsigned n = 0;
  char tail;
  int32_t day;
  if (parseLocalDate(label, day)) return dayPeriod(cal, day);
  if (label.size() == 4 && std::sscanf(label.c_str(), "%4d%c", &y, &tail) == 1) return monthPeriod(cal, y, 1, 12);
  if (label.size() == 7 && std::sscanf(label.c_str(), "%4d-Q%1u%c", &y, &n, &tail) == 2 && n >= 1 && n <= 4)
    return monthPeriod(cal, y, (n - 1) * 3 + 1, 3);
  if (label.size() == 8 && std::sscanf(label.c_str(), "%4d-W%2u%c", &y, &n, &tail) == 2 && n >= 1 && n <= 53) {
    iso_week::year_weeknum_weekday w{iso_week::year(y), iso_week::weeknum(n), iso_week::mon};
    if (!w.ok()) return std::nullopt;
    return weekPeriod(cal, static_cast<int32_t>(sys_days(w).time_since_epoch().count()));
  }
  if (label.size() == 7 && std::sscanf(label.c_str(), "%4d-%2u%c", &y, &n, &tail) == 2 && n >= 1 && n <= 12)
    return monthPeriod(cal, y, n, 1);
  return std::nullopt;
}

// ---- Availability -------------------------------------------------------------------------

const char* stateName(State s) {
  switch (s) {
    case State::kOk: return "ok";
    case State::kDegraded: return "degraded";
    case State::kPartial: return "partial";
    case State::kDown: return "down";
    case State::kUnknown: return "unknown";
  }
  return "unknown";
}

Availability availability(const AvailabilityInput& in) {
  Availability r;
  const Ms kMin = INT64_MIN / 2;
  Intervals m_all = normalize(in.agreed_all);
  Intervals m_now = clip(m_all, kMin, in.now);
  Intervals x;
  for (const auto& e : in.excluded) x.push_back({e.a, e.b});
  x = normalize(std::move(x));
  r.agreed_ms = totalLength(m_now);
  r.agreed_total_ms = totalLength(m_all);
  Intervals x_now = intersect(m_now, x);
  r.excluded_ms = totalLength(x_now);
  for (const auto& e : in.excluded) {
    bool seen = std::any_of(r.excluded_by_reason.begin(), r.excluded_by_reason.end(),
                            [&](const auto& p) { return p.first == e.reason; });
    if (seen) continue;
    Intervals mine;  // every exclusion of this reason, overlaps counted once
    for (const auto& f : in.excluded)
      if (f.reason == e.reason) mine.push_back({f.a, f.b});
    Ms len = totalLength(intersect(m_now, normalize(std::move(mine))));
    if (len > 0) r.excluded_by_reason.emplace_back(e.reason, len);
  }
  // Known time (any state but UNKNOWN); the rest of M_now is unknown.
  Intervals known;
  for (const auto& p : in.timeline)
    if (p.state != State::kUnknown) known.push_back({p.a, p.b});
  known = normalize(std::move(known));
  Intervals u_all = subtract(m_now, known);  // unknown, maintenance included
  Intervals u = subtract(u_all, x);
  r.unknown_ms = totalLength(u);
  __int128 net = 0, gross = 0;  // ppb·ms
  for (const auto& p : in.timeline) {
    int64_t w = in.weights.of(p.state);
    if (w <= 0 || p.state == State::kUnknown) continue;
    Intervals seg = clip(m_now, p.a, p.b);
    if (seg.empty()) continue;
    Intervals outside = subtract(seg, x), inside = intersect(seg, x);
    gross += static_cast<__int128>(w) * totalLength(seg);
    net += static_cast<__int128>(w) * totalLength(outside);
    for (const auto& i : outside) r.downtime.push_back({i.a, i.b, p.state, false, p.incidents});
    for (const auto& i : inside) r.downtime.push_back({i.a, i.b, p.state, true, p.incidents});
  }
  Ms measured = r.agreed_ms - r.excluded_ms;
  if (in.unknown == UnknownPolicy::kExclude) {
    measured -= r.unknown_ms;
  } else if (in.unknown == UnknownPolicy::kCountDown) {
    net += static_cast<__int128>(kPpb) * r.unknown_ms;
    gross += static_cast<__int128>(kPpb) * totalLength(u_all);
    for (const auto& i : u_all)
      r.downtime.push_back({i.a, i.b, State::kUnknown, !intersect(Intervals{i}, x).empty() && subtract(Intervals{i}, x).empty(), {}});
  }
  std::sort(r.downtime.begin(), r.downtime.end(), [](const auto& p, const auto& q) { return p.a < q.a; });
  r.measured_ms = measured;
  r.downtime_net_ms = static_cast<double>(net) / kPpb;
  r.downtime_gross_ms = static_cast<double>(gross) / kPpb;
  if (measured > 0) r.to_date = (static_cast<double>(measured) - r.downtime_net_ms) / static_cast<double>(measured);
  Ms all_minus_x = totalLength(subtract(m_all, x));
  if (all_minus_x > 0)
    r.projected = (static_cast<double>(all_minus_x) - r.downtime_net_ms) / static_cast<double>(all_minus_x);
  r.budget_total_ms = static_cast<int64_t>(static_cast<__int128>(all_minus_x) * (kPpb - in.slo_ppb) / kPpb);
  r.budget_remaining_ms = static_cast<double>(r.budget_total_ms) - r.downtime_net_ms;
  if (r.budget_total_ms > 0) r.budget_consumed = r.downtime_net_ms / static_cast<double>(r.budget_total_ms);
  r.at_risk = r.budget_remaining_ms < 0;
  return r;
}

// ---- Reliability --------------------------------------------------------------------------

Distribution distribution(std::vector<double> v) {
  Distribution d;
  d.n = v.size();
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  d.mean = sum / static_cast<double>(v.size());
  size_t n = v.size();
  d.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  size_t rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n)));  // nearest rank
  d.p90 = v[std::max<size_t>(rank, 1) - 1];
  return d;
}

Reliability reliability(const std::vector<StatePiece>& timeline, const Intervals& agreed, const Weights& w,
                        int64_t threshold_ppb) {
  Intervals failing;
  for (const auto& p : timeline)
    if (p.state != State::kUnknown && w.of(p.state) >= threshold_ppb && w.of(p.state) > 0) failing.push_back({p.a, p.b});
  // Adjacent failing pieces (DOWN then DOWN with another incident) are one failure.
  Intervals failures = intersect(normalize(std::move(failing)), normalize(agreed));
  Reliability r;
  r.failures = failures.size();
  std::vector<double> durations;
  for (const auto& f : failures) durations.push_back(static_cast<double>(f.length()));
  r.restore_ms = distribution(durations);
  if (failures.empty()) return r;
  double m = static_cast<double>(totalLength(normalize(agreed)));
  double n = static_cast<double>(failures.size());
  double down = r.restore_ms.mean * n;
  r.mtbf_ms = (m - down) / n;
  r.mtbsi_ms = m / n;
  r.availability = *r.mtbf_ms / (*r.mtbf_ms + r.restore_ms.mean);
  return r;
}

// ---- Status propagation ---------------------------------------------------------------------

int propagate(int status, const Propagation& p) {
  if (status < 0) return -1;  // never applied to OK
  switch (p.kind) {
    case PropagationKind::kAsIs: return status;
    case PropagationKind::kIncrease: return std::min(5, status + p.value);
    case PropagationKind::kDecrease: return std::max(0, status - p.value);
    case PropagationKind::kFixed: return p.value;
    case PropagationKind::kIgnore: return status;
  }
  return status;
}

namespace {
struct Totals {
  int64_t count = 0, weight = 0, n = 0, total_weight = 0;
};
Totals totalsAtLeast(const std::vector<ChildStatus>& children, int limit) {
  Totals t;
  for (const auto& c : children) {
    if (c.propagation.kind == PropagationKind::kIgnore) continue;
    int s = propagate(c.status, c.propagation);
    ++t.n;
    t.total_weight += c.weight;
    if (s >= limit) {
      ++t.count;
      t.weight += c.weight;
    }
  }
  return t;
}
}  // namespace

bool ruleHolds(const StatusRule& r, const std::vector<ChildStatus>& children) {
  bool less = r.type == StatusRuleType::kNL || r.type == StatusRuleType::kNPL || r.type == StatusRuleType::kWL ||
              r.type == StatusRuleType::kWPL;
  // "Fewer than N with status <= L" is "total - count(status >= L + 1) < N".
  Totals t = totalsAtLeast(children, less ? r.limit_status + 1 : r.limit_status);
  int64_t N = r.limit_value;
  switch (r.type) {
    case StatusRuleType::kNGe: return t.count >= N;
    case StatusRuleType::kNPGe: return t.n > 0 && 100 * t.count >= N * t.n;
    case StatusRuleType::kNL: return t.n - t.count < N;
    case StatusRuleType::kNPL: return t.n > 0 && 100 * (t.n - t.count) < N * t.n;
    case StatusRuleType::kWGe: return t.weight >= N;
    case StatusRuleType::kWPGe:
      return t.total_weight > 0 && static_cast<__int128>(100) * t.weight >= static_cast<__int128>(N) * t.total_weight;
    case StatusRuleType::kWL: return t.total_weight - t.weight < N;
    case StatusRuleType::kWPL:
      return t.total_weight > 0 &&
             static_cast<__int128>(100) * (t.total_weight - t.weight) < static_cast<__int128>(N) * t.total_weight;
  }
  return false;
}

int serviceStatus(Algorithm alg, const std::vector<ChildStatus>& children, const std::vector<StatusRule>& rules) {
  int worst = -1;
  bool any_ok = false, any = false;
  for (const auto& c : children) {
    if (c.propagation.kind == PropagationKind::kIgnore) continue;
    any = true;
    int s = propagate(c.status, c.propagation);
    if (s < 0) any_ok = true;
    worst = std::max(worst, s);
  }
  if (!any) return -1;
  int status = alg == Algorithm::kSetOk ? -1 : alg == Algorithm::kMostCriticalIfAll && any_ok ? -1 : worst;
  for (const auto& r : rules)
    if (ruleHolds(r, children)) status = std::max(status, r.new_status);
  return status;
}

// ---- Burn rates and SLO buckets -------------------------------------------------------------

double burnThreshold(double budget_fraction, Ms period_ms, Ms long_window_ms) {
  return budget_fraction * static_cast<double>(period_ms) / static_cast<double>(long_window_ms);
}

std::vector<BurnWindow> defaultBurnWindows() {
  const Ms h = 3'600'000, m = 60'000;
  return {{1 * h, 5 * m, 0.02, true}, {6 * h, 30 * m, 0.05, true}, {24 * h, 2 * h, 0.10, false},
          {72 * h, 6 * h, 0.10, false}};
}

SloBuckets::SloBuckets(Ms longest_window_ms) : minutes_(static_cast<size_t>(longest_window_ms / 60'000 + 2)) {}

bool SloBuckets::add(Ms t, uint64_t good, uint64_t valid) {
  int64_t minute = t >= 0 ? t / 60'000 : (t - 59'999) / 60'000;
  size_t n = minutes_.size();
  if (newest_ != INT64_MIN && minute <= newest_ - static_cast<int64_t>(n)) return false;  // older than the ring
  newest_ = std::max(newest_, minute);
  Bucket& b = minutes_[static_cast<size_t>(((minute % static_cast<int64_t>(n)) + static_cast<int64_t>(n)) %
                                           static_cast<int64_t>(n))];
  if (b.minute > minute) return false;  // older than the ring holds
  if (b.minute < minute) b = Bucket{minute, 0, 0};
  b.good += good;
  b.valid += valid;
  return true;
}

SloBuckets::Sums SloBuckets::sum(Ms now, Ms window_ms) const {
  Sums s;
  int64_t last = now >= 0 ? now / 60'000 : (now - 59'999) / 60'000;
  int64_t count = std::min<int64_t>((window_ms + 59'999) / 60'000, static_cast<int64_t>(minutes_.size()));
  int64_t n = static_cast<int64_t>(minutes_.size());
  for (int64_t m = last - count + 1; m <= last; ++m) {
    const Bucket& b = minutes_[static_cast<size_t>(((m % n) + n) % n)];
    if (b.minute != m) continue;
    s.good += b.good;
    s.valid += b.valid;
  }
  return s;
}

SloBuckets::Sums SloBuckets::minute(int64_t m) const {
  int64_t n = static_cast<int64_t>(minutes_.size());
  const Bucket& b = minutes_[static_cast<size_t>(((m % n) + n) % n)];
  if (b.minute != m) return {};
  return {b.good, b.valid};
}

Burn burn(const SloBuckets::Sums& s, int64_t slo_ppb) {
  Burn b;
  if (s.valid == 0) return b;
  b.no_data = false;
  uint64_t bad = s.valid - std::min(s.good, s.valid);
  b.error_ratio = static_cast<double>(bad) / static_cast<double>(s.valid);
  double budget = static_cast<double>(kPpb - slo_ppb) / kPpb;
  b.burn = budget > 0 ? b.error_ratio / budget : 0;
  return b;
}

// ---- Business-time clocks -------------------------------------------------------------------

Ms businessTime(const Calendar& cal, Ms start, Ms t, const Intervals& pauses) {
  if (t <= start) return 0;
  return totalLength(subtract(cal.agreed(start, t), normalize(pauses)));
}

Ms businessDeadline(const Calendar& cal, Ms start, Ms duration, const Intervals& pauses, Ms open_pause_from) {
  Intervals p = normalize(pauses);
  if (open_pause_from > 0) p = normalize([&] {
      Intervals q = p;
      q.push_back({open_pause_from, INT64_MAX / 2});
      return q;
    }());
  if (duration <= 0) return start;
  const Ms kChunk = 31LL * 86'400'000;
  Ms acc = 0;
  for (Ms from = start; from < start + 3700LL * 86'400'000; from += kChunk) {
    for (const auto& i : subtract(cal.agreed(from, from + kChunk), p)) {
      if (acc + i.length() >= duration) return i.a + (duration - acc);
      acc += i.length();
    }
  }
  return INT64_MAX;
}

// ---- Capacity -------------------------------------------------------------------------------

std::optional<double> Forecast::timeLeftMs(double threshold) const {
  if (slope_per_ms == 0) return std::nullopt;
  double t = (threshold - now_value) / slope_per_ms;
  if (!(t > 0)) return std::nullopt;
  return t;
}

std::optional<Forecast> leastSquares(const std::vector<std::pair<Ms, double>>& samples, Ms now, size_t n_min) {
  if (samples.size() < std::max<size_t>(n_min, 2)) return std::nullopt;
  // Centre times on the first sample so products of epoch milliseconds stay exact enough.
  double t0 = static_cast<double>(samples.front().first);
  double n = static_cast<double>(samples.size()), st = 0, sx = 0;
  for (const auto& [t, x] : samples) {
    st += static_cast<double>(t) - t0;
    sx += x;
  }
  double tm = st / n, xm = sx / n, stt = 0, stx = 0, sxx = 0;
  for (const auto& [t, x] : samples) {
    double dt = static_cast<double>(t) - t0 - tm, dx = x - xm;
    stt += dt * dt;
    stx += dt * dx;
    sxx += dx * dx;
  }
  if (stt == 0) return std::nullopt;
  Forecast f;
  f.n = samples.size();
  f.slope_per_ms = stx / stt;
  f.now_value = xm + f.slope_per_ms * (static_cast<double>(now) - t0 - tm);
  double ss_res = 0;
  for (const auto& [t, x] : samples) {
    double fit = xm + f.slope_per_ms * (static_cast<double>(t) - t0 - tm);
    ss_res += (x - fit) * (x - fit);
  }
  f.r_squared = sxx == 0 ? 1.0 : 1.0 - ss_res / sxx;
  f.residual_sigma = samples.size() > 2 ? std::sqrt(ss_res / (n - 2)) : 0.0;
  return f;
}

bool Hysteresis::sample(Ms t, double x) {
  if (x >= hi) {
    below_since = -1;
    if (above_since < 0) above_since = t;
    if (!raised && t - above_since >= for_ms) return raised = true;
  } else if (x <= lo) {
    above_since = -1;
    if (below_since < 0) below_since = t;
    if (raised && t - below_since >= clear_ms) {
      raised = false;
      return true;
    }
  } else {
    above_since = below_since = -1;
  }
  return false;
}

// ---- Heartbeats -----------------------------------------------------------------------------

const char* heartbeatStateName(HeartbeatState s) {
  switch (s) {
    case HeartbeatState::kNew: return "new";
    case HeartbeatState::kUp: return "up";
    case HeartbeatState::kLate: return "late";
    case HeartbeatState::kDown: return "down";
    case HeartbeatState::kPaused: return "paused";
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

// ---- Cron schedules ------------------------------------------------------------------------

namespace {

bool cronField(std::string_view f, int lo, int hi, const char* const* names, uint64_t& bits, std::string& err,
               const char* what) {
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
    std::string_view part = f.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
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
      err = std::string(what) + ": " + std::to_string(a) + "-" + std::to_string(b) + " is outside " +
            std::to_string(lo) + "-" + std::to_string(top);
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
  static const std::pair<const char*, const char*> kMacros[] = {{"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},
                                                                {"@midnight", "0 0 * * *"}, {"@weekly", "0 0 * * 0"},
                                                                {"@monthly", "0 0 1 * *"},  {"@yearly", "0 0 1 1 *"},
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
    err = "expected 5 fields (minute hour day-of-month month day-of-week), got " + std::to_string(fields.size());
    return false;
  }
  static const char* const kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
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
    bool ok = c.any_day && c.any_weekday ? true : c.any_day ? wd : c.any_weekday ? dom : (dom || wd);
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
