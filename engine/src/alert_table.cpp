#include "triaged/engine/alert_table.h"

#include <bit>
#include <cstring>

namespace triaged::engine {

using api::Event;
using api::EventBatch;
using api::Status;

const char* changeKindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::kNew: return "new";
    case ChangeKind::kSeverity: return "severity";
    case ChangeKind::kResolved: return "resolved";
    case ChangeKind::kRefired: return "refired";
    case ChangeKind::kFlappingStarted: return "flapping_started";
    case ChangeKind::kFlappingStopped: return "flapping_stopped";
  }
  return "unknown";
}

// Layout: u32 total bytes, u16 labels, u16 annotations, then (u32 len, bytes) per string.
std::unique_ptr<char[]> AlertStrings::pack(const EventBatch& b, const Event& e) {
  std::string_view fields[kFieldCount] = {e.source, e.resource, e.check, e.service,
                                          e.summary, e.description, e.dedup_key};
  size_t n = 8;
  for (auto f : fields) n += 4 + f.size();
  const api::Label* l = b.labelsOf(e);
  const api::Label* a = b.annotationsOf(e);
  for (uint32_t i = 0; i < e.labels_count; ++i) n += 8 + l[i].name.size() + l[i].value.size();
  for (uint32_t i = 0; i < e.annotations_count; ++i) n += 8 + a[i].name.size() + a[i].value.size();
  auto blob = std::make_unique_for_overwrite<char[]>(n);
  char* p = blob.get();
  auto put32 = [&](uint32_t v) {
    std::memcpy(p, &v, 4);
    p += 4;
  };
  auto put = [&](std::string_view s) {
    put32(static_cast<uint32_t>(s.size()));
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  put32(static_cast<uint32_t>(n));
  uint16_t nl = static_cast<uint16_t>(e.labels_count), na = static_cast<uint16_t>(e.annotations_count);
  std::memcpy(p, &nl, 2);
  std::memcpy(p + 2, &na, 2);
  p += 4;
  for (auto f : fields) put(f);
  for (uint32_t i = 0; i < e.labels_count; ++i) put(l[i].name), put(l[i].value);
  for (uint32_t i = 0; i < e.annotations_count; ++i) put(a[i].name), put(a[i].value);
  return blob;
}

size_t AlertStrings::bytes() const {
  uint32_t n;
  std::memcpy(&n, p_, 4);
  return n;
}
uint32_t AlertStrings::labelCount() const {
  uint16_t v;
  std::memcpy(&v, p_ + 4, 2);
  return v;
}
uint32_t AlertStrings::annotationCount() const {
  uint16_t v;
  std::memcpy(&v, p_ + 6, 2);
  return v;
}

std::string_view AlertStrings::at(uint32_t idx) const {
  const char* p = p_ + 8;
  for (uint32_t i = 0;; ++i) {
    uint32_t len;
    std::memcpy(&len, p, 4);
    if (i == idx) return {p + 4, len};
    p += 4 + len;
  }
}

std::string_view AlertStrings::field(Field f) const { return at(f); }

api::Label AlertStrings::label(uint32_t i) const {
  uint32_t base = kFieldCount + 2 * i;
  const char* p = p_ + 8;
  for (uint32_t k = 0; k < base; ++k) {
    uint32_t len;
    std::memcpy(&len, p, 4);
    p += 4 + len;
  }
  uint32_t nlen, vlen;
  std::memcpy(&nlen, p, 4);
  std::string_view name(p + 4, nlen);
  p += 4 + nlen;
  std::memcpy(&vlen, p, 4);
  return {name, std::string_view(p + 4, vlen)};
}

bool AlertStrings::findLabel(std::string_view name, std::string_view& value) const {
  const char* p = p_ + 8;
  for (uint32_t k = 0; k < kFieldCount; ++k) {
    uint32_t len;
    std::memcpy(&len, p, 4);
    p += 4 + len;
  }
  for (uint32_t i = 0, n = labelCount(); i < n; ++i) {
    uint32_t nlen, vlen;
    std::memcpy(&nlen, p, 4);
    std::string_view k(p + 4, nlen);
    p += 4 + nlen;
    std::memcpy(&vlen, p, 4);
    if (k == name) {
      value = std::string_view(p + 4, vlen);
      return true;
    }
    p += 4 + vlen;
  }
  return false;
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

void AlertTable::observe(Alert& a, bool changed, uint64_t fp, int64_t now, std::vector<AlertChange>& out) {
  if (!flap_.enabled) return;
  a.flap_history = (a.flap_history << 1) | (changed ? 1u : 0u);
  if (a.flap_observations < 21) ++a.flap_observations;
  if ((a.flap_history & ((1u << 20) - 1)) == 0 && !a.flapping) return;  // the common case
  double pct = a.flapPercent();
  if (!a.flapping && pct >= flap_.high_percent) {
    a.flapping = true;
    out.push_back({fp, ChangeKind::kFlappingStarted, a.severity, a.previous_severity, a.status, true, now});
  } else if (a.flapping && pct < flap_.low_percent) {
    a.flapping = false;
    out.push_back({fp, ChangeKind::kFlappingStopped, a.severity, a.previous_severity, a.status, false, now});
  }
}

Outcome AlertTable::apply(const EventBatch& b, const Event& e, int64_t now, std::vector<AlertChange>& out) {
  auto it = alerts_.find(e.fingerprint);
  if (it == alerts_.end()) {
    if (e.status == Status::kResolved) return Outcome::kIgnored;  // resolving what we never saw
    auto& a = alerts_[e.fingerprint];
    a.first_seen_ms = a.last_seen_ms = e.event_time_ms;
    a.ends_at_ms = e.ends_at_ms;
    a.count = 1;
    a.content_hash = e.content_hash;
    a.strings = AlertStrings::pack(b, e);
    string_bytes_ += a.view().bytes();
    a.severity = a.previous_severity = e.severity;
    a.status = Status::kFiring;
    ++firing_;
    out.push_back({e.fingerprint, ChangeKind::kNew, a.severity, a.previous_severity, a.status, false, now});
    return Outcome::kNew;
  }
  Alert& a = it->second;
  ++a.count;
  if (e.event_time_ms > a.last_seen_ms) a.last_seen_ms = e.event_time_ms;
  bool content = a.content_hash != e.content_hash;
  if (content) {
    string_bytes_ -= a.view().bytes();
    a.strings = AlertStrings::pack(b, e);
    string_bytes_ += a.view().bytes();
    a.content_hash = e.content_hash;
  }
  Outcome result = content ? Outcome::kChanged : Outcome::kDuplicate;
  if (e.status != a.status) {
    a.status = e.status;
    if (e.status == Status::kResolved) {
      --firing_;
      a.resolved_at_ms = now;
      a.ends_at_ms = 0;
      if (!a.flapping)
        out.push_back({e.fingerprint, ChangeKind::kResolved, a.severity, a.previous_severity, a.status, false, now});
      result = Outcome::kResolved;
    } else {
      ++firing_;
      a.resolved_at_ms = 0;
      a.ends_at_ms = e.ends_at_ms;
      a.previous_severity = a.severity;
      a.severity = e.severity;
      if (!a.flapping)
        out.push_back({e.fingerprint, ChangeKind::kRefired, a.severity, a.previous_severity, a.status, false, now});
      result = Outcome::kChanged;
    }
    observe(a, true, e.fingerprint, now, out);
    return result;
  }
  if (a.status == Status::kFiring) a.ends_at_ms = e.ends_at_ms;
  if (e.severity != a.severity && a.status == Status::kFiring) {
    a.previous_severity = a.severity;
    a.severity = e.severity;
    if (!a.flapping)
      out.push_back({e.fingerprint, ChangeKind::kSeverity, a.severity, a.previous_severity, a.status, false, now});
    observe(a, true, e.fingerprint, now, out);
    return Outcome::kChanged;
  }
  observe(a, false, e.fingerprint, now, out);
  return result;
}

size_t AlertTable::expire(int64_t now, std::vector<AlertChange>& out) {
  size_t n = 0;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    Alert& a = it->second;
    if (a.status == Status::kFiring && a.ends_at_ms != 0 && a.ends_at_ms <= now) {
      a.status = Status::kResolved;
      a.resolved_at_ms = now;
      a.ends_at_ms = 0;
      --firing_;
      ++n;
      out.push_back({it->first, ChangeKind::kResolved, a.severity, a.previous_severity, a.status, a.flapping, now});
    } else if (a.status == Status::kResolved && a.resolved_at_ms + resolved_retention_ms_ <= now) {
      string_bytes_ -= a.view().bytes();
      alerts_.erase(it++);
      continue;
    }
    ++it;
  }
  return n;
}

const Alert* AlertTable::find(uint64_t fp) const {
  auto it = alerts_.find(fp);
  return it == alerts_.end() ? nullptr : &it->second;
}

size_t AlertTable::memoryBytes() const {
  return alerts_.capacity() * (sizeof(std::pair<uint64_t, Alert>) + 1) + string_bytes_;
}

}  // namespace triaged::engine
