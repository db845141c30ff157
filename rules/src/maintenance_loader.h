// Reading one maintenance window: the rule files' entries and the body of
// POST /api/v1/maintenance (JSON, which is YAML) share this, so both mean the same thing and
// fail with the same messages. Internal to the rules module.
#pragma once

#include <string>
#include <vector>

#include "service_levels_loader.h"
#include "triaged/config/reader.h"
#include "triaged/rules/rule_set.h"

namespace triaged::rules {

// name, change_id, match, cis and services (as references, resolved by the caller), and the
// schedule: one-off start/end, weekly, or monthly. Takes its keys from r; errors go to r's sink.
void readMaintenanceWindow(config::MapReader& r, const std::string& path, MaintenanceWindow& w,
                           std::vector<PendingRef>& cis, std::vector<PendingRef>& services);

}  // namespace triaged::rules
