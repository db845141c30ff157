#include "http_ingest.h"

#include <simdjson.h>

namespace triaged::plugins {

void submitBatch(api::EventSink& sink, api::InputMetrics& metrics,
                 std::unique_ptr<api::EventBatch> batch, api::Responder respond,
                 std::function<api::HttpResponse(const api::BatchResult&)> ok,
                 std::function<api::HttpResponse(int)> busy) {
  size_t n = batch->events.size();
  auto shared = std::make_shared<api::Responder>(std::move(respond));
  auto status =
      sink.submit(batch, [shared, ok = std::move(ok), &metrics, n](const api::BatchResult& r) {
        metrics.accepted(n);
        (*shared)(ok(r));
      });
  switch (status) {
    case api::SubmitStatus::kAccepted:
      return;
    case api::SubmitStatus::kBusy:
      metrics.rejected(api::Reject::kBusy, n);
      (*shared)(busy(sink.retryAfterSeconds()));
      return;
    case api::SubmitStatus::kDraining:
    case api::SubmitStatus::kUnavailable:
      metrics.rejected(api::refusalReason(status), n);
      (*shared)(api::refusalResponse(status, sink.retryAfterSeconds()));
      return;
  }
}

static_assert(api::kBodyPadding >= simdjson::SIMDJSON_PADDING,
              "bodies read with a Content-Length are padded in place");

void padBody(std::string& body) {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING)
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
}

api::HttpResponse rejectBatch(api::InputMetrics& metrics, api::BatchBuilder& b,
                              std::string_view message) {
  auto& counts = b.rejectCounts();
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i]) metrics.rejected(static_cast<api::Reject>(i), counts[i]);
  // The valid events of a rejected batch are rejected too (nothing of it is applied).
  if (b.size()) metrics.rejected(api::Reject::kBatchInvalid, b.size());
  return api::badRequest(message, b.errors(), b.errorCount());
}

}  // namespace triaged::plugins
