// Input `pagerduty`: the PagerDuty Events API v2 (POST /v2/enqueue) with PagerDuty's own
// 202/400/429 answers, so any tool that integrates with PagerDuty can send to triaged by
// changing its URL. trigger and resolve change alerts (dedup_key is the alert's key);
// acknowledge is accepted and answered like PagerDuty does.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "triaged/api/plugin.h"

namespace triaged::plugins {

api::InputPlugin pagerdutyPlugin();

// PagerDuty's severities (critical, error, warning, info) as triaged's.
const std::vector<std::pair<std::string, api::Severity>>& pagerdutySeverities();

// One PagerDuty Events v2 event, for this input and those that carry such events (Kafka):
// decoded into the event the caller began in `b` (whose options take pagerdutySeverities()).
// A trigger or resolve becomes the alert of its dedup_key (a trigger without one gets a random
// key); an acknowledge is the caller's to apply, to the incident of that key's alert. `body`
// must have SIMDJSON_PADDING bytes of capacity beyond its size.
struct PagerdutyEvent {
  std::string action, dedup_key;
  std::vector<std::string> errors;  // PagerDuty's messages; empty when the event is valid
};
PagerdutyEvent decodePagerdutyEvent(std::string& body, api::BatchBuilder& b);

}  // namespace triaged::plugins
