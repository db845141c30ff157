// The daemon's object, shared by its two source files: daemon.cpp (start-up, the control
// loop, shutdown) and daemon_control.cpp (its own HTTP routes, /api/v1/status, reload). Private
// to app/; the rest of the program sees daemon.h.
#pragma once

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/daemon.h"
#include "app/ha_node.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "console/console_routes.h"
#include "correlate/correlator_stage.h"
#include "notify/notifier.h"
#include "pipeline/pipeline.h"
#include "rest/alertmanager_api.h"
#include "server/http_server.h"
#include "server/io_pool.h"
#include "store/store.h"
#include "store/store_writer.h"
#include "stream/event_hub.h"
#include "triaged/config/reader.h"

namespace triaged::engine {

namespace asio = boost::asio;
using Steady = std::chrono::steady_clock;

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

// What the Alertmanager API shows: its label mapping and the configuration file (redacted).
AlertmanagerApi::Settings alertmanagerSettings(const config::Config& c,
                                               std::vector<config::NotificationTarget> targets);

}  // namespace triaged::engine
