// Maintenance windows through the API: GET /api/v1/maintenance (the rule files' windows and
// the API's, with the firing alerts each holds), GET /api/v1/maintenance/{id}, POST (create or
// replace; the body is a rule file's maintenance_windows entry as JSON, plus `id`, `comment`,
// `created_by`) and DELETE (ends it now). Runs on the correlator thread; changes answer once
// durable.
#pragma once

#include "correlate/correlator_stage.h"
#include "triaged/api/http.h"

namespace triaged::engine {

void addMaintenanceRoutes(api::Router& router, CorrelatorStage& stage);

}  // namespace triaged::engine
