// What flows into the store and what comes back out of it: units of change (alert rows,
// incident, problem and silence records, counters, ledgers, outbox entries) handed to the store
// writer, and the state read at start-up. The same for every backend (engine/src/store/store.h).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "correlate/rule_state.h"
#include "dedup/alert_table.h"

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
struct TimelineRow {  // as read back
  uint32_t seq;
  int64_t at_ms;
  std::string actor, action, detail;
  uint64_t alert;
};
struct TimelineWrite {  // as written: its texts are in the unit (StoreUnit::text)
  uint32_t seq;
  int64_t at_ms;
  std::string_view actor, action, detail;
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

//
// An incident's and a problem's rows hold no memory of their own: the records and timeline
// texts are copied into the unit's `text` (blocks of 64 KiB), and the member and timeline rows
// into its `members` and `timeline`, which a row indexes. Building a unit then costs a few
// allocations, not three or four per incident (the correlator builds them, a round at a time,
// and the writer frees them: bench/RESULTS.md). A unit is moved, never copied.
struct StoreUnit {
  struct Row {
    uint64_t id;
    int status;
    int64_t updated_ms;
    std::string_view record;  // in `text`; incidents: empty when only timeline rows changed
    // Incidents: the rows appended since the last write, in `members` and `timeline`.
    uint32_t members_at = 0, members_n = 0, timeline_at = 0, timeline_n = 0;
  };
  std::span<const MemberRow> membersOf(const Row& r) const {
    return {members.data() + r.members_at, r.members_n};
  }
  std::span<const TimelineWrite> timelineOf(const Row& r) const {
    return {timeline.data() + r.timeline_at, r.timeline_n};
  }
  // A row whose record is `record` (copied into `text`) and no member or timeline rows yet.
  Row row(uint64_t id, int status, int64_t updated_ms, std::string_view record) {
    return {id,
            status,
            updated_ms,
            text.copy(record),
            static_cast<uint32_t>(members.size()),
            0,
            static_cast<uint32_t>(timeline.size()),
            0};
  }
  void addMember(Row& r, const MemberRow& m) {
    members.push_back(m);
    ++r.members_n;
  }
  void addTimeline(Row& r, uint32_t seq, int64_t at_ms, std::string_view actor,
                   std::string_view action, std::string_view detail, uint64_t alert) {
    timeline.push_back({seq, at_ms, text.copy(actor), text.copy(action), text.copy(detail), alert});
    ++r.timeline_n;
  }
  // An incident's row with everything it is given copied into the unit (tests and tools).
  void addIncident(uint64_t id, int status, int64_t updated_ms, std::string_view record,
                   const std::vector<MemberRow>& alerts, const std::vector<TimelineRow>& rows) {
    Row r = row(id, status, updated_ms, record);
    for (const auto& m : alerts) addMember(r, m);
    for (const auto& t : rows) addTimeline(r, t.seq, t.at_ms, t.actor, t.action, t.detail, t.alert);
    incidents.push_back(r);
  }
  api::Arena text;  // an empty text is a null view: writers bind it as '', not as NULL
  std::vector<MemberRow> members;
  std::vector<TimelineWrite> timeline;
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

// What the store holds, read at start-up before any writer runs.
struct StoredIncident {
  std::string record;
  std::vector<MemberRow> alerts;
  std::vector<TimelineRow> timeline;
};
struct StoredState {
  std::vector<AlertRecord> alerts;
  std::vector<std::pair<uint64_t, int64_t>> alert_rows;      // (fingerprint, row id) of every row
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

}  // namespace triaged::engine
