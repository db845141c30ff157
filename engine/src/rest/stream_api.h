// GET /api/v1/stream: the live event stream (Server-Sent Events). docs/api.md, docs/console.md.
#pragma once

#include "stream/event_hub.h"
#include "triaged/api/http.h"

namespace triaged::engine {

void addStreamRoutes(api::Router& router, EventHub& hub);

}  // namespace triaged::engine
