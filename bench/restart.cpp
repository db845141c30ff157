// Restart time with a large state: builds a database with N active alerts in M open incidents
// (through the real correlator and the real store writer), then times start-up recovery as
// the daemon does it (load, dedup tables, correlator rebuild) and checks what came back.
// Usage: triaged-restart [--alerts 1000000] [--incidents 100000] [--dir DIR] [--keep] [--reuse]
//                        [--postgresql CONNINFO]   (an empty database: the postgresql backend)
// With --keep, DIR holds the database afterwards (bench/run.sh restart starts the daemon on it);
// --reuse times only the recovery of the SQLite database a --keep run left in DIR.
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include "app/replay.h"
#include "correlate/correlator_stage.h"
#include "store/postgres/pg_store.h"
#include "store/recovery.h"
#include "store/sqlite/sqlite_store.h"
#include "store/state_codec.h"
#include "store/store_writer.h"
#include "triaged/api/ingest.h"
#include "triaged/config/loader.h"
#include "triaged/rules/rule_set.h"

using namespace triaged;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// 1. The state, built by the correlator: alert i is in group i % incidents; 2. stored through
// the store writer, as the daemon stores it.
static void build(const config::Config& config, uint64_t alerts, uint64_t incidents, int64_t t0,
                  const std::function<std::unique_ptr<engine::Store>()>& open,
                  engine::SystemClock& clock, api::MetricsHub& hub) {
  auto t = Clock::now();
  engine::ReplayEngine e(config);
  api::IngestOptions io;
  io.resolve_timeout_ms = 0;
  for (uint64_t i = 0; i < alerts;) {
    api::BatchBuilder b(io, t0);
    for (int k = 0; k < 1000 && i < alerts; ++k, ++i) {
      auto& ev = b.begin(0);
      ev.resource = b.keep("host-" + std::to_string(i));
      ev.check = b.keep("disk");
      ev.severity = api::Severity::kMajor;
      b.addLabel("grp", std::to_string(i % incidents));
      if (!b.finish()) std::abort();
    }
    auto batch = b.take();
    e.apply(*batch, t0);
  }
  std::printf("built %zu open incidents from %llu alerts in %.2f s\n",
              e.correlator().openIncidents(), (unsigned long long)alerts, since(t));
  // 2. Stored through the store writer, as the daemon stores it.
  t = Clock::now();
  {
    auto opened = open();
    engine::Store& store = *opened;
    engine::StoreWriter w(store, {}, clock, hub);
    w.start();
    engine::StoreUnit u;
    e.table().forEach([&](uint64_t, const engine::Alert& a) {
      u.alerts.push_back(engine::AlertRecord::of(a, true));
      if (u.alerts.size() == 10000) w.submit(std::exchange(u, {}));
    });
    std::string record;
    for (const auto& inc : e.correlator().incidents()) {
      record.clear();
      engine::encodeIncident(record, inc);
      auto row = u.row(inc.id, static_cast<int>(inc.status), inc.updated_ms, record);
      engine::incidentRows(e.correlator(), inc, 0, 0, u, row);
      u.incidents.push_back(row);
      if (u.incidents.size() == 2000) w.submit(std::exchange(u, {}));
    }
    u.meta.emplace_back("next_incident", std::to_string(e.correlator().nextIncidentId()));
    w.submit(std::move(u));
    w.stop();
    store.flush();
  }
  if (fs::exists(fs::path(config.state.directory) / "triaged.db")) {
    uintmax_t bytes = fs::file_size(fs::path(config.state.directory) / "triaged.db");
    std::printf("stored in %.2f s (%.0f MiB)\n", since(t), bytes / 1048576.0);
  } else {
    std::printf("stored in %.2f s (postgresql)\n", since(t));
  }
}

int main(int argc, char** argv) {
  CLI::App app{"triaged restart benchmark"};
  uint64_t alerts = 1'000'000, incidents = 100'000;
  std::string dir =
      (fs::temp_directory_path() / ("triaged-restart-" + std::to_string(::getpid()))).string();
  bool keep = false, reuse = false;
  std::string pg;
  app.add_option("--alerts", alerts);
  app.add_option("--incidents", incidents);
  app.add_option("--dir", dir);
  app.add_flag("--keep", keep);
  app.add_flag("--reuse", reuse, "recover what a --keep run left in --dir (SQLite) only");
  app.add_option("--postgresql", pg, "store in this (empty) PostgreSQL database instead");
  CLI11_PARSE(app, argc, argv);
  if (incidents == 0 || incidents > alerts) incidents = alerts;
  if (!reuse) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(fs::path(dir) / "rules.yaml")
        << "groups:\n  - name: g\n    rules:\n      - {name: by-group, match: '{grp=~\".+\"}', "
           "group_by: [grp], "
           "group_wait: 0s}\n";
    std::ofstream(fs::path(dir) / "triaged.yaml")
        << "rule_files: [rules.yaml]\nstate: {directory: " << dir << "/state}\n";
  }
  auto config = config::loadConfig((fs::path(dir) / "triaged.yaml").string(),
                                   [](config::Config& c, config::ConfigErrors& errors) {
                                     c.rule_set =
                                         rules::RuleSet::load(c.rule_files_resolved, errors);
                                   });
  const int64_t t0 = 1'767'225'600'000;
  auto open = [&]() -> std::unique_ptr<engine::Store> {
    if (pg.empty()) return std::make_unique<engine::SqliteStore>(config->state.directory);
    config::PostgresConfig c;
    c.url = pg;
    return std::make_unique<engine::PostgresStore>(c);
  };
  api::MetricsHub hub;
  engine::SystemClock clock;
  auto t = Clock::now();
  if (!reuse) build(*config, alerts, incidents, t0, open, clock, hub);
  // 3. Recovery, timed as the daemon does it at start-up: open (connect, schema check), then
  // recoverState (which starts the writer with the alerts' row ids it read).
  t = Clock::now();
  auto opened = open();
  engine::Store& store = *opened;
  double open_s = since(t);
  engine::StoreWriter writer(store, {}, clock, hub);
  engine::PipelineOptions po;
  po.shards = 2;
  engine::CorrelatorStage stage(config->rule_set, engine::CorrelatorOptions{config->correlation},
                                clock, hub, 4096, &writer);
  engine::Pipeline pipeline(po, clock, hub, &stage);
  auto rs = engine::recoverState(store, writer, pipeline, stage, t0 + 60'000);
  double secs = since(t);
  std::printf(
      "recovered %zu alerts (%zu firing), %zu incidents (%zu open) in %.2f s (open %.2f s, "
      "recoverState %.2f s: reading %.2f s, decoding %.2f s, alerts %.2f s beside it, correlator "
      "%.2f s, writer started %.2f s)\n",
      rs.alerts, rs.firing, rs.incidents, rs.open_incidents, secs, open_s, rs.seconds,
      rs.load_seconds, rs.decode_seconds, rs.alerts_seconds, rs.correlator_seconds,
      rs.writer_seconds);
  bool ok = rs.alerts == alerts && rs.open_incidents == incidents;
  std::printf("%s\n", ok ? "OK" : "MISMATCH: not what was stored");
  if (!keep) fs::remove_all(dir);
  return ok ? 0 : 1;
}
