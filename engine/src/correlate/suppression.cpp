// Suppression as a state: silences, maintenance windows and inhibition hold firing alerts, and
// they are evaluated again whenever anything that suppresses changes (a silence put, expired
// or reaching its start or end; a window starting or ending; an inhibiting alert starting or
// stopping to fire; a firing alert taking new labels; a reload), not only when an alert starts
// firing. An incident whose firing alerts are all suppressed is held. docs/suppression.md says
// what each reason does.
#include <xxhash.h>

#include <algorithm>
#include <cstdio>

#include "correlator_internal.h"
#include "triaged/api/ingest.h"

namespace triaged::engine {

using rules::RuleSet;

namespace {

uint64_t equalHash(const rules::InhibitRule& r, const rules::Facts& f) {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (const auto& name : r.equal) {
    std::string_view v = f.get(name);
    h = XXH3_64bits_withSeed(v.data(), v.size(), h) * 31 + v.size();
  }
  return h;
}

constexpr size_t kMaxInhibitors = 8;  // listed per alert; one is enough to hold it

bool heldBySilence(const CorrAlert& a, const std::string& id) {
  return a.why &&
         std::find(a.why->silences.begin(), a.why->silences.end(), id) != a.why->silences.end();
}

bool sameMatchers(const Silence& a, const Silence& b) {
  if (a.matchers.size() != b.matchers.size()) return false;
  for (size_t i = 0; i < a.matchers.size(); ++i)
    if (a.matchers[i]->str() != b.matchers[i]->str()) return false;
  return true;
}

bool live(const Incident& inc) {
  return inc.status == IncidentStatus::kOpen || inc.status == IncidentStatus::kAcknowledged;
}

}  // namespace

size_t Correlator::suppressedCount() const { return suppressed_firing_; }

size_t Correlator::heldIncidents() const {
  size_t n = 0;
  for (uint64_t id : held_ids_)
    if (const Incident* inc = incident(id); inc && inc->held && live(*inc)) ++n;
  return n;
}

bool Correlator::windowCovers(const rules::MaintenanceWindow& w, const CorrAlert& a) const {
  AlertFacts f(a);
  if (!w.match.empty() && matchesAll(w.match, f)) return true;
  if (a.ci != RuleSet::kNone) {
    if (std::find(w.cis.begin(), w.cis.end(), a.ci) != w.cis.end()) return true;
    for (uint32_t s : rules_->cis()[a.ci].services)
      if (std::find(w.services.begin(), w.services.end(), s) != w.services.end()) return true;
  }
  if (w.services.empty()) return false;
  uint32_t s = rules_->serviceByName(f.get("service"));
  return s != RuleSet::kNone &&
         std::find(w.services.begin(), w.services.end(), s) != w.services.end();
}

Suppression Correlator::suppressionAt(const CorrAlert& a, int64_t now, SuppressionReasons& why) {
  why = {};
  if (a.status != api::Status::kFiring) return Suppression::kNone;
  AlertFacts f(a);
  if (!silence_index_) {
    silence_index_ = std::make_unique<rules::MatcherIndex>();
    silence_ids_.clear();
    for (const auto& [id, s] : silences_) {
      if (s.ends_ms <= now) continue;
      silence_index_->add(static_cast<uint32_t>(silence_ids_.size()), s.matchers);
      silence_ids_.push_back(&s);
    }
    silence_index_->build();
  }
  silence_index_->candidates(f, scratch2_);
  for (uint32_t i : scratch2_) {  // ascending index: silences in id order
    const Silence& s = *silence_ids_[i];
    if (now >= s.starts_ms && now < s.ends_ms && matchesAll(s.matchers, f)) {
      why.silences.push_back(s.id);
      why.until = std::max(why.until, s.ends_ms);
    }
  }
  rules_->maintenanceIndex().candidates(f, scratch2_);
  for (uint32_t wi : scratch2_) {
    const auto& w = rules_->maintenance()[wi];
    int64_t until = windowActiveUntil(w, now);
    if (!until || !windowCovers(w, a)) continue;
    why.maintenance = windowLabel(w);
    why.until = std::max(why.until, until);
    break;
  }
  if (why.maintenance.empty())
    for (const auto& [id, m] : maintenance_) {
      if (m.ended_ms) continue;
      int64_t until = windowActiveUntil(m.window, now);
      if (!until || !windowCovers(m.window, a)) continue;
      why.maintenance = m.label();
      why.until = std::max(why.until, until);
      break;
    }
  if (auto it = inhibit_entries_.find(a.fingerprint); it != inhibit_entries_.end())
    for (const auto& e : it->second) {
      if (e.source) continue;
      auto src = inhibit_sources_[e.rule].find(e.key);
      if (src == inhibit_sources_[e.rule].end()) continue;
      for (uint64_t fp : src->second) {
        if (fp == a.fingerprint) continue;  // an alert never inhibits itself
        if (why.inhibited_by.size() < kMaxInhibitors &&
            std::find(why.inhibited_by.begin(), why.inhibited_by.end(), fp) ==
                why.inhibited_by.end())
          why.inhibited_by.push_back(fp);
      }
    }
  // 0 while the end is not known: inhibition lasts as long as its source fires, a change
  // followed by a window may have no end yet.
  if (!why.inhibited_by.empty() || why.until == INT64_MAX) why.until = 0;
  return !why.silences.empty()       ? Suppression::kSilenced
         : !why.maintenance.empty()  ? Suppression::kMaintenance
         : !why.inhibited_by.empty() ? Suppression::kInhibited
                                     : Suppression::kNone;
}

// Recomputes what holds `a` and applies the difference: its incident's counts (a window's
// alerts stop counting for downtime) and held state, the alert events.
void Correlator::setSuppression(CorrAlert& a, int64_t now) {
  SuppressionReasons why;
  Suppression kind = suppressionAt(a, now, why);
  if (kind == a.suppressed && (kind == Suppression::kNone || *a.why == why)) return;
  Incident* inc = a.counted_severity >= 0 ? mutableIncident(a.incident) : nullptr;
  if (inc) uncountFiring(*inc, a);
  bool was = a.suppressed != Suppression::kNone;
  a.suppressed = kind;
  if (kind == Suppression::kNone)
    a.why.reset();
  else if (a.why)
    *a.why = std::move(why);
  else
    a.why = std::make_unique<SuppressionReasons>(std::move(why));
  bool is = kind != Suppression::kNone;
  if (was != is) {
    is ? ++suppressed_firing_ : --suppressed_firing_;
    emit(is ? CorrelatorEvent::kAlertSuppressed : CorrelatorEvent::kAlertUnsuppressed, now, 0, 0,
         a.fingerprint);
  }
  if (!inc) return;
  countFiring(*inc, a);
  touch(*inc);
  refreshHeld(*inc, now);
}

// Applies suppression again to every firing alert pred picks, in arrival order.
void Correlator::resuppressWhere(int64_t now, absl::FunctionRef<bool(const CorrAlert&)> pred) {
  for (uint64_t fp : alert_order_) {
    auto it = alerts_.find(fp);
    if (it == alerts_.end() || it->second->status != api::Status::kFiring) continue;
    if (pred(*it->second)) setSuppression(*it->second, now);
  }
}

Correlator::IncidentSuppression Correlator::suppressionOf(const Incident& inc) const {
  IncidentSuppression out;
  auto add = [](auto& v, const auto& x) {
    if (v.size() < 20 && std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  };
  for (uint64_t fp : inc.alerts) {
    const CorrAlert* a = alert(fp);
    if (!a || a->incident != inc.id || !a->why) continue;
    for (const auto& s : a->why->silences) add(out.silences, s);
    if (!a->why->maintenance.empty()) add(out.windows, a->why->maintenance);
    for (uint64_t src : a->why->inhibited_by) add(out.inhibited_by, src);
  }
  return out;
}

void Correlator::resuppressAll(int64_t now) {
  resuppressWhere(now, [](const CorrAlert&) { return true; });
}

std::string Correlator::heldReasons(const Incident& inc) const {
  IncidentSuppression s = suppressionOf(inc);
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  for (const auto& id : s.silences) add("silence " + id);
  for (const auto& w : s.windows) add("maintenance " + w);
  for (uint64_t src : s.inhibited_by) add("inhibited by " + fingerprintHex(src));
  return out;
}

// Held while every firing alert is suppressed (and something fired suppressed); released when
// an unsuppressed alert fires in it.
void Correlator::refreshHeld(Incident& inc, int64_t now) {
  if (!live(inc)) return;
  bool unsuppressed = inc.firingAll() > inc.firing_suppressed;
  if (!inc.held && !unsuppressed && inc.firing_suppressed > 0) {
    inc.held = true;
    inc.held_since_ms = now;
    held_ids_.insert(inc.id);
    note(inc, now, "triaged", "held", heldReasons(inc));
  } else if (inc.held && unsuppressed) {
    release(inc, now);
  }
}

// A release tells the targets at once: the opening if they never heard of the incident, else
// an update.
void Correlator::release(Incident& inc, int64_t now) {
  inc.held = false;
  held_ids_.erase(inc.id);
  note(inc, now, "triaged", "released", "held since " + api::formatRfc3339Ms(inc.held_since_ms));
  inc.held_total_ms += now - inc.held_since_ms;
  inc.held_since_ms = 0;
  // At once, not at the next group_interval: what was held is news now.
  inc.update_pending = false;
  inc.announced_ms = now;
  emit(inc.opening_notified ? CorrelatorEvent::kIncidentUpdated : CorrelatorEvent::kIncidentOpened,
       now, inc.id);
}

// ---- Inhibition ---------------------------------------------------------------------------

// A firing alert enters (add) or leaves the inhibition indexes (matching the rules once, when
// it starts firing); when the sources of an `equal` group change, the group's targets are
// evaluated again (their inhibited_by names the sources).
void Correlator::inhibitIndex(CorrAlert& a, bool add, int64_t now) {
  std::vector<std::pair<uint32_t, uint64_t>> changed;  // (rule, key) whose sources changed
  inhibitFile(a, add, changed);
  resuppressInhibited(changed, a.fingerprint, now);
}

void Correlator::inhibitFile(CorrAlert& a, bool add,
                             std::vector<std::pair<uint32_t, uint64_t>>& changed) {
  const auto& inhibit = rules_->inhibitRules();
  if (inhibit.empty()) return;
  if (add) {
    if (inhibit_entries_.contains(a.fingerprint)) return;
    AlertFacts f(a);
    absl::InlinedVector<InhibitEntry, 2> entries;
    rules_->inhibitTargetIndex().candidates(f, scratch2_);
    for (uint32_t i : scratch2_)
      if (matchesAll(inhibit[i].target, f)) {
        uint64_t key = equalHash(inhibit[i], f);
        entries.push_back({i, false, key});
        inhibit_targets_[i][key].push_back(a.fingerprint);
      }
    rules_->inhibitSourceIndex().candidates(f, scratch2_);
    for (uint32_t i : scratch2_)
      if (matchesAll(inhibit[i].source, f)) {
        uint64_t key = equalHash(inhibit[i], f);
        entries.push_back({i, true, key});
        inhibit_sources_[i][key].push_back(a.fingerprint);
        changed.emplace_back(i, key);
      }
    if (entries.empty()) return;
    inhibit_entries_.emplace(a.fingerprint, std::move(entries));
  } else {
    auto it = inhibit_entries_.find(a.fingerprint);
    if (it == inhibit_entries_.end()) return;
    for (const auto& e : it->second) {
      auto& map = e.source ? inhibit_sources_[e.rule] : inhibit_targets_[e.rule];
      auto at = map.find(e.key);
      if (at == map.end()) continue;
      auto& v = at->second;
      v.erase(std::remove(v.begin(), v.end(), a.fingerprint), v.end());
      if (v.empty()) map.erase(at);
      if (e.source) changed.emplace_back(e.rule, e.key);
    }
    inhibit_entries_.erase(it);
  }
}

void Correlator::resuppressInhibited(const std::vector<std::pair<uint32_t, uint64_t>>& changed,
                                     uint64_t source, int64_t now) {
  for (auto [rule, key] : changed) {
    auto targets = inhibit_targets_[rule].find(key);
    if (targets == inhibit_targets_[rule].end()) continue;
    std::vector<uint64_t> fps(targets->second.begin(), targets->second.end());
    for (uint64_t fp : fps)
      if (fp != source)
        if (auto t = alerts_.find(fp); t != alerts_.end()) setSuppression(*t->second, now);
  }
}

// New labels (or service) of an alert that keeps its identity (a dedup_key, or a fingerprint
// over some labels): a firing one is filed again under them, as inhibition source and on its
// CI, and its suppression is looked at again (a silence may match it now, or no longer). It
// stays in its incident, as the same alert; rules that group or open incidents read its new
// labels from its next firing on. Not a change of state: no notification, and a timeline
// entry only when it widens a live incident's scope (a new CI or service).
void Correlator::relabel(CorrAlert& a, SharedStrings strings, int64_t now) {
  const bool firing = a.status == api::Status::kFiring;
  std::vector<std::pair<uint32_t, uint64_t>> changed;  // inhibitions whose sources changed
  if (firing) {
    inhibitFile(a, false, changed);
    ciCount(a, false);
  }
  a.strings = std::move(strings);
  a.ci = rules_->ciOf(AlertFacts(a));
  // A new CI or service of an alert in a live incident is one more the incident affects (the
  // lists only grow, as alerts only join): services' states, priority and reports count it.
  if (Incident* inc = a.incident ? mutableIncident(a.incident) : nullptr;
      inc &&
      (inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged)) {
    std::string added;
    widenScope(*inc, a, &added);
    if (!added.empty()) {
      note(*inc, now, "triaged", "alert relabeled", "now affects " + added, a.fingerprint);
      recompute(*inc, now, "triaged");
    }
  }
  if (!firing) return;
  ciCount(a, true);
  inhibitFile(a, true, changed);
  setSuppression(a, now);
  // Its targets once, with both sides filed (no release and inhibition again in between).
  resuppressInhibited(changed, a.fingerprint, now);
}

// ---- Silences -----------------------------------------------------------------------------

// A random-looking RFC 4122 version 4 id (silences and maintenance windows), unique per
// correlator (the counter) and per process (its address).
std::string Correlator::newUuid(int64_t now) {
  uint64_t seed[3] = {static_cast<uint64_t>(now), next_silence_++,
                      reinterpret_cast<uintptr_t>(this)};
  XXH128_hash_t h = XXH3_128bits(seed, sizeof seed);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                static_cast<unsigned long long>(h.high64 >> 32),
                static_cast<unsigned long long>((h.high64 >> 16) & 0xffff),
                static_cast<unsigned long long>(h.high64 & 0xfff),
                static_cast<unsigned long long>(h.low64 >> 52),
                static_cast<unsigned long long>(h.low64 & 0xffffffffffffULL));
  return buf;
}

void Correlator::scheduleSilence(const Silence& s, int64_t now) {
  if (s.starts_ms > now) schedule(s.starts_ms, kSilenceEdge, s.seq, s.starts_ms);
  if (s.ends_ms > now) schedule(s.ends_ms, kSilenceEdge, s.seq, s.ends_ms);
}

std::string Correlator::putSilence(Silence s, int64_t now, std::string* id_out) {
  if (s.matchers.empty()) return "at least one matcher is required";
  if (s.ends_ms <= s.starts_ms) return "endsAt must be after startsAt";
  if (s.ends_ms <= now) return "endsAt is in the past";
  if (!s.id.empty()) {
    auto prev = silences_.find(s.id);
    if (prev == silences_.end()) return "no such silence";
    // Alertmanager's rule: a silence is updated in place only if its matchers are the same,
    // and then an active one keeps its start and a pending one does not start in the past; an
    // expired one never changes. Otherwise the old one is expired and a new one made.
    const Silence& p = prev->second;
    bool in_place = sameMatchers(p, s) && p.ends_ms > now &&
                    (p.starts_ms <= now ? s.starts_ms == p.starts_ms : s.starts_ms >= now);
    if (!in_place) {
      if (p.ends_ms > now) expireSilence(s.id, now);
      s.id.clear();
    }
  }
  if (s.id.empty()) {
    if (s.starts_ms < now) s.starts_ms = now;
    s.id = newUuid(now);
  }
  s.updated_ms = now;
  s.seq = next_silence_++;
  *id_out = s.id;
  std::string id = s.id;
  if (auto old = silences_.find(id); old != silences_.end()) silence_by_seq_.erase(old->second.seq);
  Silence& put = silences_[id] = std::move(s);
  silence_by_seq_[put.seq] = id;
  silence_index_.reset();
  touchSilence(id);
  scheduleSilence(put, now);
  // Alerts it held before (an update may have changed its matchers) and alerts it matches now.
  const Silence* sp = &put;
  resuppressWhere(now, [&](const CorrAlert& a) {
    return heldBySilence(a, id) ||
           (now >= sp->starts_ms && matchesAll(sp->matchers, AlertFacts(a)));
  });
  return "";
}

std::string Correlator::expireSilence(const std::string& id, int64_t now) {
  auto it = silences_.find(id);
  if (it == silences_.end()) return "no such silence";
  if (it->second.ends_ms <= now) return "silence is already expired";
  it->second.ends_ms = std::max(now, it->second.starts_ms);
  it->second.updated_ms = now;
  silence_index_.reset();
  touchSilence(id);
  resuppressWhere(now, [&](const CorrAlert& a) { return heldBySilence(a, id); });
  return "";
}

// ---- Maintenance windows ------------------------------------------------------------------

// A timer at each window's next start or end (after now); reload() makes older ones stale.
void Correlator::scheduleMaintenance(int64_t now) {
  const auto& windows = rules_->maintenance();
  for (uint32_t i = 0; i < windows.size(); ++i)
    if (int64_t next = windows[i].schedule.nextEdge(now); next != INT64_MAX)
      schedule(next, kMaintenanceEdge, i, windows_gen_);
}

void Correlator::resuppressForWindow(const rules::MaintenanceWindow& w, int64_t now) {
  resuppressWhere(now, [&](const CorrAlert& a) {
    return (a.why && !a.why->maintenance.empty()) || windowCovers(w, a);
  });
}

void Correlator::fireSuppressionTimer(const Timer& t, int64_t now) {
  if (t.kind == kSilenceEdge) {
    auto it = silence_by_seq_.find(t.id);
    if (it == silence_by_seq_.end()) return;
    auto s = silences_.find(it->second);
    if (s == silences_.end() || s->second.seq != t.id) return;
    const Silence& sil = s->second;
    if (static_cast<int64_t>(t.gen) != sil.starts_ms && static_cast<int64_t>(t.gen) != sil.ends_ms)
      return;  // the silence was changed since
    silence_index_.reset();
    const std::string& id = sil.id;
    resuppressWhere(now, [&](const CorrAlert& a) {
      return heldBySilence(a, id) || matchesAll(sil.matchers, AlertFacts(a));
    });
    return;
  }
  if (t.kind == kChangeEdge) {
    auto it = change_by_seq_.find(t.id);
    if (it == change_by_seq_.end()) return;
    auto ch = changes_.find(it->second);
    if (ch == changes_.end() || ch->second.seq != t.id) return;
    changeEdge(ch->first, now);
    return;
  }
  if (t.kind == kApiWindowEdge) {
    auto it = maintenance_by_seq_.find(t.id);
    if (it == maintenance_by_seq_.end()) return;
    auto m = maintenance_.find(it->second);
    if (m == maintenance_.end() || m->second.seq != t.id || m->second.ended_ms) return;
    const MaintenanceRecord& w = m->second;
    resuppressForWindow(w.window, now);
    scheduleApiWindow(w, now);
    return;
  }
  // A window's edge.
  if (t.gen != windows_gen_ || t.id >= rules_->maintenance().size()) return;
  const auto& w = rules_->maintenance()[t.id];
  resuppressForWindow(w, now);
  if (int64_t next = w.schedule.nextEdge(now); next != INT64_MAX)
    schedule(next, kMaintenanceEdge, t.id, windows_gen_);
}

}  // namespace triaged::engine
