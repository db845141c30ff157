// Reading on-call schedules (`oncall_schedules`) from rule files; calendars are resolved once
// every file is read.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "service_levels_loader.h"
#include "triaged/config/reader.h"
#include "triaged/rules/rule_set.h"

namespace triaged::rules {

class OncallLoader {
 public:
  explicit OncallLoader(RuleSet& rs) : rs_(rs) {}
  void schedule(const YAML::Node& n, const std::string& p, config::ErrorSink& sink);
  void link(config::ConfigErrors& errors);

 private:
  RuleSet& rs_;
  std::vector<std::pair<std::pair<size_t, size_t>, PendingRef>> layer_calendars_;
};

}  // namespace triaged::rules
