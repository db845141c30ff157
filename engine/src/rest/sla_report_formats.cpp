// The reports of agreements in their three forms: JSON (the API's and `triaged report`'s),
// CSV, and a self-contained HTML page (charts drawn in SVG, no script).
#include <cmath>
#include <cstdio>

#include "rest/report_helpers.h"
#include "rest/sla_api.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"
#include "triaged/rules/facts.h"

namespace triaged::engine {

using api::JsonWriter;
namespace sla = rules::sla;
using namespace report;

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
  static const char* const kPriorities[] = {"P1", "P2", "P3", "P4", "P5"};
  for (int p = 0; p < 5; ++p) w.field(kPriorities[p], static_cast<uint64_t>(r.by_priority[p]));
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
  w.key("changes")
      .beginObject()
      .field("total", static_cast<uint64_t>(r.changes.total))
      .field("failed", static_cast<uint64_t>(r.changes.failed))
      .field("incidents_after_changes", static_cast<uint64_t>(r.changes.incidents));
  w.key("success_percent");
  if (r.changes.total)
    w.value(100.0 * static_cast<double>(r.changes.total - r.changes.failed) /
            static_cast<double>(r.changes.total));
  else
    w.null();
  w.endObject();
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
      "resolution_breached,changes,changes_failed,incidents_after_changes\n";
  auto quote = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  char buf[600];
  for (const auto& r : reports) {
    const auto& a = r.availability;
    std::snprintf(
        buf, sizeof buf,
        ",%s,%s,%s,%s,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%zu,%zu,%.3f,%.3f,%zu,%zu,%zu,%zu,"
        "%zu\n",
        r.slo_ppb ? r.target_text.c_str() : "", a.to_date ? percent(*a.to_date, 6).c_str() : "",
        a.projected ? percent(*a.projected, 6).c_str() : "", r.met ? "true" : "false",
        a.agreed_ms / 1000.0, a.excluded_ms / 1000.0, a.unknown_ms / 1000.0,
        a.downtime_net_ms / 1000.0, a.downtime_gross_ms / 1000.0, a.budget_total_ms / 1000.0,
        a.budget_remaining_ms / 1000.0, r.incidents, r.reliability.failures,
        r.reliability.restore_ms.mean / 1000, r.ack_ms.mean / 1000, r.response.breached,
        r.resolution.breached, r.changes.total, r.changes.failed, r.changes.incidents);
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
  row("changes", "Changes (followed by incidents or failed / incidents after them)",
      std::to_string(r.changes.total) + " (" + std::to_string(r.changes.failed) + " / " +
          std::to_string(r.changes.incidents) + ")");
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

}  // namespace triaged::engine
