// Loads and validates a configuration file and the rule files it names. Reports every error
// at once (file:line, key path). Pure: no global state; safe to call from any one thread.
#pragma once

#include <functional>
#include <string>

#include "triaged/config/config.h"
#include "triaged/config/errors.h"
#include "triaged/config/hash.h"

namespace triaged::config {

// Extra validation run after the core config parsed (plugins check their sections here).
using SectionValidator = std::function<void(Config&, ConfigErrors&)>;

// Throws ConfigException with every error found. An empty path loads the embedded defaults.
ConfigPtr loadConfig(const std::string& path, const SectionValidator& validate = {});

// Parses "host:port", "[v6]:port" or ":port". Returns false on error.
bool parseListen(const std::string& text, std::string& host, uint16_t& port);

}  // namespace triaged::config
