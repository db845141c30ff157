#include "dedup/alert_table.h"

#include <cstring>

namespace triaged::engine {

using api::Event;
using api::EventBatch;
using api::Status;

const char* changeKindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::kNew:
      return "new";
    case ChangeKind::kSeverity:
      return "severity";
    case ChangeKind::kResolved:
      return "resolved";
    case ChangeKind::kRefired:
      return "refired";
    case ChangeKind::kFlappingStarted:
      return "flapping_started";
    case ChangeKind::kFlappingStopped:
      return "flapping_stopped";
    case ChangeKind::kRelabeled:
      return "relabeled";
  }
  return "unknown";
}

double Alert::flapPercent() const {
  // 21 observations give 20 transitions; bit i (0 = newest) is transition 19-i in age order,
  // weighted 0.8 + 0.02 * (19 - i)... i.e. newer transitions weigh more. In integer form the
  // weight is (40 + age_index) / 50 with age_index 0 for the oldest.
  uint32_t h = flap_history & ((1u << 20) - 1);
  int weighted = 0;
  while (h) {
    int i = std::countr_zero(h);
    weighted += 40 + (19 - i);
    h &= h - 1;
  }
  // percent = sum(weights) * 100 / 20 = weighted / 50 * 5
  return weighted / 10.0;
}

void AlertTable::observe(Alert& a, bool changed, uint64_t fp, int64_t now,
                         std::vector<AlertChange>& out) {
  if (!flap_.enabled) return;
  a.flap_history = (a.flap_history << 1) | (changed ? 1u : 0u);
  if ((a.flap_history & ((1u << 20) - 1)) == 0 && !a.flapping) return;  // the common case
  double pct = a.flapPercent();
  if (!a.flapping && pct >= flap_.high_percent) {
    a.flapping = true;
    out.push_back(
        {fp, ChangeKind::kFlappingStarted, a.severity, a.previous_severity, a.status, true, now});
  } else if (a.flapping && pct < flap_.low_percent) {
    a.flapping = false;
    out.push_back(
        {fp, ChangeKind::kFlappingStopped, a.severity, a.previous_severity, a.status, false, now});
  }
}

uint32_t AlertTable::allocate() {
  if (!free_.empty()) {
    uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  if ((used_ & (kChunk - 1)) == 0) chunks_.push_back(std::make_unique<Alert[]>(kChunk));
  sigs_.resize(used_ + 1);
  return used_++;
}

void AlertTable::release(uint32_t i) {
  at(i) = Alert{};
  sigs_[i] = {};
  if (i < saved_.size()) saved_[i] = {};
  free_.push_back(i);
}

AlertRecord AlertRecord::of(const Alert& a, bool with_strings) {
  AlertRecord r;
  r.fingerprint = a.fingerprint;
  r.first_seen_ms = a.first_seen_ms;
  r.last_seen_ms = a.last_seen_ms;
  r.time_ms = a.time_ms;
  r.count = a.count;
  r.content_hash = a.content_hash;
  r.flap_history = a.flap_history;
  r.severity = a.severity;
  r.previous_severity = a.previous_severity;
  r.status = a.status;
  r.flapping = a.flapping;
  if (with_strings && a.strings) r.strings.assign(a.strings.get(), a.view().bytes());
  return r;
}

bool AlertTable::restore(const AlertRecord& r) {
  if (!AlertStrings::wellFormed(r.strings) || index_.count(r.fingerprint)) return false;
  auto n = static_cast<uint32_t>(r.strings.size());
  uint32_t slot = allocate();
  index_.emplace(r.fingerprint, slot);
  Alert& a = at(slot);
  a.fingerprint = r.fingerprint;
  a.first_seen_ms = r.first_seen_ms;
  a.last_seen_ms = r.last_seen_ms;
  a.time_ms = r.time_ms;
  a.count = std::max<uint64_t>(1, r.count);
  a.content_hash = r.content_hash;
  a.strings = SharedBlob::copyOf(r.strings.data(), n);
  sigs_[slot] = LabelSig::of(a.view());
  string_bytes_ += n;
  a.flap_history = r.flap_history;
  a.severity = r.severity;
  a.previous_severity = r.previous_severity;
  a.status = r.status;
  a.flapping = r.flapping;
  if (a.status == Status::kFiring) ++firing_;
  if (saved_.size() <= slot) saved_.resize(slot + 1);
  saved_[slot] = {a.count, a.content_hash};  // the store has it
  return true;
}

namespace {

// An alert's content hash is its strings' (the event's content_hash) mixed with its value's
// bits, so that a new value is a change (checkpointed) but the strings need not be compared.
uint64_t valueMix(bool has, double v) {
  if (!has) return 0;
  uint64_t x;
  std::memcpy(&x, &v, 8);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x | 1;
}

// The alert's content hash once the event is applied.
uint64_t contentAfter(const Event& e) { return e.content_hash ^ valueMix(e.has_value, e.value); }

// Whether the event changes its alert's content (a names-only event never does): apply's
// "changed", and what prefetchStrings fetches ahead for.
bool changesContent(const Alert& a, const Event& e, uint64_t content) {
  return !e.names_only && a.content_hash != content;
}

}  // namespace

// A changed alert: when only the value changed it is written in its slot; new texts are packed
// over the old ones when they fit (the usual case: a summary quoting a new number), and only
// otherwise into a new allocation. While the correlator holds the strings too, the rewrite goes
// under their sequence count (SharedBlob::write) and it sees it: one copy, not one each. New
// signed strings while shared get a new allocation: the correlator keeps what its rules read
// until it is handed the new (a relabeling).
bool AlertTable::rewrite(uint32_t slot, const EventBatch& b, const Event& e, uint64_t content) {
  Alert& a = at(slot);
  AlertStrings v = a.view();
  double old = 0;
  bool had = v.value(old);
  if (e.has_value && had && (a.content_hash ^ valueMix(true, old)) == e.content_hash) {
    if (a.strings.unique())
      AlertStrings::setValue(a.strings.get(), e.value);
    else
      a.strings.write(AlertStrings::kValueOffset, &e.value, 8);
    a.content_hash = content;
    return false;
  }
  // Whether the signature must follow new strings (read before the old are overwritten).
  // Found by a fingerprint over source, resource, check and labels, the alert has the
  // event's: only its service can differ (24 string comparisons fewer per change).
  const bool resign =
      e.signed_by_fingerprint ? v.field(AlertStrings::kService) != e.service : !v.sameSigned(b, e);
  // Read once: while the table holds them alone nobody can start to (shares are made here).
  const bool alone = a.strings.unique();
  AlertStrings::TextEdit edits[AlertStrings::kMaxEdits];
  size_t count = 0;
  if (!resign && v.sameLayoutEdits(b, e, edits, count)) {
    // The usual change: new texts of the same lengths, written where the old ones are.
    char* blob = a.strings.get();
    if (alone) {
      if (e.has_value) AlertStrings::setValue(blob, e.value);
      for (size_t i = 0; i < count; ++i)
        std::memcpy(blob + edits[i].offset, edits[i].bytes.data(), edits[i].bytes.size());
    } else {
      // One rewrite for the holders: the value and the texts that quote it go together.
      a.strings.beginWrite();
      if (e.has_value) a.strings.writeBytes(AlertStrings::kValueOffset, &e.value, 8);
      for (size_t i = 0; i < count; ++i)
        a.strings.writeBytes(edits[i].offset, edits[i].bytes.data(), edits[i].bytes.size());
      a.strings.endWrite();
    }
    a.content_hash = content;
    return false;
  }
  size_t n = AlertStrings::packedSize(b, e);
  string_bytes_ -= v.bytes();
  if (n > v.capacity() || (resign && !alone)) {
    a.strings = AlertStrings::pack(b, e);
  } else if (alone) {
    AlertStrings::packInto(a.strings.get(), n, b, e);
  } else {
    // Packed aside, then written in words under the count; the last word's tail is zeros.
    scratch_.resize((n + 7) / 8);
    scratch_.back() = 0;
    AlertStrings::packInto(reinterpret_cast<char*>(scratch_.data()), n, b, e);
    a.strings.write(0, scratch_.data(), n);
  }
  string_bytes_ += n;
  if (resign) sigs_[slot] = LabelSig::of(a.view());
  a.content_hash = content;
  return resign;
}

Outcome AlertTable::apply(const EventBatch& b, const Event& e, int64_t now,
                          std::vector<AlertChange>& out) {
  const uint64_t content = contentAfter(e);
  auto it = index_.find(e.fingerprint);
  if (it == index_.end()) {
    if (e.status == Status::kResolved) return Outcome::kIgnored;  // resolving what we never saw
    uint32_t slot = allocate();
    index_.emplace(e.fingerprint, slot);
    auto& a = at(slot);
    a.fingerprint = e.fingerprint;
    a.first_seen_ms = a.last_seen_ms = e.event_time_ms;
    a.time_ms = e.ends_at_ms;
    a.count = 1;
    a.content_hash = content;
    a.strings = AlertStrings::pack(b, e);
    sigs_[slot] = LabelSig::of(a.view());
    string_bytes_ += a.view().bytes();
    a.severity = a.previous_severity = e.severity;
    a.status = Status::kFiring;
    ++firing_;
    out.push_back(
        {e.fingerprint, ChangeKind::kNew, a.severity, a.previous_severity, a.status, false, now});
    return Outcome::kNew;
  }
  Alert& a = at(it->second);
  ++a.count;
  if (e.event_time_ms > a.last_seen_ms) a.last_seen_ms = e.event_time_ms;
  const bool changed = changesContent(a, e, content);
  const bool relabeled = changed && rewrite(it->second, b, e, content);
  Outcome result = changed ? Outcome::kChanged : Outcome::kDuplicate;
  // New labels or service: the correlator files the alert again (silences, inhibitions and
  // its CI read them), before it resolves if it does. A re-fired alert's strings go with it.
  if (relabeled && !(a.status == Status::kResolved && e.status == Status::kFiring))
    out.push_back({e.fingerprint, ChangeKind::kRelabeled, a.severity, a.previous_severity, a.status,
                   a.flapping, now});
  if (e.status != a.status) {
    a.status = e.status;
    if (e.status == Status::kResolved) {
      --firing_;
      a.time_ms = now;  // resolved at
      out.push_back({e.fingerprint, ChangeKind::kResolved, a.severity, a.previous_severity,
                     a.status, a.flapping, now});
      result = Outcome::kResolved;
    } else {
      ++firing_;
      a.time_ms = e.ends_at_ms;
      a.previous_severity = a.severity;
      a.severity = e.severity;
      out.push_back({e.fingerprint, ChangeKind::kRefired, a.severity, a.previous_severity, a.status,
                     a.flapping, now});
      result = Outcome::kChanged;
    }
    observe(a, true, e.fingerprint, now, out);
    return result;
  }
  if (a.status == Status::kFiring) a.time_ms = e.ends_at_ms;
  if (e.severity != a.severity && a.status == Status::kFiring) {
    a.previous_severity = a.severity;
    a.severity = e.severity;
    out.push_back({e.fingerprint, ChangeKind::kSeverity, a.severity, a.previous_severity, a.status,
                   a.flapping, now});
    observe(a, true, e.fingerprint, now, out);
    return Outcome::kChanged;
  }
  observe(a, false, e.fingerprint, now, out);
  return result;
}

size_t AlertTable::expire(int64_t now, std::vector<AlertChange>& out) {
  size_t n = 0;
  for (auto it = index_.begin(); it != index_.end();) {
    Alert& a = at(it->second);
    if (a.status == Status::kFiring && a.time_ms != 0 && a.time_ms <= now) {
      a.status = Status::kResolved;
      a.time_ms = now;  // resolved at
      --firing_;
      ++n;
      out.push_back({it->first, ChangeKind::kResolved, a.severity, a.previous_severity, a.status,
                     a.flapping, now});
    } else if (a.status == Status::kResolved && a.time_ms + resolved_retention_ms_ <= now) {
      string_bytes_ -= a.view().bytes();
      release(it->second);
      index_.erase(it++);
      continue;
    }
    ++it;
  }
  return n;
}

const Alert* AlertTable::find(uint64_t fp) const {
  auto it = index_.find(fp);
  return it == index_.end() ? nullptr : &at(it->second);
}

void AlertTable::prefetchAlert(uint64_t fp) const {
  auto it = index_.find(fp);
  if (it != index_.end()) __builtin_prefetch(&at(it->second));
}

bool AlertTable::prefetchStrings(const api::Event& e) const {
  auto it = index_.find(e.fingerprint);
  if (it == index_.end()) return false;
  const Alert& a = at(it->second);
  if (!changesContent(a, e, contentAfter(e))) return false;  // what apply calls a duplicate
  // The header and the first strings: a change compares the signed strings from the start.
  if (const char* p = a.strings.get()) {
    __builtin_prefetch(p);
    __builtin_prefetch(p + 64);
  }
  return true;
}

size_t AlertTable::memoryBytes() const {
  return index_.capacity() * (sizeof(std::pair<uint64_t, uint32_t>) + 1) +
         chunks_.size() * kChunk * sizeof(Alert) + string_bytes_ +
         sigs_.capacity() * sizeof(LabelSig);
}

}  // namespace triaged::engine
