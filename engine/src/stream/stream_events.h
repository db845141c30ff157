// The events of the live stream, built on the correlator thread from what a round changed,
// published by the store thread once that round is committed (docs/console.md, "The stream").
#pragma once

#include <string>
#include <vector>

#include "correlate/correlator.h"
#include "evaluate/evaluator.h"
#include "stream/event_hub.h"

namespace triaged::engine {

// One "alert" event per change the correlator applied (new, resolved, fired again, severity,
// flapping started or stopped): the alert's identity, state and incident.
void appendAlertEvents(const Correlator& c, const std::vector<CorrelatorInput>& changes,
                       std::vector<StreamEvent>& out);

// The rest of a round: each changed incident once (its list form, SLA clocks and what
// happened to it), problems, silences, maintenance windows, SLA and heartbeat events.
struct RoundChanges {
  const std::vector<uint64_t>& incidents;
  const std::vector<std::string>& silences;
  const std::vector<std::string>& maintenance;
  const std::vector<CorrelatorEvent>& events;
  const std::vector<SlaEvent>& sla;
  bool empty() const {
    return incidents.empty() && silences.empty() && maintenance.empty() && events.empty() &&
           sla.empty();
  }
};
void appendRoundEvents(const Correlator& c, const Evaluator& ev, const RoundChanges& r, int64_t now,
                       std::vector<StreamEvent>& out);

}  // namespace triaged::engine
