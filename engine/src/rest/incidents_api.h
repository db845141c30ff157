// The correlation API: incidents (list, get, acknowledge, assign, comment, priority, resolve,
// close, merge, tickets), problems (list, get, known error, resolve, close), silences
// (Alertmanager v2: /api/v2/silences, /api/v2/silence/{id}) and suppressed alerts. Every
// request runs on the correlator thread, so it sees every change applied before it.
#pragma once

#include "correlate/correlator_stage.h"
#include "pipeline/pipeline.h"
#include "triaged/api/http.h"

namespace triaged::engine {

// With a pipeline, lists can carry each incident's event and duplicate counts (read from the
// shards that own its alerts: ?duplicates=true) and one incident always does.
void addIncidentRoutes(api::Router& router, CorrelatorStage& stage, Pipeline* pipeline);

}  // namespace triaged::engine
