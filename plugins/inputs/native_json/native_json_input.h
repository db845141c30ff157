// Input `native_json`: POST /api/v1/events with one event, an array, or NDJSON
// (Content-Type: application/x-ndjson). The batch is all or nothing; the answer comes when the
// dedup shards have applied it.
#pragma once

#include "triaged/api/plugin.h"

namespace triaged::plugins {

api::InputPlugin nativeJsonPlugin();

}  // namespace triaged::plugins
