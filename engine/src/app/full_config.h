// The whole configuration: the file, its rule files, and every section a plugin owns (inputs,
// notification targets) checked by that plugin, as the daemon, `--check-config`, `triaged
// test` and the fuzz harness all read it.
#pragma once

#include <string>

#include "triaged/api/plugin.h"
#include "triaged/config/config.h"

namespace triaged::engine {

// Loads and validates the config with every plugin's section check. Throws ConfigException.
config::ConfigPtr loadFullConfig(const std::string& path, const api::PluginRegistry& plugins);

}  // namespace triaged::engine
