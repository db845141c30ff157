// The listener of the HTTP server: binds, accepts (up to max_connections, 503 beyond),
// hands each connection to an I/O thread as a session (server/http_session.cpp) and drains
// them at shutdown.
#include "server/http_server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <future>

#include "common/log.h"
#include "server/http_metrics.h"
#include "server/http_session.h"

namespace triaged::engine {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

HttpServer::HttpServer(IoPool& pool, const api::Router& router, prometheus::Registry& registry)
    : pool_(pool), router_(router), metrics_(std::make_unique<Metrics>(registry)) {
  for (const auto& r : router_.routes()) metrics_->routes[r.get()] = metrics_->make(r->metric_name);
  metrics_->unmatched = metrics_->make("unmatched");
  for (size_t i = 0; i < pool_.size(); ++i) sessions_[&pool_.context(i)];
}

HttpServer::~HttpServer() = default;

void HttpServer::setSettings(std::shared_ptr<const HttpSettings> s) {
  settings_.store(std::move(s), std::memory_order_release);
}

std::shared_ptr<const HttpSettings> HttpServer::settings() const {
  return settings_.load(std::memory_order_acquire);
}

uint16_t HttpServer::listen(const std::string& host, uint16_t port) {
  auto& ctx = pool_.context(0);
  beast::error_code ec;
  tcp::resolver resolver(ctx);
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve listen address " + host + ": " + ec.message());
  tcp::endpoint ep = results.begin()->endpoint();
  acceptor_ = std::make_unique<tcp::acceptor>(ctx);
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + ep.address().to_string() + ":" +
                             std::to_string(port) + ": " + ec.message());
  return acceptor_->local_endpoint().port();
}

void HttpServer::startAccepting() {
  accepting_ = true;
  asio::post(pool_.context(0), [this] { accept(); });
}

void HttpServer::accept() {
  if (!accepting_) return;
  auto& target = pool_.next();
  acceptor_->async_accept(target, [this, &target](beast::error_code ec, tcp::socket socket) {
    if (!accepting_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // EMFILE and friends: back off briefly instead of spinning.
      log::get("http")->warn("accept failed: {}", ec.message());
      auto t =
          std::make_shared<asio::steady_timer>(pool_.context(0), std::chrono::milliseconds(50));
      t->async_wait([this, t](beast::error_code) { accept(); });
      return;
    }
    auto s = settings();
    if (draining_ || active_.load() >= static_cast<int64_t>(s->server.max_connections)) {
      reject(std::move(socket), s->tls != nullptr);
    } else {
      // Counted here, not when the session starts, so a burst of accepts cannot overshoot.
      active_.fetch_add(1, std::memory_order_acq_rel);
      metrics_->accepted.Increment();
      socket.set_option(tcp::no_delay(true), ec);
      asio::post(target, [this, &target, s, socket = std::move(socket)]() mutable {
        startSession(*this, target, std::move(socket), s->tls);
      });
    }
    accept();
  });
}

void HttpServer::reject(tcp::socket socket, bool tls) {
  metrics_->reject("connection_limit");
  // A fresh socket's send buffer is empty, so this short write does not block.
  static const std::string kBusy = [] {
    std::string body = R"({"error":"too many connections","detail":null})"
                       "\n";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  beast::error_code ec;
  socket.non_blocking(true, ec);
  // A TLS client would read plain text as a broken handshake: it is closed before one instead.
  if (!tls) socket.write_some(asio::buffer(kBusy), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

void HttpServer::stopAccepting() {
  accepting_ = false;
  if (!acceptor_) return;
  std::promise<void> done;
  asio::post(pool_.context(0), [this, &done] {
    beast::error_code ec;
    acceptor_->close(ec);
    done.set_value();
  });
  done.get_future().wait();
}

void HttpServer::beginDrain() {
  draining_.store(true, std::memory_order_release);
  for (auto& [ctx, set] : sessions_) {
    asio::post(*ctx, [&set = set] {
      // Copy: closing may run destructors that erase from the set.
      std::vector<void*> copy(set.begin(), set.end());
      for (void* p : copy) static_cast<SessionBase*>(p)->closeIfIdle();
    });
  }
}

void HttpServer::onOpen(void* session, asio::io_context& ctx) {
  sessions_.at(&ctx).insert(session);
  metrics_->active.Increment();
}

void HttpServer::onClose(void* session, asio::io_context& ctx) {
  sessions_.at(&ctx).erase(session);
  active_.fetch_sub(1, std::memory_order_acq_rel);
  metrics_->active.Decrement();
}

}  // namespace triaged::engine
