#include "triaged/api/batch_pool.h"

#include <mutex>
#include <vector>

namespace triaged::api::batch_pool {

namespace {

struct Pool {
  std::mutex mu;
  std::vector<std::unique_ptr<EventBatch>> kept;  // (its capacity reserved: no allocation)
  size_t bytes = 0;
  bool used = false;  // take() called since the last releaseIdle()
  Pool() { kept.reserve(kMaxBatches); }
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: batches may be given back during exit
  return *p;
}

}  // namespace

size_t footprint(const EventBatch& b) {
  return b.events.capacity() * sizeof(Event) + b.labels.capacity() * sizeof(Label) +
         b.arena.firstBlockBytes();
}

std::unique_ptr<EventBatch> take() {
  auto& p = pool();
  {
    std::lock_guard lock(p.mu);
    p.used = true;
    if (!p.kept.empty()) {
      auto b = std::move(p.kept.back());
      p.kept.pop_back();
      p.bytes -= footprint(*b);
      return b;
    }
  }
  return std::make_unique<EventBatch>();
}

void give(std::unique_ptr<EventBatch> b) {
  if (!b) return;
  // Emptied here, on the giving thread (a shard), outside the lock.
  b->events.clear();
  b->labels.clear();
  b->arena.reset();
  b->more_arenas.clear();
  b->want_outcomes = false;
  size_t n = footprint(*b);
  if (n > kMaxBatchBytes || n < kMinBatchBytes) return;  // a rare giant, or not worth a lock
  auto& p = pool();
  std::lock_guard lock(p.mu);
  if (p.kept.size() >= kMaxBatches || p.bytes + n > kMaxBytes) return;  // freed (unlocked after)
  p.bytes += n;
  p.kept.push_back(std::move(b));
}

size_t releaseIdle() {
  auto& p = pool();
  std::vector<std::unique_ptr<EventBatch>> freed;
  {
    std::lock_guard lock(p.mu);
    bool idle = !p.used;
    p.used = false;
    if (!idle || p.kept.empty()) return 0;
    freed.reserve(p.kept.size());
    for (auto& b : p.kept) freed.push_back(std::move(b));
    p.kept.clear();  // its capacity stays: give() never allocates under the lock
    p.bytes = 0;
  }
  return freed.size();  // freed here, outside the lock
}

size_t keptBatches() {
  auto& p = pool();
  std::lock_guard lock(p.mu);
  return p.kept.size();
}

size_t keptBytes() {
  auto& p = pool();
  std::lock_guard lock(p.mu);
  return p.bytes;
}

}  // namespace triaged::api::batch_pool
