#include "app/ha_node.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <vector>

#include "app/early_signals.h"
#include "common/log.h"
#include "server/io_pool.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

namespace {

std::vector<std::string>& arguments() {
  static std::vector<std::string> args;
  return args;
}

// Who holds the lease, for the standby's answers (the I/O thread reads, the lease loop writes).
struct Leader {
  std::mutex mu;
  LeaseHolder holder;
  LeaseHolder get() {
    std::lock_guard l(mu);
    return holder;
  }
};

}  // namespace

void HaNode::rememberArguments(int argc, char** argv) { arguments().assign(argv, argv + argc); }

void HaNode::becomeStandby(const std::string& why) {
  log::get("ha")->critical("{}: becoming a standby (starting again as one)", why);
  sd_notify(0, "STATUS=lost the lease: becoming a standby");
  std::fflush(nullptr);
  // Every descriptor but the standard three closes on exec: the listener is bound again by the
  // new image.
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::atoi(e.path().filename().c_str());
    if (fd > 2) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  std::vector<char*> argv;
  for (auto& a : arguments()) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Handlers do not survive exec but a blocked signal stays pending: a SIGTERM sent while the
  // new image loads (under ASan, a good part of a second) is caught once it can be
  // (catchEarlySignals unblocks it), instead of killing it with the default action.
  holdStops();
  execv("/proc/self/exe", argv.data());
  catchEarlySignals();
  log::get("ha")->critical("cannot execute myself again ({}); exiting", std::strerror(errno));
  std::_Exit(75);  // EX_TEMPFAIL: systemd restarts us (as a standby)
}

HaNode::HaNode(const config::Config& c, api::MetricsHub& hub)
    : cfg_(c.ha), server_(c.server), hub_(hub) {
  lease_ =
      std::make_unique<Lease>(c.state.postgresql, cfg_.node, cfg_.advertise_url,
                              std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.lease));
  auto& reg = hub.registry();
  leader_family_ = &prometheus::BuildGauge()
                        .Name("triaged_ha_leader")
                        .Help("1 while this node holds the lease and serves, 0 as a standby.")
                        .Register(reg);
  leader_ = &leader_family_->Add({{"node", cfg_.node}});
  epoch_family_ = &prometheus::BuildGauge()
                       .Name("triaged_ha_epoch")
                       .Help(
                           "The lease's epoch as this node last saw it (raised by each "
                           "takeover).")
                       .Register(reg);
  epoch_gauge_ = &epoch_family_->Add({});
  failovers_family_ = &prometheus::BuildCounter()
                           .Name("triaged_ha_failovers_total")
                           .Help("Times this node took the lease over from another node.")
                           .Register(reg);
  failovers_ = &failovers_family_->Add({});
  renew_family_ = &prometheus::BuildHistogram()
                       .Name("triaged_ha_lease_renew_seconds")
                       .Help("Time to renew the lease in the database.")
                       .Register(reg);
  renew_seconds_ = &renew_family_->Add(
      {}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
}

HaNode::~HaNode() { stop(); }

bool HaNode::waitForLease(std::shared_ptr<const HttpSettings> settings) {
  using api::HttpResponse;
  Leader leader;
  int64_t got = lease_->tryAcquire(leader.holder);
  epoch_gauge_->Set(static_cast<double>(leader.holder.epoch));
  auto took = [&](int64_t e, const LeaseHolder& before) {
    epoch_ = e;
    leader_->Set(1);
    epoch_gauge_->Set(static_cast<double>(e));
    if (e > 1 && before.node != cfg_.node) failovers_->Increment();
    log::get("ha")->info("node {} holds the lease (epoch {}); starting as the leader", cfg_.node,
                         e);
  };
  if (got) {
    took(got, LeaseHolder{});
    return true;
  }
  LeaseHolder before = leader.holder;
  log::get("ha")->info("node {} is a standby: {} ({}) holds the lease (epoch {})", cfg_.node,
                       leader.holder.node, leader.holder.url, leader.holder.epoch);
  leader_->Set(0);

  api::Router router;
  router.add({api::Verb::get, "/-/healthy", api::RouteGroup::kOpen,
              [](const api::HttpRequest&, api::Responder r) {
                r(HttpResponse::text(200, "triaged is healthy (a standby).\n"));
              }});
  auto unavailable = [&leader](const char* what) {
    LeaseHolder h = leader.get();
    std::string body;
    api::JsonWriter w(body);
    w.beginObject()
        .field("status", "error")
        .field("error", what)
        .field("leader", h.url)
        .field("leader_node", h.node)
        .endObject();
    auto res = HttpResponse::json(503, body);
    res.headers.emplace_back("Retry-After", "1");
    if (!h.url.empty()) res.headers.emplace_back("X-Triaged-Leader", h.url);
    return res;
  };
  router.add({api::Verb::get, "/-/ready", api::RouteGroup::kOpen,
              [&](const api::HttpRequest&, api::Responder r) {
                r(unavailable("a standby; the leader serves"));
              }});
  router.add({api::Verb::get, "/metrics", api::RouteGroup::kRead,
              [this](const api::HttpRequest&, api::Responder r) {
                auto res = HttpResponse::text(200, hub_.serialize());
                res.content_type = "text/plain; version=0.0.4; charset=utf-8";
                r(std::move(res));
              }});
  router.setFallback({api::Verb::get, "", api::RouteGroup::kOpen,
                      [&](const api::HttpRequest&, api::Responder r) {
                        r(unavailable("a standby; send this to the leader"));
                      },
                      "standby"});
  // Signals first: once READY=1 is out, a stop request must find its handler.
  boost::asio::io_context ctrl;
  boost::asio::signal_set signals(ctrl, SIGTERM, SIGINT);
  prometheus::Registry own;  // the standby server's own metrics, not exported
  IoPool pool(1);
  auto server = std::make_unique<HttpServer>(pool, router, own);
  server->setSettings(std::move(settings));
  uint16_t port = server->listen(server_.host, server_.port);
  server->startAccepting();
  pool.start();
  std::string status =
      "READY=1\nSTATUS=listening on " + server_.host + ":" + std::to_string(port) + " (a standby)";
  sd_notify(0, status.c_str());

  bool acquired = false, stop_asked = false;
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    stop_asked = true;
    noteEarlyStop(sig);
    ctrl.stop();
  });
  if (earlyStopSignal()) ctrl.stop();  // asked to stop before the handler above was up
  boost::asio::steady_timer timer(ctrl);
  // Tries again at the renewal interval, or just after the lease expires if that is sooner
  // (an unreachable database: at the interval).
  std::function<void(std::chrono::milliseconds)> tick = [&](std::chrono::milliseconds wait) {
    timer.expires_after(wait);
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec || acquired) return;
      auto next = cfg_.renew_interval;
      try {
        LeaseHolder h;
        if (int64_t e = lease_->tryAcquire(h)) {
          took(e, before);
          acquired = true;
          ctrl.stop();
          return;
        }
        {
          std::lock_guard l(leader.mu);
          leader.holder = h;
        }
        epoch_gauge_->Set(static_cast<double>(h.epoch));
        next = nextLeaseAttempt(h, cfg_.renew_interval);
      } catch (const std::exception& e) {
        log::get("ha")->warn("lease: {}", e.what());
      }
      tick(next);
    });
  };
  tick(nextLeaseAttempt(leader.get(), cfg_.renew_interval));
  ctrl.run();
  // From here until the daemon's own handlers are up, a stop is held pending (the signal_set's
  // end restores the default action); one asio caught as the lease came is run and remembered.
  holdStops();
  if (!stop_asked) {
    ctrl.restart();
    ctrl.poll();
  }
  server->stopAccepting();
  pool.stop();
  pool.shutdown();
  server.reset();
  return acquired;
}

void HaNode::startRenewing() {
  renewer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "triaged-lease");
    renewLoop();
  });
}

void HaNode::renewLoop() {
  auto last_ok = std::chrono::steady_clock::now();
  std::unique_lock l(mu_);
  while (!cv_.wait_for(l, cfg_.renew_interval, [this] { return stopping_; })) {
    l.unlock();
    auto t0 = std::chrono::steady_clock::now();
    try {
      if (!lease_->renew(epoch_))
        becomeStandby("the lease of epoch " + std::to_string(epoch_) + " was taken over");
      last_ok = std::chrono::steady_clock::now();
      renew_seconds_->Observe(std::chrono::duration<double>(last_ok - t0).count());
    } catch (const std::exception& e) {
      log::get("ha")->warn("renewing the lease: {}", e.what());
      // Not renewed within the lease: another node may hold it now.
      if (std::chrono::steady_clock::now() - last_ok >= cfg_.lease)
        becomeStandby(
            "the lease could not be renewed for " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.lease).count()) +
            " ms");
    }
    l.lock();
  }
}

void HaNode::stop() {
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  if (epoch_) lease_->release(epoch_);
  leader_->Set(0);
}

}  // namespace triaged::engine
