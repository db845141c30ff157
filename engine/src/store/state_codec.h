// Durable records of the correlator's objects: every field an incident, problem or silence
// carries (the API's JSON leaves out internal ones), as compact JSON. Decoding throws
// std::runtime_error naming the field; the store reports which row it was.
#pragma once

#include <string>
#include <string_view>

#include "correlate/correlator.h"
#include "evaluate/evaluator.h"
#include "store/store_writer.h"

namespace triaged::engine {

// An incident's record holds its fields; its alerts and timeline are rows of their own,
// appended as they grow (incidentRows gives those after the first `alerts_from` and
// `timeline_from`, into `unit` for its row `row`). Alerts carry their role in the incident,
// looked up in the correlator.
void encodeIncident(std::string& out, const Incident& inc);
void incidentRows(const Correlator& c, const Incident& inc, size_t alerts_from,
                  size_t timeline_from, StoreUnit& unit, StoreUnit::Row& row);
void encodeProblem(std::string& out, const Problem& p);
void encodeSilence(std::string& out, const Silence& s);
// A maintenance window made through the API: its spec and bookkeeping (the window itself is
// read again from the spec at restore, against the rule set of that time).
void encodeMaintenance(std::string& out, const MaintenanceRecord& m);
void encodeChange(std::string& out, const ChangeRecord& c);

// A decoded incident, and the role of each of its alerts (same order as inc.alerts).
struct IncidentRecord {
  Incident incident;
  std::vector<AlertRole> roles;
};
IncidentRecord decodeIncident(std::string_view record, const std::vector<MemberRow>& alerts = {},
                              const std::vector<TimelineRow>& timeline = {});
Problem decodeProblem(std::string_view record);
Silence decodeSilence(std::string_view record);
MaintenanceRecord decodeMaintenance(std::string_view record);
ChangeRecord decodeChange(std::string_view record);

// Service level ledgers (the evaluator's state). A clock's agreement and a summary's services
// are stored by name, so that a reload that reorders them cannot misattribute history.
void encodeClock(std::string& out, const TaskClock& c);
TaskClock decodeClock(std::string_view record);
void encodeHeartbeat(std::string& out, const HeartbeatRuntime& h);
HeartbeatRuntime decodeHeartbeat(std::string_view record);
void encodeSummary(std::string& out, const IncidentSummary& s,
                   const std::vector<std::string>& services);
// The summary, and the names of its services (its `services` indexes are left empty).
std::pair<IncidentSummary, std::vector<std::string>> decodeSummary(std::string_view record);
std::string encodeIds(const std::vector<uint64_t>& ids);  // "3,17"
std::vector<uint64_t> decodeIds(std::string_view text);
// A threshold window's firings: "time,fingerprint,time,fingerprint,...".
std::string encodeWindow(const std::vector<std::pair<int64_t, uint64_t>>& seen);
std::vector<std::pair<int64_t, uint64_t>> decodeWindow(std::string_view text);

// The evaluator's changes as rows of the store, and its state back from them (throws
// std::runtime_error naming the table and row it cannot read).
void slaRows(const Evaluator& ev, Evaluator::Dirty& d, SlaRows& out);
Evaluator::Restored slaRestored(const SlaRows& rows, int64_t last_alive_ms);

// A timeline's action phrase as a stable pointer (the built-in phrases, or an interned copy).
const char* internAction(std::string_view action);

}  // namespace triaged::engine
