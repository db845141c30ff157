// An incident's timeline as the correlator writes it: an entry per event worth telling, bounded
// in entries and bytes, and an alert's flips (resolved, fired again, severity, flapping)
// counted in one entry rewritten in place, which the store rewrites as one row.
#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "correlator_internal.h"
#include "triaged/api/ingest.h"

namespace triaged::engine {

void Correlator::note(Incident& inc, int64_t now, std::string actor, const char* action,
                      std::string detail, uint64_t alert) {
  inc.updated_ms = now;
  touch(inc);
  TimelineEntry e{now, std::move(actor), action, std::move(detail), alert};
  if (inc.timeline.size() >= opts_.settings.timeline_max_entries ||
      inc.timeline_bytes + e.bytes() > opts_.settings.timeline_max_bytes) {
    ++inc.timeline_dropped;
    return;
  }
  inc.timeline_bytes += static_cast<uint32_t>(e.bytes());
  inc.timeline.push_back(std::move(e));
}

namespace {
constexpr const char* kFlapped = "alert flapped";
}  // namespace

bool isFlipAction(std::string_view action) {
  return action == "alert resolved" || action == "alert fired again" ||
         action == "alert severity changed" || action == "alert flapping" ||
         action == "alert stable" || action == std::string_view(kFlapped);
}

// An alert that resolves, fires again or changes severity in an open incident: its first
// change is an entry of its own, every later one updates that entry in place ("alert
// flapped", "5 state changes between <first> and <last>, now firing critical"), so that an
// alert's flips cost its incident no memory and the store one row, however long it stays open.
void Correlator::noteFlip(Incident& inc, CorrAlert& a, int64_t now, const char* action,
                          std::string detail) {
  size_t i = a.flip_entry - 1;  // (0 - 1 is out of range)
  if (a.flip_entry == 0 || i >= inc.timeline.size() || inc.timeline[i].alert != a.fingerprint ||
      !isFlipAction(inc.timeline[i].action)) {
    size_t before = inc.timeline.size();
    note(inc, now, "triaged", action, std::move(detail), a.fingerprint);
    a.flip_entry = inc.timeline.size() > before ? static_cast<uint32_t>(inc.timeline.size()) : 0;
    return;
  }
  TimelineEntry& e = inc.timeline[i];
  uint64_t changes = 1;
  if (std::string_view(e.action) == kFlapped)
    std::from_chars(e.detail.data(), e.detail.data() + e.detail.size(), changes);
  inc.timeline_bytes -= static_cast<uint32_t>(e.bytes());
  e.action = kFlapped;
  // Rewritten in its own buffer (a flip of a flapping alert allocates nothing here).
  char count[24];
  auto end = std::to_chars(count, count + sizeof count, changes + 1).ptr;
  std::string& d = e.detail;
  d.assign(count, end);
  d += " state changes between ";
  d += api::Rfc3339Ms(e.at_ms).view();
  d += " and ";
  d += api::Rfc3339Ms(now).view();
  d += a.status == api::Status::kFiring ? ", now firing " : ", now resolved ";
  d += severityName(a.severity);
  if (a.flapping) d += ", flapping";
  inc.timeline_bytes += static_cast<uint32_t>(e.bytes());
  inc.updated_ms = now;
  if (i >= inc.stored_timeline) {  // not stored yet: the record's write, pending, appends it
    touch(inc);
    return;
  }
  // Stored: the store rewrites this entry's row and leaves the incident's record (what changed
  // is the entry; `updated` comes back from it at a restart). Emptied by every store round;
  // each entry once.
  if (inc.rewritten_entry == 0) {
    inc.rewritten_entry = static_cast<uint32_t>(i + 1);
  } else if (inc.rewritten_entry != i + 1) {
    auto& rw = inc.edit().timeline_rewritten;
    if (std::find(rw.begin(), rw.end(), i) == rw.end()) rw.push_back(static_cast<uint32_t>(i));
  }
  touchState(inc);
}

// When an entry says an alert's flips last happened: "... between <first> and <last>, ...".
int64_t lastFlipMs(const TimelineEntry& e) {
  if (std::string_view(e.action) != kFlapped) return e.at_ms;
  std::string_view d = e.detail;
  size_t at = d.find(" and ");
  if (at == std::string_view::npos) return e.at_ms;
  d.remove_prefix(at + 5);
  auto t = api::parseRfc3339(d.substr(0, d.find(',')));
  return t ? std::max(*t, e.at_ms) : e.at_ms;
}

}  // namespace triaged::engine
