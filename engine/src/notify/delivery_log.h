// What the notifier did with recent outbox entries, for "what was sent for this incident"
// (GET /api/v1/incidents/{id}/notifications): the last `capacity` outcomes (delivered,
// skipped by the target's type, dead-lettered). On the notifier thread only; not stored, so
// after a restart it starts empty (pending and dead entries are known from the outbox).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace triaged::engine {

class DeliveryLog {
 public:
  struct Record {
    uint64_t id = 0, incident = 0;  // the outbox entry, its incident (0: none)
    std::string target, event;
    const char* status = "delivered";  // delivered | skipped | dead | pending | retrying
    uint32_t attempts = 0;
    int64_t at_ms = 0;  // when it ended (or, pending, when it was written)
    std::string error;  // the last failure, if any
  };

  explicit DeliveryLog(size_t capacity = 10000) : capacity_(capacity) {}
  void add(Record r) {
    if (ring_.size() == capacity_) ring_.pop_front();
    ring_.push_back(std::move(r));
  }
  void forIncident(uint64_t incident, std::vector<Record>& out) const {
    for (const auto& r : ring_)
      if (r.incident == incident) out.push_back(r);
  }

 private:
  size_t capacity_;
  std::deque<Record> ring_;
};

}  // namespace triaged::engine
