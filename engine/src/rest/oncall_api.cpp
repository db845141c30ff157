#include "rest/oncall_api.h"

#include "notify/escalation.h"
#include "rest/json_body.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

using api::HttpRequest;
using api::HttpResponse;
using api::JsonWriter;
using api::Responder;
using api::RouteGroup;
using api::Verb;

namespace {

void writeOverride(JsonWriter& w, const rules::OncallOverride& o, bool api) {
  w.beginObject();
  if (api) w.field("id", o.id);
  w.field("source", api ? "api" : "rule_file").field("person", o.person);
  writeTime(w, "start", o.start_ms);
  writeTime(w, "end", o.end_ms);
  if (api) {
    w.field("created_by", o.created_by);
    writeTime(w, "created", o.created_ms);
  }
  if (!o.comment.empty()) w.field("comment", o.comment);
  w.endObject();
}

void writeSchedule(std::string& out, const Correlator& c, const Escalator& e,
                   const rules::OncallSchedule& s, int64_t at) {
  const auto& extra = e.overrides(s.name);
  const auto& cals = c.ruleSet().calendars();
  rules::OncallShift shift = s.at(at, extra, cals);
  JsonWriter w(out);
  w.beginObject().field("name", s.name).field("time_zone", s.time_zone);
  w.key("on_call");
  if (shift.person < 0) {
    w.null();
  } else {
    const auto& p = s.people[static_cast<size_t>(shift.person)];
    w.beginObject().field("person", p.name).field("source", shift.source);
    w.key("targets").beginArray();
    for (const auto& t : p.targets) w.value(t);
    w.endArray().endObject();
  }
  writeTime(w, "until", shift.until);
  w.key("next");
  if (shift.until == INT64_MAX)
    w.null();
  else
    w.beginObject()
        .field("person", shift.next_person < 0
                             ? std::string()
                             : s.people[static_cast<size_t>(shift.next_person)].name)
        .endObject();
  w.key("layers").beginArray();
  for (const auto& l : s.layers) {
    w.beginObject().field("name", l.name).key("members").beginArray();
    for (uint32_t m : l.members) w.value(s.people[m].name);
    w.endArray();
    w.field("rotation", config::formatDuration(config::Duration{l.rotation_ms}));
    writeTime(w, "start", l.start_ms);
    if (l.calendar >= 0) w.field("calendar", cals[static_cast<size_t>(l.calendar)].name);
    w.endObject();
  }
  w.endArray();
  w.key("overrides").beginArray();
  for (const auto& o : s.overrides)
    if (o.end_ms > at) writeOverride(w, o, false);
  for (const auto& o : extra)
    if (o.end_ms > at) writeOverride(w, o, true);
  w.endArray().endObject();
}

}  // namespace

void addOncallRoutes(api::Router& router, CorrelatorStage& stage) {
  router.add({Verb::get, "/api/v1/oncall", RouteGroup::kRead,
              [&stage](const HttpRequest& req, Responder r) {
                std::string text;
                int64_t at = INT64_MIN;
                if (req.queryParam("at", text)) {
                  auto t = api::parseRfc3339(text);
                  if (!t) return r(HttpResponse::error(400, "at: expected an RFC 3339 time"));
                  at = *t;
                }
                stage.escalation([r, at](Escalator& e, Correlator& c, int64_t now) {
                  int64_t when = at == INT64_MIN ? now : at;
                  std::string out =
                      "{\"at\":\"" + api::formatRfc3339Ms(when) + "\",\"schedules\":[";
                  bool first = true;
                  for (const auto& s : c.ruleSet().oncallSchedules()) {
                    if (!first) out += ',';
                    first = false;
                    writeSchedule(out, c, e, s, when);
                  }
                  out += "]}\n";
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
  router.add({Verb::get, "/api/v1/oncall/{schedule}", RouteGroup::kRead,
              [&stage](const HttpRequest& req, Responder r) {
                std::string name(req.param("schedule"));
                stage.escalation([r, name](Escalator& e, Correlator& c, int64_t now) {
                  const auto* s = c.ruleSet().oncallSchedule(name);
                  if (!s) return r(HttpResponse::error(404, "no such on-call schedule"));
                  std::string out;
                  writeSchedule(out, c, e, *s, now);
                  r(HttpResponse::json(200, out + "\n"));
                });
              }});
  router.add(
      {Verb::post, "/api/v1/oncall/{schedule}/overrides", RouteGroup::kOperate,
       [&stage](const HttpRequest& req, Responder r) {
         auto body = std::make_shared<Body>();
         if (!body->parse(req)) return r(HttpResponse::error(400, body->error));
         std::string start, end;
         rules::OncallOverride o;
         if (!body->str("person", o.person, true) || !body->str("start", start, true) ||
             !body->str("end", end, true) || !body->str("comment", o.comment) ||
             !body->str("created_by", o.created_by))
           return r(HttpResponse::error(400, body->error));
         if (!req.user.empty()) o.created_by = req.user;
         std::string name(req.param("schedule"));
         stage.escalation([=, &stage](Escalator& e, Correlator& c, int64_t now) mutable {
           const auto* s = c.ruleSet().oncallSchedule(name);
           if (!s) return r(HttpResponse::error(404, "no such on-call schedule"));
           if (!rules::parseScheduleTime(start, s->zone, o.start_ms))
             return r(HttpResponse::error(
                 400, "start: expected an RFC 3339 time or a local time like 2026-12-24T09:00"));
           if (!rules::parseScheduleTime(end, s->zone, o.end_ms))
             return r(HttpResponse::error(
                 400, "end: expected an RFC 3339 time or a local time like 2026-12-24T09:00"));
           o.created_ms = now;
           std::string id;
           std::string err = e.addOverride(c.ruleSet(), name, o, &id);
           if (!err.empty()) return r(HttpResponse::error(400, err));
           auto out = std::make_shared<std::string>();
           JsonWriter w(*out);
           for (const auto& x : e.overrides(name))
             if (x.id == id) writeOverride(w, x, true);
           *out += "\n";
           stage.whenDurable([r, out] { r(HttpResponse::json(201, std::move(*out))); });
         });
       }});
  router.add({Verb::delete_, "/api/v1/oncall/{schedule}/overrides/{id}", RouteGroup::kOperate,
              [&stage](const HttpRequest& req, Responder r) {
                std::string name(req.param("schedule")), id(req.param("id"));
                stage.escalation([=, &stage](Escalator& e, Correlator&, int64_t now) {
                  std::string err = e.removeOverride(name, id, now);
                  if (!err.empty()) return r(HttpResponse::error(404, err));
                  stage.whenDurable([r] { r(HttpResponse::json(200, "{\"deleted\":true}\n")); });
                });
              }});
}

}  // namespace triaged::engine
