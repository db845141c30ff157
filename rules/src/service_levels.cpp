// Reading calendars, agreements, heartbeats and service hierarchies from rule files.
#include "triaged/rules/service_levels.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include "service_levels_loader.h"
#include "triaged/rules/facts.h"
#include "triaged/rules/schedule.h"

namespace triaged::rules {

using config::ErrorSink;
using config::MapReader;

void readRefs(MapReader& r, const char* key, std::vector<PendingRef>& out) {
  YAML::Node n = r.node()[key];
  std::vector<std::string> names;
  r.getStringList(key, names);
  for (size_t i = 0; i < names.size(); ++i)
    out.push_back({names[i],
                   {r.sink().file(), n[i].Mark().is_null() ? 0 : n[i].Mark().line + 1},
                   r.childPath(key) + "[" + std::to_string(i) + "]"});
}

const char* agreementTypeName(AgreementType t) {
  return t == AgreementType::kSla ? "sla" : t == AgreementType::kOla ? "ola" : "uc";
}

bool parsePercentPpb(const std::string& text, int64_t& ppb) {
  int64_t whole = 0, frac = 0;
  int digits = 0, frac_digits = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    whole = whole * 10 + (text[i] - '0');
    if (whole > 100) return false;
  }
  if (digits == 0) return false;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++frac_digits) {
      if (frac_digits == 7) return false;  // finer than a part per billion
      frac = frac * 10 + (text[i] - '0');
    }
    if (frac_digits == 0) return false;
  }
  if (i != text.size()) return false;
  for (int k = frac_digits; k < 7; ++k) frac *= 10;
  ppb = whole * 10'000'000 + frac;
  return ppb > 0 && ppb <= sla::kPpb;
}

bool statusByName(const std::string& s, int& out) {
  static const std::pair<const char*, int> kNames[] = {
      {"ok", -1},   {"not_classified", 0}, {"info", 1},    {"warning", 2},
      {"minor", 3}, {"major", 4},          {"critical", 5}};
  for (const auto& [n, v] : kNames)
    if (s == n) return out = v, true;
  return false;
}

namespace {

void statusField(MapReader& r, const char* key, int& out, bool required) {
  YAML::Node n = r.node()[key];
  std::string text;
  r.getString(key, text, required);
  if (text.empty()) return;
  if (!statusByName(text, out))
    r.sink().add(n, r.childPath(key),
                 "unknown status \"" + text +
                     "\" (ok, not_classified, info, warning, minor, major, critical)");
}

}  // namespace

uint8_t ServiceLevelsLoader::daysMask(MapReader& r) {
  YAML::Node days_node = r.node()["days"];
  std::vector<std::string> days;
  r.getStringList("days", days);
  static const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  uint8_t mask = 0;
  for (size_t i = 0; i < days.size(); ++i) {
    auto it = std::find(std::begin(kDays), std::end(kDays), days[i]);
    if (it == std::end(kDays))
      r.sink().add(days_node[i], r.childPath("days") + "[" + std::to_string(i) + "]",
                   "unknown day \"" + days[i] + "\" (mon, tue, wed, thu, fri, sat, sun)");
    else
      mask |= static_cast<uint8_t>(1u << (it - std::begin(kDays)));
  }
  return days.empty() ? 0x7f : mask;
}

bool ServiceLevelsLoader::clockTime(MapReader& r, const char* key, int& minute, bool allow_24) {
  YAML::Node n = r.node()[key];
  std::string text;
  r.getString(key, text, true);
  if (text.empty()) return false;
  int h = -1, m = -1;
  char colon = 0, tail = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &h, &colon, &m, &tail) != 3 || colon != ':' || h < 0 ||
      m < 0 || m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24))) {
    r.sink().add(n, r.childPath(key),
                 std::string("expected HH:MM") + (allow_24 ? " (24:00 allowed)" : "") + ", got \"" +
                     text + "\"");
    return false;
  }
  minute = h * 60 + m;
  return true;
}

void ServiceLevelsLoader::calendar(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
  MapReader r(n, p, sink);
  if (!r.valid()) return;
  sla::Calendar c;
  r.getString("name", c.name, true);
  std::string zone = "UTC";
  YAML::Node zn = n["time_zone"];
  r.getString("time_zone", zone);
  if (zone != "UTC" && !findZone(zone, c.zone))
    sink.add(zn, p + ".time_zone", "unknown time zone \"" + zone + "\"");
  config::forEachInList(r.take("hours"), p + ".hours", sink,
                        [&](const YAML::Node& h, const std::string& hp) {
                          MapReader hr(h, hp, sink);
                          if (!hr.valid()) return;
                          sla::ServiceHours sh;
                          sh.days_mask = daysMask(hr);
                          bool ok = clockTime(hr, "start", sh.start_minute, false);
                          ok = clockTime(hr, "end", sh.end_minute, true) && ok;
                          hr.finish();
                          if (ok) c.hours.push_back(sh);
                        });
  config::forEachInList(
      r.take("holidays"), p + ".holidays", sink, [&](const YAML::Node& h, const std::string& hp) {
        MapReader hr(h, hp, sink);
        if (!hr.valid()) return;
        sla::Holiday hol;
        std::string date, from, to;
        hr.getString("name", hol.name);
        hr.getString("date", date);
        hr.getString("from", from);
        hr.getString("to", to);
        auto day = [&](const std::string& text, const char* key, int32_t& out) {
          if (!sla::parseLocalDate(text, out))
            sink.add(h[key], hp + "." + key, "expected a date YYYY-MM-DD, got \"" + text + "\"");
        };
        if (!date.empty()) {
          if (!from.empty() || !to.empty())
            sink.add(h, hp, "give either date or from/to, not both");
          day(date, "date", hol.first_day);
          hol.last_day = hol.first_day;
        } else if (!from.empty() && !to.empty()) {
          day(from, "from", hol.first_day);
          day(to, "to", hol.last_day);
          if (hol.last_day < hol.first_day) sink.add(h["to"], hp + ".to", "is before from");
        } else {
          sink.add(h, hp, "needs date, or from and to");
        }
        hr.finish();
        c.holidays.push_back(std::move(hol));
      });
  std::vector<PendingRef> includes;
  readRefs(r, "include_holidays", includes);
  for (auto& i : includes)
    calendar_includes_.emplace_back(static_cast<uint32_t>(rs_.calendars_.size()), std::move(i));
  r.finish();
  calendar_origins_.push_back({sink.file(), n.Mark().is_null() ? 0 : n.Mark().line + 1});
  rs_.calendars_.push_back(std::move(c));
}

void ServiceLevelsLoader::clockTargets(MapReader& parent, const char* key, ClockTarget& out) {
  MapReader r(parent.take(key), parent.childPath(key), parent.sink());
  if (!r.node().IsDefined() || !r.valid()) return;
  static const char* kP[] = {"p1", "p2", "p3", "p4", "p5"};
  for (int i = 0; i < 5; ++i) {
    config::Duration d{0};
    r.getDuration(kP[i], d, config::Duration{1});
    out.by_priority[i] = d.count();
  }
  r.finish();
}

void ServiceLevelsLoader::agreement(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
  MapReader r(n, p, sink);
  if (!r.valid()) return;
  Agreement a;
  a.file = sink.file();
  a.line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
  r.getString("name", a.name, true);
  a.type = AgreementType::kSla;
  r.getEnum(
      "type", a.type,
      {{"sla", AgreementType::kSla}, {"ola", AgreementType::kOla}, {"uc", AgreementType::kUc}});
  r.getString("counterparty", a.counterparty);
  std::string service;
  YAML::Node sn = n["service"];
  r.getString("service", service, true);
  uint32_t idx = static_cast<uint32_t>(rs_.agreements_.size());
  if (!service.empty())
    agreement_services_.emplace_back(
        idx, PendingRef{service, {sink.file(), sn.Mark().line + 1}, p + ".service"});
  YAML::Node an = n["availability"];
  r.getString("availability", a.target_text);
  if (!a.target_text.empty() && !parsePercentPpb(a.target_text, a.slo_ppb))
    sink.add(an, p + ".availability",
             "expected a percentage above 0 and at most 100 with at most 7 decimals, got \"" +
                 a.target_text + "\"");
  std::string period = "month";
  YAML::Node pn = n["period"];
  r.getString("period", period);
  static const std::pair<const char*, sla::PeriodKind> kKinds[] = {
      {"day", sla::PeriodKind::kDay},
      {"week", sla::PeriodKind::kWeek},
      {"month", sla::PeriodKind::kMonth},
      {"quarter", sla::PeriodKind::kQuarter},
      {"year", sla::PeriodKind::kYear}};
  bool known = false;
  for (const auto& [name, kind] : kKinds)
    if (period == name) a.period.kind = kind, known = true;
  unsigned days = 0;
  char tail;
  if (!known && std::sscanf(period.c_str(), "rolling %ud%c", &days, &tail) == 1 && days >= 1 &&
      days <= 3660) {
    a.period = {sla::PeriodKind::kRolling, static_cast<sla::Ms>(days) * 86'400'000};
    known = true;
  }
  if (!known)
    sink.add(pn, p + ".period",
             "expected day, week, month, quarter, year or \"rolling Nd\", got \"" + period + "\"");
  std::string cal, clock_cal;
  YAML::Node cn = n["calendar"], ccn = n["clock_calendar"];
  r.getString("calendar", cal);
  r.getString("clock_calendar", clock_cal);
  if (!cal.empty())
    agreement_calendars_.emplace_back(
        idx, PendingRef{cal, {sink.file(), cn.Mark().line + 1}, p + ".calendar"});
  if (!clock_cal.empty())
    agreement_clock_calendars_.emplace_back(
        idx, PendingRef{clock_cal, {sink.file(), ccn.Mark().line + 1}, p + ".clock_calendar"});
  else if (!cal.empty())
    agreement_clock_calendars_.emplace_back(
        idx, PendingRef{cal, {sink.file(), cn.Mark().line + 1}, p + ".calendar"});
  std::string effective;
  YAML::Node en = n["effective"];
  r.getString("effective", effective);
  if (!effective.empty()) {
    int32_t day;
    if (sla::parseLocalDate(effective, day))
      agreement_effective_days_.emplace_back(idx,
                                             day);  // local midnight, once the calendar is known
    else if (!parseTimestamp(effective, a.effective_ms))
      sink.add(en, p + ".effective",
               "expected a date YYYY-MM-DD or an RFC 3339 timestamp, got \"" + effective + "\"");
  }
  statusField(r, "down_from_severity", a.down_from_severity, false);
  statusField(r, "partial_from_severity", a.partial_from_severity, false);
  if (a.partial_from_severity > a.down_from_severity)
    a.partial_from_severity = a.down_from_severity;
  if (r.has("weights")) {
    MapReader w(r.take("weights"), r.childPath("weights"), sink);
    if (w.valid()) {
      double partial = 0.3, degraded = 0;
      w.getDouble("partial", partial, 0, 1);
      w.getDouble("degraded", degraded, 0, 1);
      a.weights.partial_ppb = static_cast<int64_t>(partial * sla::kPpb + 0.5);
      a.weights.degraded_ppb = static_cast<int64_t>(degraded * sla::kPpb + 0.5);
      w.finish();
    }
  }
  std::string unknown = "exclude";
  r.getEnum("unknown", unknown, {"exclude", "up", "down"});
  a.unknown = unknown == "up"     ? sla::UnknownPolicy::kCountUp
              : unknown == "down" ? sla::UnknownPolicy::kCountDown
                                  : sla::UnknownPolicy::kExclude;
  clockTargets(r, "response", a.response);
  clockTargets(r, "resolution", a.resolution);
  YAML::Node pw = n["pause_when"];
  std::string pause;
  r.getString("pause_when", pause);
  std::string err;
  if (!pause.empty() && !parseMatchers(pause, a.pause_when, &err))
    sink.add(pw, p + ".pause_when", "invalid matchers: " + err);
  for (auto [key, out] : {std::pair<const char*, Matchers*>{"start_when", &a.start_when},
                          {"stop_when", &a.stop_when}}) {
    YAML::Node mn = n[key];
    std::string text;
    r.getString(key, text);
    if (!text.empty() && !parseMatchers(text, *out, &err))
      sink.add(mn, p + "." + key, "invalid matchers: " + err);
  }
  if (r.has("warn_at")) {
    YAML::Node wn = r.take("warn_at");
    a.warn_at.clear();
    if (!wn.IsSequence()) sink.add(wn, p + ".warn_at", "expected a list of percentages");
    for (size_t i = 0; wn.IsSequence() && i < wn.size(); ++i) {
      int v = 0;
      if (!wn[i].IsScalar() || !YAML::convert<int>::decode(wn[i], v) || v <= 0 || v >= 100)
        sink.add(wn[i], p + ".warn_at[" + std::to_string(i) + "]",
                 "expected a percentage between 1 and 99");
      else
        a.warn_at.push_back(v);
    }
    std::sort(a.warn_at.begin(), a.warn_at.end());
  }
  if (a.slo_ppb == 0 && !a.response.any() && !a.resolution.any())
    sink.add(n, p, "sets nothing to measure: give availability, response or resolution");
  a.burn_windows = sla::defaultBurnWindows();
  r.getBool("burn_alerts", a.burn_alerts);
  if (a.burn_alerts && !a.slo_ppb) sink.add(n, p + ".burn_alerts", "needs an availability target");
  r.finish();
  rs_.agreements_.push_back(std::move(a));
}

void ServiceLevelsLoader::heartbeat(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
  MapReader r(n, p, sink);
  if (!r.valid()) return;
  HeartbeatDef h;
  h.file = sink.file();
  h.line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
  r.getString("name", h.name, true);
  std::string service;
  YAML::Node sn = n["service"];
  r.getString("service", service);
  if (!service.empty())
    heartbeat_services_.emplace_back(
        static_cast<uint32_t>(rs_.heartbeats_.size()),
        PendingRef{service, {sink.file(), sn.Mark().line + 1}, p + ".service"});
  config::Duration period{0}, grace = std::chrono::minutes(5), latency{0};
  r.getDuration("period", period, config::Duration{1000});
  YAML::Node cn = n["schedule"], zn = n["time_zone"];
  r.getString("schedule", h.schedule_text);
  std::string zone;
  r.getString("time_zone", zone);
  if (!h.schedule_text.empty()) {
    std::string err;
    h.has_schedule = sla::parseCron(h.schedule_text, h.schedule, err);
    if (!h.has_schedule) sink.add(cn, p + ".schedule", err);
    if (r.has("period")) sink.add(n, p + ".period", "give period or schedule, not both");
  } else if (!r.has("period")) {
    sink.add(n, p + ".period", "is required (or a cron schedule)");
  }
  if (!zone.empty() && !findZone(zone, h.schedule_zone.zone))
    sink.add(zn, p + ".time_zone", "unknown time zone \"" + zone + "\"");
  if (!zone.empty() && h.schedule_text.empty())
    sink.add(zn, p + ".time_zone", "only applies to a schedule");
  r.getDuration("grace", grace);
  r.getDuration("max_latency", latency);
  h.period_ms = period.count();
  h.grace_ms = grace.count();
  h.max_latency_ms = latency.count();
  std::string sev = "critical";
  r.getEnum("severity", sev, {"info", "warning", "minor", "major", "critical"});
  statusByName(sev, h.severity);
  r.getStringMap("labels", h.labels);
  r.finish();
  rs_.heartbeats_.push_back(std::move(h));
}

void ServiceLevelsLoader::hierarchy(MapReader& r, uint32_t service) {
  ServiceHierarchy& h = rs_.services_[service].hierarchy;
  std::vector<PendingRef> children;
  readRefs(r, "children", children);
  for (auto& c : children) service_children_.emplace_back(service, std::move(c));
  std::string alg = "most_critical";
  r.getEnum("algorithm", alg, {"ok", "most_critical_if_all", "most_critical"});
  h.algorithm = alg == "ok"                     ? sla::Algorithm::kSetOk
                : alg == "most_critical_if_all" ? sla::Algorithm::kMostCriticalIfAll
                                                : sla::Algorithm::kMostCriticalOfChildren;
  r.getInt("weight", h.weight, 0, 1'000'000);
  YAML::Node pn = r.node()["propagation"];
  std::string prop;
  r.getString("propagation", prop);
  if (!prop.empty()) {
    char word[32] = {0}, arg[32] = {0};
    int got = std::sscanf(prop.c_str(), "%31s %31s", word, arg);
    std::string w = word;
    int v = 0;
    bool ok = true;
    if (w == "as_is" && got == 1) {
      h.propagation = {sla::PropagationKind::kAsIs, 0};
    } else if (w == "ignore" && got == 1) {
      h.propagation = {sla::PropagationKind::kIgnore, 0};
    } else if ((w == "increase" || w == "decrease") && got == 2 &&
               std::sscanf(arg, "%d", &v) == 1 && v >= 1 && v <= 5) {
      h.propagation = {
          w == "increase" ? sla::PropagationKind::kIncrease : sla::PropagationKind::kDecrease, v};
    } else if (w == "fixed" && got == 2 && statusByName(arg, v)) {
      h.propagation = {sla::PropagationKind::kFixed, v};
    } else {
      ok = false;
    }
    if (!ok)
      r.sink().add(pn, r.childPath("propagation"),
                   "expected as_is, ignore, \"increase N\", \"decrease N\" (1-5) or \"fixed "
                   "<status>\", got \"" +
                       prop + "\"");
  }
  config::forEachInList(
      r.take("status_rules"), r.childPath("status_rules"), r.sink(),
      [&](const YAML::Node& n, const std::string& p) {
        MapReader sr(n, p, r.sink());
        if (!sr.valid()) return;
        sla::StatusRule rule;
        std::string type;
        static const std::pair<const char*, sla::StatusRuleType> kTypes[] = {
            {"n_ge", sla::StatusRuleType::kNGe}, {"np_ge", sla::StatusRuleType::kNPGe},
            {"n_l", sla::StatusRuleType::kNL},   {"np_l", sla::StatusRuleType::kNPL},
            {"w_ge", sla::StatusRuleType::kWGe}, {"wp_ge", sla::StatusRuleType::kWPGe},
            {"w_l", sla::StatusRuleType::kWL},   {"wp_l", sla::StatusRuleType::kWPL}};
        std::vector<std::string> names;
        for (const auto& [name, t] : kTypes) names.push_back(name);
        sr.getEnum("type", type, names);
        if (!sr.has("type")) r.sink().add(n, p + ".type", "is required");
        for (const auto& [name, t] : kTypes)
          if (type == name) rule.type = t;
        bool percent = type.find('p') != std::string::npos;
        sr.getInt("limit", rule.limit_value, percent ? 1 : 0, percent ? 100 : 1'000'000'000);
        if (!sr.has("limit")) r.sink().add(n, p + ".limit", "is required");
        statusField(sr, "limit_status", rule.limit_status, true);
        statusField(sr, "new_status", rule.new_status, true);
        sr.finish();
        h.status_rules.push_back(rule);
      });
}

void ServiceLevelsLoader::link(const std::map<std::string, uint32_t>& services,
                               config::ConfigErrors& errors) {
  std::map<std::string, uint32_t> cals;
  for (uint32_t i = 1; i < rs_.calendars_.size(); ++i) {
    const auto& o = calendar_origins_[i - 1];
    if (rs_.calendars_[i].name == "24x7" || !cals.emplace(rs_.calendars_[i].name, i).second)
      errors.push_back({o.file, o.line, 0, "calendars",
                        "duplicate calendar \"" + rs_.calendars_[i].name + "\""});
  }
  auto calendar = [&](const PendingRef& ref, uint32_t& out) {
    if (ref.name == "24x7") return out = 0, true;
    auto it = cals.find(ref.name);
    if (it == cals.end()) {
      errors.push_back(
          {ref.origin.file, ref.origin.line, 0, ref.path, "unknown calendar \"" + ref.name + "\""});
      return false;
    }
    out = it->second;
    return true;
  };
  auto service = [&](const PendingRef& ref, uint32_t& out) {
    auto it = services.find(ref.name);
    if (it == services.end()) {
      errors.push_back(
          {ref.origin.file, ref.origin.line, 0, ref.path, "unknown service \"" + ref.name + "\""});
      return false;
    }
    out = it->second;
    return true;
  };
  // Included holidays (one level: a calendar includes other calendars' own holidays).
  std::vector<std::vector<sla::Holiday>> own;
  for (const auto& c : rs_.calendars_) own.push_back(c.holidays);
  for (const auto& [c, ref] : calendar_includes_) {
    uint32_t other = 0;
    if (calendar(ref, other))
      rs_.calendars_[c].holidays.insert(rs_.calendars_[c].holidays.end(), own[other].begin(),
                                        own[other].end());
  }
  std::map<std::string, uint32_t> agreement_names;
  for (uint32_t i = 0; i < rs_.agreements_.size(); ++i) {
    const auto& a = rs_.agreements_[i];
    if (!agreement_names.emplace(a.name, i).second)
      errors.push_back({a.file, a.line, 0, "agreements", "duplicate agreement \"" + a.name + "\""});
  }
  for (const auto& [a, ref] : agreement_services_)
    if (service(ref, rs_.agreements_[a].service))
      rs_.services_[rs_.agreements_[a].service].agreements.push_back(a);
  for (const auto& [a, ref] : agreement_calendars_) calendar(ref, rs_.agreements_[a].calendar);
  for (const auto& [a, ref] : agreement_clock_calendars_)
    calendar(ref, rs_.agreements_[a].clock_calendar);
  for (const auto& [a, day] : agreement_effective_days_)
    rs_.agreements_[a].effective_ms = rs_.calendars_[rs_.agreements_[a].calendar].dayStart(day);
  std::map<std::string, uint32_t> hb_names;
  for (uint32_t i = 0; i < rs_.heartbeats_.size(); ++i) {
    const auto& h = rs_.heartbeats_[i];
    if (!hb_names.emplace(h.name, i).second)
      errors.push_back({h.file, h.line, 0, "heartbeats", "duplicate heartbeat \"" + h.name + "\""});
  }
  for (const auto& [h, ref] : heartbeat_services_) service(ref, rs_.heartbeats_[h].service);
  for (const auto& [i, ref] : slo_services_) service(ref, rs_.slos_[i].service);
  for (const auto& [i, ref] : capacity_services_) service(ref, rs_.capacity_[i].service);
  std::map<std::string, int> signal_names;
  for (const auto& s : rs_.slos_)
    if (signal_names[s.name]++)
      errors.push_back({s.file, s.line, 0, "slos", "duplicate SLO \"" + s.name + "\""});
  for (const auto& c : rs_.capacity_)
    if (signal_names[c.name]++)
      errors.push_back({c.file, c.line, 0, "capacity",
                        "duplicate name \"" + c.name + "\" (SLOs and capacity rules share names)"});
  for (const auto& [s, ref] : service_children_) {
    uint32_t child = 0;
    if (!service(ref, child)) continue;
    rs_.services_[s].hierarchy.children.push_back(child);
    rs_.services_[child].parents.push_back(s);
  }
  // Children before parents; a cycle is an error naming its path.
  const auto& svcs = rs_.services_;
  std::vector<uint8_t> state(svcs.size(), 0);
  std::vector<uint32_t> stack;
  bool cyclic = false;
  std::function<void(uint32_t)> visit = [&](uint32_t v) {
    state[v] = 1;
    stack.push_back(v);
    for (uint32_t w : svcs[v].hierarchy.children) {
      if (state[w] == 1) {
        std::string path;
        for (auto it = std::find(stack.begin(), stack.end(), w); it != stack.end(); ++it)
          path += svcs[*it].name + " -> ";
        errors.push_back({svcs[w].origin.file, svcs[w].origin.line, 0, "services",
                          "service hierarchy cycle: " + path + svcs[w].name});
        cyclic = true;
      } else if (state[w] == 0) {
        visit(w);
      }
    }
    stack.pop_back();
    state[v] = 2;
    rs_.service_order_.push_back(v);
  };
  for (uint32_t i = 0; i < svcs.size(); ++i)
    if (state[i] == 0) visit(i);
  if (cyclic) rs_.service_order_.clear();
}

}  // namespace triaged::rules
