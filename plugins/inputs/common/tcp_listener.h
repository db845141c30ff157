// The listening side of a stream input (ndjson_tcp, syslog over TCP): binds at construction
// (a failure names the address), accepts round-robin over the I/O threads so that one input's
// connections spread evenly whatever the HTTP server does, refuses connections beyond a limit
// (read at each accept: a reload may change it; the refusal is logged), and hands each
// accepted socket to `open` on the I/O thread that owns it, with the Slot that counts it
// against the limit from the moment it is accepted until the connection drops it.
// Construction, start and stop on the control thread; the rest on the I/O threads.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>

namespace triaged::plugins {

class TcpListener {
 public:
  using tcp = boost::asio::ip::tcp;
  class Slot;
  // Gets the accepted socket and its slot (the connection keeps it while open).
  using Open = std::function<void(tcp::socket, std::unique_ptr<Slot>)>;

  TcpListener(std::function<boost::asio::io_context&(size_t)> io, size_t io_count,
              const std::string& host, uint16_t port, const std::string& listen,
              std::shared_ptr<spdlog::logger> log)
      : io_(std::move(io)), io_count_(io_count), log_(std::move(log)) {
    auto& first = io_(0);
    acceptor_ = std::make_unique<tcp::acceptor>(first);
    boost::system::error_code ec;
    tcp::resolver resolver(first);
    auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || results.empty())
      throw std::runtime_error("cannot resolve " + listen + ": " + ec.message());
    auto ep = results.begin()->endpoint();
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(boost::asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + listen + ": " + ec.message());
    port_ = acceptor_->local_endpoint().port();
  }

  uint16_t port() const { return port_; }
  bool stopping() const { return stopping_; }

  // `limit` is read at every accept.
  void start(std::function<uint64_t()> limit, Open open) {
    limit_ = std::move(limit);
    open_ = std::move(open);
    boost::asio::post(acceptor_->get_executor(), [this] { accept(); });
  }

  // Closes the acceptor on its thread (waits up to 5 s); connections finish on their own.
  void stop() {
    stopping_ = true;
    std::promise<void> done;
    boost::asio::post(acceptor_->get_executor(), [this, &done] {
      boost::system::error_code ec;
      acceptor_->close(ec);
      done.set_value();
    });
    done.get_future().wait_for(std::chrono::seconds(5));
  }

  // Held by a connection for its life: counts it against the limit.
  class Slot {
   public:
    explicit Slot(TcpListener& l) : l_(l) { ++l_.connections_; }
    ~Slot() { --l_.connections_; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    TcpListener& l_;
  };

 private:
  void accept() {
    auto& io = io_(next_++ % io_count_);
    acceptor_->async_accept(io, [this](boost::system::error_code ec, tcp::socket sock) {
      if (ec == boost::asio::error::operation_aborted || stopping_) return;
      if (!ec) {
        uint64_t limit = limit_();
        if (connections_.load() >= static_cast<int64_t>(limit)) {
          log_->warn("connection limit ({}) reached; refusing a connection", limit);
          sock.close(ec);
        } else {
          sock.set_option(tcp::no_delay(true), ec);
          auto slot = std::make_unique<Slot>(*this);  // counted now, before the next accept
          auto ex = sock.get_executor();
          boost::asio::post(ex, [this, s = std::move(sock), slot = std::move(slot)]() mutable {
            open_(std::move(s), std::move(slot));
          });
        }
      }
      accept();
    });
  }

  std::function<boost::asio::io_context&(size_t)> io_;
  size_t io_count_;
  size_t next_ = 0;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> connections_{0};
  std::function<uint64_t()> limit_;
  Open open_;
};

}  // namespace triaged::plugins
