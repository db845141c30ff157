// The deduplicated alert table of one dedup shard: one Alert per fingerprint. Pure logic, no
// threads, time passed in; owned and used by exactly one shard thread (or a test, or replay).
// A duplicate updates count/last_seen/ends_at in place without allocating; only changes
// (new, severity, resolved, re-fired, flapping started/stopped) are reported.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/shared_blob.h"
#include "triaged/api/event.h"

namespace triaged::engine {

// Nagios-style flap detection over the last 21 observations of an alert's state.
struct FlapOptions {
  bool enabled = true;
  double low_percent = 5.0;    // flapping stops below this weighted state-change percentage
  double high_percent = 20.0;  // and starts at or above this one
};

enum class ChangeKind : uint8_t {
  kNew,
  kSeverity,
  kResolved,
  kRefired,
  kFlappingStarted,
  kFlappingStopped,
  // Its signed strings (service, labels: what rules, silences and inhibitions read) changed,
  // not with a re-firing (which carries them): an alert whose identity is not all of them (a
  // dedup_key, or a fingerprint over some labels) took new ones. Sent before a resolution.
  kRelabeled
};
const char* changeKindName(ChangeKind k);

struct AlertChange {
  uint64_t fingerprint;
  ChangeKind kind;
  api::Severity severity;
  api::Severity previous_severity;
  api::Status status;
  bool flapping;
  int64_t at_ms;
};

// Whether the change hands the alert's strings downstream: the store writes them with its row
// and the correlator takes them, so a checkpoint need not (a flapping alert's flips rewrite its
// state, not its texts: the checkpoint saves those).
inline bool carriesStrings(const AlertChange& c) {
  return (c.kind == ChangeKind::kNew || c.kind == ChangeKind::kRefired ||
          c.kind == ChangeKind::kRelabeled) &&
         !c.flapping;
}

// The strings of an alert, packed in one allocation: its value (a number, when it has one),
// source, resource, check, service, summary, description, dedup_key, then labels and
// annotations as name/value pairs.
class AlertStrings {
 public:
  static SharedBlob pack(const api::EventBatch& b, const api::Event& e);
  static size_t packedSize(const api::EventBatch& b, const api::Event& e);
  // Writes the packed form (packedSize bytes) at p.
  static void packInto(char* p, size_t n, const api::EventBatch& b, const api::Event& e);
  // The value in a blob that has one.
  static void setValue(char* blob, double v);
  static constexpr size_t kValueOffset = 8;  // the value, when there is one: the second word
  explicit AlertStrings(const char* blob) : p_(blob) {}
  enum Field {
    kSource,
    kResource,
    kCheck,
    kService,
    kSummary,
    kDescription,
    kDedupKey,
    kFieldCount
  };
  std::string_view field(Field f) const;
  uint32_t labelCount() const;
  uint32_t annotationCount() const;
  // i-th label (name, value); annotations follow labels. Each call reads the strings before
  // it: to visit them all, use forEachLabel / forEachAnnotation (one pass).
  api::Label label(uint32_t i) const;
  api::Label annotation(uint32_t i) const { return label(labelCount() + i); }
  template <class F>
  void forEachLabel(F&& f) const {
    const char* p = labels();
    for (uint32_t i = 0, n = labelCount(); i < n; ++i) p = nextLabel(p, f);
  }
  template <class F>
  void forEachAnnotation(F&& f) const {
    const char* p = labels();
    for (uint32_t i = 0, n = labelCount(); i < n; ++i) p = skipString(skipString(p));
    for (uint32_t i = 0, n = annotationCount(); i < n; ++i) p = nextLabel(p, f);
  }
  // Reads the packed string at p into out; returns the position after it.
  static const char* readString(const char* p, std::string_view& out);
  static const char* skipString(const char* p) {
    std::string_view ignored;
    return readString(p, ignored);
  }
  // Whether the event has this alert's signed strings (source, resource, check, service and
  // labels; what LabelSig::of signs), in one pass over them.
  bool sameSigned(const api::EventBatch& b, const api::Event& e) const;
  // Whether two packed forms have the same signed strings (they are the same alert, and would
  // match the same rules, silences and inhibitions): only their other texts may differ.
  bool sameSigned(const AlertStrings& o) const;
  // A text to write over the old one, which starts `offset` bytes into the strings.
  struct TextEdit {
    size_t offset;
    std::string_view bytes;
  };
  static constexpr size_t kMaxEdits = 8;
  // The edits that make these strings the event's, when its signed strings and labels are
  // these (the caller knows) and each other text that changed kept its length (a summary
  // quoting a new number of as many digits): then no string moves, and only those bytes and
  // the value need writing. False when a text changed length, the value came or went, or more
  // than kMaxEdits texts changed: the strings must be packed again.
  bool sameLayoutEdits(const api::EventBatch& b, const api::Event& e, TextEdit* edits,
                       size_t& count) const;
  // Value of a label, or nullopt-like {found=false}.
  bool findLabel(std::string_view name, std::string_view& value) const;
  size_t bytes() const;
  size_t capacity() const;  // of its allocation: a rewrite up to this size needs none
  bool hasValue() const;
  bool value(double& out) const;  // false when the alert has no value
  // Whether a stored copy is whole: at least the header, and as long as its length says.
  static bool wellFormed(std::string_view blob);

 private:
  std::string_view at(uint32_t i) const;
  const char* first() const { return p_ + (hasValue() ? 16 : 8); }  // the first string
  const char* labels() const;                                       // the first label's name
  template <class F>
  static const char* nextLabel(const char* p, F& f) {
    api::Label l;
    p = readString(readString(p, l.name), l.value);
    f(l);
    return p;
  }
  const char* p_;
};

// A 128-bit Bloom signature of an alert's labels (name=value pairs, two bits each) and of its
// canonical fields: a filtered listing tests it first, scanning 16 bytes per alert in order,
// and reads an alert's strings only when every pair the query asks for may be there.
struct LabelSig {
  uint64_t w[2] = {0, 0};
  void add(std::string_view name, std::string_view value);
  bool contains(const LabelSig& need) const {
    return (w[0] & need.w[0]) == need.w[0] && (w[1] & need.w[1]) == need.w[1];
  }
  bool empty() const { return !w[0] && !w[1]; }
  static LabelSig of(const AlertStrings& v);
  // The name a canonical field is signed under (apart from any label of the same name).
  static std::string_view fieldKey(AlertStrings::Field f);
};

// 64 bytes, one cache line. Alerts sit in fixed chunks, in insertion order; `count` is 0 in a
// free slot.
struct Alert {
  uint64_t fingerprint = 0;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  // Firing: resolves by timeout at this time (0 = never). Resolved: when it resolved.
  int64_t time_ms = 0;
  uint64_t count = 0;
  uint64_t content_hash = 0;
  SharedBlob strings;         // shared with the correlator (shared_blob.h: one copy)
  uint32_t flap_history = 0;  // bit 0 = newest observation; 1 = the state changed there
  api::Severity severity = api::Severity::kWarning;
  api::Severity previous_severity = api::Severity::kWarning;
  api::Status status = api::Status::kFiring;
  bool flapping = false;

  AlertStrings view() const { return AlertStrings(strings.get()); }
  int64_t endsAt() const { return status == api::Status::kFiring ? time_ms : 0; }
  int64_t resolvedAt() const { return status == api::Status::kResolved ? time_ms : 0; }
  // Weighted percentage of state changes over the recorded history (Nagios' curve: the
  // oldest transition weighs 0.8, the newest 1.2).
  double flapPercent() const;
};

// One alert as the store keeps it (a row of the alerts table).
struct AlertRecord {
  uint64_t fingerprint = 0;
  int64_t first_seen_ms = 0, last_seen_ms = 0, time_ms = 0;
  int64_t changed_ms = 0;  // when its status last changed; 0 leaves the stored value
  uint64_t count = 0, content_hash = 0;
  uint32_t flap_history = 0;
  api::Severity severity = api::Severity::kWarning, previous_severity = api::Severity::kWarning;
  api::Status status = api::Status::kFiring;
  bool flapping = false;
  std::string strings;  // the packed AlertStrings; empty keeps the stored ones
  // The record of `a`, with its strings when asked.
  static AlertRecord of(const struct Alert& a, bool with_strings);
};

enum class Outcome : uint8_t { kNew, kChanged, kDuplicate, kResolved, kIgnored };

class AlertTable {
 public:
  explicit AlertTable(FlapOptions flap = {}, int64_t resolved_retention_ms = 3'600'000)
      : flap_(flap), resolved_retention_ms_(resolved_retention_ms) {}

  Outcome apply(const api::EventBatch& b, const api::Event& e, int64_t now_ms,
                std::vector<AlertChange>& out);
  // Resolves firing alerts whose ends_at has passed; forgets resolved ones past retention.
  size_t expire(int64_t now_ms, std::vector<AlertChange>& out);

  const Alert* find(uint64_t fp) const;
  // Prefetching for a run of events, each a few events ahead of the one applied: an event's
  // index slot (prefetchSlot), then its alert's record once the slot is in cache
  // (prefetchAlert), then its strings once the record is (prefetchStrings). With tens of
  // thousands of alerts each is a cache miss, which apply otherwise waits for in turn.
  void prefetchSlot(uint64_t fp) const { index_.prefetch(fp); }
  void prefetchAlert(uint64_t fp) const;
  // Only when the event changes its alert's content (apply then reads the strings, to rewrite
  // the value or compare the texts); returns whether it does. A duplicate reads no strings.
  bool prefetchStrings(const api::Event& e) const;
  // Puts back an alert loaded from the store (before any event is applied). Returns false,
  // changing nothing, when its strings are malformed.
  bool restore(const AlertRecord& r);
  // Room for n alerts in the index and the per-slot arrays (before restoring n of them).
  void reserve(size_t n) {
    index_.reserve(n);
    sigs_.reserve(n);
    saved_.reserve(n);
  }
  // The store got this alert's row with a change (with its strings when `with_strings`): the
  // next checkpoint need not write it again.
  void markSaved(uint64_t fp, bool with_strings) {
    auto it = index_.find(fp);
    if (it == index_.end()) return;
    if (saved_.size() <= it->second) saved_.resize(used_);
    const Alert& a = at(it->second);
    Saved& s = saved_[it->second];
    s.count = a.count;
    if (with_strings) s.hash = a.content_hash;
  }
  // Visits alerts whose count or content changed since the last visit (the store's periodic
  // checkpoint of duplicates): f(alert, content_changed).
  template <class F>
  void forEachUnsaved(F&& f) {
    saved_.resize(used_);
    for (uint32_t i = 0; i < used_; ++i) {
      const Alert& a = at(i);
      if (!a.count) continue;
      Saved& s = saved_[i];
      if (s.count == a.count && s.hash == a.content_hash) continue;
      bool content = s.hash != a.content_hash;
      s = {a.count, a.content_hash};
      f(a, content);
    }
  }
  size_t size() const { return index_.size(); }
  size_t firing() const { return firing_; }
  // Visits every alert in storage order: a sequential scan of the chunks, not the hash map.
  template <class F>
  void forEach(F&& f) const {
    for (uint32_t i = 0; i < used_; ++i) {
      const Alert& a = at(i);
      if (a.count) f(a.fingerprint, a);
    }
  }
  // Visits the alerts whose signature contains `need` (a superset of those that have every
  // pair of it; an empty `need` visits all), in storage order.
  template <class F>
  void forEachMaybe(const LabelSig& need, F&& f) const {
    if (need.empty()) return forEach(f);
    for (uint32_t i = 0; i < used_; ++i) {
      if (!sigs_[i].contains(need)) continue;
      const Alert& a = at(i);
      if (a.count) f(a.fingerprint, a);
    }
  }
  // Approximate heap bytes: index slots, alert chunks and packed strings.
  size_t memoryBytes() const;

 private:
  // Alerts live in fixed chunks (no reallocation, no doubling waste) and the hash map holds
  // 16-byte slots (fingerprint, position): at the map's worst load (0.44 after it grows) that
  // is 36 bytes per alert instead of 145 for 64-byte slots.
  static constexpr uint32_t kChunkBits = 12;
  static constexpr uint32_t kChunk = 1u << kChunkBits;
  Alert& at(uint32_t i) { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  const Alert& at(uint32_t i) const { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  uint32_t allocate();
  void release(uint32_t i);
  // Returns whether the alert's signed strings changed.
  bool rewrite(uint32_t slot, const api::EventBatch& b, const api::Event& e, uint64_t content);
  void observe(Alert& a, bool changed, uint64_t fp, int64_t now, std::vector<AlertChange>& out);

  FlapOptions flap_;
  int64_t resolved_retention_ms_;
  absl::flat_hash_map<uint64_t, uint32_t> index_;
  std::vector<std::unique_ptr<Alert[]>> chunks_;
  std::vector<uint32_t> free_;
  uint32_t used_ = 0;
  size_t firing_ = 0;
  size_t string_bytes_ = 0;
  struct Saved {
    uint64_t count = 0, hash = 0;
  };
  std::vector<Saved> saved_;       // per slot, what the last checkpoint saw
  std::vector<LabelSig> sigs_;     // per slot (used_ of them)
  std::vector<uint64_t> scratch_;  // new strings packed aside for a shared rewrite (rewrite)
};

}  // namespace triaged::engine
