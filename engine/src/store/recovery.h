// Start-up recovery: loads what the store holds into the dedup shards and the correlator,
// before either runs. State after a restart equals the state before it (see
// docs/architecture.md, "Durable state", for what is rebuilt rather than stored).
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>

#include "correlate/correlator_stage.h"
#include "pipeline/pipeline.h"
#include "store/store.h"
#include "store/store_writer.h"

namespace triaged::engine {

struct RecoveryStats {
  size_t alerts = 0, firing = 0, incidents = 0, open_incidents = 0, problems = 0, silences = 0;
  size_t sla_transitions = 0, clocks = 0, heartbeats = 0;
  size_t skipped_alerts = 0;        // rows with malformed strings (counted, logged)
  std::vector<OutboxEntry> outbox;  // undelivered and dead notifications, for the notifier
  std::vector<std::tuple<std::string, uint64_t, std::string>>
      tickets;  // system, incident, ticket id
  double seconds = 0;
  // Where the seconds went: reading the store, decoding incidents and records, filling the
  // dedup shards (on a thread of its own, beside decoding), rebuilding the correlator (and
  // evaluator).
  double load_seconds = 0, decode_seconds = 0, alerts_seconds = 0, correlator_seconds = 0;
  double writer_seconds = 0;  // indexing the alerts' row ids and starting the writer
};

// Loads the store into the shards and the correlator, then starts `writer` (not yet started)
// with the alerts' row ids this read: one start-up order for every caller. Nothing of
// recovery waits for a commit, and the store's connection is recovery's alone until the
// writer starts; what recovery submits (the restored state's first round) waits in the
// writer's queue and is committed first.
// Throws std::runtime_error naming the table and row of a record it cannot read (the writer
// is then not started; stop() it).
RecoveryStats recoverState(Store& store, StoreWriter& writer, Pipeline& pipeline,
                           CorrelatorStage& correlator, int64_t now_ms);

}  // namespace triaged::engine
