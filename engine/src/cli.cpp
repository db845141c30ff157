#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "triaged/build_info.h"
#include "triaged/config/loader.h"
#include "triaged/config/units.h"
#include "triaged/engine/daemon.h"
#include "triaged/engine/log.h"
#include "triaged/engine/replay.h"
#include "triaged/engine/store.h"
#include <fstream>

namespace triaged::engine {
namespace {

// --config, else $TRIAGED_CONFIG, else the installed file, else ./config/triaged.yaml (a
// source checkout), else the embedded defaults.
std::string defaultConfigPath() {
  if (const char* env = std::getenv("TRIAGED_CONFIG"); env && *env) return env;
  for (const char* p : {build::kInstalledConfig, "config/triaged.yaml"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

}  // namespace

int runMain(int argc, char** argv, const api::PluginRegistry& plugins) {
  CLI::App app{"triaged: event correlation and SLA engine"};
  app.set_version_flag("--version",
                       std::string("triaged ") + build::kVersion + " (revision " + build::kGitCommit +
                           ", " + build::kBuildType + ", " + build::kCompiler + ")");
  std::string config_path;
  bool check = false;
  DaemonOptions opts;
  app.add_option("-c,--config", config_path, "configuration file (default: the installed or shipped triaged.yaml)");
  app.add_flag("--check-config", check, "validate the configuration and every rule file, then exit");
  app.add_option("--log-level", opts.log_level, "override logging.level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-format", opts.log_format, "override logging.format")
      ->check(CLI::IsMember({"text", "json"}));
  auto* replay = app.add_subcommand("replay", "run the pipeline on recorded events (NDJSON, native format) on "
                                               "simulated time and print incidents, problems and alerts as JSON lines");
  std::string replay_file, advance = "0s";
  bool state_only = false;
  replay->add_option("events", replay_file, "NDJSON file of events ('-' for standard input)")->required();
  replay->add_option("--advance", advance, "after the last event, move simulated time on by this much (e.g. 1h)");
  replay->add_flag("--state-only", state_only, "print only the final state, not each event");
  auto* test_rules = app.add_subcommand("test-rules", "run rule unit tests (events at times, expected incidents)");
  std::vector<std::string> test_files;
  test_rules->add_option("files", test_files, "test files")->required();
  auto* backup = app.add_subcommand("backup", "copy the state database of a running (or stopped) daemon to FILE");
  std::string backup_file;
  backup->add_option("file", backup_file, "the new file (must not exist)")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (config_path.empty()) config_path = defaultConfigPath();
  opts.config_path = config_path;

  if (*test_rules) return runRuleTests(test_files, plugins, std::cout);
  // The configuration for a subcommand, or nullptr after printing every error.
  auto loadOrReport = [&]() -> config::ConfigPtr {
    try {
      return loadFullConfig(config_path, plugins);
    } catch (const config::ConfigException& e) {
      for (const auto& err : e.errors()) std::cerr << err.str() << "\n";
      return nullptr;
    }
  };
  if (*replay) {
    log::setup("warn", "text");
    config::ConfigPtr c = loadOrReport();
    if (!c) return 2;
    auto d = config::parseDuration(advance);
    if (!d) {
      std::cerr << "--advance: invalid duration \"" << advance << "\"\n";
      return 2;
    }
    ReplayOptions ro;
    ro.advance_ms = d->count();
    ro.events = !state_only;
    std::ios::sync_with_stdio(false);
    if (replay_file == "-") return runReplay(*c, plugins, std::cin, std::cout, std::cerr, ro);
    std::ifstream in(replay_file);
    if (!in) {
      std::cerr << replay_file << ": cannot open\n";
      return 2;
    }
    return runReplay(*c, plugins, in, std::cout, std::cerr, ro);
  }

  if (*backup) {
    config::ConfigPtr c = loadOrReport();
    if (!c) return 2;
    try {
      int pages = Store::backup(c->state.directory, backup_file);
      std::cout << "backed up " << c->state.directory << "/triaged.db to " << backup_file << " (" << pages
                << " pages)\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "backup failed: " << e.what() << "\n";
      return 1;
    }
  }

  if (check) {
    try {
      auto c = loadFullConfig(config_path, plugins);
      std::cout << (config_path.empty() ? "<embedded defaults>" : config_path) << ": OK ("
                << c->inputs.size() << " inputs, " << c->rule_files_resolved.size() << " rule files)\n";
      return 0;
    } catch (const config::ConfigException& e) {
      for (const auto& err : e.errors()) std::cerr << err.str() << "\n";
      std::cerr << e.errors().size() << (e.errors().size() == 1 ? " error" : " errors") << " found\n";
      return 1;
    }
  }

  // Logging format must be known before the config is read (its errors are logged); the
  // config's own format applies when no flag overrides it.
  std::string format = opts.log_format;
  std::string level = opts.log_level.empty() ? "info" : opts.log_level;
  if (format.empty()) {
    try {
      auto c = config::loadConfig(config_path);
      format = c->logging.format;
    } catch (...) {
      format = "text";
    }
  }
  log::setup(level, format);
  return runDaemon(opts, plugins);
}

}  // namespace triaged::engine
