#include "rest/notifications_api.h"

#include <charconv>

#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

using api::HttpRequest;
using api::HttpResponse;
using api::Responder;
using api::RouteGroup;
using api::Verb;

void addNotificationRoutes(api::Router& router, Notifier& notifier) {
  router.add({Verb::get, "/api/v1/notifications", RouteGroup::kRead,
              [&notifier](const HttpRequest&, Responder r) {
                notifier.targets([r](const std::vector<Notifier::TargetState>& ts) {
                  std::string out;
                  api::JsonWriter w(out);
                  w.beginObject().key("targets").beginArray();
                  for (const auto& t : ts)
                    w.beginObject()
                        .field("name", t.name)
                        .field("pending", static_cast<uint64_t>(t.pending))
                        .field("dead", static_cast<uint64_t>(t.dead))
                        .field("oldest_age_seconds", static_cast<double>(t.oldest_age_ms) / 1000.0)
                        .endObject();
                  w.endArray().endObject();
                  out += '\n';
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
  router.add({Verb::get, "/api/v1/incidents/{id}/notifications", RouteGroup::kRead,
              [&notifier](const HttpRequest& req, Responder r) {
                uint64_t id = 0;
                auto p = req.param("id");
                auto res = std::from_chars(p.data(), p.data() + p.size(), id);
                if (res.ec != std::errc() || res.ptr != p.data() + p.size() || !id)
                  return r(HttpResponse::error(400, "invalid incident id"));
                notifier.deliveries(id, [r](const std::vector<DeliveryLog::Record>& rs) {
                  std::string out;
                  api::JsonWriter w(out);
                  w.beginObject().key("notifications").beginArray();
                  for (const auto& x : rs) {
                    w.beginObject()
                        .field("id", x.id)
                        .field("target", x.target)
                        .field("event", x.event)
                        .field("status", x.status)
                        .field("attempts", static_cast<uint64_t>(x.attempts))
                        .field("at", api::formatRfc3339Ms(x.at_ms));
                    if (!x.error.empty()) w.field("last_error", x.error);
                    w.endObject();
                  }
                  w.endArray().endObject();
                  out += '\n';
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
  router.add({Verb::get, "/api/v1/notifications/dead", RouteGroup::kRead,
              [&notifier](const HttpRequest&, Responder r) {
                notifier.deadLetters([r](const std::vector<OutboxEntry>& dead) {
                  std::string out;
                  api::JsonWriter w(out);
                  w.beginObject().key("dead").beginArray();
                  for (const auto& e : dead)
                    w.beginObject()
                        .field("id", e.id)
                        .field("target", e.target)
                        .field("event", e.event)
                        .field("subject", e.subject)
                        .field("created_at", api::formatRfc3339Ms(e.created_ms))
                        .field("attempts", static_cast<uint64_t>(e.attempts))
                        .field("last_error", e.last_error)
                        .endObject();
                  w.endArray().endObject();
                  out += '\n';
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
  router.add({Verb::post, "/api/v1/notifications/dead/{id}/redeliver", RouteGroup::kAdmin,
              [&notifier](const HttpRequest& req, Responder r) {
                uint64_t id = 0;
                auto s = req.param("id");
                auto res = std::from_chars(s.data(), s.data() + s.size(), id);
                if (res.ec != std::errc() || res.ptr != s.data() + s.size() || !id)
                  return r(HttpResponse::error(400, "invalid notification id"));
                notifier.redeliver(id, [r](bool found) {
                  if (!found) return r(HttpResponse::error(404, "no such dead letter"));
                  r(HttpResponse::json(200, "{\"status\":\"queued\"}\n"));
                });
              }});
}

}  // namespace triaged::engine
