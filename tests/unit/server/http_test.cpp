#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "http_client.h"
#include "server/http_server.h"
#include "triaged/config/config.h"
#include "triaged/config/loader.h"

using namespace triaged;
using test::Client;

namespace {

// A real server on 127.0.0.1, an ephemeral port and one I/O thread.
struct Fixture {
  engine::IoPool pool{1};
  api::Router router;
  prometheus::Registry registry;
  std::unique_ptr<engine::HttpServer> server;
  uint16_t port = 0;
  std::thread worker;   // answers /deferred from another thread
  api::Responder held;  // /hold keeps its request in flight until the test answers it
  std::promise<void> held_promise;

  explicit Fixture(config::Config cfg = makeConfig()) {
    router.add({api::Verb::get, "/hello", api::RouteGroup::kRead,
                [](const api::HttpRequest&, api::Responder r) {
                  r(api::HttpResponse::text(200, "hello"));
                }});
    router.add({api::Verb::post, "/size", api::RouteGroup::kIngest,
                [](const api::HttpRequest& q, api::Responder r) {
                  r(api::HttpResponse::text(200, std::to_string(q.body->size())));
                }});
    router.add(
        {api::Verb::post, "/hash", api::RouteGroup::kIngest,
         [](const api::HttpRequest& q, api::Responder r) {
           r(api::HttpResponse::text(200, std::to_string(std::hash<std::string>{}(*q.body))));
         }});
    router.add(
        {api::Verb::post, "/spare", api::RouteGroup::kIngest,
         [](const api::HttpRequest& q, api::Responder r) {
           r(api::HttpResponse::text(200, std::to_string(q.body->capacity() - q.body->size())));
         }});
    router.add(
        {api::Verb::post, "/-/reload", api::RouteGroup::kAdmin,
         [](const api::HttpRequest&, api::Responder r) { r(api::HttpResponse::text(200, "ok")); }});
    router.add({api::Verb::get, "/deferred", api::RouteGroup::kOpen,
                [this](const api::HttpRequest&, api::Responder r) {
                  worker =
                      std::thread([r = std::move(r)] { r(api::HttpResponse::text(202, "later")); });
                }});
    router.add({api::Verb::get, "/hold", api::RouteGroup::kOpen,
                [this](const api::HttpRequest&, api::Responder r) {
                  held = std::move(r);
                  held_promise.set_value();
                }});
    router.add({api::Verb::get, "/dropped", api::RouteGroup::kOpen,
                [](const api::HttpRequest&, api::Responder) {}});
    router.add({api::Verb::get, "/items/{id}", api::RouteGroup::kOpen,
                [](const api::HttpRequest& q, api::Responder r) {
                  std::string v;
                  q.queryParam("x", v);
                  r(api::HttpResponse::text(200, std::string(q.param("id")) + "|" + v));
                }});
    server = std::make_unique<engine::HttpServer>(pool, router, registry);
    server->setSettings(engine::HttpSettings::fromConfig(cfg));
    port = server->listen("127.0.0.1", 0);
    pool.start();
    server->startAccepting();
  }
  ~Fixture() {
    server->stopAccepting();
    held = nullptr;
    pool.stop();  // the worker may hold the last reference to a connection
    if (worker.joinable()) worker.join();
    pool.shutdown();  // connections end while the server is still alive
  }
  static config::Config makeConfig() {
    config::Config c;
    c.server.max_header_bytes = 2048;
    c.server.max_body_bytes = 1000;
    c.server.header_timeout = std::chrono::milliseconds(300);
    c.server.body_timeout = std::chrono::milliseconds(300);
    c.server.idle_timeout = std::chrono::milliseconds(400);
    c.server.max_connections = 4;
    c.auth.admin.bearer_tokens = {"s3cret", "rotated"};
    return c;
  }
  double rejected(const std::string& reason) {
    for (const auto& f : registry.Collect())
      if (f.name == "triaged_http_rejected_total")
        for (const auto& m : f.metric)
          if (m.label[0].value == reason) return m.counter.value;
    return -1;
  }
};

}  // namespace

TEST_CASE("Keep-alive serves several requests on one connection", "[http]") {
  Fixture f;
  Client c(f.port);
  for (int i = 0; i < 3; ++i) {
    auto r = c.request("GET", "/hello");
    CHECK(r.status == 200);
    CHECK(r.body == "hello");
  }
}

TEST_CASE("Pipelined requests are answered in order", "[http]") {
  Fixture f;
  Client c(f.port);
  c.send(
      "GET /hello HTTP/1.1\r\nHost: t\r\n\r\nPOST /size HTTP/1.1\r\nHost: t\r\nContent-Length: "
      "3\r\n\r\nabc"
      "GET /items/7?x=a%20b HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(c.read().body == "hello");
  CHECK(c.read().body == "3");
  CHECK(c.read().body == "7|a b");
}

TEST_CASE("A body over the limit gets 413 and is counted", "[http][limits]") {
  Fixture f;
  Client c(f.port);
  auto r = c.request("POST", "/size", std::string(1001, 'x'));
  CHECK(r.status == 413);
  CHECK(r.body.find("\"error\":\"payload too large\"") != std::string::npos);
  CHECK(f.rejected("body_too_large") == 1);
  // At the limit is fine.
  Client c2(f.port);
  CHECK(c2.request("POST", "/size", std::string(1000, 'x')).body == "1000");
}

TEST_CASE("A body sent with a Content-Length has room for the parsers' padding", "[http][limits]") {
  Fixture f;
  Client c(f.port);
  for (size_t size : {1UL, 100UL, 1000UL}) {
    auto r = c.request("POST", "/spare", std::string(size, 'x'));
    REQUIRE(r.status == 200);
    CHECK(std::stoul(r.body) >= api::kBodyPadding);
  }
}

TEST_CASE("Large bodies, pipelined, are read whole and in order", "[http][limits]") {
  auto cfg = Fixture::makeConfig();
  cfg.server.max_body_bytes = 4 << 20;
  Fixture f(cfg);
  Client c(f.port);
  // Bodies whose every byte depends on its place: a byte out of place changes the hash.
  auto body = [](size_t size) {
    std::string b(size, '\0');
    for (size_t i = 0; i < size; ++i) b[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    return b;
  };
  auto hash = [](const std::string& b) { return std::to_string(std::hash<std::string>{}(b)); };
  std::string wire;
  const std::vector<size_t> sizes = {3'000'000, 70'000, 5'000};  // the first in several steps
  for (size_t size : sizes)
    wire += "POST /hash HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(size) +
            "\r\n\r\n" + body(size);
  c.send(wire + "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  for (size_t size : sizes) CHECK(c.read().body == hash(body(size)));
  CHECK(c.read().body == "hello");
  // And again on the same connection, one at a time, after it went idle.
  CHECK(c.request("POST", "/hash", body(100'000)).body == hash(body(100'000)));
}

TEST_CASE("A chunked body is read whole, and the request after it on the same connection",
          "[http][limits]") {
  auto cfg = Fixture::makeConfig();
  cfg.server.max_body_bytes = 1 << 20;
  Fixture f(cfg);
  Client c(f.port);
  std::string wire = "POST /size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t size : {30'000UL, 70'000UL, 1UL}) {
    char head[32];
    std::snprintf(head, sizeof head, "%zx\r\n", size);
    wire += head + std::string(size, 'x') + "\r\n";
  }
  c.send(wire + "0\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(c.read().body == "100001");
  CHECK(c.read().body == "hello");
}

TEST_CASE("Headers over the limit get 431", "[http][limits]") {
  Fixture f;
  Client c(f.port);
  auto r = c.request("GET", "/hello", "", "X-Big: " + std::string(3000, 'a') + "\r\n");
  CHECK(r.status == 431);
  CHECK(f.rejected("header_too_large") == 1);
}

TEST_CASE("A client that sends headers too slowly gets 408", "[http][limits]") {
  Fixture f;
  Client c(f.port);
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\n");  // and never the blank line
  auto r = c.read();                             // the server's header timeout (300 ms) ends it
  CHECK(r.status == 408);
  CHECK(f.rejected("header_timeout") == 1);
}

TEST_CASE("A client that stalls in the body gets 408", "[http][limits]") {
  Fixture f;
  Client c(f.port);
  c.send("POST /size HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  CHECK(c.read().status == 408);
  CHECK(f.rejected("body_timeout") == 1);
}

TEST_CASE("An idle keep-alive connection is closed silently after the idle timeout",
          "[http][limits]") {
  Fixture f;
  Client c(f.port);
  CHECK(c.request("GET", "/hello").status == 200);
  CHECK(c.closedByPeer());
  CHECK(f.rejected("idle_timeout") == 1);
}

TEST_CASE("Connections beyond the limit get 503", "[http][limits]") {
  Fixture f;
  std::vector<std::unique_ptr<Client>> open;
  for (int i = 0; i < 4; ++i) {
    open.push_back(std::make_unique<Client>(f.port));
    CHECK(open.back()->request("GET", "/hello").status == 200);
  }
  Client extra(f.port);
  auto r = extra.read();
  CHECK(r.status == 503);
  CHECK(f.rejected("connection_limit") == 1);
  open.pop_back();  // frees a place (the server sees the close)
  CHECK(open.back()->request("GET", "/hello").status == 200);
}

TEST_CASE("Admin routes need one of the configured bearer tokens", "[http][auth]") {
  Fixture f;
  CHECK(Client(f.port).request("POST", "/-/reload").status == 401);
  CHECK(Client(f.port).request("POST", "/-/reload", "", "Authorization: Bearer wrong\r\n").status ==
        401);
  CHECK(
      Client(f.port).request("POST", "/-/reload", "", "Authorization: Basic czNjcmV0\r\n").status ==
      401);
  CHECK(
      Client(f.port).request("POST", "/-/reload", "", "Authorization: Bearer s3cret\r\n").status ==
      200);
  CHECK(
      Client(f.port).request("POST", "/-/reload", "", "Authorization: bearer rotated\r\n").status ==
      200);
  // Groups without tokens stay open.
  CHECK(Client(f.port).request("GET", "/hello").status == 200);
  CHECK(f.rejected("unauthorized") == 3);
}

TEST_CASE("Bearer checks accept only exact tokens", "[http][auth]") {
  std::vector<std::string> d = {config::sha256Hex("abc")};
  CHECK(engine::checkBearer("Bearer abc", d));
  CHECK_FALSE(engine::checkBearer("Bearer abcd", d));
  CHECK_FALSE(engine::checkBearer("Bearer ab", d));
  CHECK_FALSE(engine::checkBearer("Bearer ", d));
  CHECK_FALSE(engine::checkBearer("", d));
  CHECK(engine::checkBearer("anything", {}));
}

TEST_CASE("Unknown paths get 404 and wrong methods 405 with Allow", "[http]") {
  Fixture f;
  Client c(f.port);
  auto r = c.request("GET", "/nope");
  CHECK(r.status == 404);
  CHECK(r.body == "{\"error\":\"not found\",\"detail\":\"/nope\"}\n");
  r = c.request("DELETE", "/hello");
  CHECK(r.status == 405);
  CHECK(r.head.find("Allow: GET") != std::string::npos);
}

TEST_CASE("Malformed requests get 400 and the connection closes", "[http][limits]") {
  Fixture f;
  Client c(f.port);
  c.send("NOT A REQUEST\r\n\r\n");
  CHECK(c.read().status == 400);
  CHECK(c.closedByPeer());
}

TEST_CASE("A response given later from another thread reaches the client", "[http]") {
  Fixture f;
  Client c(f.port);
  auto r = c.request("GET", "/deferred");
  CHECK(r.status == 202);
  CHECK(r.body == "later");
}

TEST_CASE("A handler that drops its responder still answers, with 500", "[http]") {
  Fixture f;
  Client c(f.port);
  auto r = c.request("GET", "/dropped");
  CHECK(r.status == 500);
  CHECK(c.request("GET", "/hello").status == 200);
}

TEST_CASE("Expect: 100-continue is honoured", "[http]") {
  Fixture f;
  Client c(f.port);
  c.send("POST /size HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  c.send("12345");
  auto r = c.read();
  CHECK(r.status == 200);
  CHECK(r.body == "5");
}

TEST_CASE("Draining closes idle connections and lets in-flight requests finish", "[http]") {
  Fixture f;
  Client idle(f.port);
  CHECK(idle.request("GET", "/hello").status == 200);
  Client busy(f.port);
  busy.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(f.held_promise.get_future().wait_for(std::chrono::seconds(5)) ==
          std::future_status::ready);
  f.server->beginDrain();
  CHECK(idle.closedByPeer());
  f.held(api::HttpResponse::text(200, "finished"));
  auto r = busy.read();
  CHECK(r.status == 200);
  CHECK(r.body == "finished");
  CHECK(r.head.find("Connection: close") != std::string::npos);
  CHECK(busy.closedByPeer());
}
