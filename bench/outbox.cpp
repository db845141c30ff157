// Outbox delivery: the real store writer (SQLite outbox), the real notifier (libcurl multi,
// the generic webhook plugin) and a receiver on 127.0.0.1 (the engine's own HTTP server) that
// checks every request: one Idempotency-Key per entry, events of an incident in order.
//   Throughput: N entries over M incidents committed at once; the time until the receiver has
//   them all is the delivery rate.
//   Outage (--outage S): the receiver is down for S seconds (new connections refused, open
//   ones answered 503 and closed) while entries keep coming at --rate per second; then it comes
//   back, and the time until every entry is delivered is the catch-up.
// In the end the outbox table must be empty. Exit 1 on any loss, reordering or leftover.
//   --type ticket: the same through a two-way ticket target (the first entry of an incident
//   creates its ticket, POST /hook answered with its id; the others update it, PUT /hook/<id>).
// Usage: triaged-outbox [--notifications 200000] [--incidents 10000] [--concurrency 4]
//                       [--outage 0] [--rate 1000] [--circuit-open-for 30] [--type webhook]
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "builtin_plugins.h"
#include "common/log.h"
#include "notify/notifier.h"
#include "server/http_server.h"
#include "server/io_pool.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_writer.h"

using namespace triaged;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

double since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

// What the receiver saw. Touched on its one I/O thread; read under the mutex.
struct Tally {
  std::mutex mu;
  std::condition_variable cv;
  std::unordered_set<uint64_t> keys;                // distinct entries delivered
  std::unordered_map<uint64_t, uint64_t> last_seq;  // incident -> last sequence number seen
  uint64_t requests = 0, duplicates = 0, out_of_order = 0, refused = 0;
};

uint64_t field(std::string_view body, std::string_view key) {
  size_t p = body.find(key);
  return p == std::string_view::npos ? 0 : std::strtoull(body.data() + p + key.size(), nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"triaged outbox delivery benchmark"};
  uint64_t notifications = 200'000, incidents = 10'000, rate = 1000;
  unsigned concurrency = 4;
  double outage = 0, open_for = 30;
  std::string type = "webhook";
  app.add_option("--notifications", notifications, "entries of the throughput run");
  app.add_option("--incidents", incidents,
                 "incidents the entries are about (order is checked per incident)");
  app.add_option("--concurrency", concurrency, "requests in flight (the target's concurrency)");
  app.add_option("--outage", outage, "seconds the receiver is down (0: no outage run)");
  app.add_option("--rate", rate, "entries per second written during the outage");
  app.add_option("--circuit-open-for", open_for, "the target's circuit_open_for, seconds");
  app.add_option("--type", type, "webhook | ticket (two-way tickets: create, then update)")
      ->check(CLI::IsMember({"webhook", "ticket"}));
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  engine::log::setup("error", "text");
  std::string dir =
      (fs::temp_directory_path() / ("triaged-outbox-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);

  // The receiver.
  Tally tally;
  std::atomic<bool> down{false};
  engine::IoPool pool(1);
  api::Router router;
  auto receive = [&](const api::HttpRequest& q, api::Responder r) {
    if (down.load(std::memory_order_acquire)) {
      auto res = api::HttpResponse::text(503, "down");
      res.close = true;
      std::lock_guard<std::mutex> l(tally.mu);
      ++tally.refused;
      return r(std::move(res));
    }
    std::string_view key = q.header("Idempotency-Key");
    uint64_t id = key.size() > 8 ? std::strtoull(key.data() + 8, nullptr, 10) : 0;
    uint64_t incident = field(*q.body, "\"id\":"), seq = field(*q.body, "\"seq\":");
    {
      std::lock_guard<std::mutex> l(tally.mu);
      ++tally.requests;
      if (!tally.keys.insert(id).second) {
        ++tally.duplicates;  // at-least-once: allowed, counted
      } else {
        auto& last = tally.last_seq[incident];
        if (seq <= last) ++tally.out_of_order;
        last = seq;
      }
    }
    tally.cv.notify_all();
    // A ticket's id: its incident's (what a two-way target reads back).
    r(api::HttpResponse::json(200, "{\"id\":" + std::to_string(incident) + "}"));
  };
  router.add({api::Verb::post, "/hook", api::RouteGroup::kOpen, receive});
  router.add({api::Verb::put, "/hook/{id}", api::RouteGroup::kOpen, receive});
  config::Config server_cfg;
  server_cfg.server.max_connections = 1024;
  prometheus::Registry server_registry;
  auto server = std::make_unique<engine::HttpServer>(pool, router, server_registry);
  server->setSettings(engine::HttpSettings::fromConfig(server_cfg));
  uint16_t port = server->listen("127.0.0.1", 0);
  pool.start();
  server->startAccepting();

  // The store and the notifier, as the daemon wires them.
  auto plugins = plugins::builtinPlugins();
  api::MetricsHub hub;
  engine::SystemClock clock;
  engine::SqliteStore store(dir);
  engine::StoreWriter writer(store, {}, clock, hub);
  config::NotificationTarget target;
  target.name = "hook";
  target.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  target.concurrency = concurrency;
  if (type == "ticket") {
    target.type = "ticket";
    target.url = "http://127.0.0.1:" + std::to_string(port);
    target.ticket_id_pointer = "/id";
    const char* body = R"({"incident": {"id": {{incident.id}}}, "seq": {{seq}}})";
    target.ticket_actions = {{"create", {"", "/hook", body}},
                             {"update", {"", "/hook/{{ticket.id}}", body}}};
  }
  target.circuit_open_for = std::chrono::milliseconds(static_cast<int64_t>(open_for * 1000));
  engine::Notifier notifier({target}, plugins, writer, clock, hub);
  writer.onOutbox([&](std::vector<engine::OutboxEntry> v) { notifier.enqueue(std::move(v)); });
  writer.start();
  notifier.start();

  uint64_t written = 0;
  std::vector<uint64_t> seq(incidents + 1, 0);
  // Writes n entries in units of up to 1000 (as the correlator's rounds do).
  auto produce = [&](uint64_t n) {
    while (n > 0) {
      engine::StoreUnit u;
      for (uint64_t k = 0; k < 1000 && n > 0; ++k, --n, ++written) {
        uint64_t inc = 1 + written % incidents;
        engine::OutboxEntry e;
        e.target = "hook";
        e.created_ms = clock.nowMs();
        e.subject = "incident " + std::to_string(inc);
        e.event = "incident.updated";
        e.body = R"({"event":"incident.updated","incident":{"id":)" + std::to_string(inc) +
                 R"(},"seq":)" + std::to_string(++seq[inc]) + "}";
        u.outbox.push_back(std::move(e));
      }
      writer.submit(std::move(u));
    }
  };
  auto waitDelivered = [&](double timeout_s) {
    std::unique_lock<std::mutex> l(tally.mu);
    return tally.cv.wait_for(l, std::chrono::duration<double>(timeout_s),
                             [&] { return tally.keys.size() >= written; });
  };
  bool ok = true;

  // 1. Throughput.
  if (notifications > 0) {
    auto t = Steady::now();
    produce(notifications);
    double committed = since(t);
    if (!waitDelivered(600)) ok = false;
    double total = since(t);
    std::printf(
        "throughput: %llu notifications over %llu incidents, concurrency %u: written in %.2f s, "
        "delivered in %.2f s = %.0f notifications/s\n",
        (unsigned long long)notifications, (unsigned long long)incidents, concurrency, committed,
        total, static_cast<double>(notifications) / total);
  }

  // 2. Outage and catch-up.
  if (outage > 0) {
    down = true;
    server->stopAccepting();
    auto t = Steady::now();
    uint64_t before = written;
    while (since(t) < outage) {
      auto tick = Steady::now();
      produce(rate / 10);
      std::this_thread::sleep_until(tick + std::chrono::milliseconds(100));  // the arrival rate
    }
    uint64_t backlog = written - before;
    {
      std::lock_guard<std::mutex> l(tally.mu);
      std::printf(
          "outage: receiver down %.0f s while %llu entries were written (%llu/s); %llu attempts "
          "refused "
          "with 503 before the connections closed, %zu delivered of %llu\n",
          since(t), (unsigned long long)backlog, (unsigned long long)rate,
          (unsigned long long)tally.refused, tally.keys.size(), (unsigned long long)written);
    }
    server->listen("127.0.0.1", port);
    down = false;
    server->startAccepting();
    auto up = Steady::now();
    if (!waitDelivered(600)) ok = false;
    std::printf(
        "catch-up: all %llu delivered %.2f s after the receiver came back (circuit_open_for %.1f "
        "s)\n",
        (unsigned long long)backlog, since(up), open_for);
  }

  notifier.stop();
  std::promise<void> flushed;
  writer.barrier([&] { flushed.set_value(); });
  flushed.get_future().wait();
  writer.stop();
  int64_t left = -1;
  {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(store.handle(), "SELECT count(*) FROM outbox", -1, &st, nullptr);
    if (sqlite3_step(st) == SQLITE_ROW) left = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  server->stopAccepting();
  pool.stop();
  pool.shutdown();
  {
    std::lock_guard<std::mutex> l(tally.mu);
    std::printf(
        "checks: %llu written, %zu delivered, %llu requests, %llu duplicates, %llu out of order, "
        "%lld left in the outbox\n",
        (unsigned long long)written, tally.keys.size(), (unsigned long long)tally.requests,
        (unsigned long long)tally.duplicates, (unsigned long long)tally.out_of_order,
        (long long)left);
    ok = ok && tally.keys.size() == written && tally.out_of_order == 0 && left == 0;
  }
  fs::remove_all(dir);
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
