// At-least-once offsets for the Kafka input: which offset of each partition may be stored
// (committed) — the contiguous low watermark of what has been durably applied. Messages of a
// partition go out in order, in batches; batches complete out of order (each shard applies its
// part), so a partition's offset moves past a batch only once it and every earlier batch with
// messages of that partition are done. Pure bookkeeping, on the consumer thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace triaged::plugins::kafka {

// A partition: topic and number.
using Partition = std::pair<std::string, int32_t>;

class OffsetTracker {
 public:
  // Batch `seq` holds messages of `partition` up to `last_offset` (every message of it after the
  // partition's previous batch, malformed ones included). Sequences only increase.
  void add(uint64_t seq, const Partition& partition, int64_t last_offset) {
    auto& q = parts_[partition];
    if (!q.empty() && q.back().seq == seq) {
      q.back().next = last_offset + 1;
      return;
    }
    q.push_back({seq, last_offset + 1, false});
  }

  // Batch `seq` is applied. Returns the partitions whose storable offset moved, with the offset
  // to store (the next message to read).
  std::vector<std::pair<Partition, int64_t>> done(uint64_t seq) {
    std::vector<std::pair<Partition, int64_t>> moved;
    for (auto& [p, q] : parts_) {
      bool hit = false;
      for (auto& e : q)
        if (e.seq == seq) {
          e.done = true;
          hit = true;
        }
      if (!hit) continue;
      int64_t next = -1;
      while (!q.empty() && q.front().done) {
        next = q.front().next;
        q.pop_front();
      }
      if (next >= 0) moved.emplace_back(p, next);
    }
    return moved;
  }

  // Batches not yet applied with messages of this partition.
  size_t pending(const Partition& p) const {
    auto it = parts_.find(p);
    return it == parts_.end() ? 0 : it->second.size();
  }
  size_t pending() const {
    size_t n = 0;
    for (const auto& [p, q] : parts_) n += q.size();
    return n;
  }
  // The partition was revoked: whatever is still pending will be read again by its next owner.
  void forget(const Partition& p) { parts_.erase(p); }

 private:
  struct Entry {
    uint64_t seq;
    int64_t next;  // the offset to store once this and every earlier entry are done
    bool done;
  };
  std::map<Partition, std::deque<Entry>> parts_;
};

}  // namespace triaged::plugins::kafka
