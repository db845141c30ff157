// Finds which of many matcher sets can match an alert without evaluating them all: each set is
// filed under one of its equality matchers (name="value"), preferring the label name most sets
// share; sets without an equality matcher are always candidates. Immutable after build();
// safe to share across threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "triaged/rules/facts.h"
#include "triaged/rules/matcher.h"

namespace triaged::rules {

class MatcherIndex {
 public:
  // Registers matcher set `ms` under `id`; an id may be added with several sets.
  void add(uint32_t id, const Matchers& ms) { pending_.push_back({id, &ms}); }
  void build();
  // Ids whose sets may match f, ascending and unique (out is cleared first). The caller still
  // evaluates each candidate's matchers.
  void candidates(const Facts& f, std::vector<uint32_t>& out) const;
  bool empty() const { return names_.empty() && always_.empty(); }

 private:
  struct Pending {
    uint32_t id;
    const Matchers* ms;
  };
  std::vector<Pending> pending_;
  std::vector<std::string> names_;
  std::vector<std::map<std::string, std::vector<uint32_t>, std::less<>>> by_value_;
  std::vector<uint32_t> always_;
};

}  // namespace triaged::rules
