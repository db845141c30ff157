#include "rest/maintenance_api.h"

#include <date/tz.h>

#include <map>

#include "rest/alerts_api.h"
#include "rest/json_body.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"
#include "triaged/config/units.h"
#include "triaged/rules/maintenance.h"

namespace triaged::engine {

using api::HttpRequest;
using api::HttpResponse;
using api::JsonWriter;
using api::Responder;
using api::RouteGroup;
using api::Verb;

namespace {

std::string clock(int minute) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60 % 100, minute % 60);
  return buf;
}

void writeSchedule(JsonWriter& w, const rules::MaintenanceWindow& mw) {
  static const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  const rules::Schedule& s = mw.schedule;
  w.key("schedule").beginObject();
  if (!mw.during_change.empty()) {
    w.field("kind", "change").field("change", mw.during_change);
  } else if (!s.recurring()) {
    w.field("kind", "once");
    writeTime(w, "start", s.start_ms);
    writeTime(w, "end", s.end_ms);
  } else {
    w.field("kind", s.weekly ? "weekly" : "monthly");
    if (s.weekly) {
      w.key("days").beginArray();
      for (int d = 0; d < 7; ++d)
        if (s.days_mask & (1u << d)) w.value(kDays[d]);
      w.endArray();
    } else if (s.month_day) {
      w.field("day", s.month_day);
    } else {
      w.field("nth", s.nth < 0 ? std::string("last") : std::to_string(s.nth));
      w.field("weekday", s.weekday >= 1 && s.weekday <= 7 ? kDays[s.weekday - 1] : "");
    }
    w.field("start", clock(s.start_minute));
    w.field("duration", config::formatDuration(config::Duration(s.duration_ms)));
    w.field("time_zone", s.zone ? std::string(s.zone->name()) : std::string("UTC"));
  }
  w.endObject();
}

// Firing alerts by the window label that holds them.
std::map<std::string, std::vector<uint64_t>> holding(const Correlator& c) {
  std::map<std::string, std::vector<uint64_t>> out;
  c.forEachAlert([&](const CorrAlert& a) {
    if (a.status == api::Status::kFiring && a.why && !a.why->maintenance.empty())
      out[a.why->maintenance].push_back(a.fingerprint);
  });
  return out;
}

void writeWindow(std::string& out, const Correlator& c, const rules::MaintenanceWindow& w,
                 const MaintenanceRecord* m, const std::vector<uint64_t>* held, int64_t now) {
  const auto& rs = c.ruleSet();
  JsonWriter j(out);
  j.beginObject();
  j.field("id", m ? m->id : w.name);
  j.field("name", w.name);
  j.field("origin", m ? "api" : "rules");
  j.field("change_id", w.change_id);
  // Its state: from its schedule, or from the change it follows.
  int64_t until = m && m->ended() ? 0 : c.windowActiveUntil(w, now);
  int64_t next = w.schedule.nextEdge(now);
  if (!w.during_change.empty()) {
    auto ch = c.changes().find(w.during_change);
    next = INT64_MAX;
    if (ch != c.changes().end() && ch->second.status != "cancelled") {
      int64_t s = ch->second.start(), e = ch->second.end();
      if (until)
        next = e ? e : INT64_MAX;
      else if (!s || s > now)
        next = s ? s : INT64_MAX - 1;  // not begun (or no start yet): pending
    } else if (ch == c.changes().end()) {
      next = INT64_MAX - 1;  // the change is not known yet: pending
    }
  }
  const char* state = until                                    ? "active"
                      : (m && m->ended()) || next == INT64_MAX ? "ended"
                                                               : "pending";
  j.field("state", state);
  writeTime(j, "active_until", until == INT64_MAX ? 0 : until);
  writeTime(j, "next_change",
            std::string_view(state) == "ended" || next >= INT64_MAX - 1 ? 0 : next);
  if (!w.during_change.empty()) j.field("during_change", w.during_change);
  std::string match;
  for (const auto& x : w.match) {
    match += match.empty() ? '{' : ',';
    match += x->str();
  }
  if (!match.empty()) match += '}';
  j.field("match", match);
  j.key("cis").beginArray();
  if (m)
    for (const auto& n : m->cis) j.value(n);
  else
    for (uint32_t i : w.cis) j.value(rs.cis()[i].name);
  j.endArray();
  j.key("services").beginArray();
  if (m)
    for (const auto& n : m->services) j.value(n);
  else
    for (uint32_t i : w.services) j.value(rs.services()[i].name);
  j.endArray();
  writeSchedule(j, w);
  if (m) {
    j.field("created_by", m->created_by).field("comment", m->comment);
    writeTime(j, "created_at", m->created_ms);
    writeTime(j, "updated_at", m->updated_ms);
    writeTime(j, "ended_at", m->ended_ms);
  }
  j.key("holding").beginArray();
  if (held)
    for (uint64_t fp : *held) j.value(fingerprintHex(fp));
  j.endArray();
  j.endObject();
}

// The window `id` names (an API window's id, else a rule file window's name) with the alerts
// it holds; nothing when there is none.
void writeOne(std::string& out, const Correlator& c, const std::string& id, int64_t now) {
  const rules::MaintenanceWindow* w = nullptr;
  const MaintenanceRecord* m = nullptr;
  if (auto it = c.maintenance().find(id); it != c.maintenance().end()) {
    m = &it->second;
    w = &m->window;
  } else {
    for (const auto& rw : c.ruleSet().maintenance())
      if (rw.name == id) {
        w = &rw;
        break;
      }
  }
  if (!w) return;
  auto held = holding(c);
  auto h = held.find(windowLabel(*w));
  writeWindow(out, c, *w, m, h == held.end() ? nullptr : &h->second, now);
}

}  // namespace

void addMaintenanceRoutes(api::Router& router, CorrelatorStage& stage) {
  router.add({Verb::get, "/api/v1/maintenance", RouteGroup::kRead,
              [&stage](const HttpRequest&, Responder r) {
                stage.run([r](Correlator& c, int64_t now) {
                  auto held = holding(c);
                  std::string out = "{\"windows\":[";
                  bool first = true;
                  auto add = [&](const rules::MaintenanceWindow& w, const MaintenanceRecord* m) {
                    if (!first) out += ',';
                    first = false;
                    auto h = held.find(windowLabel(w));
                    writeWindow(out, c, w, m, h == held.end() ? nullptr : &h->second, now);
                  };
                  for (const auto& w : c.ruleSet().maintenance()) add(w, nullptr);
                  for (const auto& [id, m] : c.maintenance()) add(m.window, &m);
                  out += "]}\n";
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
  router.add({Verb::get, "/api/v1/maintenance/{id}", RouteGroup::kRead,
              [&stage](const HttpRequest& req, Responder r) {
                std::string id(req.param("id"));
                stage.run([id, r](Correlator& c, int64_t now) {
                  std::string out;
                  writeOne(out, c, id, now);
                  if (out.empty()) return r(HttpResponse::error(404, "no such maintenance window"));
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
  router.add({Verb::post, "/api/v1/maintenance", RouteGroup::kOperate,
              [&stage](const HttpRequest& req, Responder r) {
                auto body = std::make_shared<Body>();
                if (!body->parse(req)) return r(HttpResponse::error(400, body->error));
                auto m = std::make_shared<MaintenanceRecord>();
                if (!body->str("id", m->id) || !body->str("comment", m->comment) ||
                    !body->str("created_by", m->created_by))
                  return r(HttpResponse::error(400, body->error));
                if (!req.user.empty()) m->created_by = req.user;  // a named user is the author
                m->spec = std::string(*req.body);
                stage.run([m, r, &stage](Correlator& c, int64_t now) {
                  std::string err;
                  if (!rules::parseMaintenanceWindow(m->spec, c.ruleSet(), m->window, m->cis,
                                                     m->services, &err))
                    return r(HttpResponse::error(400, err));
                  std::string id;
                  err = c.putMaintenance(std::move(*m), now, &id);
                  if (!err.empty()) return r(opError(err));
                  auto out = std::make_shared<std::string>();
                  writeOne(*out, c, id, now);
                  stage.whenDurable([r, out] { r(HttpResponse::json(200, std::move(*out))); });
                });
              }});
  router.add(
      {Verb::delete_, "/api/v1/maintenance/{id}", RouteGroup::kOperate,
       [&stage](const HttpRequest& req, Responder r) {
         std::string id(req.param("id"));
         stage.run([id, r, &stage](Correlator& c, int64_t now) {
           for (const auto& w : c.ruleSet().maintenance())
             if (w.name == id && !c.maintenance().count(id))
               return r(HttpResponse::error(
                   409, "maintenance window " + id + " is defined in a rule file: end it there"));
           std::string err = c.endMaintenance(id, now);
           if (!err.empty()) return r(opError(err));
           auto out = std::make_shared<std::string>();
           writeOne(*out, c, id, now);
           stage.whenDurable([r, out] { r(HttpResponse::json(200, std::move(*out))); });
         });
       }});
}

}  // namespace triaged::engine
