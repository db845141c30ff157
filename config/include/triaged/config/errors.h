// Configuration errors: every problem found while loading, with file, line and key path.
// Plain values; no ownership or threading concerns.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace triaged::config {

struct ConfigError {
  std::string file;
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
  std::string path;  // key path, e.g. "server.max_body_bytes" or "inputs[2].type"
  std::string message;

  // "file:line:col: path: message", the form --check-config prints.
  std::string str() const;
};

using ConfigErrors = std::vector<ConfigError>;

// What a person is shown of a load's errors (--check-config, the log at start and on reload):
// the first kShownErrors as str(), then one line saying how many more there are. A rule_files
// glob that matches a folder of other files gives thousands, and the first hundred already say
// what is wrong. The reload API's answer still lists every error.
constexpr size_t kShownErrors = 100;
std::vector<std::string> errorLines(const ConfigErrors& errors);

// Thrown only at load/reload boundaries; carries every error found, not just the first.
class ConfigException : public std::runtime_error {
 public:
  explicit ConfigException(ConfigErrors errors);
  const ConfigErrors& errors() const { return errors_; }

 private:
  ConfigErrors errors_;
};

}  // namespace triaged::config
