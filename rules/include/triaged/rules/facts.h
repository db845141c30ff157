// What rules see of an alert: a name -> value lookup over its canonical fields (source,
// resource, check, service, severity, status, summary) and its labels. The canonical fields
// win over labels of the same name: they are what ingest normalized (a "severity" label of
// "P1" became the canonical severity "critical"). Implementations are views owned by the caller; no
// threading concerns.
#pragma once

#include <string_view>

#include "triaged/rules/matcher.h"

namespace triaged::rules {

class Facts {
 public:
  virtual ~Facts() = default;
  // The value of a label or field; "" when absent (Prometheus semantics).
  virtual std::string_view get(std::string_view name) const = 0;
};

inline bool matchesAll(const Matchers& ms, const Facts& f) {
  for (const auto& m : ms)
    if (!m->matches(f.get(m->name()))) return false;
  return true;
}

// The canonical severity names, lowest first (ok=0 .. critical=5), as matchers see them.
const char* severityText(int level);

}  // namespace triaged::rules
