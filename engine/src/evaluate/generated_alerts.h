// The alerts the evaluator raises (heartbeats, burn rates, capacity) as a batch of events for
// the pipeline: they are deduplicated and correlated like any other alert.
#pragma once

#include <memory>
#include <vector>

#include "evaluate/evaluator.h"
#include "triaged/api/event.h"

namespace triaged::engine {

// Null when one has a label the ingest rules refuse (a rule file's mistake, counted there).
std::unique_ptr<api::EventBatch> generatedAlertBatch(const std::vector<GeneratedAlert>& alerts,
                                                     int64_t now_ms);

}  // namespace triaged::engine
