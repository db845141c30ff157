#pragma once

#include <concurrentqueue/blockingconcurrentqueue.h>

#include <algorithm>
#include <atomic>

namespace triaged::engine {

// How long a shard thread waits for work, spinning, before it sleeps: adapted to its stream as
// glibc's adaptive mutexes are. Work that arrives while spinning doubles the next spin (up to
// the 10,000 turns moodycamel spins, which a dense stream over TCP needs: a sleep and a wake-up
// per batch cost the ceiling 5-15 %); a spin that ends in sleep anyway halves it (down to 64),
// so that work arriving every few tens of microseconds (single-event requests) does not cost
// a tenth of a core spinning beside the threads that produce it (on 2 cores: the I/O threads
// and the client). The correlator and the store writer keep moodycamel's fixed spin: adapted
// there, one incident per new alert lost about a tenth (bench/RESULTS.md); their work comes in
// bursts that a short sleep misses.
class AdaptiveSpin {
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
  // Before a blocking dequeue from `q`: spins while it is empty.
  template <typename Queue>
  void beforeWait(const Queue& q) {
    if (q.size_approx() == 0) wait([&] { return q.size_approx() == 0; });
  }
  int budget() const { return budget_; }

 private:
  int budget_ = kMax;
};

// A shard's queue: the semaphore under it does not spin (AdaptiveSpin does, before the wait).
struct NoSpinQueueTraits : moodycamel::ConcurrentQueueDefaultTraits {
  static const int MAX_SEMA_SPINS = 1;
};
template <typename T>
using StageQueue = moodycamel::BlockingConcurrentQueue<T, NoSpinQueueTraits>;

}  // namespace triaged::engine
