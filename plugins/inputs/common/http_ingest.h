// Shared by the HTTP inputs: hand a decoded batch to the pipeline and answer the request when
// the pipeline is done with it (or refuse with 429/503 when it cannot take it).
#pragma once

#include <functional>
#include <memory>

#include "triaged/api/event.h"
#include "triaged/api/http.h"
#include "triaged/api/ingest.h"

namespace triaged::plugins {

// `ok` builds the success answer from the pipeline's result (called on a shard thread).
void submitBatch(api::EventSink& sink, api::InputMetrics& metrics,
                 std::unique_ptr<api::EventBatch> batch, api::Responder respond,
                 std::function<api::HttpResponse(const api::BatchResult&)> ok,
                 std::function<api::HttpResponse(int)> busy = api::busyResponse);

// The simdjson padding contract for a request body: grows capacity, never the content.
void padBody(std::string& body);

// Counts a rejected batch's events by reason and answers 400 with the first errors.
api::HttpResponse rejectBatch(api::InputMetrics& metrics, api::BatchBuilder& b,
                              std::string_view message);

}  // namespace triaged::plugins
