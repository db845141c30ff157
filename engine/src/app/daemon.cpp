// The daemon's life: start-up in its order (configuration, the state and its recovery, the
// stages, the routes, the HTTP server and inputs, readiness), the control loop (signals,
// systemd notify and watchdog) and the drain at shutdown. Its own routes and reload are in
// daemon_control.cpp; the class is daemon_impl.h.
#include <systemd/sd-daemon.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "app/daemon_impl.h"
#include "app/early_signals.h"
#include "app/full_config.h"
#include "common/log.h"
#include "notify/notification_filter.h"
#include "rest/alerts_api.h"
#include "rest/changes_api.h"
#include "rest/incidents_api.h"
#include "rest/maintenance_api.h"
#include "rest/notifications_api.h"
#include "rest/oncall_api.h"
#include "rest/sla_api.h"
#include "rest/stream_api.h"
#include "store/postgres/pg_store.h"
#include "store/recovery.h"
#include "triaged/build_info.h"
#include "triaged/config/loader.h"
#include "triaged/config/reader.h"
#include "triaged/rules/rule_set.h"
namespace triaged::engine {

AlertmanagerApi::Settings alertmanagerSettings(const config::Config& c,
                                               std::vector<config::NotificationTarget> targets) {
  AlertmanagerApi::Settings s;
  s.labels = c.alertmanager_api.labels;
  s.targets = std::move(targets);
  std::ifstream in(c.source_file);
  std::stringstream text;
  if (!c.source_file.empty() && in) text << in.rdbuf();
  s.config_text = c.source_file.empty() ? "# the embedded defaults (no configuration file)\n"
                                        : AlertmanagerApi::redact(text.str());
  return s;
}

int Daemon::run() {
  catchEarlySignals();
  log_ = log::get("main");
  try {
    config_ = loadFullConfig(opts_.config_path, plugins_);
  } catch (const config::ConfigException& e) {
    for (const auto& line : config::errorLines(e.errors())) log::get("config")->error("{}", line);
    log_->critical("configuration is invalid ({} errors); not starting", e.errors().size());
    return 1;
  }
  applyLogging(*config_);
  if (opts_.config_path.empty())
    log_->warn("no configuration file given or found; running on embedded defaults");
  published_config_.store(config_);
  config_loaded_at_ = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();

  auto& build = prometheus::BuildGauge()
                    .Name("triaged_build_info")
                    .Help("Build information; the value is always 1.")
                    .Register(*registry_);
  build
      .Add({{"version", build::kVersion},
            {"revision", build::kGitCommit},
            {"build_type", build::kBuildType}})
      .Set(1);
  auto& reload_family = prometheus::BuildGauge()
                            .Name("triaged_config_last_reload_successful")
                            .Help("Whether the last configuration reload attempt was successful.")
                            .Register(*registry_);
  reload_ok_ = &reload_family.Add({});
  reload_ok_->Set(1);
  auto& ts_family = prometheus::BuildGauge()
                        .Name("triaged_config_last_reload_success_timestamp_seconds")
                        .Help("Timestamp of the last successful configuration reload.")
                        .Register(*registry_);
  reload_ts_ = &ts_family.Add({});
  reload_ts_->Set(static_cast<double>(config_loaded_at_.load()));
  ready_gauge_ = &prometheus::BuildGauge()
                      .Name("triaged_ready")
                      .Help("1 when the daemon is started and not draining.")
                      .Register(*registry_)
                      .Add({});

  std::shared_ptr<const HttpSettings> settings;
  try {
    if (manual_) {
      const char* t = std::getenv("TRIAGED_TEST_CLOCK");
      auto start = api::parseRfc3339(t);
      if (!start)
        throw std::runtime_error(std::string("TRIAGED_TEST_CLOCK: not an RFC 3339 time: ") + t);
      manual_clock_.set(*start);
      log_->warn("running on a manual test clock from {} (TRIAGED_TEST_CLOCK): not for production",
                 t);
    }
    settings = HttpSettings::fromConfig(*config_);
    if (config_->ha.enabled) {
      ha_ = std::make_unique<HaNode>(*config_, hub_);
      if (!ha_->waitForLease(settings)) {
        log_->info("stopped (a standby)");
        return 0;
      }
      catchEarlySignals();   // the standby's own handlers are gone with it
      ha_->startRenewing();  // from now on: recovery may take longer than the lease
    }
    store_ = openStore(config_->state);
    log::get("store")->info("state in {} {} (schema version {})", store_->backend(), store_->path(),
                            store_->schemaVersion());
    if (ha_)
      static_cast<PostgresStore&>(*store_).fence(ha_->epoch(), [] {
        HaNode::becomeStandby("a commit was fenced: another node holds the lease");
      });
  } catch (const std::exception& e) {
    log_->critical("{}", e.what());
    return 1;
  }

  pool_ = std::make_unique<IoPool>(config_->server.io_threads);
  PipelineOptions popts;
  popts.shards = config_->pipeline.shards;
  popts.queue_batches = config_->pipeline.queue_batches;
  popts.queue_bytes = config_->pipeline.queue_bytes;
  popts.retry_after_seconds = static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(config_->pipeline.retry_after).count());
  popts.flap = {config_->pipeline.flapping_enabled, config_->pipeline.flapping_low_percent,
                config_->pipeline.flapping_high_percent};
  popts.resolved_retention_ms = config_->pipeline.resolved_retention.count();
  StoreWriterOptions sopts;
  sopts.alert_retention_ms = config_->pipeline.resolved_retention.count();
  sopts.incident_retention_ms = config_->state.retention.count();
  sopts.sla_retention_ms = config_->state.sla_retention.count();
  store_writer_ = std::make_unique<StoreWriter>(*store_, sopts, clock_, hub_);
  popts.store = store_writer_.get();
  popts.checkpoint_interval_ms = config_->state.checkpoint_interval.count();
  popts.wait_for_commit = config_->state.durability == "sync";
  correlator_ = std::make_unique<CorrelatorStage>(
      config_->rule_set,
      CorrelatorOptions{config_->correlation, config_->state.retention.count(),
                        config_->state.sla_retention.count()},
      clock_, hub_, 4096, store_writer_.get());
  pipeline_ = std::make_unique<Pipeline>(popts, clock_, hub_, correlator_.get());
  notifier_ = std::make_unique<Notifier>(config_->notification_targets, plugins_, *store_writer_,
                                         clock_, hub_);
  correlator_->setTargets(config_->notification_targets);
  correlator_->setPolicies(config_->notification_policies, loadRecords(*store_, "oncall_override"));
  correlator_->setAlertSink(pipeline_.get());
  event_hub_ = std::make_unique<EventHub>(
      config_->stream, *registry_,
      std::chrono::duration_cast<std::chrono::milliseconds>(started_at_.time_since_epoch())
          .count());
  correlator_->setEventHub(event_hub_.get());
  store_writer_->onOutbox(
      [n = notifier_.get()](std::vector<OutboxEntry> v) { n->enqueue(std::move(v)); });
  // A ticket a tool created is linked to its incident (stored with it, shown by the API).
  notifier_->onTicket([c = correlator_.get()](const std::string& system, uint64_t incident,
                                              std::string id, std::string url) {
    c->run([=](Correlator& cr, int64_t now) {
      cr.linkTicket(incident, {system, id, url}, "triaged", now);
    });
  });
  try {
    // Recovery starts the writer once it has read the store (see recovery.h).
    RecoveryStats rs =
        recoverState(*store_, *store_writer_, *pipeline_, *correlator_, clock_.nowMs());
    log::get("store")->info(
        "recovered {} alerts ({} firing), {} incidents ({} open), {} problems, {} silences, {} "
        "service transitions, "
        "{} SLA clocks, {} heartbeats in {:.3f} s (reading {:.2f} s, decoding {:.2f} s, alerts "
        "{:.2f} s beside it, correlator {:.2f} s, writer started {:.2f} s)",
        rs.alerts, rs.firing, rs.incidents, rs.open_incidents, rs.problems, rs.silences,
        rs.sla_transitions, rs.clocks, rs.heartbeats, rs.seconds, rs.load_seconds,
        rs.decode_seconds, rs.alerts_seconds, rs.correlator_seconds, rs.writer_seconds);
    if (rs.skipped_alerts)
      log::get("store")->error("{} stored alerts had malformed data and were skipped",
                               rs.skipped_alerts);
    if (!rs.outbox.empty())
      log::get("notifier")->info("{} notifications in the outbox", rs.outbox.size());
    notifier_->knownTickets(std::move(rs.tickets));
    notifier_->enqueue(std::move(rs.outbox));
  } catch (const std::exception& e) {
    log_->critical("cannot recover state: {}", e.what());
    store_writer_->stop();
    return 1;
  }
  addCoreRoutes();
  addAlertRoutes(router_, *pipeline_);
  addIncidentRoutes(router_, *correlator_, pipeline_.get());
  addMaintenanceRoutes(router_, *correlator_);
  addChangeRoutes(router_, *correlator_);
  addOncallRoutes(router_, *correlator_);
  alertmanager_api_ = std::make_unique<AlertmanagerApi>(
      *correlator_,
      std::chrono::duration_cast<std::chrono::milliseconds>(started_at_.time_since_epoch())
          .count());
  alertmanager_api_->configure(alertmanagerSettings(*config_, config_->notification_targets));
  alertmanager_api_->addRoutes(router_);
  addNotificationRoutes(router_, *notifier_);
  addSlaRoutes(router_, *correlator_);
  addStreamRoutes(router_, *event_hub_);
  console_.configure(config_->console);
  console_.addRoutes(router_);
  for (const auto& section : config_->inputs) {
    const auto* plugin = plugins_.findInput(section.type);
    api::InputContext ctx{
        section,
        *config_,
        router_,
        [this](size_t i) -> asio::io_context& { return pool_->context(i % pool_->size()); },
        pool_->size(),
        hub_,
        pipeline_.get(),
        [this](uint64_t fp, std::string actor, std::function<void(bool)> done) {
          acknowledgeAlert(fp, std::move(actor), std::move(done));
        }};
    try {
      inputs_.push_back(plugin->create(ctx));
    } catch (const std::exception& e) {
      log_->critical("input {} ({}): {}", section.name, section.type, e.what());
      return 1;
    }
  }

  server_ = std::make_unique<HttpServer>(*pool_, router_, *registry_);
  server_->setSettings(settings);
  uint16_t port = 0;
  try {
    port = server_->listen(config_->server.host, config_->server.port);
  } catch (const std::exception& e) {
    log_->critical("{}", e.what());
    return 1;
  }

  signals_ = std::make_unique<asio::signal_set>(ctrl_, SIGHUP, SIGTERM, SIGINT);
  std::function<void()> wait_signal = [&] {
    signals_->async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      onSignal(sig);
      wait_signal();
    });
  };
  wait_signal();
  if (int sig = earlyStopSignal())
    asio::post(ctrl_, [this, sig] {
      log_->info("a stop was asked for while starting");
      onSignal(sig);
    });

  correlator_->start();
  pipeline_->start();
  notifier_->start();
  pool_->start();
  server_->startAccepting();
  for (auto& in : inputs_) in->start();
  ready_ = true;
  ready_gauge_->Set(1);
  std::string where = config_->server.host + ":" + std::to_string(port);
  log_->info("triaged {} ({}) listening on {}{}", build::kVersion, build::kGitCommit, where,
             config_->server.tls.enabled() ? " (TLS)" : "");
  for (auto& in : inputs_)
    if (in->boundPort()) log_->info("input listening on port {}", in->boundPort());
  // Tools that start us on port 0 read the bound ports (HTTP first, then each input with a
  // listener) from this file; it is complete before READY=1, and appears atomically.
  if (const char* env = std::getenv("TRIAGED_PORT_FILE")) {
    std::string tmp = std::string(env) + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "%u\n", port);
      for (auto& in : inputs_)
        if (in->boundPort()) std::fprintf(f, "%u\n", in->boundPort());
      std::fclose(f);
      std::rename(tmp.c_str(), env);
    }
  }

  sd_notifyf(0, "READY=1\nSTATUS=listening on %s\nMAINPID=%lu", where.c_str(),
             static_cast<unsigned long>(getpid()));
  if (sd_watchdog_enabled(0, &watchdog_usec_) > 0 && watchdog_usec_ > 0) {
    watchdog_timer_ = std::make_unique<asio::steady_timer>(ctrl_);
    watchdogTick();
  }

  ctrl_.run();

  // Completions and API answers hold their connection; the last of them may be released on a
  // shard or the correlator thread. So: stop the I/O threads (contexts stay alive), finish
  // the pipeline and the correlator (their answers post to the stopped contexts), then
  // destroy the contexts, ending the connections while the server and inputs still exist.
  pool_->stop();
  pipeline_->stop();      // processes what is queued
  correlator_->stop();    // and what the shards handed on
  notifier_->stop();      // requests in flight finish; the rest stays in the outbox
  store_writer_->stop();  // commits it, and answers what waited for it
  if (ha_) ha_->stop();   // gives the lease up: a standby takes over at once
  pool_->shutdown();
  for (auto& in : inputs_) in.reset();
  if (store_) store_->flush();
  log_->info("stopped");
  return 0;
}

void Daemon::onSignal(int sig) {
  if (sig == SIGHUP) {
    if (!shutting_down_) reload(nullptr);
    return;
  }
  if (shutting_down_) {
    log_->warn("second termination signal while draining; still waiting for the drain deadline");
    return;
  }
  shutdown();
}

void Daemon::shutdown() {
  shutting_down_ = true;
  log_->info("shutting down: draining for up to {}",
             config::formatDuration(config_->shutdown.drain_timeout));
  ready_ = false;
  ready_gauge_->Set(0);
  server_->beginDrain();
  for (auto& in : inputs_) in->stop();
  server_->stopAccepting();
  sd_notify(0, "STOPPING=1\nSTATUS=draining");
  drain_deadline_ = Steady::now() + config_->shutdown.drain_timeout;
  drain_timer_ = std::make_unique<asio::steady_timer>(ctrl_);
  drainTick();
}

void Daemon::drainTick() {
  auto open = server_->activeConnections();
  if (open == 0 || Steady::now() >= drain_deadline_) {
    if (open > 0) log_->warn("drain deadline reached with {} connections open; closing them", open);
    pool_->stop();
    if (watchdog_timer_) watchdog_timer_->cancel();
    signals_->cancel();
    ctrl_.stop();
    return;
  }
  drain_timer_->expires_after(std::chrono::milliseconds(10));
  drain_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) drainTick();
  });
}

void Daemon::watchdogTick() {
  // Pet the watchdog only if every I/O loop answered the previous round's ping: a stuck
  // loop stops the pings and systemd restarts us.
  size_t n = pool_->size();
  bool healthy = true;
  for (size_t i = 0; i < n; ++i)
    if (pongs_[i].load() != ping_round_) healthy = false;
  if (healthy)
    sd_notify(0, "WATCHDOG=1");
  else
    log_->error("an I/O thread did not answer the watchdog ping; not notifying systemd");
  ++ping_round_;
  for (size_t i = 0; i < n; ++i)
    asio::post(pool_->context(i), [this, i, round = ping_round_] { pongs_[i].store(round); });
  watchdog_timer_->expires_after(std::chrono::microseconds(watchdog_usec_ / 2));
  watchdog_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !shutting_down_) watchdogTick();
  });
}

int runDaemon(const DaemonOptions& opts, const api::PluginRegistry& plugins) {
  Daemon d(opts, plugins);
  return d.run();
}

}  // namespace triaged::engine
