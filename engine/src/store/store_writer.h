// The store writer: one thread that owns the SQLite connection while the daemon runs. Stages
// hand it units of change (alert rows, incident, problem and silence records, counters) with
// the completions waiting on them; it commits whatever is queued in one transaction (group
// commit: a commit is under way while the next group gathers) and only then runs the
// completions. An HTTP 2xx sent from a completion means the change is on disk.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "correlate/rule_state.h"
#include "dedup/alert_table.h"
#include "store/store.h"
#include "triaged/api/event.h"
#include "triaged/api/metrics_hub.h"

namespace triaged::engine {

// A duplicate's effect, checkpointed periodically (never lowers what is stored).
struct CounterRecord {
  uint64_t fingerprint;
  uint64_t count;
  int64_t last_seen_ms, time_ms;
};

// An alert joining an incident, and a timeline entry: appended rows of an incident.
struct MemberRow {
  uint32_t seq;
  uint64_t fingerprint;
  int role;
};
struct TimelineRow {
  uint32_t seq;
  int64_t at_ms;
  std::string actor, action, detail;
  uint64_t alert;
};

// A threshold rule's window: the firings one group counted so far, "time,fingerprint,..."
// (state_codec's encodeWindow). An empty `seen` deletes the row.
struct WindowRow {
  uint64_t hash;
  std::string rule, seen;
};

// A notification in the outbox (id 0 until stored).
struct OutboxEntry {
  uint64_t id = 0;
  std::string target;
  int64_t created_ms = 0;
  std::string subject;  // "incident 12", "problem 3": what it is about (one order per subject)
  std::string event;    // "incident.opened", ...
  std::string body;     // JSON
  uint32_t attempts = 0;
  bool dead = false;
  std::string last_error;
};

// The evaluator's changes, encoded (service, agreement names; records from state_codec.h).
struct SlaRows {
  struct Transition {
    std::string service;
    int64_t at_ms;
    int status;
    std::string incidents;  // "3,17"
  };
  struct Clock {
    uint64_t incident;
    std::string agreement;
    int target;
    std::string record;
  };
  struct Summary {
    uint64_t id;
    int64_t opened_ms, resolved_ms;
    std::string record;
  };
  std::vector<Transition> transitions;
  std::vector<Clock> clocks;
  std::vector<Summary> summaries;
  std::vector<std::pair<std::string, std::string>> heartbeats;  // name, record
  std::vector<std::pair<int64_t, int64_t>> gaps;                // engine not running [start, end)
  struct SloMinute {
    std::string slo;
    int64_t minute;
    uint64_t good, valid;
  };
  struct CapacitySample {
    std::string rule;
    int64_t at_ms;
    double value;
  };
  std::vector<SloMinute> slo_minutes;                                // upserted
  std::vector<CapacitySample> capacity_samples;                      // appended
  std::vector<std::pair<std::string, std::string>> capacity_states;  // rule, record
  // Older than these (minute; ms) are deleted: each rule's window, from the rules.
  std::vector<std::pair<std::string, int64_t>> prune_slo, prune_capacity;
  bool empty() const {
    return transitions.empty() && clocks.empty() && summaries.empty() && heartbeats.empty() &&
           gaps.empty() && slo_minutes.empty() && capacity_samples.empty() &&
           capacity_states.empty() && prune_slo.empty() && prune_capacity.empty();
  }
};

struct StoreUnit {
  struct Row {
    uint64_t id;
    int status;
    int64_t updated_ms;
    std::string record;
    std::vector<MemberRow> alerts;  // incidents: rows appended since the last write
    std::vector<TimelineRow> timeline;
  };
  struct SilenceRow {
    std::string id;
    int64_t ends_ms;
    std::string record;
  };
  std::vector<AlertRecord> alerts;
  std::vector<CounterRecord> counters;
  std::vector<Row> incidents, problems;
  std::vector<SilenceRow> silences;
  struct RecordRow {
    std::string kind, id;
    int64_t ends_ms;  // 0: still in use
    std::string record;
  };
  std::vector<RecordRow> records;  // upserted by (kind, id)
  std::vector<std::pair<std::string, std::string>> meta;
  std::vector<WindowRow> windows;
  std::vector<SequenceState> sequences;  // an empty `rule` deletes the row
  SlaRows sla;
  std::vector<OutboxEntry> outbox;                            // new notifications
  std::vector<uint64_t> outbox_done;                          // delivered: deleted
  std::vector<std::pair<uint64_t, std::string>> outbox_dead;  // dead-lettered, with the last error
  std::vector<std::pair<uint64_t, int64_t>> outbox_revive;  // dead → pending again, from this time
  std::vector<std::function<void()>> committed;  // run after the commit, on the writer thread
  bool empty() const {
    return alerts.empty() && counters.empty() && incidents.empty() && problems.empty() &&
           silences.empty() && records.empty() && meta.empty() && windows.empty() &&
           sequences.empty() && sla.empty() && outbox.empty() && outbox_done.empty() &&
           outbox_dead.empty() && outbox_revive.empty() && committed.empty();
  }
};

struct StoreWriterOptions {
  int64_t alert_retention_ms = 3'600'000;  // resolved alerts (the dedup tables' retention)
  int64_t incident_retention_ms =
      90 * 86'400'000LL;  // closed or merged incidents, closed problems, expired silences
  int64_t sla_retention_ms =
      400 * 86'400'000LL;  // service state history, summaries of ended incidents
  int64_t prune_interval_ms = 60'000;
  size_t queue_units = 4096;  // submit() waits beyond this: back-pressure up to the inputs
};

class StoreWriter {
 public:
  StoreWriter(Store& store, StoreWriterOptions opts, const Clock& clock, api::MetricsHub& hub);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  void start();
  // Commits everything queued, runs its completions, joins the thread.
  void stop();
  // From any thread. Waits while the queue is full.
  void submit(StoreUnit unit);
  // Runs fn after everything submitted before it is committed (tests, backup).
  void barrier(std::function<void()> fn);
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  // Before start(): where new outbox entries go once committed (with their ids).
  void onOutbox(std::function<void(std::vector<OutboxEntry>)> sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> commits_{0};
};

// What the store holds, read at start-up before any writer runs.
struct StoredIncident {
  std::string record;
  std::vector<MemberRow> alerts;
  std::vector<TimelineRow> timeline;
};
struct StoredState {
  std::vector<AlertRecord> alerts;
  std::vector<StoredIncident> incidents;                     // by id
  std::vector<std::string> problems, silences;               // records
  std::vector<std::pair<std::string, std::string>> records;  // (kind, record), by kind and id
  std::vector<OutboxEntry> outbox;                           // by id, pending and dead
  std::vector<WindowRow> windows;
  std::vector<SequenceState> sequences;
  uint64_t next_incident = 1, next_problem = 1;
  SlaRows sla;                // transitions in order, with everything else of the ledgers
  int64_t last_alive_ms = 0;  // the previous run's last sign of life
};
StoredState loadState(Store& store);
// Only the service level ledgers (for `triaged report`), and the last sign of life.
SlaRows loadSlaRows(Store& store, int64_t& last_alive_ms);
// The records of one kind ("maintenance", "change"), by id.
std::vector<std::string> loadRecords(Store& store, const std::string& kind);

}  // namespace triaged::engine
