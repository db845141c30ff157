#include "notify/notification_filter.h"

#include <algorithm>

#include "correlate/incident_facts.h"

namespace triaged::engine {

namespace {

// What an event without an incident (problems, heartbeats) shows matchers: nothing.
class NoFacts final : public rules::Facts {
 public:
  std::string_view get(std::string_view) const override { return {}; }
};

}  // namespace

std::vector<std::pair<size_t, std::string>> NotificationFilter::check(
    const std::vector<std::string>& matchers, bool (*extra)(const std::string&),
    const char* extra_text) {
  std::vector<std::pair<size_t, std::string>> out;
  const auto& known = IncidentFacts::fields();
  for (size_t i = 0; i < matchers.size(); ++i) {
    rules::Matchers m;
    std::string error;
    if (!rules::parseMatchers(matchers[i], m, &error)) {
      out.emplace_back(i, error);
      continue;
    }
    for (const auto& x : m) {
      if (std::find(known.begin(), known.end(), x->name()) != known.end()) continue;
      if (extra && extra(x->name())) continue;
      std::string list;
      for (const auto& f : known) list += (list.empty() ? "" : ", ") + f;
      if (*extra_text) list += std::string(", ") + extra_text;
      out.emplace_back(i, "unknown field \"" + x->name() + "\" (known: " + list + ")");
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
  if (!events_.empty() && std::find(events_.begin(), events_.end(), event) == events_.end())
    return false;
  if (inc && inc->priority > min_priority_) return false;
  if (matchers_.empty()) return true;
  if (!inc) return rules::matchesAll(matchers_, NoFacts());
  return rules::matchesAll(matchers_, IncidentFacts(*inc));
}

}  // namespace triaged::engine
