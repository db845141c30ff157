// What matchers over an incident see (agreements' pause_when/start_when/stop_when, the
// matchers of notification targets): its fields status, priority ("1".."5"), service,
// category, assignee, title, rule and known_error. A view; the incident must outlive it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "correlate/correlator.h"
#include "triaged/rules/facts.h"

namespace triaged::engine {

class IncidentFacts final : public rules::Facts {
 public:
  explicit IncidentFacts(const Incident& i) : i_(i), priority_(std::to_string(i.priority)) {}
  std::string_view get(std::string_view n) const override {
    if (n == "status") return incidentStatusName(i_.status);
    if (n == "priority") return priority_;
    if (n == "service") return i_.service;
    if (n == "category") return i_.category;
    if (n == "assignee") return i_.extra().assignee;
    if (n == "title") return i_.title;
    if (n == "rule") return i_.rule;
    if (n == "known_error") return i_.extra().known_error;
    return {};
  }
  // The names get() knows.
  static const std::vector<std::string>& fields() {
    static const std::vector<std::string> f = {"status",   "priority", "service", "category",
                                               "assignee", "title",    "rule",    "known_error"};
    return f;
  }

 private:
  const Incident& i_;
  std::string priority_;
};

}  // namespace triaged::engine
