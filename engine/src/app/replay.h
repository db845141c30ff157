// Single-threaded correlation on simulated time: one AlertTable and one Correlator driven by
// event time. Used by `triaged replay`, `triaged test-rules` and the correlator tests. The same
// input always gives the same output, byte for byte.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "correlate/correlator.h"
#include "dedup/alert_table.h"
#include "triaged/api/ingest.h"
#include "triaged/api/plugin.h"
#include "triaged/config/config.h"

namespace triaged::engine {

class ReplayEngine {
 public:
  explicit ReplayEngine(const config::Config& config);

  // Applies the events of a batch at now_ms (the simulated clock), then runs due timers.
  void apply(api::EventBatch& batch, int64_t now_ms);
  // Moves simulated time on, firing timers (and resolving alerts whose ends_at passed).
  void advance(int64_t now_ms);
  int64_t now() const { return now_; }
  Correlator& correlator() { return correlator_; }
  const AlertTable& table() const { return table_; }
  AlertTable& table() { return table_; }  // for restoring stored alerts
  std::vector<CorrelatorEvent> takeEvents() { return correlator_.takeEvents(); }
  // Hands the correlator the texts (summary, value...) that changed without a change of state,
  // as the daemon's checkpoint does: before showing its alerts.
  void refreshTexts();
  // Runs after every step of simulated time, once the correlator has applied it (the
  // evaluator of `replay --report` hangs here, as it follows the correlator in the daemon).
  void onStep(std::function<void(Correlator&, int64_t)> f) { on_step_ = std::move(f); }

 private:
  void flush();
  AlertTable table_;
  Correlator correlator_;
  std::vector<AlertChange> changes_;
  std::function<void(Correlator&, int64_t)> on_step_;
  int64_t now_ = 0;
};

// The ingest settings replay and test-rules decode with: those of the input named `name`, else
// of the first input that takes the native event format, else the built-in defaults (as an
// input named "replay"). `error` is set when `name` names no such input.
struct ReplayInput {
  api::IngestOptions options;
  std::string description;  // which input and settings, one line, for the user
  std::string error;
};
ReplayInput replayInput(const config::Config& config, const api::PluginRegistry& plugins,
                        const std::string& name, const std::string& fallback_name = "replay");

struct ReplayOptions {
  std::string input;       // --input: the input whose settings decode the events
  int64_t advance_ms = 0;  // after the input ends, simulated time moves on this much
  bool events = true;      // print each event as it happens, then the final state
  // With a period: print the service report of that period (as the API's) instead of state.
  std::string report_period, report_format = "json", report_service;
};

// Replays NDJSON (native event format) from `in`; writes JSON lines to `out`, problems with the
// input to `err`. Returns the process exit code.
int runReplay(const config::Config& config, const api::PluginRegistry& plugins, std::istream& in,
              std::ostream& out, std::ostream& err, const ReplayOptions& opts);

// `triaged test-rules FILE...`: rule unit tests; prints a readable diff for failures. Returns
// the process exit code (0 all passed, 1 a test failed, 2 a test file is invalid).
// `input` (--input) picks one of a test file's `inputs:`.
int runRuleTests(const std::vector<std::string>& files, const api::PluginRegistry& plugins,
                 std::ostream& out, const std::string& input = "");

}  // namespace triaged::engine
