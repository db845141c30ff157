// The notifier against a real receiver on 127.0.0.1 (the engine's own HTTP server): events of
// different incidents go out concurrently, but never two of one incident at once nor one ahead
// of an earlier one of the same incident; each request carries its entry's Idempotency-Key.
// And which events a target takes, and how they are signed.
#include "notify/notifier.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

#include "builtin_plugins.h"
#include "notify/notification_filter.h"
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

TEST_CASE(
    "Notification targets filter by event, priority and matchers, signatures are HMAC-SHA256 of "
    "t.body",
    "[notifier]") {
  config::NotificationTarget t;
  t.min_priority = 2;
  engine::Incident p1, p3;
  p1.priority = 1;
  p1.service = "db";
  p1.category = "database";
  p3.priority = 3;
  {
    engine::NotificationFilter f(t);
    CHECK(f.accepts("incident.opened", &p1));
    CHECK_FALSE(f.accepts("incident.opened", &p3));
    CHECK(f.accepts("problem.opened", nullptr));  // problems have no priority
  }
  t.events = {"incident.resolved"};
  {
    engine::NotificationFilter f(t);
    CHECK_FALSE(f.accepts("incident.opened", &p1));
    CHECK(f.accepts("incident.resolved", &p1));
  }
  t.events.clear();
  t.matchers = {R"(service=~"db|cache")", R"(category!="network")"};
  REQUIRE(engine::NotificationFilter::check(t.matchers).empty());
  {
    engine::NotificationFilter f(t);
    CHECK(f.accepts("incident.opened", &p1));
    p1.service = "web";
    CHECK_FALSE(f.accepts("incident.opened", &p1));
    CHECK_FALSE(f.accepts("problem.opened", nullptr));  // no service: "" does not match
  }
  t.matchers = {R"(priority="1")"};
  {
    engine::NotificationFilter f(t);
    CHECK(f.accepts("incident.opened", &p1));
    p1.priority = 2;
    CHECK_FALSE(f.accepts("incident.opened", &p1));
  }
  auto errors =
      engine::NotificationFilter::check({R"(service="a")", R"(team="ops")", R"(service=~"(")"});
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].first == 1);
  CHECK(errors[0].second.find("unknown field \"team\"") != std::string::npos);
  CHECK(errors[1].first == 2);
  // The same value as Python's hmac.new(b"s3cret", b'1767225600.{"a":1}', sha256).hexdigest().
  CHECK(engine::Notifier::signature("s3cret", 1767225600, R"({"a":1})") ==
        "t=1767225600,v1=7d4120fcebf444efab10ba7cd6c651bf463cefb039db5fad37ff9f7231ac8a4a");
}
