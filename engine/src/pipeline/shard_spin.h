#pragma once

#include <algorithm>
#include <atomic>

namespace triaged::engine {

// How long a shard thread waits, spinning, for work before it sleeps: adapted to the stream as
// glibc's adaptive mutexes are. Work that arrives while spinning doubles the next spin (up to
// the 10,000 turns moodycamel spins, which a dense stream over TCP needs: a sleep and a wake-up
// per batch cost the ceiling 5-15 %); a spin that ends in sleep anyway halves it (down to 64),
// so that single-event requests arriving every few tens of microseconds do not spend a core's
// tenth spinning beside the threads that produce them (2 cores: the I/O threads and the client).
class ShardSpin {
 public:
  static constexpr int kMax = 10000, kMin = 64;
  // Spins while `empty()` holds, at most the current budget; true if work came meanwhile.
  template <typename Empty>
  bool wait(Empty empty) {
    for (int i = 0; i < budget_; ++i) {
      if (!empty()) {
        budget_ = std::min(kMax, budget_ * 2);
        return true;
      }
      std::atomic_signal_fence(std::memory_order_acquire);
    }
    budget_ = std::max(kMin, budget_ / 2);
    return false;
  }
  int budget() const { return budget_; }

 private:
  int budget_ = kMax;
};

}  // namespace triaged::engine
