// A node of an active/standby pair (ha.enabled, over the postgresql backend). Before the daemon
// builds its stages it waits here as a standby: it serves /-/healthy (200), /-/ready (503),
// /metrics and, for every other route, 503 with Retry-After and the leader's advertised URL
// (header X-Triaged-Leader and body), while it tries to take the lease. Once it holds the
// lease the daemon starts as today (recovering the state from the database); a thread renews
// the lease. A leader that loses it (renewal refused, or not renewed within the lease, or a
// commit fenced) becomes a standby at once: it executes itself again, so that nothing of the
// deposed leader's memory serves a request.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ha/lease.h"
#include "server/http_server.h"
#include "triaged/api/metrics_hub.h"
#include "triaged/config/config.h"

namespace triaged::engine {

class HaNode {
 public:
  // Connects to the lease (throws naming the server).
  HaNode(const config::Config& c, api::MetricsHub& hub);
  ~HaNode();

  // As a standby until the lease is ours (true) or SIGTERM/SIGINT came (false). Throws when
  // the listener cannot be bound.
  bool waitForLease(std::shared_ptr<const HttpSettings> settings);
  int64_t epoch() const { return epoch_; }
  // The leader's side: renews every ha.renew_interval until stop().
  void startRenewing();
  // A clean stop: gives the lease up so that a standby takes over without waiting.
  void stop();

  // Becomes a standby now: this process image again, with the same arguments (file
  // descriptors closed). Never returns.
  [[noreturn]] static void becomeStandby(const std::string& why);
  // Kept for becomeStandby (runMain calls it first).
  static void rememberArguments(int argc, char** argv);

 private:
  void renewLoop();
  config::HaConfig cfg_;
  config::ServerConfig server_;
  api::MetricsHub& hub_;
  std::unique_ptr<Lease> lease_;
  int64_t epoch_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread renewer_;
  prometheus::Family<prometheus::Gauge>*leader_family_, *epoch_family_;
  prometheus::Family<prometheus::Counter>* failovers_family_;
  prometheus::Family<prometheus::Histogram>* renew_family_;
  prometheus::Gauge *leader_, *epoch_gauge_;
  prometheus::Counter* failovers_;
  prometheus::Histogram* renew_seconds_;
};

}  // namespace triaged::engine
