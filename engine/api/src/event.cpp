#include "triaged/api/event.h"

namespace triaged::api {

const char* severityName(Severity s) {
  switch (s) {
    case Severity::kOk:
      return "ok";
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kMinor:
      return "minor";
    case Severity::kMajor:
      return "major";
    case Severity::kCritical:
      return "critical";
  }
  return "unknown";
}

bool parseSeverity(std::string_view n, Severity& out) {
  static constexpr std::pair<std::string_view, Severity> kNames[] = {
      {"ok", Severity::kOk},       {"info", Severity::kInfo},   {"warning", Severity::kWarning},
      {"minor", Severity::kMinor}, {"major", Severity::kMajor}, {"critical", Severity::kCritical}};
  for (const auto& [name, s] : kNames) {
    if (name == n) {
      out = s;
      return true;
    }
  }
  return false;
}

const char* statusName(Status s) { return s == Status::kFiring ? "firing" : "resolved"; }

void EventBatch::append(EventBatch&& o) {
  uint32_t base = static_cast<uint32_t>(labels.size());
  events.reserve(events.size() + o.events.size());
  for (auto& e : o.events) {
    e.labels_begin += base;
    e.annotations_begin += base;
    events.push_back(e);
  }
  labels.insert(labels.end(), o.labels.begin(), o.labels.end());
  more_arenas.push_back(std::move(o.arena));
  for (auto& a : o.more_arenas) more_arenas.push_back(std::move(a));
  o.events.clear();
  o.labels.clear();
  o.more_arenas.clear();
}

void Arena::reset() {
  if (!blocks_.empty() && first_ >= 4096 && first_ <= kBlock) {
    blocks_.resize(1);
    cur_ = blocks_.front().get();
    left_ = total_ = first_;
  } else {
    blocks_.clear();
    cur_ = nullptr;
    left_ = total_ = 0;
    first_ = kBlock;
  }
}

void Arena::grow(size_t n) {
  // Not zeroed: every byte handed out is written by the caller, and a one-event request
  // touches only the pages it uses (zeroing 64 KiB per request cost a third of the
  // single-event throughput). The first block is 64 KiB unless expect() said less: a fixed
  // smaller first block cost the big batches more than it saved.
  size_t size = std::max(blocks_.empty() ? first_ : kBlock, n);
  if (blocks_.empty()) first_ = size;  // (what reset() keeps)
  blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
  cur_ = blocks_.back().get();
  left_ = size;
  total_ += size;
}

}  // namespace triaged::api
