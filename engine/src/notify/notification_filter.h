// Which events a notification target takes: event types, a minimum incident priority, and
// Prometheus-style matchers on the incident's fields (IncidentFacts, as agreements' clock
// conditions see them). Compiled once per target; immutable.
#pragma once

#include <string>
#include <vector>

#include "correlate/correlator.h"
#include "triaged/config/config.h"
#include "triaged/rules/matcher.h"

namespace triaged::engine {

class NotificationFilter {
 public:
  // The target's matchers must have passed check().
  explicit NotificationFilter(const config::NotificationTarget& t);
  // `incident`: the incident the event is about, or nullptr (problems, heartbeats), which the
  // priority filter lets through and the matchers see with every field "".
  bool accepts(const std::string& event, const Incident* incident) const;
  // Errors of a target's matchers, as (index, message); empty when all are good. `extra`:
  // more names the matchers may use (a predicate), described in errors as `extra_text`.
  static std::vector<std::pair<size_t, std::string>> check(
      const std::vector<std::string>& matchers, bool (*extra)(const std::string&) = nullptr,
      const char* extra_text = "");

 private:
  std::vector<std::string> events_;
  int min_priority_ = 5;
  rules::Matchers matchers_;
};

}  // namespace triaged::engine
