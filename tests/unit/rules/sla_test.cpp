// The SLA arithmetic against the test vectors of docs/sla.md (numbered as there), plus month
// boundaries, overlapping incidents, leap years and both DST transitions in two time zones.
#include "triaged/rules/sla.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "triaged/rules/rule_set.h"
#include "triaged/rules/schedule.h"

using namespace triaged::rules;
using namespace triaged::rules::sla;

namespace {

constexpr Ms kMin = 60'000, kHour = 3'600'000, kDay = 86'400'000;

Ms ts(const char* text) {
  Ms out = 0;
  REQUIRE(parseTimestamp(text, out));
  return out;
}

Calendar zoneCalendar(const char* zone, std::vector<ServiceHours> hours = {}) {
  Calendar c;
  REQUIRE(findZone(zone, c.zone));
  c.hours = std::move(hours);
  return c;
}

constexpr uint8_t kWeekdays = 0x1f;

}  // namespace

TEST_CASE("Interval sets merge, intersect and subtract as half-open intervals", "[sla]") {
  CHECK(normalize({{5, 10}, {0, 3}, {3, 4}, {8, 12}, {20, 20}}) == Intervals{{0, 4}, {5, 12}});
  CHECK(intersect({{0, 10}, {20, 30}}, {{5, 25}}) == Intervals{{5, 10}, {20, 25}});
  CHECK(subtract({{0, 10}, {20, 30}}, {{5, 22}, {25, 26}}) ==
        Intervals{{0, 5}, {22, 25}, {26, 30}});
  CHECK(subtract({{0, 10}}, {{0, 10}}).empty());
  CHECK(totalLength({{0, 4}, {5, 12}}) == 11);
}

TEST_CASE("Vector 1: burn-rate thresholds for 30 and 28 day periods", "[sla]") {
  auto w = defaultBurnWindows();
  REQUIRE(w.size() == 4);
  double expect30[] = {14.4, 6, 3, 1}, expect28[] = {13.44, 5.6, 2.8, 0.9333};
  double ratio30[] = {0.0144, 0.006, 0.003, 0.001};
  for (size_t i = 0; i < 4; ++i) {
    CHECK(burnThreshold(w[i].budget_fraction, 30 * kDay, w[i].long_ms) == Approx(expect30[i]));
    CHECK(burnThreshold(w[i].budget_fraction, 28 * kDay, w[i].long_ms) ==
          Approx(expect28[i]).epsilon(1e-4));
    CHECK(burnThreshold(w[i].budget_fraction, 30 * kDay, w[i].long_ms) * 0.001 ==
          Approx(ratio30[i]));
    CHECK(w[i].short_ms * 12 == w[i].long_ms);
  }
  // Burning at 14.4 exhausts a 30-day budget in 50 hours.
  CHECK(30.0 * 24 / burnThreshold(w[0].budget_fraction, 30 * kDay, w[0].long_ms) == Approx(50));
}

TEST_CASE("Vector 2: window SLI is a ratio of sums, not a mean of ratios", "[sla]") {
  SloBuckets b(kHour);
  Ms t0 = ts("2026-10-01T00:00:00Z");
  REQUIRE(b.add(t0, 990, 1000));
  REQUIRE(b.add(t0 + kMin, 5, 10));
  auto s = b.sum(t0 + kMin, 5 * kMin);
  CHECK(s.valid == 1010);
  CHECK(s.good == 995);
  auto r = burn(s, 999'000'000);
  CHECK(r.error_ratio == Approx(15.0 / 1010));
  CHECK(r.burn == Approx(15.0 / 1010 / 0.001));
  // The last minute only.
  CHECK(b.sum(t0 + kMin, kMin).valid == 10);
  // Older than the ring: refused, not folded into a wrong minute.
  REQUIRE(b.add(t0 + 3 * kHour, 1, 1));
  CHECK_FALSE(b.add(t0 + kMin, 1, 1));
}

TEST_CASE("Vector 3: zero traffic is NO_DATA with burn 0, never NaN", "[sla]") {
  SloBuckets b(30 * kDay);
  auto r = burn(b.sum(ts("2026-10-01T00:00:00Z"), kHour), 999'000'000);
  CHECK(r.no_data);
  CHECK(r.burn == 0);
  CHECK(r.error_ratio == 0);
}

TEST_CASE("Vector 4: a business-hours calendar across the Berlin spring DST change", "[sla]") {
  Calendar cal = zoneCalendar("Europe/Berlin", {{kWeekdays, 8 * 60, 18 * 60}});
  auto march = parsePeriod("2026-03", cal);
  REQUIRE(march);
  CHECK(march->start == ts("2026-02-28T23:00:00Z"));
  CHECK(march->end == ts("2026-03-31T22:00:00Z"));  // CEST from the 29th
  Intervals agreed = cal.agreed(march->start, march->end);
  CHECK(agreed.size() == 22);
  CHECK(totalLength(agreed) == 220 * kHour);
  // Monday 30 March, 08:00-09:00 local is 06:00-07:00 UTC: inside agreed time.
  AvailabilityInput in;
  in.agreed_all = agreed;
  in.timeline = {{march->start, ts("2026-03-30T06:00:00Z"), State::kOk, {}},
                 {ts("2026-03-30T06:00:00Z"), ts("2026-03-30T07:00:00Z"), State::kDown, {7}},
                 {ts("2026-03-30T07:00:00Z"), march->end, State::kOk, {}}};
  in.now = march->end;
  auto a = availability(in);
  CHECK(a.downtime_net_ms == 1.0 * kHour);
  REQUIRE(a.downtime.size() == 1);
  CHECK(a.downtime[0].incidents == std::vector<uint64_t>{7});
  // 24x7 March in Berlin has 743 hours; a 99.9 % budget is 2674.8 s.
  Calendar all = zoneCalendar("Europe/Berlin");
  in.agreed_all = all.agreed(march->start, march->end);
  CHECK(totalLength(in.agreed_all) == 743 * kHour);
  CHECK(availability(in).budget_total_ms == 2'674'800);
}

TEST_CASE("Vector 5: maintenance is excluded from net downtime, not from gross", "[sla]") {
  Ms t0 = ts("2026-06-01T00:00:00Z");
  AvailabilityInput in;
  in.agreed_all = {{t0, t0 + 30 * kDay}};
  in.excluded = {{t0 + 10 * kDay, t0 + 10 * kDay + 10 * kMin, "maintenance", "CHG0042"}};
  in.timeline = {{t0, t0 + 30 * kDay, State::kOk, {}}};
  in.timeline = {{t0, t0 + 10 * kDay + 2 * kMin, State::kOk, {}},
                 {t0 + 10 * kDay + 2 * kMin, t0 + 10 * kDay + 7 * kMin, State::kDown, {1}},
                 {t0 + 10 * kDay + 7 * kMin, t0 + 20 * kDay, State::kOk, {}},
                 {t0 + 20 * kDay, t0 + 20 * kDay + 20 * kMin, State::kDown, {2}},
                 {t0 + 20 * kDay + 20 * kMin, t0 + 30 * kDay, State::kOk, {}}};
  in.now = t0 + 30 * kDay;
  auto a = availability(in);
  CHECK(a.downtime_net_ms == 20.0 * kMin);
  CHECK(a.downtime_gross_ms == 25.0 * kMin);
  CHECK(a.measured_ms == 43'190 * kMin);
  REQUIRE(a.to_date);
  CHECK(*a.to_date * 100 == Approx(99.9537).epsilon(1e-6));
  REQUIRE(a.excluded_by_reason.size() == 1);
  CHECK(a.excluded_by_reason[0].second == 10 * kMin);
  CHECK(a.downtime.size() == 2);
  CHECK(a.downtime[0].excluded);
  CHECK_FALSE(a.downtime[1].excluded);
}

TEST_CASE("Vector 6: partial outages weigh 0.3", "[sla]") {
  Ms t0 = ts("2026-01-01T00:00:00Z");
  AvailabilityInput in;
  in.agreed_all = {{t0, t0 + 90 * kDay}};
  in.timeline = {{t0, t0 + kDay, State::kOk, {}},
                 {t0 + kDay, t0 + kDay + 60 * kMin, State::kDown, {1}},
                 {t0 + kDay + 60 * kMin, t0 + 2 * kDay, State::kOk, {}},
                 {t0 + 2 * kDay, t0 + 2 * kDay + 100 * kMin, State::kPartial, {2}},
                 {t0 + 2 * kDay + 100 * kMin, t0 + 90 * kDay, State::kOk, {}}};
  in.now = t0 + 90 * kDay;
  auto a = availability(in);
  CHECK(a.downtime_net_ms == Approx(90.0 * kMin));
  CHECK(*a.to_date * 100 == Approx(99.9306).epsilon(1e-6));
}

TEST_CASE("Vector 7: MTRS, MTBF, MTBSI and availability from failures", "[sla]") {
  Ms t0 = ts("2026-04-01T00:00:00Z");
  std::vector<StatePiece> tl = {{t0, t0 + 100 * kHour, State::kOk, {}},
                                {t0 + 100 * kHour, t0 + 101 * kHour, State::kDown, {1}},
                                {t0 + 300 * kHour, t0 + 302 * kHour, State::kDown, {2}},
                                {t0 + 500 * kHour, t0 + 500 * kHour + 30 * kMin, State::kDown, {3}},
                                {t0 + 600 * kHour, t0 + 610 * kHour, State::kPartial, {4}}};
  auto r = reliability(tl, {{t0, t0 + 720 * kHour}}, Weights{});
  REQUIRE(r.failures == 3);
  CHECK(r.restore_ms.mean / kHour == Approx(1.1667).epsilon(1e-4));
  CHECK(*r.mtbf_ms / kHour == Approx(238.83).epsilon(1e-4));
  CHECK(*r.mtbsi_ms / kHour == Approx(240));
  CHECK(*r.availability * 100 == Approx(99.514).epsilon(1e-5));
  CHECK(r.restore_ms.median == 1.0 * kHour);
  CHECK(r.restore_ms.p90 == 2.0 * kHour);
  // Back-to-back DOWN pieces caused by different incidents are one failure.
  std::vector<StatePiece> joined = {{t0, t0 + kHour, State::kDown, {1}},
                                    {t0 + kHour, t0 + 2 * kHour, State::kDown, {2}}};
  CHECK(reliability(joined, {{t0, t0 + 720 * kHour}}, Weights{}).failures == 1);
  CHECK_FALSE(reliability({}, {{t0, t0 + kHour}}, Weights{}).mtbf_ms);
}

TEST_CASE("Vector 8: a resolution clock on New York business hours with a pause", "[sla]") {
  Calendar cal = zoneCalendar("America/New_York", {{kWeekdays, 8 * 60, 17 * 60}});
  Ms opened = ts("2026-11-13T15:00:00-05:00");  // a Friday
  Intervals pauses = {{ts("2026-11-16T09:00:00-05:00"), ts("2026-11-16T10:00:00-05:00")}};
  Ms duration = 8 * kHour;
  CHECK(businessDeadline(cal, opened, duration / 2, pauses) == ts("2026-11-16T11:00:00-05:00"));
  CHECK(businessDeadline(cal, opened, duration * 3 / 4, pauses) == ts("2026-11-16T13:00:00-05:00"));
  Ms breach = businessDeadline(cal, opened, duration, pauses);
  CHECK(breach == ts("2026-11-16T15:00:00-05:00"));
  CHECK(businessTime(cal, opened, breach, pauses) == duration);
  CHECK(breach - opened - totalLength(pauses) == 71 * kHour);  // actual elapsed
  // A "1 day" target is 24 business hours: 2 working days and 6 hours later.
  Ms monday8 = ts("2026-11-16T08:00:00-05:00");
  CHECK(businessDeadline(cal, monday8, 24 * kHour, {}) == ts("2026-11-18T14:00:00-05:00"));
  // Paused from Monday 09:00 with no end: no deadline.
  CHECK(businessDeadline(cal, opened, duration, {}, ts("2026-11-16T09:00:00-05:00")) == INT64_MAX);
}

TEST_CASE("Vector 9: Zabbix status rules and propagation", "[sla]") {
  std::vector<ChildStatus> c = {{4, 1, {}}, {-1, 1, {}}, {2, 2, {}}};
  CHECK_FALSE(ruleHolds({StatusRuleType::kWGe, 2, 3, 4}, c));
  CHECK(ruleHolds({StatusRuleType::kWPGe, 25, 2, 4}, c));
  CHECK(ruleHolds({StatusRuleType::kNPGe, 66, 2, 4}, c));
  CHECK_FALSE(ruleHolds({StatusRuleType::kNPGe, 67, 2, 4}, c));
  CHECK(ruleHolds({StatusRuleType::kNL, 2, -1, 4}, c));
  CHECK(serviceStatus(Algorithm::kMostCriticalIfAll, c, {}) == -1);
  CHECK(serviceStatus(Algorithm::kMostCriticalOfChildren, c, {}) == 4);
  CHECK(serviceStatus(Algorithm::kSetOk, c, {{StatusRuleType::kNGe, 2, 2, 5}}) == 5);
  // B ignored: 2 children of weight 3.
  auto ignored = c;
  ignored[1].propagation = {PropagationKind::kIgnore, 0};
  CHECK(ruleHolds({StatusRuleType::kNPGe, 100, 2, 4}, ignored));  // both remaining are >= Warning
  CHECK(ruleHolds({StatusRuleType::kWGe, 3, 2, 4}, ignored));
  CHECK(serviceStatus(Algorithm::kMostCriticalIfAll, ignored, {}) == 4);
  // C fixed OK: contributes OK, still counted in totals.
  auto fixed = c;
  fixed[2].propagation = {PropagationKind::kFixed, -1};
  CHECK(serviceStatus(Algorithm::kMostCriticalOfChildren, fixed, {}) == 4);
  CHECK_FALSE(ruleHolds({StatusRuleType::kNPGe, 50, 2, 4}, fixed));  // 1 of 3
  // Increase caps at Disaster, decrease floors at Not classified (a problem stays a problem).
  CHECK(propagate(4, {PropagationKind::kIncrease, 3}) == 5);
  CHECK(propagate(1, {PropagationKind::kDecrease, 3}) == 0);
  CHECK(propagate(-1, {PropagationKind::kIncrease, 3}) == -1);
  // Every child ignored: OK.
  CHECK(serviceStatus(Algorithm::kMostCriticalOfChildren, {{5, 1, {PropagationKind::kIgnore, 0}}},
                      {{StatusRuleType::kNL, 1, -1, 5}}) == -1);
}

TEST_CASE("Vector 10: least-squares capacity forecast", "[sla]") {
  std::vector<std::pair<Ms, double>> s = {{0, 100}, {kHour, 95}, {2 * kHour, 90}, {3 * kHour, 85}};
  auto f = leastSquares(s, 3 * kHour);
  REQUIRE(f);
  CHECK(f->slope_per_ms * kHour == Approx(-5));
  CHECK(f->now_value == Approx(85));
  CHECK(f->predict(4 * kHour) == Approx(65));  // predict(4 h)
  CHECK(*f->timeLeftMs(0) / kHour == Approx(17));
  CHECK(f->r_squared == Approx(1));
  CHECK_FALSE(f->timeLeftMs(200));  // moving away from it: never (+Inf)
  CHECK_FALSE(leastSquares({{0, 1}}, 0));
  // At epoch-scale times the fit stays exact.
  Ms t0 = ts("2026-11-21T00:00:00Z");
  for (auto& p : s) p.first += t0;
  CHECK(*leastSquares(s, t0 + 3 * kHour)->timeLeftMs(0) / kHour == Approx(17));
}

TEST_CASE("Vector 11: heartbeat LATE and DOWN", "[sla]") {
  HeartbeatClock h;
  h.period_ms = 10 * kMin;
  h.grace_ms = 5 * kMin;
  CHECK(h.at(0) == HeartbeatState::kNew);
  Ms noon = ts("2026-11-21T12:00:00Z");
  h.last_success = noon;
  CHECK(h.at(noon + 10 * kMin - 1) == HeartbeatState::kUp);
  CHECK(h.at(noon + 10 * kMin) == HeartbeatState::kLate);
  CHECK(h.at(noon + 15 * kMin - 1) == HeartbeatState::kLate);
  CHECK(h.at(noon + 15 * kMin) == HeartbeatState::kDown);
  CHECK(h.nextChange(noon) == noon + 10 * kMin);
  CHECK(h.nextChange(noon + 10 * kMin) == noon + 15 * kMin);
  CHECK(h.nextChange(noon + 15 * kMin) == INT64_MAX);
  h.failed_at = noon + kMin;
  CHECK(h.at(noon + 2 * kMin) == HeartbeatState::kDown);
}

TEST_CASE("Month boundaries, leap years and ISO weeks in local time", "[sla]") {
  Calendar utc;
  CHECK(parsePeriod("2024-02", utc)->end - parsePeriod("2024-02", utc)->start == 29 * kDay);
  CHECK(parsePeriod("2026-02", utc)->end - parsePeriod("2026-02", utc)->start == 28 * kDay);
  CHECK(parsePeriod("2024", utc)->end - parsePeriod("2024", utc)->start == 366 * kDay);
  CHECK(parsePeriod("2026-Q4", utc)->start == ts("2026-10-01T00:00:00Z"));
  CHECK(parsePeriod("2026-Q4", utc)->end == ts("2027-01-01T00:00:00Z"));
  CHECK(parsePeriod("2026-W01", utc)->start == ts("2025-12-29T00:00:00Z"));
  CHECK(parsePeriod("2026-W53", utc)->start ==
        ts("2026-12-28T00:00:00Z"));          // 2026 has 53 ISO weeks
  CHECK_FALSE(parsePeriod("2027-W53", utc));  // 2027 has 52
  CHECK_FALSE(parsePeriod("2026-13", utc));
  CHECK_FALSE(parsePeriod("2026-02-30", utc));
  CHECK_FALSE(parsePeriod("october", utc));
  PeriodSpec month{PeriodKind::kMonth, 0};
  // The last millisecond of October is in October; the next one in November.
  CHECK(periodAt(month, utc, ts("2026-10-31T23:59:59.999Z")).label == "2026-10");
  CHECK(periodAt(month, utc, ts("2026-11-01T00:00:00Z")).label == "2026-11");
  // In Tokyo, 2026-10-31T16:00Z is already November.
  Calendar tokyo = zoneCalendar("Asia/Tokyo");
  CHECK(periodAt(month, tokyo, ts("2026-10-31T16:00:00Z")).label == "2026-11");
  CHECK(previousPeriod(month, utc, periodAt(month, utc, ts("2026-01-15T00:00:00Z"))).label ==
        "2025-12");
  CHECK(periodAt({PeriodKind::kWeek, 0}, utc, ts("2026-11-21T12:00:00Z")).label == "2026-W47");
  CHECK(periodAt({PeriodKind::kQuarter, 0}, utc, ts("2026-11-21T12:00:00Z")).label == "2026-Q4");
  // 29 February of a leap year is a day like any other in a 24x7 year.
  Calendar all;
  auto y2028 = parsePeriod("2028", all);
  CHECK(totalLength(all.agreed(y2028->start, y2028->end)) == 366 * kDay);
}

TEST_CASE("Both DST transitions in two time zones keep local service hours", "[sla]") {
  // Berlin autumn: Sunday 25 October 2026 has 25 hours; a 24x7 October has 745 hours.
  Calendar berlin = zoneCalendar("Europe/Berlin");
  auto oct = parsePeriod("2026-10", berlin);
  CHECK(totalLength(berlin.agreed(oct->start, oct->end)) == 745 * kHour);
  auto day = parsePeriod("2026-10-25", berlin);
  CHECK(day->end - day->start == 25 * kHour);
  // New York: spring 8 March 2026 (23 h), autumn 1 November 2026 (25 h).
  Calendar ny = zoneCalendar("America/New_York");
  auto mar8 = parsePeriod("2026-03-08", ny);
  auto nov1 = parsePeriod("2026-11-01", ny);
  CHECK(mar8->end - mar8->start == 23 * kHour);
  CHECK(nov1->end - nov1->start == 25 * kHour);
  // A night shift 22:00-06:00 crossing midnight, over the autumn change, is 9 real hours.
  Calendar night = zoneCalendar("America/New_York", {{0x7f, 22 * 60, 6 * 60}});
  Intervals shift = night.agreed(ts("2026-10-31T12:00:00-04:00"), ts("2026-11-01T12:00:00-05:00"));
  REQUIRE(shift.size() == 1);
  CHECK(shift[0].a == ts("2026-10-31T22:00:00-04:00"));
  CHECK(shift[0].length() == 9 * kHour);
  // A window starting in the spring gap (02:30 does not exist) starts at the end of the gap.
  Calendar early = zoneCalendar("America/New_York", {{0x7f, 2 * 60 + 30, 4 * 60}});
  Intervals gap = early.agreed(mar8->start, mar8->end);
  REQUIRE(gap.size() == 1);
  CHECK(gap[0].a == ts("2026-03-08T03:00:00-04:00"));
  CHECK(gap[0].length() == 1 * kHour);
  // Berlin business hours on the autumn Monday after the change: 08:00 CET is 07:00 UTC.
  Calendar office = zoneCalendar("Europe/Berlin", {{kWeekdays, 8 * 60, 18 * 60}});
  Intervals mon = office.agreed(ts("2026-10-26T00:00:00Z"), ts("2026-10-27T00:00:00Z"));
  REQUIRE(mon.size() == 1);
  CHECK(mon[0].a == ts("2026-10-26T07:00:00Z"));
}

TEST_CASE("Holidays remove whole local days from agreed time", "[sla]") {
  Calendar c = zoneCalendar("Europe/Berlin", {{kWeekdays, 8 * 60, 18 * 60}});
  int32_t xmas = 0, boxing = 0;
  REQUIRE(parseLocalDate("2026-12-24", xmas));
  REQUIRE(parseLocalDate("2026-12-26", boxing));
  c.holidays.push_back({xmas, boxing, "Christmas"});
  auto dec = parsePeriod("2026-12", c);
  // 23 weekdays in December 2026, of which 24 and 25 (Thu, Fri) are holidays.
  CHECK(totalLength(c.agreed(dec->start, dec->end)) == 21 * 10 * kHour);
  CHECK(formatLocalDate(xmas) == "2026-12-24");
  int32_t bad;
  CHECK_FALSE(parseLocalDate("2026-02-29", bad));
}

TEST_CASE("Overlapping incidents are a union: downtime is never counted twice", "[sla]") {
  Ms t0 = ts("2026-10-01T00:00:00Z");
  AvailabilityInput in;
  in.agreed_all = {{t0, t0 + 31 * kDay}};
  // The timeline holds one state per instant; two overlapping incidents make one DOWN piece
  // naming both.
  in.timeline = {{t0, t0 + kHour, State::kOk, {}},
                 {t0 + kHour, t0 + 2 * kHour, State::kDown, {1}},
                 {t0 + 2 * kHour, t0 + 3 * kHour, State::kDown, {1, 2}},
                 {t0 + 3 * kHour, t0 + 4 * kHour, State::kDown, {2}},
                 {t0 + 4 * kHour, t0 + 31 * kDay, State::kOk, {}}};
  in.now = t0 + 31 * kDay;
  auto a = availability(in);
  CHECK(a.downtime_net_ms == 3.0 * kHour);
  CHECK(reliability(in.timeline, in.agreed_all, in.weights).failures == 1);
}

TEST_CASE("Unknown time: excluded by default, or counted up or down", "[sla]") {
  Ms t0 = ts("2026-10-01T00:00:00Z");
  AvailabilityInput in;
  in.agreed_all = {{t0, t0 + 10 * kHour}};
  in.timeline = {{t0, t0 + 4 * kHour, State::kOk, {}},
                 {t0 + 5 * kHour, t0 + 10 * kHour, State::kOk, {}}};
  in.now = t0 + 10 * kHour;
  auto a = availability(in);
  CHECK(a.unknown_ms == kHour);
  CHECK(a.measured_ms == 9 * kHour);
  CHECK(*a.to_date == 1.0);
  in.unknown = UnknownPolicy::kCountDown;
  CHECK(*availability(in).to_date == Approx(0.9));
  in.unknown = UnknownPolicy::kCountUp;
  CHECK(*availability(in).to_date == 1.0);
  // Nothing measured yet: no data, not 100 % and not NaN.
  in.unknown = UnknownPolicy::kExclude;
  in.now = t0;
  CHECK_FALSE(availability(in).to_date);
}

TEST_CASE("Mid-period: to date, projected and a budget that may go negative", "[sla]") {
  Ms t0 = ts("2026-11-01T00:00:00Z");
  AvailabilityInput in;
  in.agreed_all = {{t0, t0 + 30 * kDay}};
  in.timeline = {{t0, t0 + kDay, State::kOk, {}},
                 {t0 + kDay, t0 + kDay + kHour, State::kDown, {1}},
                 {t0 + kDay + kHour, t0 + 2 * kDay, State::kOk, {}}};
  in.now = t0 + 2 * kDay;
  auto a = availability(in);
  CHECK(a.agreed_ms == 2 * kDay);
  CHECK(*a.to_date == Approx(1.0 - 1.0 / 48));
  CHECK(*a.projected == Approx(1.0 - 1.0 / 720));
  CHECK(a.budget_total_ms == 2'592'000);  // 43.2 min
  CHECK(a.budget_remaining_ms == Approx(2'592'000.0 - kHour));
  CHECK(a.at_risk);
  CHECK(*a.budget_consumed == Approx(3'600'000.0 / 2'592'000));
}

TEST_CASE("Hysteresis raises after `for` above hi and clears after `clear_for` below lo", "[sla]") {
  Hysteresis h{90, 80, 5 * kMin, 10 * kMin};
  CHECK_FALSE(h.sample(0, 95));
  CHECK_FALSE(h.sample(4 * kMin, 95));
  CHECK(h.sample(5 * kMin, 91));
  CHECK(h.raised);
  CHECK_FALSE(h.sample(6 * kMin, 85));  // between lo and hi: stays raised
  CHECK_FALSE(h.sample(7 * kMin, 70));
  CHECK_FALSE(h.sample(16 * kMin, 75));
  CHECK(h.sample(17 * kMin, 75));
  CHECK_FALSE(h.raised);
}

TEST_CASE("Availability targets are exact parts per billion", "[sla]") {
  int64_t ppb = 0;
  CHECK((parsePercentPpb("99.9995", ppb) && ppb == 999'995'000));
  CHECK((parsePercentPpb("100", ppb) && ppb == kPpb));
  CHECK((parsePercentPpb("99.9999999", ppb) && ppb == 999'999'999));
  CHECK_FALSE(parsePercentPpb("99.99999999", ppb));  // finer than a part per billion
  CHECK_FALSE(parsePercentPpb("100.1", ppb));
  CHECK_FALSE(parsePercentPpb("0", ppb));
  CHECK_FALSE(parsePercentPpb("99,9", ppb));
  CHECK_FALSE(parsePercentPpb("99.", ppb));
}

TEST_CASE("The example rule file's calendars, agreements and heartbeats load as written", "[sla]") {
  triaged::config::ConfigErrors errors;
  auto rs =
      RuleSet::load({std::string(TRIAGED_SOURCE_DIR) + "/rules/examples/datacenter.yaml"}, errors);
  REQUIRE(errors.empty());
  REQUIRE(rs);
  REQUIRE(rs->calendars().size() == 3);  // 24x7 + two
  const auto& office = rs->calendars()[2];
  CHECK(office.name == "office-berlin");
  CHECK(office.holidays.size() == 3);  // included from german-holidays
  REQUIRE(rs->agreements().size() == 2);
  const auto& shop = rs->agreements()[0];
  CHECK(shop.slo_ppb == 999'000'000);
  CHECK(shop.calendar == 0);
  CHECK(shop.effective_ms == ts("2026-01-01T00:00:00Z"));
  CHECK(shop.response.by_priority[0] == 15 * kMin);
  CHECK(shop.resolution.by_priority[3] == 0);
  CHECK(shop.stateOf(4) == State::kDown);
  CHECK(shop.stateOf(3) == State::kPartial);
  CHECK(shop.stateOf(2) == State::kDegraded);
  CHECK(shop.stateOf(-1) == State::kOk);
  const auto& ola = rs->agreements()[1];
  CHECK(ola.type == AgreementType::kOla);
  CHECK(ola.period.kind == PeriodKind::kRolling);
  CHECK(ola.period.rolling_ms == 30 * kDay);
  CHECK(ola.calendar == 2);
  CHECK(ola.clock_calendar == 2);
  CHECK(ola.pause_when.size() == 1);
  CHECK(rs->services()[rs->serviceByName("shop")].agreements == std::vector<uint32_t>{0});
  REQUIRE(rs->heartbeats().size() == 1);
  CHECK(rs->heartbeats()[0].has_schedule);
  CHECK(rs->heartbeats()[0].schedule_text == "0 2 * * *");
  REQUIRE(rs->slos().size() == 1);
  CHECK(rs->slos()[0].slo_ppb == 999'000'000);
  CHECK(rs->slos()[0].windows.size() == 4);
  REQUIRE(rs->capacity().size() == 1);
  CHECK(rs->capacity()[0].threshold);
  CHECK(rs->capacity()[0].forecast);
  CHECK(rs->capacity()[0].clear_at == 0.85);
  CHECK(rs->heartbeats()[0].severity == 4);
  CHECK(rs->heartbeats()[0].service == rs->serviceByName("backup"));
}

TEST_CASE("A service hierarchy orders children before parents", "[sla]") {
  namespace fs = std::filesystem;
  fs::path file =
      fs::temp_directory_path() / ("triaged-sla-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(file) << R"(services:
  - name: shop
    children: [web, db]
    algorithm: most_critical_if_all
    status_rules:
      - {type: np_ge, limit: 50, limit_status: major, new_status: critical}
  - name: web
    propagation: increase 1
  - name: db
    weight: 3
    propagation: fixed minor
)";
  triaged::config::ConfigErrors errors;
  auto rs = RuleSet::load({file.string()}, errors);
  fs::remove(file);
  REQUIRE(errors.empty());
  const auto& order = rs->serviceOrder();
  REQUIRE(order.size() == 3);
  CHECK(rs->services()[order.back()].name == "shop");
  const auto& shop = rs->services()[rs->serviceByName("shop")];
  CHECK(shop.hierarchy.algorithm == Algorithm::kMostCriticalIfAll);
  REQUIRE(shop.hierarchy.status_rules.size() == 1);
  CHECK(shop.hierarchy.status_rules[0].type == StatusRuleType::kNPGe);
  CHECK(shop.hierarchy.status_rules[0].new_status == 5);
  const auto& db = rs->services()[rs->serviceByName("db")];
  CHECK(db.hierarchy.weight == 3);
  CHECK(db.hierarchy.propagation.kind == PropagationKind::kFixed);
  CHECK(db.hierarchy.propagation.value == 3);
  CHECK(db.parents == std::vector<uint32_t>{rs->serviceByName("shop")});
}

TEST_CASE("Cron schedules: fields, names, macros, the day-of-month/weekday rule, and DST in Berlin",
          "[sla][cron]") {
  Cron c;
  std::string err;
  Calendar utc;
  REQUIRE(parseCron("*/15 9-17 * * mon-fri", c, err));
  // Friday 2026-11-20 17:50Z: next is Monday 09:00.
  CHECK(nextFire(c, utc, ts("2026-11-20T17:50:00Z")) == ts("2026-11-23T09:00:00Z"));
  CHECK(nextFire(c, utc, ts("2026-11-23T09:00:00Z")) ==
        ts("2026-11-23T09:15:00Z"));  // strictly after
  // Both day fields restricted: the 13th or any Friday (Vixie cron).
  REQUIRE(parseCron("0 0 13 * 5", c, err));
  CHECK(nextFire(c, utc, ts("2026-11-01T00:00:00Z")) ==
        ts("2026-11-06T00:00:00Z"));  // Friday the 6th
  CHECK(nextFire(c, utc, ts("2026-11-06T00:00:00Z")) ==
        ts("2026-11-13T00:00:00Z"));  // the 13th (a Friday too)
  CHECK(nextFire(c, utc, ts("2026-11-13T00:00:00Z")) == ts("2026-11-20T00:00:00Z"));
  REQUIRE(parseCron("@monthly", c, err));
  CHECK(nextFire(c, utc, ts("2026-12-15T00:00:00Z")) == ts("2027-01-01T00:00:00Z"));
  REQUIRE(parseCron("0 12 29 FEB *", c, err));  // leap days only
  CHECK(nextFire(c, utc, ts("2026-03-01T00:00:00Z")) == ts("2028-02-29T12:00:00Z"));
  REQUIRE(parseCron("0 0 * * 7", c, err));  // 7 is Sunday
  CHECK(nextFire(c, utc, ts("2026-11-20T00:00:00Z")) == ts("2026-11-22T00:00:00Z"));
  // Berlin: 02:30 does not exist on 29 March 2026 (fires at the gap's end, 03:00 CEST = 01:00Z)
  // and happens twice on 25 October 2026 (fires once, at the first, 00:30Z).
  Calendar berlin = zoneCalendar("Europe/Berlin");
  REQUIRE(parseCron("30 2 * * *", c, err));
  CHECK(nextFire(c, berlin, ts("2026-03-28T12:00:00Z")) == ts("2026-03-29T01:00:00Z"));
  CHECK(nextFire(c, berlin, ts("2026-03-29T01:00:00Z")) == ts("2026-03-30T00:30:00Z"));
  CHECK(nextFire(c, berlin, ts("2026-10-24T12:00:00Z")) == ts("2026-10-25T00:30:00Z"));
  CHECK(nextFire(c, berlin, ts("2026-10-25T00:30:00Z")) == ts("2026-10-26T01:30:00Z"));
  // Errors name the field.
  CHECK_FALSE(parseCron("0 0 * *", c, err));
  CHECK(err.find("5 fields") != std::string::npos);
  CHECK_FALSE(parseCron("60 * * * *", c, err));
  CHECK(err.rfind("minute", 0) == 0);
  CHECK_FALSE(parseCron("0 0 * foo *", c, err));
  CHECK(err.rfind("month", 0) == 0);
  CHECK_FALSE(parseCron("0 0 * * 1-9", c, err));
  CHECK(err.rfind("day of week", 0) == 0);
  CHECK_FALSE(parseCron("*/0 * * * *", c, err));
  CHECK(err.find("step") != std::string::npos);
}

TEST_CASE("Timestamps in rule files: RFC 3339 only, garbage refused without reaching the parser",
          "[schedule]") {
  int64_t out = 0;
  CHECK(triaged::rules::parseTimestamp("2026-01-01T02:00:00Z", out));
  CHECK(out == 1'767'232'800'000);
  CHECK(triaged::rules::parseTimestamp("2026-01-01T03:00:00.5+01:00", out));
  CHECK(out == 1'767'232'800'500);
  // Found by fuzz_rules: bytes in the seconds made the date library's conversion overflow.
  for (const char* bad :
       {"2026-01-01T\xff\xff\xff\xff\xff\xff\xff\xffZ", "2026-01-01T02:00:9999999999999999999Z",
        "2026-01-01T02:00:00", "2026-01-01 02:00:00Z", "2026-01-01T02:00:00.Z",
        "2026-01-01T02:00:00+0100", "2026-01-01T02:00:00Zjunk"})
    CHECK_FALSE(triaged::rules::parseTimestamp(bad, out));
}
