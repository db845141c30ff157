// Hands the batches of one stream connection (a TCP input) to the pipeline, on the
// connection's I/O thread. While the pipeline is full the same batch is offered again after a
// short, growing pause and the connection does not read meanwhile: its sender's TCP window
// fills (back-pressure, nothing dropped). Batches in flight are counted so that, after the
// sender's half-close, the connection closes once every one is applied: the sender's EOF then
// acknowledges the whole stream. Owned by the connection; `self` (the connection) is kept alive
// by every callback that may outlive a call.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "stream_socket.h"
#include "triaged/api/event.h"
#include "triaged/api/ingest.h"

namespace triaged::plugins {

class StreamSubmitter {
 public:
  StreamSubmitter(StreamSocket& sock, api::EventSink& sink, api::InputMetrics& metrics)
      : sock_(sock), sink_(sink), metrics_(metrics), retry_(sock.get_executor()) {}

  // Offers `batch`; `next` runs once it is taken (now or after retries). While draining, the
  // batch is counted as refused and the connection closed instead.
  void submit(std::unique_ptr<api::EventBatch> batch, std::shared_ptr<void> self,
              std::function<void()> next) {
    pending_ = std::move(batch);
    self_ = std::move(self);
    next_ = std::move(next);
    offer();
  }

  // The sender half-closed: close once nothing is pending or in flight. (Batches in flight and
  // a pending retry keep the connection alive through their own callbacks; holding it here
  // would be a cycle.)
  void finish() {
    eof_ = true;
    maybeClose();
  }

 private:
  void offer() {
    size_t n = pending_->events.size();
    inflight_.fetch_add(1, std::memory_order_acq_rel);
    auto self = self_;
    auto st = sink_.submit(pending_, [this, self](const api::BatchResult&) {
      if (inflight_.fetch_sub(1, std::memory_order_acq_rel) == 1)
        boost::asio::post(sock_.get_executor(), [this, self] { maybeClose(); });
    });
    if (st != api::SubmitStatus::kAccepted) inflight_.fetch_sub(1, std::memory_order_acq_rel);
    if (st == api::SubmitStatus::kAccepted) {
      metrics_.accepted(n);
      pending_.reset();
      backoff_ = std::chrono::milliseconds(1);
      auto next = std::move(next_);
      self_.reset();
      return next();
    }
    if (st == api::SubmitStatus::kDraining) {
      metrics_.rejected(api::Reject::kDraining, n);
      pending_.reset();
      self_.reset();
      closed_ = true;
      sock_.close();
      return;
    }
    // Full, or the store cannot commit: nothing is refused or lost, the stream waits (TCP
    // pushes back on the sender); the wait shows in triaged_pipeline_queue_full_total.
    retry_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(50));
    retry_.async_wait([this, self](boost::system::error_code ec) {
      if (!ec) offer();
    });
  }

  void maybeClose() {
    if (closed_ || !eof_ || pending_ || inflight_.load(std::memory_order_acquire) != 0) return;
    closed_ = true;
    sock_.close();
  }

  StreamSocket& sock_;
  api::EventSink& sink_;
  api::InputMetrics& metrics_;
  boost::asio::steady_timer retry_;
  std::unique_ptr<api::EventBatch> pending_;
  std::shared_ptr<void> self_;
  std::function<void()> next_;
  std::atomic<int> inflight_{0};
  std::chrono::milliseconds backoff_{1};
  bool eof_ = false;
  bool closed_ = false;
};

}  // namespace triaged::plugins
