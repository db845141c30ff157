// Incidents and problems as the correlator keeps them (ISO/IEC 20000-1 8.6.1 and 8.6.3): their
// states, timelines, tickets and escalation. The correlator (correlator.h) owns them; the
// evaluator, the store's codecs, the API and the notifier read them.
#pragma once

#include <absl/container/inlined_vector.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/block_deque.h"

namespace triaged::engine {

enum class IncidentStatus : uint8_t { kOpen, kAcknowledged, kResolved, kClosed, kMerged };
const char* incidentStatusName(IncidentStatus s);
enum class ProblemStatus : uint8_t { kOpen, kKnownError, kResolved, kClosed };
const char* problemStatusName(ProblemStatus s);
enum class AlertRole : uint8_t { kMember, kRootCause, kSymptom };
enum class Suppression : uint8_t { kNone, kSilenced, kMaintenance, kInhibited };
const char* suppressionName(Suppression s);

struct TimelineEntry {
  int64_t at_ms;
  std::string actor;
  const char* action;  // a fixed phrase ("opened", "alert joined", ...)
  std::string detail;
  uint64_t alert = 0;  // the alert concerned, if any
  size_t bytes() const { return sizeof(TimelineEntry) + actor.capacity() + detail.capacity(); }
};

struct TicketLink {
  std::string system, id, url;
};

// Where an incident's escalation under one notification policy stands. notify/escalation.cpp
// decides; the incident keeps it, so it is stored (and restored) with the incident.
// Escalation time is the incident's time not held (Incident::activeMs): held time does not
// count towards a step.
struct EscalationState {
  std::string policy;
  uint32_t next = 0;     // the step due next (steps notified: next); == steps: repeating
  uint32_t repeats = 0;  // repetitions of the last step so far
  int64_t started = 0;   // activeMs() when it (re)started
  bool active = false;   // false once acknowledged, resolved, closed or merged
  std::vector<std::string> reached;  // targets told so far: they hear of its later events
  // Not stored: the escalator's handle for its timer, and when that is due (0: none).
  mutable uint32_t timer_gen = 0;
  mutable int64_t armed_at = 0;
};

// What few incidents have (a person assigned, a known error, tickets, changes, escalation),
// kept apart so that an incident without them costs a pointer, not 200 bytes: read it with
// Incident::extra(), change it with Incident::edit().
struct IncidentExtra {
  std::string assignee;
  std::string known_error, workaround;
  std::vector<TicketLink> tickets;
  std::vector<std::string> changes;         // changes it was opened during or shortly after
  std::vector<EscalationState> escalation;  // one per notification policy that took it
  // Entries below stored_timeline changed in place since the store last took the incident,
  // beyond Incident::rewritten_entry (several flapping alerts in one incident: rare).
  std::vector<uint32_t> timeline_rewritten;
};

struct Incident {
  uint64_t id = 0;
  std::string title, service, category;
  std::string rule;       // the rule that opened it ("default", or a rule name)
  std::string group_key;  // the group's label values
  // Rule + group key: recurring incidents share it (derived, not held: one string fewer per
  // incident).
  std::string signature() const;
  int priority = 3, impact = 2, urgency = 2;
  // 1 + an entry below stored_timeline changed in place since the store last took it (an
  // alert's flips, counted in one entry; 0: none). Held here (beside the ints: no padding),
  // not in extra(): most incidents that stay open have an alert that flips, and an
  // IncidentExtra (~200 bytes) each only to say so cost more than the incident's timeline.
  uint32_t rewritten_entry = 0;
  int64_t opened_ms = 0, acknowledged_ms = 0, resolved_ms = 0, closed_ms = 0, updated_ms = 0;
  // Fingerprints, in the order they joined (most incidents have one: held inline).
  absl::InlinedVector<uint64_t, 1> alerts;
  // The firing (unsuppressed) alerts by severity (0..5). The incident's current severity,
  // severity(), is its worst firing alert's: service states and downtime follow it.
  // max_severity is the peak over its life: priority and reports use that.
  std::array<uint32_t, 6> firing_by_severity{};
  uint32_t firing() const {  // how many of its alerts fire now
    uint32_t n = 0;
    for (uint32_t c : firing_by_severity) n += c;
    return n;
  }
  int severity() const {
    for (int s = 5; s >= 0; --s)
      if (firing_by_severity[s]) return s;
    return -1;
  }
  uint64_t root_cause = 0;  // fingerprint of the root-cause alert, 0 if none
  uint64_t merged_into = 0;
  uint64_t problem = 0;
  // Affected CIs and services by name, sorted (most incidents have one of each: held inline).
  using Names = absl::InlinedVector<std::string, 1>;
  Names cis, services;
  int64_t interval_ms = 300'000;  // the opening rule's group_interval
  uint64_t group_hash = 0;        // the group (or threshold window) that opened it
  int max_severity = 0;
  int criticality = 0;  // highest (lowest number) of its services'; 0 = none known
  std::vector<TimelineEntry> timeline;
  uint64_t timeline_dropped = 0;
  // Timers and announcements.
  uint64_t gen = 0;           // bumps when the incident's pending timers become stale
  int64_t hold_down_due = 0;  // when its hold-down ends (all its alerts resolved)
  int64_t announced_ms = 0;
  // Suppression (docs/suppression.md). Firing alerts a maintenance window holds count in
  // firing_maintenance, not in firing_by_severity: they cause no downtime. firing_suppressed
  // counts the firing alerts suppressed for any reason (silence, maintenance, inhibition).
  // An incident is held while every alert of it that fires is suppressed: it notifies no one
  // and its response clock stands still. It stays held when its last alert resolves, until
  // an unsuppressed alert fires in it.
  uint32_t firing_maintenance = 0, firing_suppressed = 0;
  int64_t held_since_ms = 0;
  uint32_t firingAll() const { return firing() + firing_maintenance; }
  int64_t held_total_ms = 0;  // how long it was held before (held_since_ms: the hold now)
  // Time not held since the epoch: the clock escalation runs on.
  int64_t activeMs(int64_t now) const {
    return now - held_total_ms - (held ? now - held_since_ms : 0);
  }
  // How many of `alerts` and `timeline` the store holds (they only grow; the rest is appended).
  uint32_t stored_alerts = 0, stored_timeline = 0;
  uint32_t timeline_bytes = 0;  // what `timeline` holds (TimelineEntry::bytes), bounded
  // The small fields together (no padding between them).
  IncidentStatus status = IncidentStatus::kOpen;
  bool priority_fixed = false;  // set by a template or a person: not recomputed
  bool cis_truncated = false, services_truncated = false;  // more than the lists' bound (1000)
  bool threshold_group = false;
  bool hold_down_queued = false;  // a kHoldDown timer is in the heap (one at most)
  bool update_pending = false;
  bool held = false;              // see firing_suppressed
  bool opening_notified = false;  // its opening reached the notification targets
  bool dirty = false;             // changed since the evaluator and the store last took it
  bool persist = false;           // and the change is one the store keeps (touch, not touchState)

  const IncidentExtra& extra() const { return extra_ ? *extra_ : kNoExtra; }
  bool hasExtra() const { return static_cast<bool>(extra_); }
  IncidentExtra& edit() {
    if (!extra_) extra_.p = std::make_unique<IncidentExtra>();
    return *extra_;
  }

 private:
  // A pointer that copies what it points to (incidents are copied into snapshots and records).
  struct ExtraPtr {
    std::unique_ptr<IncidentExtra> p;
    ExtraPtr() = default;
    ExtraPtr(ExtraPtr&&) noexcept = default;
    ExtraPtr& operator=(ExtraPtr&&) noexcept = default;
    ExtraPtr(const ExtraPtr& o) : p(o.p ? std::make_unique<IncidentExtra>(*o.p) : nullptr) {}
    ExtraPtr& operator=(const ExtraPtr& o) {
      if (this != &o) p = o.p ? std::make_unique<IncidentExtra>(*o.p) : nullptr;
      return *this;
    }
    IncidentExtra* operator->() const { return p.get(); }
    IncidentExtra& operator*() const { return *p; }
    explicit operator bool() const { return p != nullptr; }
  };
  static const IncidentExtra kNoExtra;
  ExtraPtr extra_;  // null: all of it empty
};

// docs/architecture.md ("Memory of an incident") says 512 bytes.
static_assert(sizeof(Incident) <= 512, "an incident grew past 512 bytes");

// The correlator's incidents, by id from its base: 4,096 to a block of 2 MiB, one huge page
// (common/block_deque.h says why).
using Incidents = BlockDeque<Incident, kHugePage / 512>;

struct Problem {
  uint64_t id = 0;
  std::string signature, title;
  ProblemStatus status = ProblemStatus::kOpen;
  std::vector<uint64_t> incidents;
  std::string root_cause, workaround, known_error;
  int64_t opened_ms = 0, updated_ms = 0, resolved_ms = 0, closed_ms = 0;
  std::vector<TimelineEntry> timeline;
};

}  // namespace triaged::engine
