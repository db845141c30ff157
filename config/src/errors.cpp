#include "triaged/config/errors.h"

#include <string_view>

namespace triaged::config {

std::string ConfigError::str() const {
  std::string out;
  out.append(file.empty() ? std::string_view("<config>") : std::string_view(file));
  if (line > 0) {
    out.push_back(':');
    out.append(std::to_string(line));
    if (column > 0) {
      out.push_back(':');
      out.append(std::to_string(column));
    }
  }
  out.append(": ");
  if (!path.empty()) {
    out.append(path);
    out.append(": ");
  }
  out.append(message);
  return out;
}

std::vector<std::string> errorLines(const ConfigErrors& errors) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < errors.size() && i < kShownErrors; ++i) lines.push_back(errors[i].str());
  if (errors.size() > kShownErrors)
    lines.push_back("... and " + std::to_string(errors.size() - kShownErrors) +
                    " more errors not shown");
  return lines;
}

static std::string summarize(const ConfigErrors& errors) {
  if (errors.empty()) return "invalid configuration";
  std::string s = errors.front().str();
  if (errors.size() > 1) s += " (and " + std::to_string(errors.size() - 1) + " more)";
  return s;
}

ConfigException::ConfigException(ConfigErrors errors)
    : std::runtime_error(summarize(errors)), errors_(std::move(errors)) {}

}  // namespace triaged::config
