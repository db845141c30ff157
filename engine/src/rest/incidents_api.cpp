#include "rest/incidents_api.h"

#include <simdjson.h>

#include <charconv>

#include "correlate/correlation_json.h"
#include "correlate/correlator_internal.h"
#include "evaluate/evaluator_json.h"
#include "rest/alerts_api.h"
#include "rest/json_body.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"
#include "triaged/rules/matcher.h"

namespace triaged::engine {

using api::HttpRequest;
using api::HttpResponse;
using api::Responder;
using api::RouteGroup;
using api::Verb;

namespace {

bool parseId(std::string_view s, uint64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && out > 0;
}

// The timeline's actor: the named user who called (auth.users); a `by` field is the client's
// word and counts only where no user is known (group tokens, or no auth at all).
std::string actor(Body& b, const HttpRequest& req) {
  std::string by = "api";
  b.str("by", by);
  if (!req.user.empty()) return std::string(req.user);
  return by.empty() ? "api" : by;
}

using IncidentOp =
    std::function<std::string(Correlator&, uint64_t id, Body&, const std::string& by, int64_t now)>;

// The incident linked to an external ticket, or 0.
uint64_t incidentByTicket(const Correlator& c, std::string_view system, std::string_view id) {
  for (const auto& inc : c.incidents())
    for (const auto& t : inc.extra().tickets)
      if (t.system == system && t.id == id) return inc.merged_into ? inc.merged_into : inc.id;
  return 0;
}

// Parses the body, finds the incident on the correlator thread (find returns 0 with *missing
// set when there is none), applies op and answers the incident.
using IncidentFinder = std::function<uint64_t(const Correlator&, std::string* missing)>;

void runIncidentOp(CorrelatorStage& stage, const IncidentOp& op, const HttpRequest& req,
                   Responder r, IncidentFinder find) {
  auto body = std::make_shared<Body>();
  if (!body->parse(req)) return r(HttpResponse::error(400, body->error));
  std::string by = actor(*body, req);
  if (!body->error.empty()) return r(HttpResponse::error(400, body->error));
  bool queued =
      stage.run([&stage, body, by, op, r, find = std::move(find)](Correlator& c, int64_t now) {
        std::string missing;
        uint64_t id = find(c, &missing);
        if (!id) return r(HttpResponse::error(404, missing));
        std::string err = op(c, id, *body, by, now);
        if (!err.empty()) return r(opError(err));
        auto out = std::make_shared<std::string>();
        writeIncidentJson(*out, c, *c.incident(id), true);
        stage.whenDurable([r, out] { r(HttpResponse::json(200, std::move(*out))); });
      });
  if (!queued) r(HttpResponse::error(503, "shutting down"));
}

void addIncidentOp(api::Router& router, CorrelatorStage& stage, const std::string& action,
                   IncidentOp op) {
  // Ticketing tools call back with their own ticket id: /api/v1/tickets/{system}/{id}/resolve,
  // with an admin's token or the target's own `callback_token`.
  api::Route callback(
      Verb::post, "/api/v1/tickets/{system}/{ticket}/" + action, RouteGroup::kAdmin,
      [&stage, op](const HttpRequest& req, Responder r) {
        std::string system(req.param("system")), ticket(req.param("ticket"));
        runIncidentOp(stage, op, req, std::move(r),
                      [system, ticket](const Correlator& c, std::string* missing) {
                        uint64_t id = incidentByTicket(c, system, ticket);
                        if (!id)
                          *missing = "no incident is linked to " + system + " ticket " + ticket;
                        return id;
                      });
      },
      "/api/v1/tickets/{system}/{ticket}/" + action);
  callback.callback_param = "system";
  router.add(std::move(callback));
  router.add({Verb::post, "/api/v1/incidents/{id}/" + action, RouteGroup::kOperate,
              [&stage, op](const HttpRequest& req, Responder r) {
                uint64_t id = 0;
                if (!parseId(req.param("id"), id))
                  return r(HttpResponse::error(400, "invalid incident id"));
                runIncidentOp(stage, op, req, std::move(r),
                              [id](const Correlator&, std::string*) { return id; });
              },
              "/api/v1/incidents/{id}/" + action});
}

bool listParam(const HttpRequest& req, const char* name, std::vector<std::string>& out) {
  for (auto& v : req.queryParams(name)) {
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      if (comma > start) out.push_back(v.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return !out.empty();
}

// What GET /api/v1/incidents asks for.
struct ListQuery {
  std::vector<std::string> statuses, services;
  uint64_t after = 0, limit = 100;
  int64_t priority = 0;
  bool duplicates = false;
  // alert_filter: incidents with at least one alert that every matcher matches (its labels
  // and canonical fields, as correlation rules see them).
  std::shared_ptr<const rules::Matchers> alerts;
};

bool anyAlertMatches(const Correlator& c, const Incident& inc, const rules::Matchers& ms) {
  for (uint64_t fp : inc.alerts) {
    const CorrAlert* a = c.alert(fp);
    if (!a) continue;
    AlertFacts f(*a);
    if (std::all_of(ms.begin(), ms.end(),
                    [&](const auto& m) { return m->matches(f.get(m->name())); }))
      return true;
  }
  return false;
}

// The ids of the incidents a list page shows, by id; *next: the next page's `after`, or 0.
std::vector<uint64_t> selectIncidents(const Correlator& c, const ListQuery& q, uint64_t* next) {
  std::vector<uint64_t> ids;
  *next = 0;
  uint64_t base = c.incidentBase();
  for (size_t k = q.after + 1 > base ? q.after + 1 - base : 0; k < c.incidents().size(); ++k) {
    const Incident& inc = c.incidents()[k];
    if (!inc.id) continue;  // pruned
    if (!q.statuses.empty() && std::find(q.statuses.begin(), q.statuses.end(),
                                         incidentStatusName(inc.status)) == q.statuses.end())
      continue;
    if (q.priority && inc.priority > q.priority) continue;
    if (!q.services.empty() &&
        std::none_of(q.services.begin(), q.services.end(), [&](const std::string& s) {
          return std::binary_search(inc.services.begin(), inc.services.end(), s);
        }))
      continue;
    if (q.alerts && !anyAlertMatches(c, inc, *q.alerts)) continue;
    if (ids.size() == q.limit) {
      *next = ids.back();
      break;
    }
    ids.push_back(inc.id);
  }
  return ids;
}

// The incident with its SLA clocks and, when counts are given, `events` (every event its
// alerts received, duplicates included) and `duplicates` (those beyond the first of each).
void writeListed(std::string& out, const Correlator& c, const Evaluator& ev, const Incident& inc,
                 const AlertCounts* counts) {
  writeIncidentJson(out, c, inc, false, [&](api::JsonWriter& w) {
    writeIncidentClocks(w, ev, inc.id);
    if (!counts) return;
    uint64_t events = 0, known = 0;
    for (uint64_t fp : inc.alerts)
      if (auto it = counts->find(fp); it != counts->end()) {
        events += it->second;
        ++known;
      }
    w.field("events", events).field("duplicates", events - known);
  });
}

// Runs `then` on the correlator thread with the counts of the given incidents' alerts, read
// from the shards that own them.
void withCounts(CorrelatorStage& stage, Pipeline& pipeline, std::vector<uint64_t> ids,
                std::function<void(Evaluator&, Correlator&, const AlertCounts&)> then) {
  stage.run(
      [&stage, &pipeline, ids = std::move(ids), then = std::move(then)](Correlator& c, int64_t) {
        std::vector<uint64_t> fps;
        for (uint64_t id : ids)
          if (const Incident* inc = c.incident(id))
            fps.insert(fps.end(), inc->alerts.begin(), inc->alerts.end());
        alertCounts(pipeline, std::move(fps), [&stage, then](std::shared_ptr<AlertCounts> counts) {
          stage.evaluate(
              [then, counts](Evaluator& ev, Correlator& c, int64_t) { then(ev, c, *counts); });
        });
      });
}

void addIncidentReads(api::Router& router, CorrelatorStage& stage, Pipeline* pipeline) {
  router.add({Verb::get, "/api/v1/incidents", RouteGroup::kRead,
              [&stage, pipeline](const HttpRequest& req, Responder r) {
                ListQuery q;
                listParam(req, "status", q.statuses);
                listParam(req, "service", q.services);
                std::string v;
                if (req.queryParam("after", v) && !parseId(v, q.after))
                  return r(HttpResponse::error(400, "after: expected an incident id"));
                if (req.queryParam("limit", v) && (!parseId(v, q.limit) || q.limit > 10000))
                  return r(HttpResponse::error(400, "limit: expected 1..10000"));
                if (req.queryParam("priority", v)) {
                  uint64_t p = 0;
                  if (!parseId(v, p) || p > 5)
                    return r(HttpResponse::error(400, "priority: expected 1..5"));
                  q.priority = static_cast<int64_t>(p);
                }
                // Several alert_filter parameters: all of them, on the same alert.
                auto filters = req.queryParams("alert_filter");
                if (!filters.empty()) {
                  auto ms = std::make_shared<rules::Matchers>();
                  for (const auto& f : filters) {
                    std::string err;
                    if (!rules::parseMatchers(f, *ms, &err))
                      return r(HttpResponse::error(400, "alert_filter: " + err));
                  }
                  q.alerts = std::move(ms);
                }
                if (req.queryParam("duplicates", v)) {
                  if (v != "true" && v != "false")
                    return r(HttpResponse::error(400, "duplicates: expected true or false"));
                  q.duplicates = v == "true" && pipeline;
                }
                for (const auto& s : q.statuses)
                  if (s != "open" && s != "acknowledged" && s != "resolved" && s != "closed" &&
                      s != "merged")
                    return r(HttpResponse::error(400, "status: unknown status \"" + s + "\""));
                auto answer = [r](const Evaluator& ev, const Correlator& c,
                                  const std::vector<uint64_t>& ids, uint64_t next,
                                  const AlertCounts* counts) {
                  std::string out = "{\"incidents\":[";
                  bool first = true;
                  for (uint64_t id : ids)
                    if (const Incident* inc = c.incident(id)) {
                      if (!first) out += ',';
                      first = false;
                      writeListed(out, c, ev, *inc, counts);
                    }
                  out += "],\"next\":";
                  out += next ? std::to_string(next) : "null";
                  out += "}\n";
                  r(HttpResponse::json(200, std::move(out)));
                };
                if (!q.duplicates) {
                  stage.evaluate([q, answer](Evaluator& ev, Correlator& c, int64_t) {
                    uint64_t next = 0;
                    auto ids = selectIncidents(c, q, &next);
                    answer(ev, c, ids, next, nullptr);
                  });
                  return;
                }
                // The counts live in the shards: select, ask them, then write.
                stage.run([&stage, pipeline, q, answer](Correlator& c, int64_t) {
                  uint64_t next = 0;
                  auto ids = selectIncidents(c, q, &next);
                  withCounts(
                      stage, *pipeline, ids,
                      [ids, next, answer](Evaluator& ev, Correlator& c, const AlertCounts& n) {
                        answer(ev, c, ids, next, &n);
                      });
                });
              }});
  router.add({Verb::get, "/api/v1/incidents/{id}", RouteGroup::kRead,
              [&stage, pipeline](const HttpRequest& req, Responder r) {
                uint64_t id = 0;
                if (!parseId(req.param("id"), id))
                  return r(HttpResponse::error(400, "invalid incident id"));
                auto answer = [id, r](const Evaluator& ev, const Correlator& c,
                                      const AlertCounts* counts) {
                  const Incident* inc = c.incident(id);
                  if (!inc) return r(HttpResponse::error(404, "no such incident"));
                  std::string out;
                  writeIncidentJson(out, c, *inc, true, [&](api::JsonWriter& w) {
                    writeIncidentClocks(w, ev, id);
                    if (!counts) return;
                    // Each alert's count, in the order of `alerts`.
                    uint64_t events = 0, known = 0;
                    w.key("alert_counts").beginArray();
                    for (uint64_t fp : inc->alerts) {
                      auto it = counts->find(fp);
                      uint64_t n = it == counts->end() ? 0 : it->second;
                      w.value(n);
                      events += n;
                      known += n ? 1 : 0;
                    }
                    w.endArray().field("events", events).field("duplicates", events - known);
                  });
                  r(HttpResponse::json(200, std::move(out)));
                };
                if (!pipeline) {
                  stage.evaluate(
                      [answer](Evaluator& ev, Correlator& c, int64_t) { answer(ev, c, nullptr); });
                  return;
                }
                withCounts(stage, *pipeline, {id},
                           [answer](Evaluator& ev, Correlator& c, const AlertCounts& n) {
                             answer(ev, c, &n);
                           });
              }});
  router.add({Verb::get, "/api/v1/suppressed", RouteGroup::kRead,
              [&stage](const HttpRequest&, Responder r) {
                stage.run([r](Correlator& c, int64_t) {
                  std::string out = "{\"alerts\":[";
                  bool first = true;
                  c.forEachAlert([&](const CorrAlert& a) {
                    if (a.suppressed == Suppression::kNone || a.status != api::Status::kFiring)
                      return;
                    if (!first) out += ',';
                    first = false;
                    writeCorrelatedAlertJson(out, a);
                  });
                  out += "]}\n";
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
}

void addProblemRoutes(api::Router& router, CorrelatorStage& stage) {
  router.add(
      {Verb::get, "/api/v1/problems", RouteGroup::kRead, [&stage](const HttpRequest&, Responder r) {
         stage.run([r](Correlator& c, int64_t) {
           std::string out = "{\"problems\":[";
           bool first = true;
           for (const auto& [id, p] : c.problems()) {
             if (!first) out += ',';
             first = false;
             writeProblemJson(out, p, false);
           }
           out += "]}\n";
           r(HttpResponse::json(200, std::move(out)));
         });
       }});
  router.add({Verb::get, "/api/v1/problems/{id}", RouteGroup::kRead,
              [&stage](const HttpRequest& req, Responder r) {
                uint64_t id = 0;
                if (!parseId(req.param("id"), id))
                  return r(HttpResponse::error(400, "invalid problem id"));
                stage.run([id, r](Correlator& c, int64_t) {
                  auto it = c.problems().find(id);
                  if (it == c.problems().end())
                    return r(HttpResponse::error(404, "no such problem"));
                  std::string out;
                  writeProblemJson(out, it->second, true);
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
  auto op =
      [&](const char* action,
          std::function<std::string(Correlator&, uint64_t, Body&, const std::string&, int64_t)>
              fn) {
        router.add({Verb::post, std::string("/api/v1/problems/{id}/") + action, RouteGroup::kAdmin,
                    [&stage, fn](const HttpRequest& req, Responder r) {
                      uint64_t id = 0;
                      if (!parseId(req.param("id"), id))
                        return r(HttpResponse::error(400, "invalid problem id"));
                      auto body = std::make_shared<Body>();
                      if (!body->parse(req)) return r(HttpResponse::error(400, body->error));
                      std::string by = actor(*body, req);
                      stage.run([=, &stage](Correlator& c, int64_t now) {
                        std::string err = fn(c, id, *body, by, now);
                        if (!err.empty()) return r(opError(err));
                        auto out = std::make_shared<std::string>();
                        writeProblemJson(*out, c.problems().at(id), true);
                        stage.whenDurable(
                            [r, out] { r(HttpResponse::json(200, std::move(*out))); });
                      });
                    }});
      };
  op("known_error", [](Correlator& c, uint64_t id, Body& b, const std::string& by, int64_t now) {
    std::string cause, workaround;
    if (!b.str("root_cause", cause) || !b.str("workaround", workaround, true)) return b.error;
    return c.setKnownError(id, cause, workaround, by, now);
  });
  op("resolve", [](Correlator& c, uint64_t id, Body&, const std::string& by, int64_t now) {
    return c.setProblemStatus(id, ProblemStatus::kResolved, by, now);
  });
  op("close", [](Correlator& c, uint64_t id, Body&, const std::string& by, int64_t now) {
    return c.setProblemStatus(id, ProblemStatus::kClosed, by, now);
  });
}

}  // namespace

void addIncidentRoutes(api::Router& router, CorrelatorStage& stage, Pipeline* pipeline) {
  addIncidentReads(router, stage, pipeline);
  addIncidentOp(router, stage, "acknowledge",
                [](Correlator& c, uint64_t id, Body&, const std::string& by, int64_t now) {
                  return c.acknowledge(id, by, now);
                });
  addIncidentOp(router, stage, "assign",
                [](Correlator& c, uint64_t id, Body& b, const std::string& by, int64_t now) {
                  std::string who;
                  if (!b.str("assignee", who, true)) return b.error;
                  return c.assign(id, who, by, now);
                });
  addIncidentOp(router, stage, "comment",
                [](Correlator& c, uint64_t id, Body& b, const std::string& by, int64_t now) {
                  std::string text;
                  if (!b.str("text", text, true)) return b.error;
                  return c.comment(id, text, by, now);
                });
  addIncidentOp(router, stage, "priority",
                [](Correlator& c, uint64_t id, Body& b, const std::string& by, int64_t now) {
                  int64_t p = 0;
                  if (!b.integer("priority", p, true)) return b.error;
                  return c.setPriority(id, static_cast<int>(p), by, now);
                });
  addIncidentOp(router, stage, "resolve",
                [](Correlator& c, uint64_t id, Body& b, const std::string& by, int64_t now) {
                  std::string text;
                  if (!b.str("note", text)) return b.error;
                  return c.resolve(id, by, text, now);
                });
  addIncidentOp(router, stage, "close",
                [](Correlator& c, uint64_t id, Body&, const std::string& by, int64_t now) {
                  return c.close(id, by, now);
                });
  addIncidentOp(router, stage, "merge",
                [](Correlator& c, uint64_t id, Body& b, const std::string& by, int64_t now) {
                  int64_t into = 0;
                  if (!b.integer("into", into, true)) return b.error;
                  std::string err = c.merge(id, static_cast<uint64_t>(into), by, now);
                  return err;
                });
  addIncidentOp(
      router, stage, "tickets",
      [](Correlator& c, uint64_t id, Body& b, const std::string& by, int64_t now) {
        TicketLink t;
        if (!b.str("system", t.system, true) || !b.str("id", t.id, true) || !b.str("url", t.url))
          return b.error;
        return c.linkTicket(id, std::move(t), by, now);
      });
  addProblemRoutes(router, stage);
}

}  // namespace triaged::engine
