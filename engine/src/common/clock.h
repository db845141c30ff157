// Injected time. SystemClock in the daemon; ManualClock in tests and replay, advanced by hand.
// Both are safe to read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace triaged::engine {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t nowMs() const = 0;  // ms since the Unix epoch
};

class SystemClock final : public Clock {
 public:
  int64_t nowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 0) : now_(start_ms) {}
  int64_t nowMs() const override { return now_.load(std::memory_order_acquire); }
  void set(int64_t ms) { now_.store(ms, std::memory_order_release); }
  void advance(int64_t ms) { now_.fetch_add(ms, std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace triaged::engine
