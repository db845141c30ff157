#include "rest/sla_api.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "evaluate/samples.h"
#include "rest/report_helpers.h"
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
using namespace report;

// A period label, "current" (default) or "previous", for an agreement; "" on success.
namespace {

std::string periodError(const std::string& label) {
  return "period: expected current, previous, YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD, "
         "got \"" +
         label + "\"";
}

}  // namespace

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
    if (!p) return periodError(label);
    out = *p;
  }
  return {};
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

namespace {

// The changes on the report's service (by name, or on one of its CIs) that started in its
// period (up to now), and the incidents that followed them.
void countChanges(const rules::RuleSet& rs, const std::map<std::string, ChangeRecord>& changes,
                  Evaluator::Report& r) {
  uint32_t svc = rs.serviceByName(r.service);
  std::vector<std::string> cis;
  if (svc != rules::RuleSet::kNone)
    for (uint32_t ci : rs.services()[svc].cis) cis.push_back(rs.cis()[ci].name);
  for (const auto& [id, ch] : changes) {
    int64_t start = ch.start();
    int64_t until = r.evaluated_to ? std::min(r.period_end, r.evaluated_to) : r.period_end;
    if (ch.status == "cancelled" || !start || start < r.period_start || start >= until)
      continue;  // cancelled, or not (yet) begun in the period
    bool on = std::find(ch.services.begin(), ch.services.end(), r.service) != ch.services.end();
    for (const auto& ci : ch.cis) on = on || std::find(cis.begin(), cis.end(), ci) != cis.end();
    if (!on) continue;
    ++r.changes.total;
    if (ch.status == "failed" || !ch.incidents.empty()) ++r.changes.failed;
    r.changes.incidents += ch.incidents.size();
  }
}

}  // namespace

RenderedReport renderReports(const Evaluator& ev, const std::string& period,
                             const std::string& service, const std::string& format, int64_t now,
                             const std::map<std::string, ChangeRecord>* changes) {
  RenderedReport out;
  if (format != "json" && format != "csv" && format != "html")
    return {400, "format: expected json, csv or html, got \"" + format + "\"", ""};
  const auto& rs = ev.ruleSet();
  if (!service.empty() && rs.serviceByName(service) == rules::RuleSet::kNone)
    return {404, "no such service \"" + service + "\"", ""};
  // The period's syntax is checked whatever the agreements: the same request answers the
  // same way with or without them.
  if (!period.empty() && period != "current" && period != "previous" &&
      !sla::parsePeriod(period, sla::Calendar{}))
    return {400, periodError(period), ""};
  std::vector<Evaluator::Report> reports;
  for (uint32_t a = 0; a < rs.agreements().size(); ++a) {
    if (!service.empty() && rs.services()[rs.agreements()[a].service].name != service) continue;
    sla::Period p;
    std::string err = resolvePeriod(rs, a, period, now, p);
    if (!err.empty()) return {400, err, ""};
    reports.push_back(ev.report(a, p, now));
    if (changes) countChanges(rs, *changes, reports.back());
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
             static const char* kCriticality[] = {"", "high", "medium", "low"};
             w.field("criticality", kCriticality[std::clamp(svc.criticality, 1, 3)]);
             w.key("owners").beginArray();
             for (const auto& o : svc.owners) w.value(o);
             w.endArray();
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
               w.field("budget_remaining_seconds", rep.availability.budget_remaining_ms / 1000.0);
               // The budget's burn rate over the period so far: the share of the budget spent
               // over the share of the period's agreed time gone (1 spends it exactly by the end).
               const auto& av = rep.availability;
               if (av.budget_consumed && av.agreed_ms > 0 && av.agreed_total_ms > 0) {
                 w.field("budget_consumed", *av.budget_consumed);
                 w.field("burn_rate",
                         *av.budget_consumed / (static_cast<double>(av.agreed_ms) /
                                                static_cast<double>(av.agreed_total_ms)));
               }
               w.field("met", rep.met).endObject();
             }
             w.endArray().endObject();
           }
           w.endArray().endObject();
           out += '\n';
           r(HttpResponse::json(200, std::move(out)));
         });
         if (!ok) r(HttpResponse::error(503, "shutting down"));
       }});
  // The configuration items of the rule files as the engine resolved them: what each is, its
  // labels and aliases, what it depends on, its members and the services that run on it.
  router.add(
      {Verb::get, "/api/v1/cis", RouteGroup::kRead, [&stage](const HttpRequest&, Responder r) {
         bool ok = stage.evaluate([r](Evaluator& ev, Correlator&, int64_t) {
           const auto& rs = ev.ruleSet();
           std::string out;
           JsonWriter w(out);
           auto names = [&](const char* key, const std::vector<uint32_t>& ids, bool services) {
             w.key(key).beginArray();
             for (uint32_t i : ids) w.value(services ? rs.services()[i].name : rs.cis()[i].name);
             w.endArray();
           };
           w.beginObject().key("cis").beginArray();
           for (const auto& ci : rs.cis()) {
             w.beginObject().field("name", ci.name).field("type", ci.type);
             w.key("labels").beginObject();
             for (const auto& [k, v] : ci.labels) w.field(k, v);
             w.endObject().key("aliases").beginArray();
             for (const auto& a : ci.aliases) w.value(a);
             w.endArray();
             names("depends_on", ci.depends_on, false);
             names("members", ci.members, false);
             names("services", ci.services, true);
             w.endObject();
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
                bool ok = stage.evaluate([=](Evaluator& ev, Correlator& c, int64_t now) {
                  RenderedReport rep =
                      renderReports(ev, period, service, format, now, &c.changes());
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
