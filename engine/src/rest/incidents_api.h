// The correlation API: incidents (list, get, acknowledge, assign, comment, priority, resolve,
// close, merge, tickets), problems (list, get, known error, resolve, close), silences
// (Alertmanager v2: /api/v2/silences, /api/v2/silence/{id}) and suppressed alerts. Every
// request runs on the correlator thread, so it sees every change applied before it.
#pragma once

#include "correlate/correlator_stage.h"
#include "triaged/api/http.h"

namespace triaged::engine {

void addIncidentRoutes(api::Router& router, CorrelatorStage& stage);

}  // namespace triaged::engine
