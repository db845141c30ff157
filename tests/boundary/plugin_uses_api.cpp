// Built by the test plugin_boundary.allowed: a plugin may include the plugin API.
#include "triaged/api/ingest.h"
#include "triaged/api/log.h"
#include "triaged/api/plugin.h"

int pluginBoundaryAllowed() { return static_cast<int>(triaged::api::Severity::kCritical); }
