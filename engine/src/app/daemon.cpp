#include "app/daemon.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include "app/early_signals.h"
#include "app/full_config.h"
#include "app/ha_node.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "console/console_routes.h"
#include "correlate/correlator_stage.h"
#include "notify/escalation.h"
#include "notify/notification_filter.h"
#include "notify/notifier.h"
#include "pipeline/pipeline.h"
#include "rest/alertmanager_api.h"
#include "rest/alerts_api.h"
#include "rest/changes_api.h"
#include "rest/incidents_api.h"
#include "rest/maintenance_api.h"
#include "rest/notifications_api.h"
#include "rest/oncall_api.h"
#include "rest/sla_api.h"
#include "rest/stream_api.h"
#include "server/http_server.h"
#include "server/io_pool.h"
#include "store/postgres/pg_store.h"
#include "store/recovery.h"
#include "store/store.h"
#include "store/store_writer.h"
#include "stream/event_hub.h"
#include "triaged/api/json_writer.h"
#include "triaged/build_info.h"
#include "triaged/config/loader.h"
#include "triaged/config/reader.h"
#include "triaged/rules/rule_set.h"

namespace triaged::engine {

namespace asio = boost::asio;
using Steady = std::chrono::steady_clock;

namespace {

// What the Alertmanager API shows: its label mapping and the configuration file (redacted).
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

std::string rfc3339(std::chrono::system_clock::time_point tp) {
  std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string errorsJson(const config::ConfigErrors& errors) {
  std::string out;
  api::JsonWriter w(out);
  w.beginArray();
  for (const auto& e : errors) {
    w.beginObject().field("file", e.file).field("line", e.line).field("column", e.column);
    w.field("path", e.path).field("message", e.message).endObject();
  }
  w.endArray();
  return out;
}

class Daemon {
 public:
  Daemon(const DaemonOptions& opts, const api::PluginRegistry& plugins)
      : opts_(opts), plugins_(plugins), registry_(&hub_.registry()) {
    hub_.add(process_);
  }

  int run();

 private:
  void applyLogging(const config::Config& c) {
    log::setLevel(opts_.log_level.empty() ? c.logging.level : opts_.log_level);
  }
  void addCoreRoutes();
  // An input's acknowledgement (PagerDuty): the incident of that alert, if open.
  void acknowledgeAlert(uint64_t fingerprint, std::string actor, std::function<void(bool)> done);
  bool reload(std::string* error_detail);
  void onSignal(int sig);
  void shutdown();
  void drainTick();
  void watchdogTick();
  std::string statusJson() const;

  DaemonOptions opts_;
  const api::PluginRegistry& plugins_;
  api::MetricsHub hub_;
  prometheus::Registry* registry_;
  std::shared_ptr<ProcessCollector> process_ = std::make_shared<ProcessCollector>();
  std::shared_ptr<spdlog::logger> log_;
  config::ConfigPtr config_;  // owned by the control thread
  std::atomic<std::shared_ptr<const config::Config>> published_config_;
  std::atomic<int64_t> config_loaded_at_{0};
  asio::io_context ctrl_{1};
  std::unique_ptr<asio::signal_set> signals_;
  std::unique_ptr<asio::steady_timer> drain_timer_, watchdog_timer_;
  // Declared before the I/O pool: stream clients' handlers use it until the pool is gone.
  std::unique_ptr<EventHub> event_hub_;
  ConsoleRoutes console_;
  std::unique_ptr<IoPool> pool_;
  api::Router router_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HaNode> ha_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreWriter> store_writer_;
  std::unique_ptr<Notifier> notifier_;
  // The system clock, or (TRIAGED_TEST_CLOCK, tests only) a manual one moved by
  // POST /-/test/clock: then the daemon's time is exactly what a test says, as in replay.
  SystemClock system_clock_;
  ManualClock manual_clock_;
  const bool manual_ = std::getenv("TRIAGED_TEST_CLOCK") && *std::getenv("TRIAGED_TEST_CLOCK");
  const Clock& clock_ = manual_ ? static_cast<const Clock&>(manual_clock_) : system_clock_;
  void addTestClockRoute();
  std::unique_ptr<CorrelatorStage> correlator_;
  std::unique_ptr<AlertmanagerApi> alertmanager_api_;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::unique_ptr<api::Input>> inputs_;
  std::atomic<bool> ready_{false};
  bool shutting_down_ = false;
  Steady::time_point drain_deadline_;
  std::chrono::system_clock::time_point started_at_ = std::chrono::system_clock::now();
  Steady::time_point started_steady_ = Steady::now();
  prometheus::Gauge* reload_ok_ = nullptr;
  prometheus::Gauge* reload_ts_ = nullptr;
  prometheus::Gauge* ready_gauge_ = nullptr;
  // Watchdog: pings posted to every I/O context and answered there.
  std::vector<std::atomic<uint64_t>> pongs_ = std::vector<std::atomic<uint64_t>>(256);
  uint64_t ping_round_ = 0;
  uint64_t watchdog_usec_ = 0;
};

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

// POST /-/test/clock?to=<RFC 3339> (TRIAGED_TEST_CLOCK only): moves the manual clock forward
// and answers once everything due by then has happened: each shard has expired its alerts and
// handed the changes on, and the correlator has applied them and run its timers and the
// evaluator's at the new time.
void Daemon::addTestClockRoute() {
  using api::HttpResponse;
  router_.add({api::Verb::post, "/-/test/clock", api::RouteGroup::kAdmin,
               [this](const api::HttpRequest& req, api::Responder r) {
                 std::string to;
                 req.queryParam("to", to);
                 auto t = api::parseRfc3339(to);
                 if (!t || *t < manual_clock_.nowMs())
                   return r(HttpResponse::error(400, "invalid clock",
                                                "\"to: an RFC 3339 time not before now\""));
                 manual_clock_.set(*t);
                 pipeline_->expireNow();
                 auto respond = std::make_shared<api::Responder>(std::move(r));
                 auto left = std::make_shared<std::atomic<size_t>>(pipeline_->shards());
                 auto applied = [this, respond] {
                   // The first task runs after the shards' changes; the loop then runs the
                   // timers at the new time; the second task answers after that.
                   correlator_->run([this, respond](Correlator&, int64_t) {
                     correlator_->run([respond](Correlator&, int64_t now) {
                       (*respond)(HttpResponse::json(
                           200, "{\"now\":\"" + api::formatRfc3339Ms(now) + "\"}\n"));
                     });
                   });
                 };
                 for (size_t i = 0; i < pipeline_->shards(); ++i)
                   pipeline_->runOnShard(i, [left, applied](const AlertTable&) {
                     if (left->fetch_sub(1) == 1) applied();
                   });
               }});
}

void Daemon::acknowledgeAlert(uint64_t fingerprint, std::string actor,
                              std::function<void(bool)> done) {
  bool queued = correlator_->run(
      [this, fingerprint, actor = std::move(actor), done](Correlator& c, int64_t now) mutable {
        const CorrAlert* a = c.alert(fingerprint);
        const Incident* inc = a && a->incident ? c.incident(a->incident) : nullptr;
        if (!inc || inc->status != IncidentStatus::kOpen) return done(false);
        bool ok = c.acknowledge(inc->id, actor, now).empty();
        correlator_->whenDurable([done, ok] { done(ok); });
      });
  if (!queued) done(false);
}

void Daemon::addCoreRoutes() {
  using api::HttpResponse;
  using api::RouteGroup;
  using api::Verb;
  router_.add(
      {Verb::get, "/-/healthy", RouteGroup::kOpen, [](const api::HttpRequest&, api::Responder r) {
         r(HttpResponse::text(200, "triaged is healthy.\n"));
       }});
  router_.add(
      {Verb::get, "/-/ready", RouteGroup::kOpen, [this](const api::HttpRequest&, api::Responder r) {
         if (ready_.load() && !store_writer_->healthy())
           r(HttpResponse::text(503, "triaged is not ready: the state store cannot commit.\n"));
         else if (ready_.load())
           r(HttpResponse::text(200, "triaged is ready.\n"));
         else
           r(HttpResponse::text(503, "triaged is not ready.\n"));
       }});
  auto reload_handler = [this](const api::HttpRequest&, api::Responder r) {
    // Reloads run on the control thread, one at a time, like SIGHUP.
    asio::post(ctrl_, [this, r = std::move(r)] {
      std::string detail;
      if (reload(&detail))
        r(HttpResponse::json(200, "{\"status\":\"success\"}\n"));
      else
        r(HttpResponse::error(500, "failed to reload config", detail));
    });
  };
  router_.add({Verb::post, "/-/reload", RouteGroup::kAdmin, reload_handler});
  if (manual_) addTestClockRoute();
  router_.add({Verb::put, "/-/reload", RouteGroup::kAdmin, reload_handler});
  router_.add(
      {Verb::get, "/metrics", RouteGroup::kRead, [this](const api::HttpRequest&, api::Responder r) {
         auto res = HttpResponse::text(200, hub_.serialize());
         res.content_type = "text/plain; version=0.0.4; charset=utf-8";
         r(std::move(res));
       }});
  router_.add({Verb::get, "/api/v1/status", RouteGroup::kRead,
               [this](const api::HttpRequest&, api::Responder r) {
                 r(HttpResponse::json(200, statusJson()));
               }});
}

std::string Daemon::statusJson() const {
  auto c = published_config_.load();
  std::string out;
  api::JsonWriter w(out);
  double uptime = std::chrono::duration<double>(Steady::now() - started_steady_).count();
  w.beginObject();
  w.field("version", build::kVersion).field("revision", build::kGitCommit);
  w.key("build")
      .beginObject()
      .field("type", build::kBuildType)
      .field("compiler", build::kCompiler)
      .endObject();
  w.field("start_time", rfc3339(started_at_)).field("uptime_seconds", uptime);
  w.field("ready", ready_.load());
  w.key("config").beginObject();
  w.field("file", c->source_file.empty() ? std::string("<embedded defaults>") : c->source_file);
  w.field("hash", c->hash);
  w.field("loaded_at", rfc3339(std::chrono::system_clock::time_point(
                           std::chrono::seconds(config_loaded_at_.load()))));
  w.key("rule_files").beginArray();
  for (const auto& f : c->rule_files_resolved) w.value(f);
  w.endArray();
  w.endObject();
  w.endObject();
  out.push_back('\n');
  return out;
}

bool Daemon::reload(std::string* error_detail) {
  auto log = log::get("config");
  auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld", static_cast<long long>(now_us));
  config::ConfigPtr next;
  std::shared_ptr<const HttpSettings> settings;
  try {
    next = loadFullConfig(opts_.config_path, plugins_);
    settings = HttpSettings::fromConfig(*next);
  } catch (const config::ConfigException& e) {
    for (const auto& line : config::errorLines(e.errors())) log->error("{}", line);
    log->error("reload failed ({} errors); keeping the running configuration", e.errors().size());
    if (error_detail) *error_detail = errorsJson(e.errors());
    reload_ok_->Set(0);
    sd_notify(0, "READY=1\nSTATUS=reload failed; running the previous configuration");
    return false;
  } catch (const std::exception& e) {
    log->error("reload failed: {}; keeping the running configuration", e.what());
    if (error_detail) {
      error_detail->clear();
      api::appendJsonString(*error_detail, e.what());
    }
    reload_ok_->Set(0);
    sd_notify(0, "READY=1\nSTATUS=reload failed; running the previous configuration");
    return false;
  }
  // Settings bound at start-up keep their running values until a restart.
  auto warn_restart = [&](const char* key, bool changed) {
    if (changed) log->warn("{} changed; the new value takes effect after a restart", key);
  };
  warn_restart("server.listen", next->server.listen != config_->server.listen);
  warn_restart("server.io_threads", next->server.io_threads != config_->server.io_threads);
  warn_restart("server.tls (on/off)", next->server.tls.enabled() != config_->server.tls.enabled());
  warn_restart("state.directory", next->state.directory != config_->state.directory);
  warn_restart("pipeline.shards", next->pipeline.shards != config_->pipeline.shards);
  warn_restart("notifications.policies", Escalator::describe(next->notification_policies) !=
                                             Escalator::describe(config_->notification_policies));
  if (!config_->server.tls.enabled() || !next->server.tls.enabled()) {
    auto copy = std::make_shared<HttpSettings>(*settings);
    copy->tls = server_->settings()->tls;
    settings = copy;
  }
  // Inputs: the same list (names and types, in order) reconfigures in place; a changed list
  // needs a restart.
  bool same_inputs = next->inputs.size() == config_->inputs.size();
  for (size_t i = 0; same_inputs && i < next->inputs.size(); ++i)
    same_inputs = next->inputs[i].name == config_->inputs[i].name &&
                  next->inputs[i].type == config_->inputs[i].type;
  if (same_inputs) {
    for (size_t i = 0; i < inputs_.size(); ++i) inputs_[i]->reconfigure(next->inputs[i]);
  } else {
    log->warn(
        "inputs were added, removed or reordered; the running inputs keep their settings until a "
        "restart");
  }
  server_->setSettings(settings);
  event_hub_->setConfig(next->stream);
  console_.configure(next->console);
  warn_restart("stream.buffer_events", next->stream.buffer_events != config_->stream.buffer_events);
  correlator_->reload(next->rule_set,
                      CorrelatorOptions{next->correlation, next->state.retention.count(),
                                        next->state.sla_retention.count()});
  // The Alertmanager API's labels and configuration text follow; its receivers are the
  // targets the notifier runs (read at start).
  alertmanager_api_->configure(alertmanagerSettings(*next, alertmanager_api_->settings()->targets));
  config_ = next;
  published_config_.store(next);
  applyLogging(*next);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  config_loaded_at_ = now;
  reload_ok_->Set(1);
  reload_ts_->Set(static_cast<double>(now));
  log->info("configuration reloaded (hash {})", next->hash.substr(0, 12));
  sd_notify(0, "READY=1\nSTATUS=configuration reloaded");
  return true;
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

}  // namespace

int runDaemon(const DaemonOptions& opts, const api::PluginRegistry& plugins) {
  Daemon d(opts, plugins);
  return d.run();
}

}  // namespace triaged::engine
