// Shared by the unit tests and the benchmarks: temporary folders, and a configuration with a
// rule file built from YAML text, loaded and validated as the daemon loads its own.
#pragma once

#include <filesystem>
#include <string>

#include "triaged/config/config.h"

namespace triaged::testing {

// A new empty folder under the system's temporary folder, unique to this process and call,
// removed with everything in it when the process exits.
std::filesystem::path tempDir(const std::string& tag);
// rules.yaml = rules_yaml; triaged.yaml = "rule_files: [rules.yaml]" + extra. Throws
// config::ConfigException (with every error) when either is invalid.
config::ConfigPtr configWith(const std::string& rules_yaml, const std::string& extra = "");

}  // namespace triaged::testing
