// JSON forms of the evaluator's facts shared by the notifier, the API and the event stream.
// Read-only; call on the correlator thread.
#pragma once

#include <cstdint>
#include <string>

#include "correlate/correlator.h"
#include "evaluate/evaluator.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

// An SLA event (warning, breach, heartbeat down/up) as targets and stream clients receive it.
void writeSlaEventJson(std::string& body, const SlaEvent& e, const Incident* inc);

// "sla": the incident's response and resolution clocks, one object per agreement and target:
// agreement, target, stage, deadline (its breach instant), breached, crossed (percent).
void writeIncidentClocks(api::JsonWriter& w, const Evaluator& ev, uint64_t incident);

}  // namespace triaged::engine
