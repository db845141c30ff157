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

// Thrown only at load/reload boundaries; carries every error found, not just the first.
class ConfigException : public std::runtime_error {
 public:
  explicit ConfigException(ConfigErrors errors);
  const ConfigErrors& errors() const { return errors_; }

 private:
  ConfigErrors errors_;
};

}  // namespace triaged::config
