// The canonical event model and the batch that carries events between threads.
// An EventBatch is built by one input thread (strings copied into its arena), then read-only:
// after submit() the dedup shards read it concurrently and it is freed when the last is done.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace triaged::api {

// Normalised severity, ordered. Each input maps its own scale onto this one.
enum class Severity : uint8_t { kOk = 0, kInfo, kWarning, kMinor, kMajor, kCritical };
enum class Status : uint8_t { kFiring = 0, kResolved };

const char* severityName(Severity s);
bool parseSeverity(std::string_view name, Severity& out);  // canonical names only
const char* statusName(Status s);

struct Label {
  std::string_view name;
  std::string_view value;
};

// A bump allocator for a batch's strings: one allocation per 64 KiB, never per event.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&&) = default;
  Arena& operator=(Arena&&) = default;

  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = allocate(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }
  char* allocate(size_t n) {  // inline: a call per string was ~5 % of an input thread
    if (n > left_) grow(n);
    char* p = cur_;
    cur_ += n;
    left_ -= n;
    return p;
  }
  // Before the first allocation: the text to come is about n bytes (a decoder that copies from
  // a document of n bytes), so the first block is that size instead of 64 KiB. A one-event
  // request then costs a small block glibc keeps in its per-thread cache, not a 64 KiB chunk
  // whose free consolidates the heap; more text than announced takes blocks as usual.
  void expect(size_t n) {
    if (blocks_.empty()) first_ = std::clamp<size_t>(n, 256, kBlock);
  }
  size_t bytes() const { return total_; }  // allocated: every block in full
  // Forgets every string copied: keeps its first block for the strings to come when that is
  // 4 KiB to a block (64 KiB), frees the others.
  void reset();
  size_t firstBlockBytes() const { return blocks_.empty() ? 0 : first_; }

 private:
  static constexpr size_t kBlock = 64 * 1024;
  void grow(size_t n);  // a new block for at least n bytes
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* cur_ = nullptr;
  size_t left_ = 0;
  size_t total_ = 0;
  size_t first_ = kBlock;
};

struct Event {
  std::string_view source, resource, check, service;
  std::string_view summary, description, dedup_key;
  Severity severity = Severity::kWarning;
  Status status = Status::kFiring;
  bool has_value = false;
  // The event only names its alert (dedup_key) to change its status, carrying none of its
  // content (PagerDuty's resolve): the alert's texts, labels and value stay as they are.
  bool names_only = false;
  // The fingerprint covers source, resource, check and every label (the default key, no
  // dedup_key; set by BatchBuilder::finish): an alert found by it has the same ones.
  bool signed_by_fingerprint = false;
  double value = 0;
  int64_t event_time_ms = 0;    // when it happened (sender's clock)
  int64_t receive_time_ms = 0;  // when triaged received it
  // Firing alerts resolve when not refreshed by this time (receive time + resolve timeout, or
  // an Alertmanager endsAt). 0: never by timeout.
  int64_t ends_at_ms = 0;
  uint32_t labels_begin = 0, labels_count = 0;            // into EventBatch::labels
  uint32_t annotations_begin = 0, annotations_count = 0;  // into EventBatch::labels
  uint64_t fingerprint = 0;   // set by the input (XXH3, see engine fingerprint)
  uint64_t content_hash = 0;  // over everything stored with the alert; equal = pure duplicate
};

// What happened to a batch, reported back to the input once every shard is done with it.
struct BatchResult {
  uint64_t events = 0;
  // When the batch asked for them (EventBatch::want_outcomes): one entry per event, the
  // engine's Outcome (0 new, 1 changed, 2 duplicate, 3 resolved, 4 ignored). Valid only during
  // the completion call.
  const uint8_t* outcomes = nullptr;
  uint64_t new_alerts = 0;
  uint64_t changed = 0;     // severity, status or content changed
  uint64_t duplicates = 0;  // nothing but count/last_seen changed
  uint64_t resolved = 0;
};

struct EventBatch {
  std::vector<Event> events;
  std::vector<Label> labels;  // labels and annotations of all events, sorted by name per event
  Arena arena;
  std::vector<Arena> more_arenas;  // arenas of batches merged into this one
  std::string input;               // name of the input, for metrics and logs
  bool want_outcomes = false;

  // Appends another batch's events (their strings stay in its arena, now owned here).
  void append(EventBatch&& other);

  Label* labelsOf(const Event& e) { return labels.data() + e.labels_begin; }
  const Label* labelsOf(const Event& e) const { return labels.data() + e.labels_begin; }
  const Label* annotationsOf(const Event& e) const { return labels.data() + e.annotations_begin; }
};

// kUnavailable: the state store cannot commit (its database is away); nothing is taken until
// it can, so nothing is acknowledged that was not stored.
enum class SubmitStatus { kAccepted, kBusy, kDraining, kUnavailable };

// The pipeline's entry. submit() either takes the whole batch (all or nothing; `batch` is then
// moved from) and later calls `done` exactly once from a shard thread, or refuses it without
// applying anything and leaves `batch` with the caller (to retry it).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual SubmitStatus submit(std::unique_ptr<EventBatch>& batch,
                              std::function<void(const BatchResult&)> done) = 0;
  // Seconds to advertise in Retry-After when busy.
  virtual int retryAfterSeconds() const = 0;
  // Current time in ms on the pipeline's clock (the injected clock in tests and replay).
  virtual int64_t nowMs() const = 0;
};

}  // namespace triaged::api
