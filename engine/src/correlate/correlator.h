// The correlator: turns alert changes into incidents and recurring incidents into problems,
// applying the rule set (group, topology, threshold, sequence, inhibit, silences, maintenance).
// Pure logic with time passed in: no threads, no I/O. It is owned by exactly one thread (the
// correlator stage in the daemon, or replay/test-rules), so nothing here is synchronized.
// Every decision is deterministic for a given input: no iteration over hash maps decides
// anything, and timers due at the same instant fire in the order they were set.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/container/inlined_vector.h>
#include <absl/functional/function_ref.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "common/block_memory.h"
#include "correlate/incident.h"
#include "correlate/rule_state.h"
#include "dedup/alert_table.h"
#include "triaged/config/config.h"
#include "triaged/rules/rule_set.h"

namespace triaged::engine {

// An alert change with the alert's strings (shared with its table), as the dedup shards hand
// it over.
struct CorrelatorInput {
  AlertChange change;
  SharedStrings strings;
  int64_t first_seen_ms = 0;
  // The change, with the alert's strings shared from its table when it (re)fires.
  static CorrelatorInput from(const AlertTable& table, const AlertChange& c);
};

struct Silence {
  std::string id;
  uint64_t seq = 0;  // the correlator's handle for its timers (not stored)
  rules::Matchers matchers;
  std::string matchers_json;  // as given, Alertmanager v2 form
  int64_t starts_ms = 0, ends_ms = 0, updated_ms = 0;
  std::string created_by, comment, change_id;
  bool expired_by_delete = false;
  const char* state(int64_t now) const {
    return now < starts_ms ? "pending" : now < ends_ms ? "active" : "expired";
  }
};

// What an alert a window holds carries (SuppressionReasons::maintenance): "name" or
// "name (change id)".
inline std::string windowLabel(const rules::MaintenanceWindow& w) {
  return w.change_id.empty() ? w.name : w.name + " (" + w.change_id + ")";
}

// A maintenance window made through the API (rule files' windows live in the rule set).
// `spec` is the body as given; it is read again (rules::parseMaintenanceWindow) when the rule
// set changes, so its CIs and services always refer to the running rule set.
struct MaintenanceRecord {
  std::string id;
  uint64_t seq = 0;  // the correlator's handle for its timers (not stored)
  std::string spec;
  rules::MaintenanceWindow window;
  std::vector<std::string> cis, services;  // as named in spec
  std::string created_by, comment;
  int64_t created_ms = 0, updated_ms = 0, ended_ms = 0;  // ended_ms: ended through the API
  bool ended() const { return ended_ms != 0; }
  // The label alerts it holds carry (SuppressionReasons::maintenance).
  std::string label() const { return windowLabel(window); }
};

// A change (ISO/IEC 20000-1 8.5.1) as a change tool reports it; incidents opened on its CIs or
// services during it or within correlation.change_window after it are linked to it.
struct ChangeRecord {
  std::string id, summary, url;
  std::string status;  // planned, in_progress, completed, failed, cancelled
  uint64_t seq = 0;    // the correlator's handle for its timers (not stored)
  std::vector<std::string> cis, services;
  int64_t planned_start = 0, planned_end = 0, actual_start = 0, actual_end = 0;  // 0: unknown
  int64_t created_ms = 0, updated_ms = 0;
  std::vector<uint64_t> incidents;  // linked, in the order they opened
  int64_t start() const { return actual_start ? actual_start : planned_start; }
  int64_t end() const { return actual_end ? actual_end : planned_end; }
  // When a window that follows it holds alerts: [start, end), or from start while it has no
  // end; never when cancelled. Returns the end (INT64_MAX: none yet), 0 when not running.
  int64_t runningUntil(int64_t now) const {
    if (status == "cancelled" || !start() || now < start()) return 0;
    if (end()) return now < end() ? end() : 0;
    return status == "completed" || status == "failed" ? 0 : INT64_MAX;
  }
};

// What the correlator reports as it goes: the evaluator, the store and the notifier (and
// replay's output) consume these.
struct CorrelatorEvent {
  enum Type : uint8_t {
    kIncidentOpened,
    kIncidentUpdated,
    kIncidentAcknowledged,
    kIncidentAssigned,
    kIncidentCommented,
    kIncidentPriorityChanged,
    kIncidentResolved,
    kIncidentReopened,
    kIncidentClosed,
    kIncidentMerged,
    kIncidentTicketLinked,
    kIncidentEscalated,
    kProblemOpened,
    kProblemUpdated,
    kProblemKnownError,
    kProblemResolved,
    kProblemClosed,
    kAlertSuppressed,
    kAlertUnsuppressed,
  };
  Type type;
  int64_t at_ms;
  uint64_t incident = 0;
  uint64_t problem = 0;
  uint64_t alert = 0;
  bool held = false;  // the incident was held when this happened: no one is notified
};
const char* correlatorEventName(CorrelatorEvent::Type t);

// Why a firing alert is suppressed: every silence, the maintenance window and the inhibiting
// alerts that hold it now.
struct SuppressionReasons {
  std::vector<std::string> silences;   // ids of the active silences that match it
  std::string maintenance;             // "window" or "window (change id)"
  std::vector<uint64_t> inhibited_by;  // firing source alerts (the first 8)
  int64_t until = 0;  // when its silences and window all end; 0 while inhibition holds it
  bool operator==(const SuppressionReasons&) const = default;
};

// The correlator's view of one active (or recently resolved) alert.
struct CorrAlert {
  SharedStrings strings;  // read through a copy (StringsCopy): its table may rewrite them
  uint64_t fingerprint = 0;
  int64_t first_seen_ms = 0, changed_ms = 0;
  api::Severity severity = api::Severity::kWarning;
  api::Status status = api::Status::kFiring;
  bool flapping = false;
  uint32_t ci = rules::RuleSet::kNone;
  uint32_t rule = UINT32_MAX;  // the rule that took it
  uint64_t incident = 0;
  AlertRole role = AlertRole::kMember;
  // The first reason that holds it (silence, then maintenance, then inhibition); the whole
  // story in `why` (null when not suppressed). Only a firing alert is suppressed.
  Suppression suppressed = Suppression::kNone;
  std::unique_ptr<SuppressionReasons> why;
  bool counted_on_ci = false;
  int8_t counted_severity = -1;  // the severity it counts at in its incident's firing, -1 if not
  bool counted_maintenance = false, counted_suppressed = false;  // how it counts there
  bool forget_queued = false;  // it has an entry in forget_ (one at most: O(1) per alert)
  // 1 + the index of the timeline entry of its incident that counts its flips (0: none yet).
  uint32_t flip_entry = 0;
};

struct CorrelatorOptions {
  config::CorrelationConfig settings;
  // Closed and merged incidents leave memory this long after they closed (state.retention),
  // as they leave the database: memory stays bounded on a daemon that runs for years.
  int64_t retention_ms = 90 * 86'400'000LL;
  // Service level history (state.sla_retention): incident summaries for reports.
  int64_t sla_retention_ms = 400 * 86'400'000LL;
};

class Correlator {
 public:
  Correlator(std::shared_ptr<const rules::RuleSet> rules, CorrelatorOptions opts);
  Correlator(const Correlator&) = delete;
  Correlator& operator=(const Correlator&) = delete;
  ~Correlator();

  // Applies alert changes at `now`, then runs the timers due by then.
  void apply(std::vector<CorrelatorInput>& changes, int64_t now_ms);
  // Alerts' strings as their tables hold them now (ChangeSink::refresh): their summary, value,
  // description or annotations changed without a change of state. Shared, not copied: most
  // are the very bytes the correlator holds already (the table rewrote them in place); the
  // others were moved to a larger allocation.
  struct Texts {
    std::vector<std::pair<uint64_t, SharedStrings>> at;  // fingerprint, strings
    static Texts of(const AlertTable& table, const uint64_t* fingerprints, size_t n);
    static Texts of(const AlertTable& table, const std::vector<uint64_t>& fingerprints) {
      return of(table, fingerprints.data(), fingerprints.size());
    }
  };
  // Takes the strings of each alert it holds that are not the ones it holds and whose signed
  // strings (what rules, silences and inhibitions read) are the same. The others wait for the
  // alert's next change of state. Returns how many it took.
  size_t refreshTexts(Texts& texts);
  // Runs every timer due at or before now_ms, in deadline order.
  void advance(int64_t now_ms);
  // The next timer's deadline, or INT64_MAX.
  int64_t nextDeadline() const;
  // Swaps in a new rule set and settings; incident, group and window state is kept (state of
  // rules that no longer exist is dropped when next touched).
  void reload(std::shared_ptr<const rules::RuleSet> rules, CorrelatorOptions opts);

  // Events since the last call.
  std::vector<CorrelatorEvent> takeEvents() { return std::move(events_); }
  // Incidents and silences changed since the last call, each once (for the store).
  void takeDirty(std::vector<uint64_t>& incidents, std::vector<std::string>& silences);
  // Threshold windows and sequence states (rule_state.h) changed since the last call, each
  // once, as they are now (for the store).
  using ThresholdWindow = engine::ThresholdWindow;
  using SequenceState = engine::SequenceState;
  void takeDirtyWindows(std::vector<ThresholdWindow>& out);
  void takeDirtySequences(std::vector<SequenceState>& out);
  // Every window that holds firings, every sequence state (tests; what the store would hold).
  std::vector<ThresholdWindow> thresholdWindows() const;
  std::vector<SequenceState> sequenceStates() const;
  // The store's bookkeeping (stored_alerts, stored_timeline) is the only thing it may change.
  Incident* mutableIncidentForStore(uint64_t id) { return mutableIncident(id); }
  // The ids of the incidents open or acknowledged, in id order.
  std::vector<uint64_t> liveIncidentIds() const {
    std::vector<uint64_t> out;
    for (const auto& inc : incidents_)
      if (inc.id &&
          (inc.status == IncidentStatus::kOpen || inc.status == IncidentStatus::kAcknowledged))
        out.push_back(inc.id);
    return out;
  }
  uint64_t nextIncidentId() const { return next_incident_; }
  uint64_t nextProblemId() const { return next_problem_; }

  // State loaded from the store, before any change is applied. Incidents, problems and
  // silences come back as they were; alerts are the firing ones (and resolved ones still
  // members of a live incident) from the dedup tables. Derived state (groups, CI and
  // inhibition indexes, recurrences, timers) is rebuilt from them; a firing alert that is in
  // no live incident (it was suppressed, or waiting in a group) is routed again at `now`.
  struct RestoredAlert {
    uint64_t fingerprint = 0;
    SharedStrings strings;
    int64_t first_seen_ms = 0, changed_ms = 0;
    api::Severity severity = api::Severity::kWarning;
    api::Status status = api::Status::kFiring;
    bool flapping = false;
    // With the strings its alert table holds (shared), or a copy of the record's.
    static RestoredAlert of(const AlertRecord& r, SharedBlob shared = {});
  };
  struct Restored {
    std::vector<Incident> incidents;
    std::vector<std::vector<AlertRole>> roles;  // per incident, per alert
    std::vector<Problem> problems;
    std::vector<Silence> silences;
    std::vector<MaintenanceRecord> maintenance;
    std::vector<ChangeRecord> changes;
    std::vector<RestoredAlert> alerts;
    std::vector<ThresholdWindow> windows;
    std::vector<SequenceState> sequences;
    uint64_t next_incident = 1, next_problem = 1;
  };
  void restore(Restored state, int64_t now_ms);

  // Operations from people and ticketing tools. Each returns "" on success or an error.
  std::string acknowledge(uint64_t id, const std::string& by, int64_t now);
  std::string assign(uint64_t id, const std::string& assignee, const std::string& by, int64_t now);
  std::string comment(uint64_t id, const std::string& text, const std::string& by, int64_t now);
  std::string setPriority(uint64_t id, int priority, const std::string& by, int64_t now);
  std::string resolve(uint64_t id, const std::string& by, const std::string& note, int64_t now);
  std::string close(uint64_t id, const std::string& by, int64_t now);
  std::string merge(uint64_t from, uint64_t into, const std::string& by, int64_t now);
  std::string linkTicket(uint64_t id, TicketLink link, const std::string& by, int64_t now);
  // Escalation (notify/escalation.cpp decides): the incident's states to change in place (the
  // incident is stored again), and a step on its timeline reported as incident.escalated.
  std::vector<EscalationState>* escalationOf(uint64_t id);
  // `report`: as incident.escalated (else a timeline entry only: the steps told by the event
  // that started the escalation).
  void noteEscalation(uint64_t id, const char* action, std::string detail, bool report,
                      int64_t now);
  std::string setKnownError(uint64_t problem, const std::string& root_cause,
                            const std::string& workaround, const std::string& by, int64_t now);
  std::string setProblemStatus(uint64_t problem, ProblemStatus s, const std::string& by,
                               int64_t now);
  // Silences (Alertmanager v2 semantics). An empty id creates; an existing id updates.
  // Either takes effect at once on every matching firing alert (and on their incidents).
  std::string putSilence(Silence s, int64_t now, std::string* id_out);
  std::string expireSilence(const std::string& id, int64_t now);
  // Maintenance windows through the API (maintenance.cpp): `m.spec` parsed into m.window by
  // the caller. An empty id creates; an existing id replaces. Both take effect at once.
  std::string putMaintenance(MaintenanceRecord m, int64_t now, std::string* id_out);
  std::string endMaintenance(const std::string& id, int64_t now);
  const std::map<std::string, MaintenanceRecord>& maintenance() const { return maintenance_; }
  void takeDirtyMaintenance(std::vector<std::string>& ids);
  // Changes (changes.cpp): created or updated by id; incidents already open are not linked
  // again, later ones are.
  std::string putChange(ChangeRecord c, int64_t now);
  const std::map<std::string, ChangeRecord>& changes() const { return changes_; }
  void takeDirtyChanges(std::vector<std::string>& ids);
  // The end of the occurrence of window w that covers now (0: none; INT64_MAX: a change it
  // follows has no end yet), whatever its kind: schedule or change.
  int64_t windowActiveUntil(const rules::MaintenanceWindow& w, int64_t now) const;
  // Incidents held now (open or acknowledged, every firing alert suppressed).
  size_t heldIncidents() const;
  // What suppresses an incident's firing alerts now: silences, windows, inhibiting alerts
  // (each once, in the order of its alerts; at most 20 of each).
  struct IncidentSuppression {
    std::vector<std::string> silences, windows;
    std::vector<uint64_t> inhibited_by;
  };
  IncidentSuppression suppressionOf(const Incident& inc) const;
  // The same as one line, for timelines.
  std::string heldReasons(const Incident& inc) const;

  // Incidents by id, from incidentBase(): id N is incidents()[N - incidentBase()] (ids are never
  // reused; older ones were pruned by retention; an entry with id 0 is a pruned one).
  const Incidents& incidents() const { return incidents_; }
  uint64_t incidentBase() const { return incident_base_; }
  const std::map<uint64_t, Problem>& problems() const { return problems_; }
  const std::map<std::string, Silence>& silences() const { return silences_; }
  // Ids of incidents pruned by retention are holes (an Incident with id 0) after a restart.
  const Incident* incident(uint64_t id) const {
    return id >= incident_base_ && id - incident_base_ < incidents_.size() &&
                   incidents_[id - incident_base_].id
               ? &incidents_[id - incident_base_]
               : nullptr;
  }
  const CorrAlert* alert(uint64_t fp) const {
    auto it = alerts_.find(fp);
    return it == alerts_.end() ? nullptr : it->second.get();
  }
  // Active alerts in arrival order (deterministic).
  template <class F>
  void forEachAlert(F&& f) const {
    for (uint64_t fp : alert_order_) {
      auto it = alerts_.find(fp);
      if (it != alerts_.end()) f(*it->second);
    }
  }
  const rules::RuleSet& ruleSet() const { return *rules_; }
  size_t openIncidents() const {
    size_t n = 0;
    for (int p = 1; p <= 5; ++p) n += open_by_priority_[p];
    return n;
  }
  // Incidents open or acknowledged of one priority (1..5).
  size_t openIncidents(int priority) const { return open_by_priority_[priority]; }
  size_t openProblems() const;
  size_t alertCount() const { return alerts_.size(); }
  size_t timerCount() const { return timers_.size(); }
  size_t suppressedCount() const;
  uint64_t late() const { return late_; }
  // Group and threshold-window states held (bounded by the groups in use).
  size_t groupStates() const { return groups_.size() + thresholds_.size(); }
  void countLate() { ++late_; }
  uint64_t changesApplied() const { return changes_applied_; }
  uint64_t incidentsLinkedToChanges() const { return changes_linked_; }

 private:
  struct Group;
  struct Threshold;
  struct Sequence;
  static ThresholdWindow windowOf(uint64_t hash, const Threshold* t);
  static SequenceState sequenceOf(uint64_t hash, const Sequence* s);
  struct Timer {
    int64_t at;
    uint64_t seq;
    uint8_t kind;
    uint64_t id;
    uint64_t gen;
    bool operator>(const Timer& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  enum TimerKind : uint8_t {
    kGroupWait,
    kAnnounce,
    kHoldDown,
    kClose,
    kAbsence,
    kSilenceEdge,      // a silence starts or ends (id: its seq)
    kMaintenanceEdge,  // a maintenance window starts or ends (id: its index, gen: windows_gen_)
    kApiWindowEdge,    // an API window starts or ends (id: its seq, gen: the edge's time)
    kChangeEdge,       // a change starts or ends (id: its seq, gen: the edge's time)
    kForget,
    kPrune
  };

  void onChange(CorrelatorInput& in, int64_t now);
  void onFiring(CorrAlert& a, int64_t now);
  void onResolved(CorrAlert& a, int64_t now);
  // Suppression (suppression.cpp): what holds an alert now; applying it, to one alert or to
  // every firing alert a predicate picks; an incident's held state; the timers of silences
  // and windows.
  Suppression suppressionAt(const CorrAlert& a, int64_t now, SuppressionReasons& why);
  void setSuppression(CorrAlert& a, int64_t now);
  void resuppressWhere(int64_t now, absl::FunctionRef<bool(const CorrAlert&)> pred);
  void resuppressAll(int64_t now);
  void refreshHeld(Incident& inc, int64_t now);
  void release(Incident& inc, int64_t now);
  void scheduleSilence(const Silence& s, int64_t now);
  void scheduleMaintenance(int64_t now);
  // Evaluates again what windows hold and what window w covers (one of its edges).
  void resuppressForWindow(const rules::MaintenanceWindow& w, int64_t now);
  void fireSuppressionTimer(const Timer& t, int64_t now);
  void scheduleApiWindow(const MaintenanceRecord& m, int64_t now);
  void resolveApiWindows();  // parses every API window's spec against the rule set
  std::string newUuid(int64_t now);
  void linkChanges(Incident& inc, int64_t now);
  void scheduleChange(const ChangeRecord& c, int64_t now);
  void changeEdge(const std::string& change, int64_t now);
  bool windowCovers(const rules::MaintenanceWindow& w, const CorrAlert& a) const;
  void route(CorrAlert& a, int64_t now);
  bool joinUpstream(CorrAlert& a, int64_t now);
  void adoptDownstream(uint64_t incident_id, uint32_t ci, int64_t now);
  void groupAlert(uint32_t rule, CorrAlert& a, int64_t now);
  bool joinGroupIncident(uint64_t& incident_id, const rules::Rule& rule, CorrAlert& a, int64_t now);
  void thresholdAlert(uint32_t rule, CorrAlert& a, int64_t now);
  void sequenceAlert(uint32_t rule, CorrAlert& a, bool is_first, int64_t now);
  Incident& openIncident(uint32_t rule, const std::string& key, const std::vector<uint64_t>& alerts,
                         int64_t now, const CorrAlert* proto = nullptr);
  void addAlert(Incident& inc, CorrAlert& a, AlertRole role, int64_t now, bool announce);
  // Adds what the alert affects (its CI, or its resource; the CI's services and its own
  // service) to the incident's lists. With `added`, says there what was new ("CI db-2,
  // service payments"; empty when nothing was).
  void widenScope(Incident& inc, const CorrAlert& a, std::string* added = nullptr);
  void recompute(Incident& inc, int64_t now, const std::string& actor);
  void announce(Incident& inc, int64_t now);
  void reopen(Incident& inc, int64_t now, uint64_t fp);
  void markResolved(Incident& inc, const std::string& by, const std::string& note, int64_t now);
  void linkProblem(Incident& inc, int64_t now);
  void queueForget(const Incident& inc, int64_t now);
  void pruneGroup(const Incident& inc);
  void attachKnownError(Incident& inc, int64_t now);
  void inhibitIndex(CorrAlert& a, bool add, int64_t now);  // file or unfile, then resuppress
  void inhibitFile(CorrAlert& a, bool add, std::vector<std::pair<uint32_t, uint64_t>>& changed);
  void resuppressInhibited(const std::vector<std::pair<uint32_t, uint64_t>>& changed,
                           uint64_t source, int64_t now);
  void relabel(CorrAlert& a, SharedStrings strings, int64_t now);
  void ciCount(CorrAlert& a, bool add);
  // An alert starts or stops counting in its incident's firing alerts (at most once each way).
  static void countFiring(Incident& inc, CorrAlert& a);
  static void uncountFiring(Incident& inc, CorrAlert& a);
  bool ciDown(uint32_t ci, int depth = 0) const;
  uint64_t ciIncident(uint32_t ci, int depth = 0) const;
  void fire(const Timer& t, int64_t now);
  void schedule(int64_t at, TimerKind kind, uint64_t id, uint64_t gen);
  void emit(CorrelatorEvent::Type t, int64_t now, uint64_t incident, uint64_t problem = 0,
            uint64_t alert = 0);
  void note(Incident& inc, int64_t now, std::string actor, const char* action,
            std::string detail = {}, uint64_t alert = 0);
  void scheduleHoldDown(Incident& inc, int64_t due);
  void queueForget(CorrAlert& a, int64_t at);
  void noteFlip(Incident& inc, CorrAlert& a, int64_t now, const char* action,
                std::string detail = {});
  std::string groupKey(const rules::Rule* rule, const CorrAlert& a) const;
  uint64_t groupHash(const rules::Rule& rule, const CorrAlert& a) const;
  const rules::Rule& ruleAt(uint32_t i) const;
  uint32_t ruleIndex(std::string_view name) const;
  Incident* mutableIncident(uint64_t id) { return const_cast<Incident*>(incident(id)); }
  void schedulePrune(const Incident& inc);
  // A change the store keeps (and the evaluator sees).
  void touch(Incident& inc) {
    inc.persist = true;
    touchState(inc);
  }
  // A change of state only (firing counts: recomputed from the alerts at a restart), for the
  // evaluator: a flapping alert's flip rewrites no incident row.
  void touchState(Incident& inc) {
    if (!inc.dirty) {
      inc.dirty = true;
      dirty_incidents_.push_back(inc.id);
    }
  }
  void touchSilence(const std::string& id) { dirty_silences_.push_back(id); }
  std::string render(const std::string& tmpl, const CorrAlert& a) const;
  void forget(uint64_t fp);

  std::shared_ptr<const rules::RuleSet> rules_;
  CorrelatorOptions opts_;
  rules::Rule default_rule_;
  std::vector<std::vector<uint32_t>> dependents_;  // CI -> CIs that depend on it (or group it)
  // The maps with an entry per alert or incident keep their arrays in huge pages once they
  // pass 2 MiB (common/block_memory.h): fewer page faults and TLB misses as they grow.
  template <class V>
  using PerAlert = absl::flat_hash_map<uint64_t, V, absl::Hash<uint64_t>, std::equal_to<uint64_t>,
                                       HugePageAllocator<std::pair<const uint64_t, V>>>;
  PerAlert<std::unique_ptr<CorrAlert>> alerts_;
  std::deque<std::pair<int64_t, uint64_t>> forget_;  // (when, alert): same delay for all, so FIFO
  std::vector<uint64_t> alert_order_;                // compacted when half stale
  size_t alert_order_stale_ = 0;
  std::vector<std::vector<uint64_t>> ci_firing_;  // CI -> firing, unsuppressed alerts
  Incidents incidents_;
  uint64_t incident_base_ = 1;  // id of incidents_.front()
  std::map<uint64_t, Problem> problems_;
  std::map<std::string, Silence> silences_;
  // Keyed by groupHash (rule and group values); each keeps its readable key.
  PerAlert<std::unique_ptr<Group>> groups_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Threshold>> thresholds_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Sequence>> sequences_;
  // Inhibition: per inhibit rule, its firing source alerts and its firing target alerts
  // (inhibited or not), by a 64-bit hash of the values of the rule's `equal` labels (as
  // Prometheus and Alertmanager identify label sets); and per firing alert, where it is filed,
  // so that neither its suppression nor its resolution matches the rules again.
  using AlertList = absl::InlinedVector<uint64_t, 1>;
  std::vector<absl::flat_hash_map<uint64_t, AlertList>> inhibit_sources_, inhibit_targets_;
  struct InhibitEntry {
    uint32_t rule;
    bool source;
    uint64_t key;
  };
  absl::flat_hash_map<uint64_t, absl::InlinedVector<InhibitEntry, 2>> inhibit_entries_;
  // Per signature (one per incident that may recur, so kept small: an empty std::deque
  // costs 600 bytes): the recent incidents, at most problem_incidents, oldest first.
  struct Recurrence {
    absl::InlinedVector<std::pair<int64_t, uint64_t>, 1> opened;  // (time, incident)
    uint64_t problem = 0;
    void dropOldest() { opened.erase(opened.begin()); }
  };
  // Keyed by the signature's 64-bit hash (as alerts are by their fingerprint's): no copy of
  // the string per incident.
  PerAlert<Recurrence> recurrences_;
  static uint64_t recurrenceKey(std::string_view signature);
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::vector<CorrelatorEvent> events_;
  std::vector<uint64_t> dirty_incidents_;
  std::vector<std::string> dirty_silences_;
  absl::flat_hash_set<uint64_t> dirty_windows_;    // threshold windows (by hash), each once
  absl::flat_hash_set<uint64_t> dirty_sequences_;  // sequence states (by hash), each once
  uint64_t next_incident_ = 1, next_problem_ = 1, next_silence_ = 1, timer_seq_ = 0;
  // Open or acknowledged incidents by priority (index 1..5), kept as incidents open, resolve,
  // close, merge and change priority.
  std::array<size_t, 6> open_by_priority_{};
  void countOpen(const Incident& inc, int delta) {
    size_t& n = open_by_priority_[std::clamp(inc.priority, 1, 5)];
    n = delta > 0 ? n + 1 : (n ? n - 1 : 0);
  }
  uint64_t late_ = 0, changes_applied_ = 0;
  int64_t last_now_ = 0;
  // While restore() routes the firing alerts of no live incident again: threshold windows and
  // sequences take each alert's own firing time (a fact), not the restart's.
  bool rerouting_ = false;
  std::vector<uint32_t> scratch_, scratch2_;
  std::vector<uint8_t> below_mark_;  // adoptDownstream's visited set, all zero between calls
  std::unique_ptr<rules::MatcherIndex> silence_index_;  // rebuilt after silences change
  std::vector<const Silence*> silence_ids_;
  absl::flat_hash_map<uint64_t, std::string> silence_by_seq_;
  std::map<std::string, MaintenanceRecord> maintenance_;
  absl::flat_hash_map<uint64_t, std::string> maintenance_by_seq_;
  std::vector<std::string> dirty_maintenance_;
  std::map<std::string, ChangeRecord> changes_;
  std::vector<std::string> dirty_changes_;
  absl::flat_hash_map<uint64_t, std::string> change_by_seq_;
  uint64_t changes_linked_ = 0;
  uint64_t windows_gen_ = 0;                // bumps on reload: older maintenance timers are stale
  size_t suppressed_firing_ = 0;            // firing alerts suppressed now
  absl::flat_hash_set<uint64_t> held_ids_;  // incidents with `held` set (live or not)
};

}  // namespace triaged::engine
