// The notifier against a real receiver on 127.0.0.1 (the engine's own HTTP server): events of
// different incidents go out concurrently, but never two of one incident at once nor one ahead
// of an earlier one of the same incident; each request carries its entry's Idempotency-Key.
#include "notify/notifier.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

#include "builtin_plugins.h"
#include "server/http_server.h"
#include "server/io_pool.h"
#include "temp_config.h"
#include "test_store.h"

using namespace triaged;

namespace {

// Records what arrives; holds incident 1's first request until the test releases it. The two
// incidents' first requests travel on connections of their own, so either may arrive first.
struct Receiver {
  engine::IoPool pool{1};
  api::Router router;
  prometheus::Registry registry;
  std::unique_ptr<engine::HttpServer> server;
  uint16_t port = 0;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::string>> got;  // (body, idempotency key)
  api::Responder held;
  bool holding_done = false;

  Receiver() {
    router.add({api::Verb::post, "/hook", api::RouteGroup::kOpen,
                [this](const api::HttpRequest& q, api::Responder r) {
                  std::lock_guard lock(mu);
                  got.emplace_back(*q.body, std::string(q.header("Idempotency-Key")));
                  if (!holding_done &&
                      q.body->find(R"("incident":{"id":1})") != std::string::npos) {
                    holding_done = true;
                    held = std::move(r);  // incident 1's first event stays in flight
                  } else
                    r(api::HttpResponse::text(200, "ok"));
                  cv.notify_all();
                }});
    server = std::make_unique<engine::HttpServer>(pool, router, registry);
    server->setSettings(engine::HttpSettings::fromConfig(config::Config{}));
    port = server->listen("127.0.0.1", 0);
    pool.start();
    server->startAccepting();
  }
  ~Receiver() {
    server->stopAccepting();
    held = nullptr;
    pool.stop();
    pool.shutdown();  // connections end while the server is still alive
  }
  // Waits (bounded) until n requests arrived.
  bool waitFor(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return got.size() >= n; });
  }
};

engine::OutboxEntry entry(uint64_t id, uint64_t incident, const std::string& event) {
  engine::OutboxEntry e;
  e.id = id;
  e.target = "hook";
  e.created_ms = engine::SystemClock().nowMs();  // within max_age
  e.subject = "incident " + std::to_string(incident);
  e.event = event;
  e.body = R"({"event":")" + event + R"(","incident":{"id":)" + std::to_string(incident) + "}}";
  return e;
}

}  // namespace

TEST_CASE("Notifier: incidents in parallel, each incident's events in order, one at a time",
          "[notify]") {
  Receiver rx;
  auto dir = testing::tempDir("notifier");
  auto store = testing::openStore(dir);
  engine::SystemClock clock;
  api::MetricsHub hub;
  engine::StoreWriter writer(*store, {}, clock, hub);
  writer.start();
  config::NotificationTarget t;
  t.name = "hook";
  t.url = "http://127.0.0.1:" + std::to_string(rx.port) + "/hook";
  t.concurrency = 4;
  auto plugins = plugins::builtinPlugins();
  engine::Notifier n({t}, plugins, writer, clock, hub);
  n.start();
  n.enqueue({entry(1, 1, "incident.opened"), entry(2, 1, "incident.acknowledged"),
             entry(3, 2, "incident.opened")});
  // Incident 2's event goes out while incident 1's first is still in flight ...
  REQUIRE(rx.waitFor(2));
  {
    std::lock_guard lock(rx.mu);
    REQUIRE(rx.got.size() == 2);  // ... and incident 1's second has not been sent meanwhile
    REQUIRE(rx.held);             // incident 1's first is one of the two (in either order)
    for (const auto& [body, key] : rx.got) CHECK(body.find("incident.opened") != std::string::npos);
    CHECK(rx.got[0].first != rx.got[1].first);
    rx.held(api::HttpResponse::text(200, "ok"));
  }
  // Once the first is answered, incident 1's next event follows.
  REQUIRE(rx.waitFor(3));
  std::lock_guard lock(rx.mu);
  REQUIRE(rx.got.size() == 3);
  CHECK(rx.got[2].first.find("incident.acknowledged") != std::string::npos);
  // One Idempotency-Key per entry, stable (the outbox id).
  CHECK(rx.got[0].second != rx.got[1].second);
  CHECK(rx.got[0].second != rx.got[2].second);
  CHECK_FALSE(rx.got[2].second.empty());
  n.stop();
  writer.stop();
  std::filesystem::remove_all(dir);
}
