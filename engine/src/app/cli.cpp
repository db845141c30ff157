#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "app/ctl.h"
#include "app/daemon.h"
#include "app/full_config.h"
#include "app/ha_node.h"
#include "app/replay.h"
#include "common/log.h"
#include "rest/sla_api.h"
#include "store/migrate.h"
#include "store/sqlite/sqlite_store.h"
#include "store/state_codec.h"
#include "store/store_writer.h"
#include "triaged/api/ingest.h"
#include "triaged/build_info.h"
#include "triaged/config/loader.h"
#include "triaged/config/reader.h"
#include "triaged/config/units.h"

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

// `triaged migrate`: exit 0 with a table of counts, 1 when the copy failed (nothing changed
// in the target), 2 for unusable arguments.
int runMigrate(const std::string& from, const std::string& to, const std::string& password_file) {
  namespace fs = std::filesystem;
  fs::path dir = from;
  if (fs::is_regular_file(dir)) {
    if (dir.filename() != "triaged.db") {
      std::cerr << from << ": expected a state directory or its triaged.db\n";
      return 2;
    }
    dir = dir.parent_path();
  }
  if (!fs::exists(dir / "triaged.db")) {
    std::cerr << (dir / "triaged.db").string() << ": no state database there\n";
    return 2;
  }
  config::PostgresConfig pg;
  pg.url = to;
  if (!password_file.empty()) {
    std::string why;
    if (!config::readTextFile(password_file, pg.password, why)) {
      std::cerr << password_file << ": " << why << "\n";
      return 2;
    }
    while (!pg.password.empty() && (pg.password.back() == '\n' || pg.password.back() == '\r'))
      pg.password.pop_back();
  }
  try {
    SqliteStore source(dir.string());
    PostgresStore target(pg);
    auto tables = migrateToPostgres(source, target);
    int64_t total = 0;
    for (const auto& t : tables) {
      std::cout << t.table << ": " << t.target << " rows\n";
      total += t.target;
    }
    std::cout << "migrated " << total << " rows from " << source.path() << " to " << target.path()
              << " (schema version " << target.schemaVersion() << "); counts verified\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "migrate failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int runMain(int argc, char** argv, const api::PluginRegistry& plugins) {
  HaNode::rememberArguments(argc, argv);
  CLI::App app{"triaged: event correlation and SLA engine"};
  app.set_version_flag("--version", std::string("triaged ") + build::kVersion + " (revision " +
                                        build::kGitCommit + ", " + build::kBuildType + ", " +
                                        build::kCompiler + ")");
  std::string config_path;
  bool check = false;
  DaemonOptions opts;
  app.add_option("-c,--config", config_path,
                 "configuration file (default: the installed or shipped triaged.yaml)");
  app.add_flag("--check-config", check,
               "validate the configuration and every rule file, then exit");
  app.add_option("--log-level", opts.log_level, "override logging.level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-format", opts.log_format, "override logging.format")
      ->check(CLI::IsMember({"text", "json"}));
  auto* replay =
      app.add_subcommand("replay",
                         "run the pipeline on recorded events (NDJSON, native format) on "
                         "simulated time and print incidents, problems and alerts as JSON lines");
  std::string replay_file, advance = "0s";
  bool state_only = false;
  std::string replay_input;
  replay->add_option("--input", replay_input,
                     "decode events with this input's settings (default: the first native_json or "
                     "ndjson_tcp input)");
  replay->add_option("events", replay_file, "NDJSON file of events ('-' for standard input)")
      ->required();
  replay->add_option("--advance", advance,
                     "after the last event, move simulated time on by this much (e.g. 1h)");
  replay->add_flag("--state-only", state_only, "print only the final state, not each event");
  std::string replay_report, report_format = "json", report_service;
  replay->add_option(
      "--report", replay_report,
      "print the service report of this period (2026-10, 2026-Q4, current, ...) instead of state");
  replay->add_option("--format", report_format, "report format")
      ->check(CLI::IsMember({"json", "csv", "html"}));
  replay->add_option("--service", report_service, "report only this service's agreements");
  auto* report =
      app.add_subcommand("report",
                         "print a service report (ISO 20000 9.4) from the stored history of "
                         "a running or stopped daemon");
  std::string report_period = "current", report_at, report_out;
  report->add_option(
      "--period", report_period,
      "period label: current, previous, 2026, 2026-Q4, 2026-10, 2026-W43, 2026-10-05");
  report->add_option("--format", report_format, "json, csv or html")
      ->check(CLI::IsMember({"json", "csv", "html"}));
  report->add_option("--service", report_service, "only this service's agreements");
  report->add_option("--at", report_at, "evaluate as at this instant (RFC 3339; default: now)");
  report->add_option("-o,--output", report_out, "write to this file instead of standard output");
  auto* test_rules =
      app.add_subcommand("test-rules", "run rule unit tests (events at times, expected incidents)");
  std::vector<std::string> test_files;
  test_rules->add_option("files", test_files, "test files")->required();
  test_rules->add_option("--input", replay_input,
                         "decode events with this input of the test files' inputs:");
  auto* backup = app.add_subcommand(
      "backup", "copy the state database of a running (or stopped) daemon to FILE");
  std::string backup_file;
  backup->add_option("file", backup_file, "the new file (must not exist)")->required();
  auto* migrate = app.add_subcommand(
      "migrate",
      "copy a whole state from the sqlite backend into an empty postgresql database (stop the "
      "daemon first), verified by counts");
  std::string migrate_from, migrate_to, migrate_password_file;
  migrate->add_option("--from", migrate_from, "the sqlite state: state.directory or its triaged.db")
      ->required();
  migrate
      ->add_option("--to", migrate_to, "the postgresql database: a libpq URL or key=value string")
      ->required();
  migrate->add_option("--password-file", migrate_password_file,
                      "read the database password from this file");
  CtlCommand ctl(app);
  // --config is accepted after the subcommand too, as users type it.
  for (auto* sub : {replay, report, backup})
    sub->add_option("-c,--config", config_path, "configuration file (as before the subcommand)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; unusable arguments exit 2, as every subcommand documents.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (config_path.empty()) config_path = defaultConfigPath();
  opts.config_path = config_path;

  if (ctl.selected()) return ctl.run(std::cout, std::cerr);
  if (*test_rules) return runRuleTests(test_files, plugins, std::cout, replay_input);
  if (*migrate) return runMigrate(migrate_from, migrate_to, migrate_password_file);
  // The configuration for a subcommand, or nullptr after printing every error.
  auto loadOrReport = [&]() -> config::ConfigPtr {
    try {
      return loadFullConfig(config_path, plugins);
    } catch (const config::ConfigException& e) {
      for (const auto& line : config::errorLines(e.errors())) std::cerr << line << "\n";
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
    ro.input = replay_input;
    ro.advance_ms = d->count();
    ro.events = !state_only && replay_report.empty();
    ro.report_period = replay_report;
    ro.report_format = report_format;
    ro.report_service = report_service;
    std::ios::sync_with_stdio(false);
    if (replay_file == "-") return runReplay(*c, plugins, std::cin, std::cout, std::cerr, ro);
    std::ifstream in(replay_file);
    if (!in) {
      std::cerr << replay_file << ": cannot open\n";
      return 2;
    }
    return runReplay(*c, plugins, in, std::cout, std::cerr, ro);
  }

  if (*report) {
    log::setup("warn", "text");
    config::ConfigPtr c = loadOrReport();
    if (!c) return 2;
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    if (!report_at.empty()) {
      auto t = api::parseRfc3339(report_at);
      if (!t) {
        std::cerr << "--at: expected an RFC 3339 time such as 2026-10-31T23:00:00Z, got \""
                  << report_at << "\"\n";
        return 2;
      }
      now = *t;
    }
    auto db = std::filesystem::path(c->state.directory) / "triaged.db";
    if (c->state.backend == "sqlite" && !std::filesystem::exists(db)) {
      std::cerr << db.string() << ": no state database (state.directory); nothing to report\n";
      return 1;
    }
    try {
      std::unique_ptr<Store> opened = openStore(c->state);
      Store& store = *opened;
      int64_t last_alive = 0;
      SlaRows rows = loadSlaRows(store, last_alive);
      Evaluator ev(c->rule_set, now);
      ev.restore(slaRestored(rows, last_alive), now);
      std::map<std::string, ChangeRecord> changes;
      for (const auto& rec : loadRecords(store, "change")) {
        ChangeRecord ch = decodeChange(rec);
        changes[ch.id] = std::move(ch);
      }
      RenderedReport rep =
          renderReports(ev, report_period, report_service, report_format, now, &changes);
      if (rep.status != 200) {
        std::cerr << rep.body << "\n";
        return 2;
      }
      if (report_out.empty()) {
        std::cout << rep.body;
      } else {
        std::ofstream f(report_out);
        f << rep.body;
        if (!f) {
          std::cerr << report_out << ": cannot write\n";
          return 1;
        }
      }
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "report failed: " << e.what() << "\n";
      return 1;
    }
  }

  if (*backup) {
    config::ConfigPtr c = loadOrReport();
    if (!c) return 2;
    if (c->state.backend != "sqlite") {
      std::cerr << "backup copies the sqlite backend's file; with backend " << c->state.backend
                << " use the server's own tools (pg_dump, or its replication)\n";
      return 2;
    }
    try {
      int pages = SqliteStore::backup(c->state.directory, backup_file);
      std::cout << "backed up " << c->state.directory << "/triaged.db to " << backup_file << " ("
                << pages << " pages)\n";
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
                << c->inputs.size() << " inputs, " << c->rule_files_resolved.size()
                << " rule files)\n";
      return 0;
    } catch (const config::ConfigException& e) {
      for (const auto& line : config::errorLines(e.errors())) std::cerr << line << "\n";
      std::cerr << e.errors().size() << (e.errors().size() == 1 ? " error" : " errors")
                << " found\n";
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
