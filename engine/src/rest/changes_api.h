// Changes as records (ISO/IEC 20000-1 8.5.1): POST /api/v1/changes takes one change, an array,
// or NDJSON (a change tool's feed), created or updated by id, all or nothing;
// GET /api/v1/changes and GET /api/v1/changes/{id} (with the incidents opened after it).
#pragma once

#include "correlate/correlator_stage.h"
#include "triaged/api/http.h"

namespace triaged::engine {

void addChangeRoutes(api::Router& router, CorrelatorStage& stage);
// The body of POST /api/v1/changes: one change, an array, or NDJSON. False with *error naming
// the change (index or line) and the field.
bool parseChanges(const std::string& body, std::vector<ChangeRecord>& out, std::string* error);

}  // namespace triaged::engine
