#pragma once

#include <string>
#include <vector>

#include "triaged/config/reader.h"

namespace triaged::config {

// What one load may read through rule_files: a glob such as "/*/*" is refused, naming the
// entry, rather than reading a filesystem into memory (here for the hash, then again in the
// rules module). Documented in docs/configuration.md.
inline constexpr size_t kMaxRuleFiles = 10000;
inline constexpr size_t kMaxRuleFileBytes = size_t{64} << 20;

// Expands the globs of `patterns` (relative ones against the config file's folder, like
// Prometheus), appends each file's name and content to `hash_input` and its path, sorted, to
// `resolved`. A file it cannot read is left for the rules module to report with the reason.
// Over a bound, reports the entry that crossed it and leaves `resolved` empty.
void resolveRuleFiles(const std::vector<std::string>& patterns, const YAML::Node& node,
                      ErrorSink& sink, std::string& hash_input, std::vector<std::string>& resolved);

}  // namespace triaged::config
