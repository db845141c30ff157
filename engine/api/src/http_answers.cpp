// The plugin API's ingest helpers (triaged/api/ingest.h), part: The HTTP answers inputs give:
// rejections, back-pressure, draining, authorization.
#include "server/http_server.h"  // checkBearer
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"

namespace triaged::api {

HttpResponse badRequest(std::string_view message, const std::vector<DecodeError>& errors,
                        uint64_t total) {
  std::string detail;
  JsonWriter w(detail);
  w.beginObject().field("errors_total", total).key("errors").beginArray();
  for (const auto& e : errors) {
    w.beginObject();
    if (e.index >= 0) w.field("index", e.index);
    if (e.line > 0) w.field("line", e.line);
    w.field("field", e.field).field("reason", e.reason).endObject();
  }
  w.endArray().endObject();
  return HttpResponse::error(400, message, detail);
}

HttpResponse busyResponse(int retry_after) {
  auto r = HttpResponse::error(429, "pipeline busy", "\"queues are full; retry later\"");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return r;
}

HttpResponse drainingResponse(int retry_after) {
  auto r = HttpResponse::error(503, "shutting down",
                               "\"triaged is draining; retry on another instance or later\"");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return r;
}

HttpResponse unavailableResponse(int retry_after) {
  auto r = HttpResponse::error(503, "state store unavailable",
                               "\"the state store cannot commit; nothing was taken, retry later\"");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return r;
}

Reject refusalReason(SubmitStatus st) {
  return st == SubmitStatus::kBusy       ? Reject::kBusy
         : st == SubmitStatus::kDraining ? Reject::kDraining
                                         : Reject::kUnavailable;
}

HttpResponse refusalResponse(SubmitStatus st, int retry_after) {
  return st == SubmitStatus::kBusy       ? busyResponse(retry_after)
         : st == SubmitStatus::kDraining ? drainingResponse(retry_after)
                                         : unavailableResponse(retry_after);
}

bool inputAuthorized(const IngestOptions& o, const HttpRequest& req) {
  return inputAuthorized(o, req.header("Authorization"));
}

bool inputAuthorized(const IngestOptions& o, std::string_view authorization) {
  if (o.bearer_tokens.empty()) return true;
  return engine::checkBearer(authorization, o.bearer_tokens);
}

}  // namespace triaged::api
