// Pieces shared by the correlator's source files. Internal to the engine.
#pragma once

#include <algorithm>
#include <cstdio>
#include <deque>
#include <string>

#include "correlate/correlator.h"
#include "rest/alerts_api.h"
#include "triaged/rules/facts.h"

namespace triaged::engine {

// Rules see an alert through this: labels first, then the canonical fields.
class AlertFacts final : public rules::Facts {
 public:
  // Reads a copy of the alert's strings, taken here: the views get() returns live as long.
  explicit AlertFacts(const CorrAlert& a) : a_(a), copy_(a.strings) {}
  std::string_view get(std::string_view name) const override;

 private:
  const CorrAlert& a_;
  StringsCopy copy_;
};

// Moves the ids in `dirty` to `out`, each once, sorted (what changed since the store last took).
inline void takeEachOnce(std::vector<std::string>& dirty, std::vector<std::string>& out) {
  std::sort(dirty.begin(), dirty.end());
  dirty.erase(std::unique(dirty.begin(), dirty.end()), dirty.end());
  for (auto& id : dirty) out.push_back(std::move(id));
  dirty.clear();
}

// A timeline entry that counts an alert's flips (resolved, fired again, flapped).
bool isFlipAction(std::string_view action);
int64_t lastFlipMs(const TimelineEntry& e);

// "P3 -> P2" for timelines.
inline std::string priorityChange(int before, int after) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "P%d -> P%d", before, after);
  return buf;
}

// A group's key (its label values) is not kept: every alert of the group gives it again
// (Correlator::groupKey), and its incident holds it.
struct Correlator::Group {
  uint32_t rule = UINT32_MAX;
  uint64_t incident = 0;
  bool waiting = false;
  uint64_t gen = 0;
  std::vector<uint64_t> pending;
};

struct Correlator::Threshold {
  std::string key, rule_name;
  std::deque<std::pair<int64_t, uint64_t>> seen;  // (time, fingerprint), at most `count`
  uint64_t incident = 0;
};

struct Correlator::Sequence {
  std::string key, rule_name;
  uint64_t first = 0;
  int64_t at = 0;
  bool active = false;
  uint64_t gen = 0;
  SharedStrings strings;  // the first alert's, for the incident's title
};

}  // namespace triaged::engine
