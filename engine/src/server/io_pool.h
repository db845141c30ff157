// A pool of I/O threads, each running its own io_context (one context per thread, so a
// connection's handlers never run concurrently and need no strand). Owned by the daemon.
// start()/stop() from the control thread; contexts are handed to servers at set-up.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace triaged::engine {

class IoPool {
 public:
  explicit IoPool(size_t threads);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  void start();
  // Stops every context and joins the threads. Idempotent.
  void stop();
  // stop(), then destroys the contexts and with them every pending handler (and the
  // connections those handlers own). Call it while the servers that own those connections
  // are still alive. Idempotent; the pool is unusable afterwards.
  void shutdown();
  size_t size() const { return contexts_.size(); }
  boost::asio::io_context& context(size_t i) { return *contexts_[i]; }
  // Round-robin choice for a new connection.
  boost::asio::io_context& next();

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace triaged::engine
