// Built by the test plugin_boundary.refused, which expects the build to fail: a plugin that
// includes an engine-internal header does not compile (plugins link triaged_plugin_api, which
// exports engine/api and nothing else).
#include "pipeline/pipeline.h"
#include "triaged/api/plugin.h"

int pluginBoundaryRefused() { return 0; }
