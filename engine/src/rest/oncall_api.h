// On-call schedules through the API: GET /api/v1/oncall (every schedule: who is on call now,
// or at ?at=<time>, from which layer or override, until when, and who is next; the layers and
// the overrides), GET /api/v1/oncall/{schedule}, POST /api/v1/oncall/{schedule}/overrides
// (person, start, end as RFC 3339 or local time in the schedule's zone, comment) and DELETE
// /api/v1/oncall/{schedule}/overrides/{id}. Runs on the correlator thread; changes answer
// once durable.
#pragma once

#include "correlate/correlator_stage.h"
#include "triaged/api/http.h"

namespace triaged::engine {

void addOncallRoutes(api::Router& router, CorrelatorStage& stage);

}  // namespace triaged::engine
