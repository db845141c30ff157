// Durable records of the correlator's objects: every field an incident, problem or silence
// carries (the API's JSON leaves out internal ones), as compact JSON. Decoding throws
// std::runtime_error naming the field; the store reports which row it was.
#pragma once

#include <string>
#include <string_view>

#include "triaged/engine/correlator.h"

namespace triaged::engine {

// Alerts are written with their role in the incident (looked up in the correlator).
void encodeIncident(std::string& out, const Correlator& c, const Incident& inc);
void encodeProblem(std::string& out, const Problem& p);
void encodeSilence(std::string& out, const Silence& s);

// A decoded incident, and the role of each of its alerts (same order as inc.alerts).
struct IncidentRecord {
  Incident incident;
  std::vector<AlertRole> roles;
};
IncidentRecord decodeIncident(std::string_view record);
Problem decodeProblem(std::string_view record);
Silence decodeSilence(std::string_view record);

// A timeline's action phrase as a stable pointer (the built-in phrases, or an interned copy).
const char* internAction(std::string_view action);

}  // namespace triaged::engine
