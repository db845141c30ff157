// Input `ndjson_tcp`: native events, one JSON object per line, streamed over plain TCP on its
// own port, for the highest rates. No per-event answer: a bad line is skipped, counted and
// logged (rate-limited) with its line number, and the connection goes on. When the pipeline
// is full the connection stops reading (TCP back-pressure) until the batch is taken. When the
// sender half-closes (shutdown(SHUT_WR)), triaged closes its side once everything received
// has been applied: the sender's EOF acknowledges the whole stream.
#pragma once

#include "triaged/api/plugin.h"

namespace triaged::plugins {

api::InputPlugin ndjsonTcpPlugin();

}  // namespace triaged::plugins
