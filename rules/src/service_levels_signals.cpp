// Reading service levels from the rule files, part: event-based SLOs and capacity rules.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include "service_levels_loader.h"
#include "triaged/rules/facts.h"
#include "triaged/rules/schedule.h"
#include "triaged/rules/service_levels.h"

namespace triaged::rules {

using config::ErrorSink;
using config::MapReader;

namespace {

// A severity by name for generated alerts.
void severityField(MapReader& r, const char* key, int& out) {
  std::string sev = severityText(out);
  r.getEnum(key, sev, {"info", "warning", "minor", "major", "critical"});
  statusByName(sev, out);
}

void matchersField(MapReader& r, const YAML::Node& n, const std::string& p, ErrorSink& sink,
                   Matchers& out) {
  std::string text;
  YAML::Node mn = n["matchers"];
  r.getString("matchers", text);
  std::string err;
  if (!text.empty() && !parseMatchers(text, out, &err))
    sink.add(mn, p + ".matchers", "invalid matchers: " + err);
}

}  // namespace

void ServiceLevelsLoader::slo(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
  MapReader r(n, p, sink);
  if (!r.valid()) return;
  SloDef s;
  s.file = sink.file();
  s.line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
  r.getString("name", s.name, true);
  std::string service;
  YAML::Node sn = n["service"];
  r.getString("service", service);
  if (!service.empty())
    slo_services_.emplace_back(
        static_cast<uint32_t>(rs_.slos_.size()),
        PendingRef{service, {sink.file(), sn.Mark().line + 1}, p + ".service"});
  YAML::Node on = n["objective"];
  r.getString("objective", s.target_text, true);
  if (!s.target_text.empty() &&
      (!parsePercentPpb(s.target_text, s.slo_ppb) || s.slo_ppb >= sla::kPpb))
    sink.add(on, p + ".objective",
             "expected a percentage above 0 and below 100 with at most 7 decimals, got \"" +
                 s.target_text + "\"");
  config::Duration period = std::chrono::hours(24 * 30);
  r.getDuration("period", period, std::chrono::hours(1));
  s.period_ms = period.count();
  r.getString("good", s.good_metric, true);
  r.getString("valid", s.valid_metric, true);
  if (!s.good_metric.empty() && s.good_metric == s.valid_metric)
    sink.add(n, p + ".good",
             "must differ from valid (one metric counts good events, the other all valid ones)");
  matchersField(r, n, p, sink, s.matchers);
  s.windows = sla::defaultBurnWindows();
  if (r.has("windows")) {
    YAML::Node wn = r.take("windows");
    s.windows.clear();
    config::forEachInList(wn, p + ".windows", sink,
                          [&](const YAML::Node& w, const std::string& wp) {
                            MapReader wr(w, wp, sink);
                            if (!wr.valid()) return;
                            config::Duration lw{0}, sw{0};
                            double fraction = 0;
                            bool page = true;
                            wr.getDuration("long", lw, std::chrono::minutes(1));
                            wr.getDuration("short", sw, std::chrono::minutes(1));
                            wr.getDouble("budget_fraction", fraction, 0, 1);
                            wr.getBool("page", page);
                            if (!wr.has("long") || !wr.has("short") || !wr.has("budget_fraction"))
                              sink.add(w, wp, "needs long, short and budget_fraction");
                            else if (sw >= lw)
                              sink.add(w, wp + ".short", "must be shorter than long");
                            else if (lw.count() > s.period_ms)
                              sink.add(w, wp + ".long", "must not be longer than the period");
                            s.windows.push_back({lw.count(), sw.count(), fraction, page});
                            wr.finish();
                          });
  }
  severityField(r, "page_severity", s.page_severity);
  severityField(r, "ticket_severity", s.ticket_severity);
  r.getStringMap("labels", s.labels);
  r.finish();
  rs_.slos_.push_back(std::move(s));
}

void ServiceLevelsLoader::capacity(const YAML::Node& n, const std::string& p, ErrorSink& sink) {
  MapReader r(n, p, sink);
  if (!r.valid()) return;
  CapacityDef c;
  c.file = sink.file();
  c.line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
  r.getString("name", c.name, true);
  std::string service;
  YAML::Node sn = n["service"];
  r.getString("service", service);
  if (!service.empty())
    capacity_services_.emplace_back(
        static_cast<uint32_t>(rs_.capacity_.size()),
        PendingRef{service, {sink.file(), sn.Mark().line + 1}, p + ".service"});
  r.getString("metric", c.metric, true);
  matchersField(r, n, p, sink, c.matchers);
  const double kBig = 1e300;
  if (r.has("raise_at")) {
    c.threshold = true;
    r.getDouble("raise_at", c.raise_at, -kBig, kBig);
    c.clear_at = c.raise_at;
    r.getDouble("clear_at", c.clear_at, -kBig, kBig);
    if (c.clear_at > c.raise_at)
      sink.add(n["clear_at"], p + ".clear_at", "must not be above raise_at");
    config::Duration rf{0}, cf{0};
    r.getDuration("raise_for", rf);
    r.getDuration("clear_for", cf);
    c.raise_for = rf.count();
    c.clear_for = cf.count();
  } else {
    for (const char* k : {"clear_at", "raise_for", "clear_for"})
      if (r.has(k)) sink.add(n[k], p + "." + k, "needs raise_at");
  }
  if (r.has("forecast")) {
    c.forecast = true;
    MapReader f(r.take("forecast"), r.childPath("forecast"), sink);
    if (f.valid()) {
      config::Duration w = std::chrono::hours(6), h = std::chrono::hours(24);
      f.getDuration("window", w, std::chrono::minutes(1));
      f.getDuration("horizon", h, std::chrono::minutes(1));
      c.window_ms = w.count();
      c.horizon_ms = h.count();
      if (!f.has("limit")) sink.add(f.node(), r.childPath("forecast") + ".limit", "is required");
      f.getDouble("limit", c.limit, -kBig, kBig);
      f.getUnsigned("min_samples", c.min_samples, 1'000'000);
      if (c.min_samples < 2) c.min_samples = 2;
      f.getDouble("min_r_squared", c.min_r_squared, 0, 1);
      f.finish();
    }
  }
  if (!c.threshold && !c.forecast)
    sink.add(n, p, "sets nothing to watch: give raise_at or forecast");
  severityField(r, "severity", c.severity);
  r.getStringMap("labels", c.labels);
  r.finish();
  rs_.capacity_.push_back(std::move(c));
}

}  // namespace triaged::rules
