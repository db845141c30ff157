// libFuzzer harness for the HTTP request path as the server runs it: the real HttpServer on
// 127.0.0.1 (one I/O thread, small limits, tokens on every route group, a route with its own
// token, a ticketing tool's callback route with a token and an HMAC secret, a streamed route),
// and each input sent as the bytes of one connection, which then half-closes. Invariants:
// - the connection always ends (the server never waits on a client that has finished sending);
// - everything the server writes parses as a sequence of HTTP/1.1 responses, each with a status
//   the server is meant to give (never a 5xx: every handler here answers);
// - no handler runs without the credential its route needs (checked by the handlers themselves,
//   from the request's Authorization header and signature, independently of the server).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "common/signature.h"
#include "server/http_server.h"
#include "triaged/config/config.h"

using namespace triaged;
namespace http = boost::beast::http;

namespace {

// The token of "Bearer <token>" (scheme in any case, spaces after it skipped), or "".
std::string tokenOf(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return {};
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  return std::string(header);
}

// The role a token carries: 0 none, 1 viewer, 2 operator, 3 admin.
int levelOf(const std::string& token) {
  if (token == "reader") return 1;
  if (token == "operator") return 2;
  if (token == "admin") return 3;
  return 0;
}

void require(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

struct Server {
  engine::IoPool pool{1};
  api::Router router;
  prometheus::Registry registry;
  std::unique_ptr<engine::HttpServer> server;
  uint16_t port = 0;

  Server() {
    auto answer = [](const api::HttpRequest& q, api::Responder r) {
      std::string v;
      q.queryParam("x", v);
      auto all = q.queryParams("y");
      r(api::HttpResponse::text(200, std::string(q.param("id")) + "|" + v + "|" +
                                         std::to_string(all.size()) + "|" +
                                         std::to_string(q.body ? q.body->size() : 0)));
    };
    auto needs = [answer](int level) {
      return [answer, level](const api::HttpRequest& q, api::Responder r) {
        require(levelOf(tokenOf(q.header("Authorization"))) >= level,
                "a handler ran without the role its route needs");
        answer(q, std::move(r));
      };
    };
    router.add({api::Verb::get, "/open/{id}", api::RouteGroup::kOpen, answer});
    router.add({api::Verb::get, "/items/{id}", api::RouteGroup::kRead, needs(1)});
    router.add({api::Verb::post, "/items/{id}", api::RouteGroup::kOperate, needs(2)});
    router.add({api::Verb::post, "/-/reload", api::RouteGroup::kAdmin, needs(3)});
    router.add({api::Verb::post, "/ingest", api::RouteGroup::kIngest,
                [answer](const api::HttpRequest& q, api::Responder r) {
                  require(tokenOf(q.header("Authorization")) == "ingest",
                          "an ingest handler ran without the ingest token");
                  answer(q, std::move(r));
                }});
    // An input with its own token: only that token reaches it.
    api::Route own{api::Verb::post, "/own", api::RouteGroup::kIngest,
                   [answer](const api::HttpRequest& q, api::Responder r) {
                     require(tokenOf(q.header("Authorization")) == "own",
                             "an input's handler ran without its own token");
                     answer(q, std::move(r));
                   }};
    own.authorize = [](std::string_view authorization) {
      return tokenOf(authorization) == "own" ? api::RouteAuth::kAllow : api::RouteAuth::kDeny;
    };
    router.add(std::move(own));
    // A ticketing tool's callback: its own token, a valid signature, or an operator.
    api::Route callback{
        api::Verb::post, "/tickets/{system}", api::RouteGroup::kOperate,
        [answer](const api::HttpRequest& q, api::Responder r) {
          std::string token = tokenOf(q.header("Authorization"));
          auto system = q.param("system");
          int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
          bool ok = levelOf(token) >= 2 || (system == "tool" && token == "callback") ||
                    (system == "signed" &&
                     engine::signatureValid("hmac", q.header("X-Triaged-Signature"), *q.body, now));
          require(ok, "a callback handler ran without a token or signature");
          answer(q, std::move(r));
        }};
    callback.callback_param = "system";
    router.add(std::move(callback));
    // An open-ended answer: one event, then the server's side stays open until the peer leaves.
    router.add({api::Verb::get, "/stream", api::RouteGroup::kRead,
                [](const api::HttpRequest& q, api::Responder r) {
                  require(levelOf(tokenOf(q.header("Authorization"))) >= 1,
                          "the stream ran without a viewer's token");
                  api::HttpResponse res;
                  res.content_type = "text/event-stream";
                  res.stream = [](std::shared_ptr<api::StreamWriter> w) {
                    static const std::string kEvent = "data: x\n\n";
                    w->write({kEvent}, nullptr, [](bool) {});
                  };
                  r(std::move(res));
                }});

    config::Config c;
    c.server.max_header_bytes = 1024;
    c.server.max_body_bytes = 512;
    c.server.max_connections = 8;
    c.auth.ingest.bearer_tokens = {"ingest"};
    c.auth.read.bearer_tokens = {"reader"};
    c.auth.admin.bearer_tokens = {"admin"};
    config::User op;
    op.name = "op";
    op.role = "operator";
    op.bearer_tokens = {"operator"};
    c.auth.users.push_back(op);
    config::NotificationTarget tool, tool2;
    tool.name = "tool";
    tool.callback_token = "callback";
    tool2.name = "signed";
    tool2.callback_hmac_secret = "hmac";
    c.notification_targets = {tool, tool2};
    server = std::make_unique<engine::HttpServer>(pool, router, registry);
    server->setSettings(engine::HttpSettings::fromConfig(c));
    port = server->listen("127.0.0.1", 0);
    pool.start();
    server->startAccepting();
  }
};

// Sends `data` on a new connection, half-closes, and returns everything the server wrote until
// it closed. Aborts if the connection does not end within 5 s.
std::string exchange(uint16_t port, const uint8_t* data, size_t size) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  require(fd >= 0, "socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int err = errno;
    if (err == EINTR) {  // libFuzzer's timer signal: the connection goes on being made
      pollfd p{fd, POLLOUT, 0};
      while (poll(&p, 1, 5000) < 0 && errno == EINTR) {
      }
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (err) fprintf(stderr, "connect: %s\n", strerror(err));
    require(err == 0, "the server is gone");
  }
  // Closed with a reset rather than a FIN: a run makes millions of connections, and TIME_WAIT
  // would use up the loopback's ephemeral ports within seconds.
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;  // libFuzzer's timer signal
    if (n <= 0) break;  // the server answered early and closed: what it wrote is still read
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) break;
    if (n < 0) {
      if (errno != ECONNRESET) fprintf(stderr, "recv: %s\n", strerror(errno));
      require(errno == ECONNRESET, "the connection did not end after the client finished");
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

bool expectedStatus(unsigned s) {
  switch (s) {
    case 100:  // Expect: 100-continue
    case 200:
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:
    case 413:
    case 431:
      return true;
    default:
      return false;
  }
}

// Every byte parses as responses in sequence; a streamed answer runs to the end.
void checkResponses(const std::string& out) {
  if (out.empty()) return;  // nothing asked (or only a connection closed): nothing answered
  boost::beast::flat_buffer buf;
  auto mb = buf.prepare(out.size());
  std::memcpy(mb.data(), out.data(), out.size());
  buf.commit(out.size());
  while (buf.size() > 0) {
    http::response_parser<http::string_body> p;
    p.eager(true);
    p.body_limit(1 << 20);
    boost::beast::error_code ec;
    size_t used = p.put(buf.data(), ec);
    buf.consume(used);
    if (ec == http::error::need_more) ec = {};
    require(!ec, "the server wrote something that is not an HTTP response");
    require(p.is_header_done(), "a response's header is cut short");
    require(expectedStatus(p.get().result_int()), "an unexpected status");
    if (!p.is_done()) {
      p.put_eof(ec);  // a body that ends with the connection (the event stream)
      require(!ec, "a response's body was cut short");
      require(p.get()[http::field::content_type] == "text/event-stream",
              "only the event stream runs to the end of the connection");
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server* server = new Server();  // lives for the whole run, like the daemon's
  checkResponses(exchange(server->port, data, size));
  return 0;
}
