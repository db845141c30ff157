// The rows one correlator round changed, for the store: incidents (with the members and
// timeline entries appended since their last write), the problems its events name, silences,
// threshold windows and sequence states, and the id counters when they moved.
// Owned by the correlator stage and used on its thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "correlate/correlator.h"
#include "dedup/alert_table.h"
#include "store/store_writer.h"

namespace triaged::engine {

// The stored rows of the alerts a shard's changes touched (with the time of a status change).
void alertRecords(const AlertTable& table, const std::vector<AlertChange>& changes,
                  std::vector<AlertRecord>& out);

class RoundRows {
 public:
  // After a restore: the id counters the store already holds.
  void stored(const Correlator& c);
  // Takes the round's dirty windows and sequences from the correlator (they are drained with
  // or without a store: they only grow) and, when `unit` is given, adds every row to it.
  void collect(Correlator& c, const std::vector<uint64_t>& dirty_incidents,
               const std::vector<std::string>& dirty_silences,
               const std::vector<CorrelatorEvent>& events, StoreUnit* unit);
  // The maintenance windows the last collect() took (changed or ended that round).
  const std::vector<std::string>& maintenanceTaken() const { return maintenance_; }

 private:
  uint64_t next_incident_ = 1, next_problem_ = 1;
  std::vector<ThresholdWindow> windows_;
  std::vector<SequenceState> sequences_;
  std::vector<std::string> maintenance_, changes_;
  std::string record_;  // each record is encoded here, then copied into the unit's text
};

}  // namespace triaged::engine
