#include "triaged/engine/notification_filter.h"

#include <algorithm>

namespace triaged::engine {

namespace {

std::string_view field(const Incident& inc, const std::string& name, std::string& scratch) {
  if (name == "service") return inc.service;
  if (name == "category") return inc.category;
  if (name == "rule") return inc.rule;
  if (name == "assignee") return inc.assignee;
  if (name == "title") return inc.title;
  if (name == "status") return incidentStatusName(inc.status);
  if (name == "priority") return scratch = std::to_string(inc.priority);
  return {};
}

}  // namespace

const std::vector<std::string>& NotificationFilter::fields() {
  static const std::vector<std::string> f = {"service", "category", "rule", "assignee", "title", "status", "priority"};
  return f;
}

std::vector<std::pair<size_t, std::string>> NotificationFilter::check(const std::vector<std::string>& matchers) {
  std::vector<std::pair<size_t, std::string>> out;
  for (size_t i = 0; i < matchers.size(); ++i) {
    rules::Matchers m;
    std::string error;
    if (!rules::parseMatchers(matchers[i], m, &error)) {
      out.emplace_back(i, error);
      continue;
    }
    for (const auto& x : m) {
      const auto& f = fields();
      if (std::find(f.begin(), f.end(), x->name()) == f.end())
        out.emplace_back(i, "unknown field \"" + x->name() +
                                "\" (known: service, category, rule, assignee, title, status, priority)");
    }
  }
  return out;
}

NotificationFilter::NotificationFilter(const config::NotificationTarget& t)
    : events_(t.events), min_priority_(t.min_priority) {
  for (const auto& text : t.matchers) {
    std::string error;
    rules::parseMatchers(text, matchers_, &error);  // checked at load
  }
}

bool NotificationFilter::accepts(const std::string& event, const Incident* inc) const {
  if (!events_.empty() && std::find(events_.begin(), events_.end(), event) == events_.end()) return false;
  if (inc && inc->priority > min_priority_) return false;
  std::string scratch;
  for (const auto& m : matchers_)
    if (!m->matches(inc ? field(*inc, m->name(), scratch) : std::string_view())) return false;
  return true;
}

}  // namespace triaged::engine
