// Private to the rules module: reads the service level sections of rule files into a RuleSet
// (driven by RuleSetLoader, which owns the order of reading and linking).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "triaged/config/reader.h"
#include "triaged/rules/rule_set.h"

namespace triaged::rules {

// Service status names: ok is -1 (no problem), then the severities.
bool statusByName(const std::string& s, int& out);

// A name in a rule file that refers to something defined anywhere in the rule files,
// resolved once every file is read; it remembers where it was written for the error.
struct PendingRef {
  std::string name;
  Origin origin;
  std::string path;
};
// Reads a list of names at `key` as references.
void readRefs(config::MapReader& r, const char* key, std::vector<PendingRef>& out);

class ServiceLevelsLoader {
 public:
  explicit ServiceLevelsLoader(RuleSet& rs) : rs_(rs) {}

  void calendar(const YAML::Node& n, const std::string& p, config::ErrorSink& sink);
  void agreement(const YAML::Node& n, const std::string& p, config::ErrorSink& sink);
  void heartbeat(const YAML::Node& n, const std::string& p, config::ErrorSink& sink);
  void slo(const YAML::Node& n, const std::string& p, config::ErrorSink& sink);
  void capacity(const YAML::Node& n, const std::string& p, config::ErrorSink& sink);
  // The hierarchy keys of a service entry (children, algorithm, status_rules, weight,
  // propagation); the service is already in the rule set at `service`.
  void hierarchy(config::MapReader& r, uint32_t service);
  // Once every file is read: resolves names, includes, effective dates; orders services.
  void link(const std::map<std::string, uint32_t>& services, config::ConfigErrors& errors);

  static uint8_t daysMask(config::MapReader& r);
  static bool clockTime(config::MapReader& r, const char* key, int& minute, bool allow_24);

 private:
  void clockTargets(config::MapReader& parent, const char* key, ClockTarget& out);

  RuleSet& rs_;
  std::vector<Origin> calendar_origins_;
  std::vector<std::pair<uint32_t, PendingRef>> calendar_includes_, agreement_services_,
      agreement_calendars_, agreement_clock_calendars_, heartbeat_services_, service_children_,
      slo_services_, capacity_services_;
  std::vector<std::pair<uint32_t, int32_t>> agreement_effective_days_;
};

}  // namespace triaged::rules
