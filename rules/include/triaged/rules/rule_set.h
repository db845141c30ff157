// The correlation rule set: the service model (configuration items, services, dependencies),
// correlation rules (group, threshold, sequence), inhibit rules, scheduled maintenance windows
// and known errors, parsed from the rule files. Immutable once built; shared by the correlator
// and the API as shared_ptr<const RuleSet>, swapped whole on reload.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "triaged/config/errors.h"
#include "triaged/rules/facts.h"
#include "triaged/rules/matcher.h"
#include "triaged/rules/matcher_index.h"
#include "triaged/rules/oncall.h"
#include "triaged/rules/schedule.h"
#include "triaged/rules/service_levels.h"

namespace triaged::rules {

using Ms = int64_t;

struct Origin {
  std::string file;
  int line = 0;
};

// What an incident opened by a rule looks like. Title and category may use {{ label }}
// placeholders (labels and canonical fields of the first alert).
struct IncidentTemplate {
  std::string title;
  std::string service;
  std::string category;
  int priority = 0;  // 1..5 overrides the impact x urgency matrix; 0 = computed
};

enum class RuleType : uint8_t { kGroup, kThreshold, kSequence };
enum class SequenceMode : uint8_t {
  kPair,     // first then second within `within`: open an incident with both
  kAbsence,  // first NOT followed by second within `within`: open one (the pair suppresses it)
};

struct Rule {
  std::string name;
  std::string group;  // the rule group's name
  Origin origin;
  RuleType type = RuleType::kGroup;
  Matchers match;                     // which alerts the rule takes (sequence: the first)
  std::vector<std::string> group_by;  // labels or fields; "..." = every label (one per alert)
  Ms group_wait = 0;                  // gather alerts this long before the incident opens
  Ms group_interval = 300'000;        // joins are announced at most this often
  Ms max_age = 0;       // an incident older than this takes no new alerts; 0 = no limit
  uint32_t count = 0;   // threshold: this many firings
  Ms window = 0;        // threshold: within this sliding window
  Matchers then_match;  // sequence: the second alert
  SequenceMode mode = SequenceMode::kPair;
  Ms within = 0;                   // sequence window
  bool continue_matching = false;  // let later rules see the alert too
  IncidentTemplate incident;

  bool matches(const Facts& f) const { return matchesAll(match, f); }
  bool groupsByAll() const { return group_by.size() == 1 && group_by[0] == "..."; }
};

struct InhibitRule {
  std::string name;
  Origin origin;
  Matchers source;
  Matchers target;
  std::vector<std::string> equal;
};

struct MaintenanceWindow {
  std::string name;
  std::string change_id;
  Origin origin;
  Matchers match;                  // alerts it covers (empty: use cis/services only)
  std::vector<uint32_t> cis;       // covers alerts on these CIs
  std::vector<uint32_t> services;  // and on these services
  Schedule schedule;
  // Instead of a schedule: active while this change (POST /api/v1/changes) runs, from its
  // actual (else planned) start to its actual (else planned) end.
  std::string during_change;
};

struct KnownError {
  std::string id;
  std::string title;
  std::string root_cause;
  std::string workaround;
  Origin origin;
  Matchers match;  // over the incident's first alert
};

struct ConfigurationItem {
  std::string name;
  std::string type;
  Origin origin;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::string> aliases;  // other resource names that mean this CI
  Matchers match;                    // alerts that belong to this CI, besides by resource name
  std::vector<uint32_t> depends_on;  // upstream CIs
  std::vector<uint32_t> members;     // a redundancy group: down only when every member is
  std::vector<uint32_t> services;    // services that run on this CI
};

struct Service {
  std::string name;
  Origin origin;
  int criticality = 3;  // 1 (highest impact) .. 3 (lowest)
  std::vector<std::string> owners;
  std::vector<uint32_t> cis;
  ServiceHierarchy hierarchy;
  std::vector<uint32_t> parents;
  std::vector<uint32_t> agreements;  // indexes into RuleSet::agreements()
};

class RuleSet {
 public:
  // Parses every rule file; errors carry file:line and key path. Returns nullptr if any.
  // Once the files read have kMaxLoadErrors errors, the rest are not read (one error says so).
  static constexpr size_t kMaxLoadErrors = 1000;
  static std::shared_ptr<const RuleSet> load(const std::vector<std::string>& files,
                                             config::ConfigErrors& errors);
  static std::shared_ptr<const RuleSet> empty();

  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<InhibitRule>& inhibitRules() const { return inhibit_; }
  const std::vector<MaintenanceWindow>& maintenance() const { return maintenance_; }
  const std::vector<KnownError>& knownErrors() const { return known_errors_; }
  const std::vector<ConfigurationItem>& cis() const { return cis_; }
  const std::vector<Service>& services() const { return services_; }
  // Calendar 0 is the built-in "24x7" (UTC, every hour); agreements refer to them by index.
  const std::vector<sla::Calendar>& calendars() const { return calendars_; }
  const std::vector<Agreement>& agreements() const { return agreements_; }
  const std::vector<HeartbeatDef>& heartbeats() const { return heartbeats_; }
  const std::vector<SloDef>& slos() const { return slos_; }
  const std::vector<CapacityDef>& capacity() const { return capacity_; }
  // On-call schedules (oncall.h), in file order.
  const std::vector<OncallSchedule>& oncallSchedules() const { return oncall_; }
  const OncallSchedule* oncallSchedule(std::string_view name) const {
    for (const auto& s : oncall_)
      if (s.name == name) return &s;
    return nullptr;
  }
  // Services in an order where every child comes before its parents.
  const std::vector<uint32_t>& serviceOrder() const { return service_order_; }

  static constexpr uint32_t kNone = UINT32_MAX;
  // The CI an alert belongs to: by resource name or alias first, then by the CIs' matchers.
  uint32_t ciOf(const Facts& f) const;
  uint32_t ciByName(std::string_view name) const;
  uint32_t serviceByName(std::string_view name) const;
  // Which rules (by index) and inhibit rules (sources, targets) may match an alert.
  const MatcherIndex& ruleIndex() const { return rule_index_; }
  const MatcherIndex& inhibitSourceIndex() const { return inhibit_source_index_; }
  const MatcherIndex& inhibitTargetIndex() const { return inhibit_target_index_; }
  // Maintenance windows whose matchers may match (windows without matchers always are).
  const MatcherIndex& maintenanceIndex() const { return maintenance_index_; }
  // CIs in topological order (every CI after the ones it depends on).
  const std::vector<uint32_t>& topologicalOrder() const { return topo_; }

 private:
  friend class RuleSetLoader;
  friend class ServiceLevelsLoader;
  friend class OncallLoader;
  std::vector<Rule> rules_;
  std::vector<InhibitRule> inhibit_;
  std::vector<MaintenanceWindow> maintenance_;
  std::vector<KnownError> known_errors_;
  std::vector<ConfigurationItem> cis_;
  std::vector<Service> services_;
  std::vector<sla::Calendar> calendars_ = {sla::Calendar{"24x7", nullptr, {}, {}}};
  std::vector<Agreement> agreements_;
  std::vector<HeartbeatDef> heartbeats_;
  std::vector<SloDef> slos_;
  std::vector<CapacityDef> capacity_;
  std::vector<OncallSchedule> oncall_;
  std::vector<uint32_t> service_order_;
  std::vector<std::pair<std::string, uint32_t>> ci_names_;       // name or alias -> CI, sorted
  std::vector<std::pair<std::string, uint32_t>> service_names_;  // sorted
  std::vector<uint32_t> ci_matchers_;                            // CIs with matchers
  std::vector<uint32_t> topo_;
  Matchers empty_matchers_;
  MatcherIndex rule_index_, inhibit_source_index_, inhibit_target_index_, maintenance_index_;
};

}  // namespace triaged::rules
