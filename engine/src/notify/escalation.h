// Notification policies and escalation (docs/notifications.md): which policies take an
// incident (matchers on its fields and its root-cause alert's labels, in order, `continue`),
// the escalation steps each runs on the incident's escalation clock (time not held), on-call
// schedules resolved when a step is due, and the overrides of schedules made through the API.
// The state of each incident's escalation lives in the incident (EscalationState), so it is
// stored in the same transaction as the step's notifications: a restart neither repeats nor
// skips a step. Owned by the correlator stage and used on its thread only.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "correlate/correlator.h"
#include "triaged/api/metrics_hub.h"
#include "triaged/config/config.h"
#include "triaged/rules/matcher.h"
#include "triaged/rules/oncall.h"

namespace triaged::engine {

// What a policy's matchers see: the incident's fields (IncidentFacts), "ci" (its root cause's
// CI, else its first) and "label_<name>" (a label of its root-cause alert, else of its first
// alert).
class PolicyFacts final : public rules::Facts {
 public:
  PolicyFacts(const Correlator& c, const Incident& inc);
  std::string_view get(std::string_view name) const override;
  // Errors of a policy's matchers, as (index, message); empty when all are good.
  static std::vector<std::pair<size_t, std::string>> check(
      const std::vector<std::string>& matchers);

 private:
  const Correlator& c_;
  const Incident& i_;
  const CorrAlert* root_ = nullptr;
  std::optional<StringsCopy> root_strings_;  // what label_* reads
  std::string priority_;
};

class Escalator {
 public:
  // A step notified this round (the targets get an incident.escalated entry).
  struct Fired {
    uint64_t incident = 0;
    int64_t at = 0;
    std::string policy;
    uint32_t step = 0;    // 1-based
    uint32_t repeat = 0;  // 0: the first time
    bool out_of_hours = false;
    std::vector<std::string> targets;
    std::vector<std::pair<std::string, std::string>> on_call;  // (schedule, person or "")
  };

  explicit Escalator(api::MetricsHub* hub = nullptr) : hub_(hub) {}
  // At load: policies and on-call schedules name targets, schedules and calendars that exist,
  // and policies' matchers use known fields; each problem as an error naming the key.
  static void check(const config::Config& c, config::ConfigErrors& errors);
  // The policies as text, to tell whether a reload changed them.
  static std::string describe(const std::vector<config::NotificationPolicy>& policies);
  // Before use: the policies (checked at load against targets, schedules and calendars).
  void configure(std::vector<config::NotificationPolicy> policies);
  bool enabled() const { return !policies_.empty(); }

  // A round's events: escalations start (opened, reopened), stop (acknowledged, resolved,
  // closed, merged) or resume (any event of an incident no longer held).
  void observe(Correlator& c, const std::vector<CorrelatorEvent>& events, int64_t now);
  // Notifies the steps due by now (each notes the timeline and reports incident.escalated).
  void advance(Correlator& c, int64_t now);
  // A round as the correlator stage runs it: observe `events`, notify what is due, and append
  // the events that made to `events`.
  void round(Correlator& c, std::vector<CorrelatorEvent>& events, int64_t now) {
    observe(c, events, now);
    advance(c, now);
    for (const auto& e : c.takeEvents()) events.push_back(e);
  }
  int64_t nextDeadline() const { return timers_.empty() ? INT64_MAX : timers_.top().at; }
  // After the correlator's restore: timers for the escalations of live incidents.
  void restore(Correlator& c, int64_t now);
  // The steps notified since the last call.
  std::vector<Fired> takeFired() { return std::move(fired_); }

  // Whether a target is reached through policies (named by a step, or a target of a person of
  // a schedule a step names); such a target hears of incidents only through them.
  bool routed(const Correlator& c, const std::string& target);
  // Targets the policies have reached for an incident that hear of `event` (each once).
  void targetsFor(const Incident& inc, std::string_view event,
                  std::vector<const std::string*>& out) const;
  size_t pending() const { return armed_; }

  // On-call overrides made through the API, by schedule. Refused ("" on success): unknown
  // schedule or person, end not after start, overlapping another override.
  std::string addOverride(const rules::RuleSet& rules, const std::string& schedule,
                          rules::OncallOverride o, std::string* id);
  std::string removeOverride(const std::string& schedule, const std::string& id, int64_t now);
  const std::vector<rules::OncallOverride>& overrides(const std::string& schedule) const;
  // Stored form: a JSON record with the schedule's name; `deleted` ones are skipped.
  static std::string encodeOverride(const std::string& schedule, const rules::OncallOverride& o,
                                    bool deleted);
  void restoreOverrides(const std::vector<std::string>& records);
  // Overrides added or removed since the last call: (id, ends_ms, record).
  struct OverrideRow {
    std::string id;
    int64_t ends_ms;
    std::string record;
  };
  std::vector<OverrideRow> takeDirtyOverrides() { return std::move(dirty_overrides_); }

 private:
  struct Policy {
    config::NotificationPolicy cfg;
    rules::Matchers matchers;
    int32_t calendar = -2;  // index into the rule set's calendars (-1: none; -2: unresolved)
    prometheus::Counter* steps_total = nullptr;
  };
  struct Timer {
    int64_t at;
    uint64_t incident;
    uint32_t state, gen;
    bool operator>(const Timer& o) const {
      return at != o.at               ? at > o.at
             : incident != o.incident ? incident > o.incident
                                      : state > o.state;
    }
  };
  const Policy* policy(const std::string& name) const;
  void start(Correlator& c, const Incident& inc, bool restart, int64_t now);
  void stop(Correlator& c, const Incident& inc);
  // Arms the timer of state i (due: its next step on the escalation clock); none when held.
  void arm(const Incident& inc, size_t i, int64_t now);
  // Notifies state i's next step; `first`: the steps due at the start, told by the event that
  // started it (opened, reopened) rather than by incident.escalated.
  void notify(Correlator& c, uint64_t incident, size_t i, int64_t now, bool first);
  int64_t dueOffset(const Policy& p, const EscalationState& s) const;
  std::vector<std::string> resolve(const Correlator& c, const Policy& p, size_t step, int64_t now,
                                   Fired& f, std::string& detail);
  void metric(const std::string& schedule);

  api::MetricsHub* hub_;
  std::vector<Policy> policies_;
  std::map<std::string, size_t> by_name_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  size_t armed_ = 0;
  std::vector<Fired> fired_;
  const rules::RuleSet* routed_for_ = nullptr;  // the rule set routed_ was computed for
  std::set<std::string> routed_;
  std::map<std::string, std::vector<rules::OncallOverride>> overrides_;
  std::vector<OverrideRow> dirty_overrides_;
  uint64_t next_override_ = 1;
  prometheus::Family<prometheus::Counter>* unstaffed_ = nullptr;
  prometheus::Gauge* pending_ = nullptr;
};

}  // namespace triaged::engine
