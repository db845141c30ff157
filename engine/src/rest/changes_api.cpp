#include "rest/changes_api.h"

#include <simdjson.h>

#include <algorithm>

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

const char* const kStatuses[] = {"planned", "in_progress", "completed", "failed", "cancelled"};

// One change object; errors are "<where>.<field>: ...".
bool readChange(simdjson::dom::element e, const std::string& where, ChangeRecord& c,
                std::string* error) {
  simdjson::dom::object o;
  if (e.get_object().get(o)) {
    *error = where + ": expected an object";
    return false;
  }
  auto fail = [&](std::string_view key, const std::string& what) {
    *error = where + (where.empty() ? "" : ".") + std::string(key) + ": " + what;
    return false;
  };
  for (auto [key, value] : o) {
    std::string_view s;
    if (key == "id" || key == "summary" || key == "status" || key == "url") {
      if (value.get_string().get(s)) return fail(key, "expected a string");
      (key == "id" ? c.id : key == "summary" ? c.summary : key == "status" ? c.status : c.url) = s;
    } else if (key == "cis" || key == "services") {
      simdjson::dom::array a;
      if (value.get_array().get(a)) return fail(key, "expected an array of names");
      auto& out = key == "cis" ? c.cis : c.services;
      for (auto n : a) {
        if (n.get_string().get(s) || s.empty()) return fail(key, "expected an array of names");
        out.emplace_back(s);
      }
    } else if (key == "planned_start" || key == "planned_end" || key == "actual_start" ||
               key == "actual_end") {
      int64_t& t = key == "planned_start"  ? c.planned_start
                   : key == "planned_end"  ? c.planned_end
                   : key == "actual_start" ? c.actual_start
                                           : c.actual_end;
      if (value.is_null()) continue;
      std::optional<int64_t> ms;
      if (value.get_string().get(s) || !(ms = api::parseRfc3339(s)))
        return fail(key, "expected an RFC 3339 time");
      t = *ms;
    } else {
      return fail(key,
                  "unknown field (id, summary, status, url, cis, services, planned_start, "
                  "planned_end, actual_start, actual_end)");
    }
  }
  if (c.id.empty()) return fail("id", "is required");
  if (c.status.empty())
    c.status = c.actual_end ? "completed" : c.actual_start ? "in_progress" : "planned";
  if (std::find(std::begin(kStatuses), std::end(kStatuses), c.status) == std::end(kStatuses))
    return fail(
        "status",
        "\"" + c.status + "\" is not one of planned, in_progress, completed, failed, cancelled");
  if (c.planned_start && c.planned_end && c.planned_end < c.planned_start)
    return fail("planned_end", "is before planned_start");
  if (c.actual_start && c.actual_end && c.actual_end < c.actual_start)
    return fail("actual_end", "is before actual_start");
  if (c.cis.empty() && c.services.empty()) return fail("cis", "give cis or services (or both)");
  return true;
}

}  // namespace

// The body: one object, an array of them, or NDJSON (one per line).
bool parseChanges(const std::string& body, std::vector<ChangeRecord>& out, std::string* error) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (!parser.parse(body).get(root)) {
    simdjson::dom::array a;
    if (!root.get_array().get(a)) {
      size_t i = 0;
      for (auto e : a) {
        ChangeRecord c;
        if (!readChange(e, "changes[" + std::to_string(i++) + "]", c, error)) return false;
        out.push_back(std::move(c));
      }
      return true;
    }
    ChangeRecord c;
    if (!readChange(root, "", c, error)) return false;
    out.push_back(std::move(c));
    return true;
  }
  size_t start = 0, line = 0;
  while (start < body.size()) {
    size_t nl = body.find('\n', start);
    if (nl == std::string::npos) nl = body.size();
    std::string text = body.substr(start, nl - start);
    start = nl + 1;
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    simdjson::dom::element e;
    if (parser.parse(text).get(e)) {
      *error = "line " + std::to_string(line) + ": not valid JSON";
      return false;
    }
    ChangeRecord c;
    if (!readChange(e, "line " + std::to_string(line), c, error)) return false;
    out.push_back(std::move(c));
  }
  if (out.empty()) *error = "body holds no change";
  return !out.empty();
}

namespace {

void writeChange(std::string& out, const Correlator& c, const ChangeRecord& ch, bool detail) {
  JsonWriter w(out);
  w.beginObject();
  w.field("id", ch.id).field("summary", ch.summary).field("status", ch.status).field("url", ch.url);
  w.key("cis").beginArray();
  for (const auto& x : ch.cis) w.value(x);
  w.endArray();
  w.key("services").beginArray();
  for (const auto& x : ch.services) w.value(x);
  w.endArray();
  writeTime(w, "planned_start", ch.planned_start);
  writeTime(w, "planned_end", ch.planned_end);
  writeTime(w, "actual_start", ch.actual_start);
  writeTime(w, "actual_end", ch.actual_end);
  writeTime(w, "created_at", ch.created_ms);
  writeTime(w, "updated_at", ch.updated_ms);
  w.key("incidents").beginArray();
  for (uint64_t id : ch.incidents) {
    const Incident* inc = detail ? c.incident(id) : nullptr;
    if (!inc) {
      w.value(id);
      continue;
    }
    int64_t end = ch.end();
    w.beginObject()
        .field("id", id)
        .field("title", inc->title)
        .field("status", incidentStatusName(inc->status))
        .field("priority", inc->priority)
        .field("opened_at", api::formatRfc3339Ms(inc->opened_ms))
        .field("minutes_after_change",
               end && inc->opened_ms > end ? (inc->opened_ms - end) / 60'000 : int64_t{0})
        .endObject();
  }
  w.endArray();
  w.endObject();
}

}  // namespace

void addChangeRoutes(api::Router& router, CorrelatorStage& stage) {
  router.add(
      {Verb::post, "/api/v1/changes", RouteGroup::kAdmin,
       [&stage](const HttpRequest& req, Responder r) {
         auto changes = std::make_shared<std::vector<ChangeRecord>>();
         std::string err;
         if (!parseChanges(req.body ? std::string(*req.body) : std::string(), *changes, &err))
           return r(HttpResponse::error(400, err));
         stage.run([changes, r, &stage](Correlator& c, int64_t now) {
           for (auto& ch : *changes) c.putChange(std::move(ch), now);
           auto out = std::make_shared<std::string>(
               "{\"status\":\"success\",\"changes\":" + std::to_string(changes->size()) + "}\n");
           stage.whenDurable([r, out] { r(HttpResponse::json(200, std::move(*out))); });
         });
       }});
  router.add(
      {Verb::get, "/api/v1/changes", RouteGroup::kRead, [&stage](const HttpRequest&, Responder r) {
         stage.run([r](Correlator& c, int64_t) {
           std::string out = "{\"changes\":[";
           bool first = true;
           for (const auto& [id, ch] : c.changes()) {
             if (!first) out += ',';
             first = false;
             writeChange(out, c, ch, false);
           }
           out += "]}\n";
           r(HttpResponse::json(200, std::move(out)));
         });
       }});
  router.add({Verb::get, "/api/v1/changes/{id}", RouteGroup::kRead,
              [&stage](const HttpRequest& req, Responder r) {
                std::string id(req.param("id"));
                stage.run([id, r](Correlator& c, int64_t) {
                  auto it = c.changes().find(id);
                  if (it == c.changes().end()) return r(HttpResponse::error(404, "no such change"));
                  std::string out;
                  writeChange(out, c, it->second, true);
                  out += "\n";
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
}

}  // namespace triaged::engine
