// JSON forms of incidents, problems, silences and correlated alerts, shared by the API,
// `triaged replay` and `triaged test-rules`. Read-only over a Correlator; call on its thread.
#pragma once

#include <functional>
#include <string>

#include "correlate/correlator.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

// detail: include alerts and the timeline.
// extra, when given, writes more fields before the object closes (the API adds SLA clocks).
void writeIncidentJson(std::string& out, const Correlator& c, const Incident& inc, bool detail,
                       const std::function<void(api::JsonWriter&)>& extra = nullptr);
void writeProblemJson(std::string& out, const Problem& p, bool detail);
// Alertmanager v2 GettableSilence.
void writeSilenceJson(std::string& out, const Silence& s, int64_t now_ms);
void writeCorrelatedAlertJson(std::string& out, const CorrAlert& a);
// {"type": "incident.opened", "at": ..., "incident": {...}} for one correlator event.
void writeEventJson(std::string& out, const Correlator& c, const CorrelatorEvent& e);

}  // namespace triaged::engine
