#include "rest/incidents_api.h"

#include <simdjson.h>

#include <charconv>

#include "correlate/correlation_json.h"
#include "evaluate/evaluator_json.h"
#include "rest/json_body.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"

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
    for (const auto& t : inc.tickets)
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

void addIncidentReads(api::Router& router, CorrelatorStage& stage) {
  router.add(
      {Verb::get, "/api/v1/incidents", RouteGroup::kRead,
       [&stage](const HttpRequest& req, Responder r) {
         std::vector<std::string> statuses, services;
         listParam(req, "status", statuses);
         listParam(req, "service", services);
         std::string v;
         uint64_t after = 0, limit = 100;
         int64_t priority = 0;
         if (req.queryParam("after", v) && !parseId(v, after))
           return r(HttpResponse::error(400, "after: expected an incident id"));
         if (req.queryParam("limit", v) && (!parseId(v, limit) || limit > 10000))
           return r(HttpResponse::error(400, "limit: expected 1..10000"));
         if (req.queryParam("priority", v)) {
           uint64_t p = 0;
           if (!parseId(v, p) || p > 5)
             return r(HttpResponse::error(400, "priority: expected 1..5"));
           priority = static_cast<int64_t>(p);
         }
         for (const auto& s : statuses)
           if (s != "open" && s != "acknowledged" && s != "resolved" && s != "closed" &&
               s != "merged")
             return r(HttpResponse::error(400, "status: unknown status \"" + s + "\""));
         stage.evaluate([=](Evaluator& ev, Correlator& c, int64_t) {
           std::string out = "{\"incidents\":[";
           uint64_t n = 0, last = 0;
           bool more = false;
           uint64_t base = c.incidentBase();
           for (size_t k = after + 1 > base ? after + 1 - base : 0; k < c.incidents().size(); ++k) {
             const Incident& inc = c.incidents()[k];
             if (!inc.id) continue;  // pruned
             if (!statuses.empty() && std::find(statuses.begin(), statuses.end(),
                                                incidentStatusName(inc.status)) == statuses.end())
               continue;
             if (priority && inc.priority > priority) continue;
             if (!services.empty() &&
                 std::none_of(services.begin(), services.end(), [&](const std::string& s) {
                   return std::binary_search(inc.services.begin(), inc.services.end(), s);
                 }))
               continue;
             if (n == limit) {
               more = true;
               break;
             }
             if (n++) out += ',';
             writeIncidentJson(out, c, inc, false,
                               [&](api::JsonWriter& w) { writeIncidentClocks(w, ev, inc.id); });
             last = inc.id;
           }
           out += "],\"next\":";
           out += more ? std::to_string(last) : "null";
           out += "}\n";
           r(HttpResponse::json(200, std::move(out)));
         });
       }});
  router.add({Verb::get, "/api/v1/incidents/{id}", RouteGroup::kRead,
              [&stage](const HttpRequest& req, Responder r) {
                uint64_t id = 0;
                if (!parseId(req.param("id"), id))
                  return r(HttpResponse::error(400, "invalid incident id"));
                stage.evaluate([id, r](Evaluator& ev, Correlator& c, int64_t) {
                  const Incident* inc = c.incident(id);
                  if (!inc) return r(HttpResponse::error(404, "no such incident"));
                  std::string out;
                  writeIncidentJson(out, c, *inc, true,
                                    [&](api::JsonWriter& w) { writeIncidentClocks(w, ev, id); });
                  r(HttpResponse::json(200, std::move(out)));
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

void addIncidentRoutes(api::Router& router, CorrelatorStage& stage) {
  addIncidentReads(router, stage);
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
