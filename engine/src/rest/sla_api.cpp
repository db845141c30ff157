#include "rest/sla_api.h"

#include <cmath>
#include <cstdio>

#include "evaluate/samples.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"
#include "triaged/config/units.h"
#include "triaged/rules/facts.h"

namespace triaged::engine {

using api::HttpRequest;
using api::HttpResponse;
using api::JsonWriter;
using api::Responder;
using api::RouteGroup;
using api::Verb;
namespace sla = rules::sla;

namespace {

std::string statusText(int status) {
  if (status == kUnknownStatus) return "unknown";
  if (status < 0) return "ok";
  return status == 0 ? "not_classified" : rules::severityText(std::min(status, 5));
}

std::string num(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string percent(double ratio, int decimals = 4) { return num(ratio * 100, decimals); }

void optionalRatio(JsonWriter& w, const char* key, const std::optional<double>& v) {
  w.key(key);
  if (v)
    w.value(*v);
  else
    w.null();
}

void distributionJson(JsonWriter& w, const char* key, const sla::Distribution& d) {
  w.key(key).beginObject().field("count", static_cast<uint64_t>(d.n));
  if (d.n)
    w.field("mean_seconds", d.mean / 1000)
        .field("median_seconds", d.median / 1000)
        .field("p90_seconds", d.p90 / 1000);
  w.endObject();
}

}  // namespace

// A period label, "current" (default) or "previous", for an agreement; "" on success.
std::string resolvePeriod(const rules::RuleSet& rs, uint32_t agreement, const std::string& label,
                          int64_t now, sla::Period& out) {
  const auto& ag = rs.agreements()[agreement];
  const auto& cal = rs.calendars()[ag.calendar];
  auto cur = sla::periodAt(ag.period, cal, now);
  if (label.empty() || label == "current") {
    out = cur;
  } else if (label == "previous") {
    out = sla::previousPeriod(ag.period, cal, cur);
  } else {
    auto p = sla::parsePeriod(label, cal);
    if (!p)
      return "period: expected current, previous, YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD, "
             "got \"" +
             label + "\"";
    out = *p;
  }
  return {};
}

void writeReportJson(JsonWriter& w, const Evaluator::Report& r) {
  const auto& a = r.availability;
  w.beginObject()
      .field("agreement", r.agreement)
      .field("type", r.type)
      .field("service", r.service)
      .field("counterparty", r.counterparty)
      .field("calendar", r.calendar)
      .field("period", r.period)
      .field("period_start", api::formatRfc3339Ms(r.period_start))
      .field("period_end", api::formatRfc3339Ms(r.period_end))
      .field("evaluated_to", api::formatRfc3339Ms(r.evaluated_to))
      .field("final", r.final);
  if (r.slo_ppb)
    w.field("target", r.target_text).field("target_ppb", r.slo_ppb);
  else
    w.key("target").null();
  w.field("met", r.met).field("at_risk", a.at_risk);
  w.key("availability").beginObject();
  optionalRatio(w, "to_date", a.to_date);
  optionalRatio(w, "projected", a.projected);
  w.endObject();
  w.key("seconds")
      .beginObject()
      .field("agreed", a.agreed_ms / 1000.0)
      .field("agreed_whole_period", a.agreed_total_ms / 1000.0)
      .field("excluded", a.excluded_ms / 1000.0)
      .field("unknown", a.unknown_ms / 1000.0)
      .field("measured", a.measured_ms / 1000.0)
      .field("downtime_net", a.downtime_net_ms / 1000.0)
      .field("downtime_gross", a.downtime_gross_ms / 1000.0)
      .endObject();
  w.key("excluded_by_reason").beginObject();
  for (const auto& [reason, ms] : a.excluded_by_reason) w.field(reason, ms / 1000.0);
  w.endObject();
  w.key("error_budget")
      .beginObject()
      .field("total_seconds", a.budget_total_ms / 1000.0)
      .field("remaining_seconds", a.budget_remaining_ms / 1000.0);
  optionalRatio(w, "consumed", a.budget_consumed);
  w.endObject();
  w.key("downtime").beginArray();
  for (const auto& d : a.downtime) {
    w.beginObject()
        .field("start", api::formatRfc3339Ms(d.a))
        .field("end", api::formatRfc3339Ms(d.b))
        .field("seconds", (d.b - d.a) / 1000.0)
        .field("state", sla::stateName(d.state))
        .field("excluded", d.excluded)
        .key("incidents")
        .beginArray();
    for (uint64_t id : d.incidents) w.value(id);
    w.endArray().endObject();
  }
  w.endArray();
  const auto& rel = r.reliability;
  w.key("reliability").beginObject().field("failures", static_cast<uint64_t>(rel.failures));
  distributionJson(w, "restore", rel.restore_ms);
  w.key("mtbf_seconds");
  rel.mtbf_ms ? w.value(*rel.mtbf_ms / 1000) : w.null();
  w.key("mtbsi_seconds");
  rel.mtbsi_ms ? w.value(*rel.mtbsi_ms / 1000) : w.null();
  w.endObject();
  w.key("incidents")
      .beginObject()
      .field("count", static_cast<uint64_t>(r.incidents))
      .field("unacknowledged", static_cast<uint64_t>(r.unacknowledged));
  w.key("by_priority").beginObject();
  for (int p = 0; p < 5; ++p)
    w.field("P" + std::to_string(p + 1), static_cast<uint64_t>(r.by_priority[p]));
  w.endObject();
  distributionJson(w, "time_to_acknowledge", r.ack_ms);
  distributionJson(w, "time_to_resolve", r.resolve_ms);
  w.key("ids").beginArray();
  for (uint64_t id : r.incident_ids) w.value(id);
  w.endArray().endObject();
  for (auto [name, c] :
       {std::pair<const char*, const Evaluator::Report::Compliance*>{"response", &r.response},
        {"resolution", &r.resolution}}) {
    w.key(name)
        .beginObject()
        .field("met", static_cast<uint64_t>(c->met))
        .field("breached", static_cast<uint64_t>(c->breached))
        .field("in_progress", static_cast<uint64_t>(c->in_progress))
        .endObject();
  }
  w.key("top_problems").beginArray();
  for (const auto& [id, n] : r.problems)
    w.beginObject().field("problem", id).field("incidents", static_cast<uint64_t>(n)).endObject();
  w.endArray();
  w.endObject();
}

std::string reportsCsv(const std::vector<Evaluator::Report>& reports) {
  std::string out =
      "agreement,type,service,period,target_percent,availability_percent,projected_percent,met,"
      "agreed_seconds,"
      "excluded_seconds,unknown_seconds,downtime_net_seconds,downtime_gross_seconds,budget_total_"
      "seconds,"
      "budget_remaining_seconds,incidents,failures,mtrs_seconds,mtta_seconds,response_breached,"
      "resolution_breached\n";
  auto quote = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  char buf[512];
  for (const auto& r : reports) {
    const auto& a = r.availability;
    std::snprintf(buf, sizeof buf,
                  ",%s,%s,%s,%s,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%zu,%zu,%.3f,%.3f,%zu,%zu\n",
                  r.slo_ppb ? r.target_text.c_str() : "",
                  a.to_date ? percent(*a.to_date, 6).c_str() : "",
                  a.projected ? percent(*a.projected, 6).c_str() : "", r.met ? "true" : "false",
                  a.agreed_ms / 1000.0, a.excluded_ms / 1000.0, a.unknown_ms / 1000.0,
                  a.downtime_net_ms / 1000.0, a.downtime_gross_ms / 1000.0,
                  a.budget_total_ms / 1000.0, a.budget_remaining_ms / 1000.0, r.incidents,
                  r.reliability.failures, r.reliability.restore_ms.mean / 1000,
                  r.ack_ms.mean / 1000, r.response.breached, r.resolution.breached);
    out += quote(r.agreement) + "," + r.type + "," + quote(r.service) + "," + r.period + buf;
  }
  return out;
}

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string duration(double ms) {
  if (ms < 1000) return num(ms, 0) + " ms";
  return config::formatDuration(
      config::Duration(static_cast<int64_t>(std::llround(ms / 1000) * 1000)));
}

// One agreement's section: figures, an availability bar against the target, the downtime
// timeline over the period, incidents by priority, compliance and reliability.
void htmlSection(std::string& o, const Evaluator::Report& r, size_t idx) {
  const auto& a = r.availability;
  std::string id = std::to_string(idx);
  o += "<section class=\"agreement\" data-agreement=\"" + esc(r.agreement) + "\">\n<h2>" +
       esc(r.agreement) + " <small>" + esc(r.type) + " &middot; service " + esc(r.service) +
       (r.counterparty.empty() ? "" : " &middot; " + esc(r.counterparty)) + "</small></h2>\n";
  std::string verdict = !r.slo_ppb   ? "no target"
                        : !a.to_date ? "no data"
                        : r.met      ? "met"
                                     : "not met";
  o += "<p class=\"verdict " + std::string(r.met ? "ok" : "bad") + "\" data-field=\"met\">" +
       verdict + (r.final ? "" : " (so far)") + "</p>\n";
  o += "<table class=\"figures\">\n";
  auto row = [&](const char* field, const std::string& label, const std::string& value,
                 std::optional<double> raw = {}) {
    o += "<tr><th>" + label + "</th><td data-field=\"" + field + "\"" +
         (raw ? " data-value=\"" + num(*raw, 6) + "\"" : std::string()) + ">" + value +
         "</td></tr>\n";
  };
  row("target", "Target", r.slo_ppb ? esc(r.target_text) + " %" : "&ndash;");
  row("availability", "Availability to date", a.to_date ? percent(*a.to_date) + " %" : "no data",
      a.to_date);
  row("projected", "Projected to period end",
      a.projected ? percent(*a.projected) + " %" : "no data");
  row("agreed", "Agreed service time", duration(static_cast<double>(a.agreed_ms)));
  row("excluded", "Excluded (approved maintenance)", duration(static_cast<double>(a.excluded_ms)));
  row("unknown", "Unknown (not measured)", duration(static_cast<double>(a.unknown_ms)));
  row("downtime_net", "Downtime (net, weighted)", duration(a.downtime_net_ms),
      a.downtime_net_ms / 1000);
  row("downtime_gross", "Downtime (gross, as users saw it)", duration(a.downtime_gross_ms),
      a.downtime_gross_ms / 1000);
  row("budget_remaining", "Error budget remaining",
      (a.budget_remaining_ms < 0 ? "&minus;" : "") + duration(std::fabs(a.budget_remaining_ms)) +
          " of " + duration(static_cast<double>(a.budget_total_ms)));
  row("incidents", "Incidents opened", std::to_string(r.incidents));
  row("mtta", "Time to acknowledge (mean / median / p90)",
      r.ack_ms.n ? duration(r.ack_ms.mean) + " / " + duration(r.ack_ms.median) + " / " +
                       duration(r.ack_ms.p90)
                 : "n/a");
  row("mtrs", "Time to restore service (mean / median / p90)",
      r.reliability.failures ? duration(r.reliability.restore_ms.mean) + " / " +
                                   duration(r.reliability.restore_ms.median) + " / " +
                                   duration(r.reliability.restore_ms.p90)
                             : "n/a");
  row("mtbf", "MTBF / MTBSI",
      r.reliability.mtbf_ms
          ? duration(*r.reliability.mtbf_ms) + " / " + duration(*r.reliability.mtbsi_ms)
          : "n/a");
  row("response", "Response targets met / breached / running",
      std::to_string(r.response.met) + " / " + std::to_string(r.response.breached) + " / " +
          std::to_string(r.response.in_progress));
  row("resolution", "Resolution targets met / breached / running",
      std::to_string(r.resolution.met) + " / " + std::to_string(r.resolution.breached) + " / " +
          std::to_string(r.resolution.in_progress));
  o += "</table>\n";
  // Availability against target: a bar from 100 % - 5 x budget to 100 %.
  if (r.slo_ppb && a.to_date) {
    double target = static_cast<double>(r.slo_ppb) / sla::kPpb;
    double floor = std::max(0.0, 1 - 5 * (1 - target));
    auto x = [&](double v) {
      return 10 + 580 * std::clamp((v - floor) / std::max(1e-12, 1 - floor), 0.0, 1.0);
    };
    o += "<h3>Availability against target</h3>\n<svg class=\"chart\" id=\"avail-" + id +
         "\" width=\"600\" height=\"50\" role=\"img\" aria-label=\"availability against target\">"
         "<rect x=\"10\" y=\"10\" width=\"580\" height=\"20\" fill=\"#eee\"/>"
         "<rect x=\"10\" y=\"10\" width=\"" +
         num(x(*a.to_date) - 10) + "\" height=\"20\" fill=\"" + (r.met ? "#2e7d32" : "#c62828") +
         "\"/>"
         "<line x1=\"" +
         num(x(target)) + "\" x2=\"" + num(x(target)) +
         "\" y1=\"5\" y2=\"35\" stroke=\"#000\" stroke-width=\"2\"/>"
         "<text x=\"10\" y=\"46\" font-size=\"10\">" +
         percent(floor, 3) +
         " %</text>"
         "<text x=\"560\" y=\"46\" font-size=\"10\">100 %</text></svg>\n";
  }
  // Downtime timeline over the period, and the budget burning down.
  double span = static_cast<double>(std::max<int64_t>(1, r.period_end - r.period_start));
  auto tx = [&](int64_t t) { return 10 + 580 * std::clamp((t - r.period_start) / span, 0.0, 1.0); };
  o += "<h3>Downtime</h3>\n<svg class=\"chart\" id=\"downtime-" + id +
       "\" width=\"600\" height=\"40\" role=\"img\" aria-label=\"downtime timeline\"><rect "
       "x=\"10\" y=\"10\" width=\"580\" "
       "height=\"20\" fill=\"#e8f5e9\"/>";
  for (const auto& d : a.downtime)
    o += "<rect class=\"down\" x=\"" + num(tx(d.a)) + "\" y=\"10\" width=\"" +
         num(std::max(1.0, tx(d.b) - tx(d.a))) + "\" height=\"20\" fill=\"" +
         (d.excluded                     ? "#90a4ae"
          : d.state == sla::State::kDown ? "#c62828"
                                         : "#ef6c00") +
         "\"/>";
  o += "</svg>\n";
  if (a.budget_total_ms > 0) {
    o += "<h3>Error budget</h3>\n<svg class=\"chart\" id=\"budget-" + id +
         "\" width=\"600\" height=\"110\" role=\"img\" aria-label=\"error budget burn\"><line "
         "x1=\"10\" x2=\"590\" y1=\"55\" "
         "y2=\"55\" stroke=\"#999\"/><polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\" "
         "points=\"";
    double left = static_cast<double>(a.budget_total_ms);
    auto ty = [&](double v) {
      return 55 - 45 * std::clamp(v / static_cast<double>(a.budget_total_ms), -1.0, 1.0);
    };
    o += num(tx(r.period_start)) + "," + num(ty(left)) + " ";
    for (const auto& d : a.downtime) {
      if (d.excluded) continue;
      o += num(tx(d.a)) + "," + num(ty(left)) + " ";
      double w = d.state == sla::State::kUnknown
                     ? 1.0
                     : static_cast<double>(r.weights.of(d.state)) / sla::kPpb;
      left -= w * static_cast<double>(d.b - d.a);
      o += num(tx(d.b)) + "," + num(ty(left)) + " ";
    }
    o += num(tx(r.evaluated_to)) + "," + num(ty(a.budget_remaining_ms)) + "\"/></svg>\n";
  }
  // Incidents by priority.
  size_t most = 1;
  for (auto n : r.by_priority) most = std::max(most, n);
  o += "<h3>Incidents by priority</h3>\n<svg class=\"chart\" id=\"priority-" + id +
       "\" width=\"300\" height=\"120\" role=\"img\" aria-label=\"incidents by priority\">";
  for (int p = 0; p < 5; ++p) {
    double h = 80.0 * static_cast<double>(r.by_priority[p]) / static_cast<double>(most);
    o += "<rect x=\"" + std::to_string(20 + p * 55) + "\" y=\"" + num(95 - h) +
         "\" width=\"40\" height=\"" + num(h) + "\" fill=\"#5c6bc0\"/><text x=\"" +
         std::to_string(30 + p * 55) + "\" y=\"112\" font-size=\"11\">P" + std::to_string(p + 1) +
         "</text><text x=\"" + std::to_string(32 + p * 55) + "\" y=\"" + num(90 - h) +
         "\" font-size=\"11\">" + std::to_string(r.by_priority[p]) + "</text>";
  }
  o += "</svg>\n";
  if (!a.downtime.empty()) {
    o +=
        "<h3>Downtime intervals</h3>\n<table "
        "class=\"intervals\"><tr><th>Start</th><th>End</th><th>State</th><th>Incidents</th></tr>\n";
    for (const auto& d : a.downtime) {
      std::string ids;
      for (uint64_t i : d.incidents) ids += (ids.empty() ? "" : ", ") + std::to_string(i);
      o += "<tr><td>" + api::formatRfc3339Ms(d.a) + "</td><td>" + api::formatRfc3339Ms(d.b) +
           "</td><td>" + sla::stateName(d.state) + (d.excluded ? " (excluded)" : "") + "</td><td>" +
           ids + "</td></tr>\n";
    }
    o += "</table>\n";
  }
  if (!r.problems.empty()) {
    o += "<h3>Top recurring problems</h3>\n<ol>";
    for (const auto& [p, n] : r.problems)
      o += "<li>Problem " + std::to_string(p) + ": " + std::to_string(n) + " incidents</li>";
    o += "</ol>\n";
  }
  o += "</section>\n";
}

}  // namespace

std::string reportsHtml(const std::vector<Evaluator::Report>& reports, int64_t generated_ms) {
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>triaged service "
      "report</title>\n"
      "<style>body{font-family:sans-serif;margin:2em;max-width:900px;color:#222}h2 "
      "small{font-weight:normal;color:#666;"
      "font-size:60%}table{border-collapse:collapse;margin:.5em 0}th,td{border-bottom:1px solid "
      "#ddd;padding:3px 8px;"
      "text-align:left}.verdict{font-weight:bold;font-size:120%}.ok{color:#2e7d32}.bad{color:#"
      "c62828}section{margin-"
      "bottom:3em}</style></head><body>\n<h1>Service report</h1>\n<p>Generated " +
      api::formatRfc3339Ms(generated_ms) +
      " by triaged. Availability per ISO/IEC 20000-1 8.7.1, service levels 8.3.3, "
      "reporting 9.4.</p>\n";
  if (reports.empty()) o += "<p>No agreements with a target.</p>\n";
  for (size_t i = 0; i < reports.size(); ++i) htmlSection(o, reports[i], i);
  o += "</body></html>\n";
  return o;
}

namespace {

void heartbeatJson(JsonWriter& w, const rules::RuleSet& rules, const HeartbeatRuntime& h,
                   int64_t now) {
  const auto& c = h.clock;
  w.beginObject()
      .field("name", h.name)
      .field("state", sla::heartbeatStateName(c.at(now)))
      .field("implicit", h.def == UINT32_MAX)
      .field("period_seconds", c.period_ms / 1000.0)
      .field("grace_seconds", c.grace_ms / 1000.0);
  if (h.def != UINT32_MAX && h.def < rules.heartbeats().size() &&
      rules.heartbeats()[h.def].has_schedule)
    w.field("schedule", rules.heartbeats()[h.def].schedule_text);
  w.key("last_ping");
  c.last_success >= 0 ? w.value(api::formatRfc3339Ms(c.last_success)) : w.null();
  w.key("next_due");
  c.last_success >= 0 ? w.value(api::formatRfc3339Ms(c.last_success + c.period_ms)) : w.null();
  if (h.last_latency_ms >= 0) {
    w.field("latency_seconds", h.last_latency_ms / 1000.0);
    w.field("slow", h.max_latency_ms > 0 && h.last_latency_ms > h.max_latency_ms);
  }
  w.endObject();
}

bool durationParam(const HttpRequest& req, const char* name, int64_t& out, std::string& err) {
  std::string v;
  if (!req.queryParam(name, v)) return true;
  auto d = config::parseDuration(v);
  if (!d || d->count() <= 0) {
    err = std::string(name) + ": expected a duration like 5m, got \"" + v + "\"";
    return false;
  }
  out = d->count();
  return true;
}

}  // namespace

RenderedReport renderReports(const Evaluator& ev, const std::string& period,
                             const std::string& service, const std::string& format, int64_t now) {
  RenderedReport out;
  if (format != "json" && format != "csv" && format != "html")
    return {400, "format: expected json, csv or html, got \"" + format + "\"", ""};
  const auto& rs = ev.ruleSet();
  if (!service.empty() && rs.serviceByName(service) == rules::RuleSet::kNone)
    return {404, "no such service \"" + service + "\"", ""};
  std::vector<Evaluator::Report> reports;
  for (uint32_t a = 0; a < rs.agreements().size(); ++a) {
    if (!service.empty() && rs.services()[rs.agreements()[a].service].name != service) continue;
    sla::Period p;
    std::string err = resolvePeriod(rs, a, period, now, p);
    if (!err.empty()) return {400, err, ""};
    reports.push_back(ev.report(a, p, now));
  }
  if (format == "csv") return {200, reportsCsv(reports), "text/csv; charset=utf-8"};
  if (format == "html") return {200, reportsHtml(reports, now), "text/html; charset=utf-8"};
  JsonWriter w(out.body);
  w.beginObject().field("generated", api::formatRfc3339Ms(now)).key("reports").beginArray();
  for (const auto& rep : reports) writeReportJson(w, rep);
  w.endArray().endObject();
  out.body += '\n';
  out.content_type = "application/json";
  return out;
}

void addSlaRoutes(api::Router& router, CorrelatorStage& stage) {
  router.add(
      {Verb::get, "/api/v1/services", RouteGroup::kRead, [&stage](const HttpRequest&, Responder r) {
         bool ok = stage.evaluate([r](Evaluator& ev, Correlator&, int64_t now) {
           const auto& rs = ev.ruleSet();
           std::string out;
           JsonWriter w(out);
           w.beginObject().key("services").beginArray();
           for (uint32_t s = 0; s < rs.services().size(); ++s) {
             const auto& svc = rs.services()[s];
             w.beginObject().field("name", svc.name).field("status", statusText(ev.status(s)));
             w.field("since", api::formatRfc3339Ms(ev.timeline(s).back().at_ms));
             w.key("incidents").beginArray();
             for (uint64_t id : ev.timeline(s).back().incidents) w.value(id);
             w.endArray();
             w.key("children").beginArray();
             for (uint32_t c : svc.hierarchy.children) w.value(rs.services()[c].name);
             w.endArray().key("agreements").beginArray();
             for (uint32_t a : svc.agreements) {
               const auto& ag = rs.agreements()[a];
               sla::Period p;
               resolvePeriod(rs, a, "current", now, p);
               auto rep = ev.report(a, p, now);
               w.beginObject()
                   .field("name", ag.name)
                   .field("type", rep.type)
                   .field("period", p.label);
               if (ag.slo_ppb) w.field("target", ag.target_text);
               optionalRatio(w, "availability", rep.availability.to_date);
               w.field("budget_remaining_seconds", rep.availability.budget_remaining_ms / 1000.0)
                   .field("met", rep.met)
                   .endObject();
             }
             w.endArray().endObject();
           }
           w.endArray().endObject();
           out += '\n';
           r(HttpResponse::json(200, std::move(out)));
         });
         if (!ok) r(HttpResponse::error(503, "shutting down"));
       }});
  router.add(
      {Verb::get, "/api/v1/services/{name}/sla", RouteGroup::kRead,
       [&stage](const HttpRequest& req, Responder r) {
         std::string name(req.param("name")), period;
         req.queryParam("period", period);
         bool ok = stage.evaluate([r, name, period](Evaluator& ev, Correlator&, int64_t now) {
           const auto& rs = ev.ruleSet();
           uint32_t s = rs.serviceByName(name);
           if (s == rules::RuleSet::kNone)
             return r(HttpResponse::error(404, "no such service \"" + name + "\""));
           std::string out;
           JsonWriter w(out);
           w.beginObject().field("service", name).field("status", statusText(ev.status(s)));
           w.key("agreements").beginArray();
           for (uint32_t a : rs.services()[s].agreements) {
             sla::Period p;
             std::string err = resolvePeriod(rs, a, period, now, p);
             if (!err.empty()) return r(HttpResponse::error(400, err));
             writeReportJson(w, ev.report(a, p, now));
           }
           w.endArray().endObject();
           out += '\n';
           r(HttpResponse::json(200, std::move(out)));
         });
         if (!ok) r(HttpResponse::error(503, "shutting down"));
       }});
  router.add({Verb::get, "/api/v1/reports/sla", RouteGroup::kRead,
              [&stage](const HttpRequest& req, Responder r) {
                std::string period, format = "json", service;
                req.queryParam("period", period);
                req.queryParam("format", format);
                req.queryParam("service", service);
                if (format != "json" && format != "csv" && format != "html")
                  return r(HttpResponse::error(
                      400, "format: expected json, csv or html, got \"" + format + "\""));
                bool ok = stage.evaluate([=](Evaluator& ev, Correlator&, int64_t now) {
                  RenderedReport rep = renderReports(ev, period, service, format, now);
                  if (rep.status != 200) return r(HttpResponse::error(rep.status, rep.body));
                  HttpResponse res = HttpResponse::json(200, std::move(rep.body));
                  res.content_type = rep.content_type;
                  r(std::move(res));
                });
                if (!ok) r(HttpResponse::error(503, "shutting down"));
              }});
  router.add({Verb::get, "/api/v1/heartbeats", RouteGroup::kRead,
              [&stage](const HttpRequest&, Responder r) {
                bool ok = stage.evaluate([r](Evaluator& ev, Correlator&, int64_t now) {
                  std::string out;
                  JsonWriter w(out);
                  w.beginObject().key("heartbeats").beginArray();
                  for (const auto& [name, h] : ev.heartbeats())
                    heartbeatJson(w, ev.ruleSet(), h, now);
                  w.endArray().endObject();
                  out += '\n';
                  r(HttpResponse::json(200, std::move(out)));
                });
                if (!ok) r(HttpResponse::error(503, "shutting down"));
              }});
  router.add({Verb::post, "/api/v1/samples", RouteGroup::kIngest,
              [&stage](const HttpRequest& req, Responder r) {
                std::vector<std::string> errors;
                auto samples = parseSamples(
                    req.body ? std::string_view(*req.body) : std::string_view(), INT64_MIN, errors);
                if (!errors.empty()) {
                  std::string detail;
                  JsonWriter w(detail);
                  w.beginArray();
                  for (const auto& e : errors) w.value(e);
                  w.endArray();
                  stage.countRejectedSamples(1);
                  return r(HttpResponse::error(400, errors.front(), detail));
                }
                size_t n = samples.size();
                bool ok = stage.samples(std::move(samples), [r, n](size_t used, size_t unmatched) {
                  std::string out;
                  JsonWriter w(out);
                  w.beginObject()
                      .field("received", static_cast<uint64_t>(n))
                      .field("used", static_cast<uint64_t>(used));
                  w.field("unmatched", static_cast<uint64_t>(unmatched)).endObject();
                  out += '\n';
                  r(HttpResponse::json(200, std::move(out)));
                });
                if (!ok) r(HttpResponse::error(503, "shutting down"));
              }});
  for (const auto& route : {std::pair<const char*, Evaluator::Signal>{
                                "/api/v1/heartbeats/{name}/ping", Evaluator::Signal::kPing},
                            {"/api/v1/heartbeats/{name}/fail", Evaluator::Signal::kFail}}) {
    Evaluator::Signal signal = route.second;  // a plain variable: clang 14 cannot capture bindings
    router.add({Verb::post, route.first, RouteGroup::kIngest,
                [&stage, signal](const HttpRequest& req, Responder r) {
                  std::string name(req.param("name")), err, sent;
                  int64_t period = 0, grace = 5 * 60'000, sent_at = 0;
                  if (name.empty() || name.size() > 256)
                    return r(HttpResponse::error(400, "name: 1 to 256 characters"));
                  if (!durationParam(req, "period", period, err) ||
                      !durationParam(req, "grace", grace, err))
                    return r(HttpResponse::error(400, err));
                  if (req.queryParam("sent_at", sent)) {
                    auto t = api::parseRfc3339(sent);
                    if (!t)
                      return r(HttpResponse::error(
                          400, "sent_at: expected an RFC 3339 timestamp, got \"" + sent + "\""));
                    sent_at = *t;
                  }
                  bool ok = stage.evaluate([=, &stage](Evaluator& ev, Correlator&, int64_t now) {
                    std::string e = ev.heartbeat(name, signal, now, sent_at, period, grace);
                    if (!e.empty()) return r(HttpResponse::error(404, e));
                    std::string out;
                    JsonWriter w(out);
                    heartbeatJson(w, ev.ruleSet(), ev.heartbeats().at(name), now);
                    out += '\n';
                    auto body = std::make_shared<std::string>(std::move(out));
                    stage.whenDurable([r, body] { r(HttpResponse::json(200, std::move(*body))); });
                  });
                  if (!ok) r(HttpResponse::error(503, "shutting down"));
                }});
  }
}

}  // namespace triaged::engine
