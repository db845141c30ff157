#pragma once

#include <string>
#include <vector>

#include "triaged/config/hash.h"
#include "triaged/config/reader.h"

namespace triaged::config {

// What one load may read through rule_files: a glob such as "/*/*" is refused, naming the
// entry, rather than walking a filesystem or reading it into memory (here for the hash, then
// again in the rules module). The defaults are documented in docs/configuration.md.
struct RuleFileBounds {
  size_t files = 10000;             // files matched
  size_t bytes = size_t{64} << 20;  // read, in all (a file refused as too large counts too)
  size_t entries = 100000;          // folder entries the globs may walk
};

// Expands the globs of `patterns` (relative ones against the config file's folder, like
// Prometheus), adds each file's name and content to `hash` and its path, sorted, to
// `resolved`. A file it cannot read is left for the rules module to report with the reason.
// Over a bound, reports the entry that crossed it and leaves `resolved` as it was.
void resolveRuleFiles(const std::vector<std::string>& patterns, const YAML::Node& node,
                      ErrorSink& sink, Sha256& hash, std::vector<std::string>& resolved,
                      const RuleFileBounds& bounds = {});

}  // namespace triaged::config
