// A maintenance window from text: the body of POST /api/v1/maintenance (JSON; YAML works too),
// read exactly as a rule file's maintenance_windows entry (docs/configuration.md), with its
// CIs and services resolved in a rule set.
#pragma once

#include <string>
#include <vector>

#include "triaged/rules/rule_set.h"

namespace triaged::rules {

// On success fills `out` (cis and services as indices into rs) and the names as given; on
// failure sets *error to the first problem, naming its field ("monthly.nth: ...").
bool parseMaintenanceWindow(const std::string& text, const RuleSet& rs, MaintenanceWindow& out,
                            std::vector<std::string>& ci_names,
                            std::vector<std::string>& service_names, std::string* error);

}  // namespace triaged::rules
