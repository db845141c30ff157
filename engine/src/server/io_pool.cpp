#include "server/io_pool.h"

#include <cstdlib>

#include "common/log.h"
#include "triaged/api/ingest.h"

namespace triaged::engine {

IoPool::IoPool(size_t threads) {
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i)
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
}

IoPool::~IoPool() { stop(); }

void IoPool::start() {
  for (auto& c : contexts_) guards_.emplace_back(c->get_executor());
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      pthread_setname_np(pthread_self(), ("triaged-io-" + std::to_string(i)).c_str());
      api::setIoThreadIndex(i);
      try {
        contexts_[i]->run();
      } catch (const std::exception& e) {
        // Nothing on an I/O thread may throw; if it does, state is unknown: let systemd restart us.
        log::get("io")->critical("unexpected exception on I/O thread {}: {}", i, e.what());
        std::abort();
      }
    });
  }
}

void IoPool::stop() {
  for (auto& g : guards_) g.reset();
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  guards_.clear();
}

void IoPool::shutdown() {
  stop();
  contexts_.clear();
}

boost::asio::io_context& IoPool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

}  // namespace triaged::engine
