// What threshold and sequence rules have seen, in the form the correlator hands to the store
// and gets back at start-up (tables threshold_windows and sequence_states, schema 7): the
// firing alerts alone cannot rebuild it (alerts that fired and resolved before a restart).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace triaged::engine {

// A threshold rule's sliding window in one group: the firings counted so far.
struct ThresholdWindow {
  uint64_t hash = 0;  // the group's hash (rule and group values)
  std::string rule;
  std::vector<std::pair<int64_t, uint64_t>> seen;  // (time, fingerprint); empty: the window is gone
};

// A sequence rule's state in one group: its first alert, when it fired, and whether the rule
// still waits for the second (or, in absence mode, for its deadline). An empty `rule`: gone.
struct SequenceState {
  uint64_t hash = 0;
  std::string rule, key;
  uint64_t first = 0;
  int64_t at = 0;
  bool active = false;
  std::string strings;  // the first alert's while active (they name the incident)
};

}  // namespace triaged::engine
