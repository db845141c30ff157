// The daemon: loads the config, opens the state, wires inputs and the HTTP server, and runs
// the control loop (signals, reload, systemd notify and watchdog, graceful shutdown) on the
// calling thread. One per process.
#pragma once

#include <string>

#include "triaged/api/plugin.h"

namespace triaged::engine {

struct DaemonOptions {
  std::string config_path;  // "" = embedded defaults
  std::string log_level;    // overrides the config when set
  std::string log_format;   // overrides the config when set
};

// Runs until SIGTERM/SIGINT; returns the process exit code.
int runDaemon(const DaemonOptions& opts, const api::PluginRegistry& plugins);

// The command line: `triaged [--config FILE] [--check-config] [--version] ...`.
int runMain(int argc, char** argv, const api::PluginRegistry& plugins);

}  // namespace triaged::engine
