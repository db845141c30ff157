// The postgresql backend's writing side. A group's rows are folded per key (the last write of a
// key wins, with the merge rules of the SQLite backend's statements: an alert's strings stay
// when a change carries none, counters and last-seen never go back, a counter after a change
// moves the firing alert's time), copied into session-local staging tables with COPY, and
// merged into the tables with one statement each (pg_stages.h). Appends (service transitions,
// capacity samples, outbox entries) are copied straight into their tables.
#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <deque>
#include <tuple>
#include <utility>

#include "store/postgres/pg_member_blocks.h"
#include "store/postgres/pg_stages.h"
#include "store/postgres/pg_store.h"

namespace triaged::engine {

namespace {

template <class K, class V>
struct Fold {
  absl::flat_hash_map<K, size_t> at;
  std::vector<V> rows;
  V* find(const K& k) {
    auto it = at.find(k);
    return it == at.end() ? nullptr : &rows[it->second];
  }
  void put(const K& k, V v) {
    auto [it, fresh] = at.try_emplace(k, rows.size());
    if (fresh)
      rows.push_back(std::move(v));
    else
      rows[it->second] = std::move(v);
  }
  bool empty() const { return rows.empty(); }
  void clear() {
    at.clear();
    rows.clear();
  }
};

// The unit's record as it is (no copy), or a merged copy once a second change or a counter of
// the same alert in the group changes it.
struct FoldedAlert {
  int64_t row;
  bool fresh;  // a new row: copied straight into the table
  const AlertRecord* rec;
  bool owned = false;  // rec is our copy in Staging::merged
};
struct FoldedCounter {
  int64_t row;
  uint64_t count;
  int64_t last_seen_ms, time_ms;
  bool live;
};

// A stage: the staging table, its COPY and the statement that merges it.
struct Stage {
  const char* table;  // staging table
  const char* merge;
  pg::CopyRows rows;
};

using enum pg::StageId;
using pg::kStageTables;
using Key2 = std::pair<std::string, std::string>;

}  // namespace

struct PostgresStore::Staging {
  Fold<uint64_t, FoldedAlert> alerts;
  std::deque<AlertRecord> merged;  // stable addresses for FoldedAlert::rec
  Fold<uint64_t, FoldedCounter> counters;
  Fold<uint64_t, const StoreUnit::Row*> incidents, problems;
  Fold<std::pair<uint64_t, uint32_t>, std::pair<uint64_t, const MemberRow*>> members;
  Fold<std::pair<uint64_t, uint32_t>, std::pair<uint64_t, const TimelineWrite*>> timeline;
  Fold<std::string, const StoreUnit::SilenceRow*> silences;
  Fold<Key2, const StoreUnit::RecordRow*> records;
  Fold<std::string, const std::string*> meta;
  Fold<uint64_t, const WindowRow*> windows;
  Fold<uint64_t, const SequenceState*> sequences;
  Fold<std::tuple<uint64_t, std::string, int>, const SlaRows::Clock*> clocks;
  Fold<uint64_t, const SlaRows::Summary*> summaries;
  Fold<std::string, const std::string*> heartbeats, capacity_states;
  Fold<int64_t, int64_t> gaps;
  Fold<std::pair<std::string, int64_t>, const SlaRows::SloMinute*> slo_minutes;
  Fold<uint64_t, std::tuple<int, int64_t, const std::string*>> outbox_ops;
  pg::CopyRows transitions, samples, outbox;
  // Rows no stored row has the key of (new alerts; an incident's members and timeline entries
  // past what is stored of it): straight into their tables, without a merge. New members go
  // in as one block per incident (pg_member_blocks.h).
  pg::BinaryRows new_alerts, new_blocks, new_timeline;
  std::vector<std::pair<uint64_t, const MemberRow*>> new_members;
  std::string block;
  // Per incident, how many member and timeline rows are stored (seq below it), and what this
  // group adds (applied once it commits).
  absl::flat_hash_map<uint64_t, uint32_t> members_stored, timeline_stored;
  std::vector<std::pair<uint64_t, uint32_t>> members_after, timeline_after;
  bool stored_known = false;
  // Staging tables this session has (bits by StageId), and those this group creates. Made
  // when first needed: PostgreSQL empties every ON COMMIT DELETE ROWS table of the session at
  // every commit (a truncation each, with its TOAST table and index), so a table no group
  // used costs every commit; measured, the 19 of them were two thirds of COMMIT's time.
  uint32_t tables_made = 0, tables_making = 0;
  std::vector<std::tuple<const std::string*, int, int64_t>> prunes;
  std::vector<Stage> stages;

  Staging() {
    for (const auto& s : kStageTables) stages.push_back({s[0], s[2], {}});
  }

  void clear() {
    alerts.clear();
    merged.clear();
    counters.clear();
    incidents.clear();
    problems.clear();
    members.clear();
    timeline.clear();
    silences.clear();
    records.clear();
    meta.clear();
    windows.clear();
    sequences.clear();
    clocks.clear();
    summaries.clear();
    heartbeats.clear();
    capacity_states.clear();
    gaps.clear();
    slo_minutes.clear();
    outbox_ops.clear();
    transitions.clear();
    samples.clear();
    new_alerts.clear();
    new_blocks.clear();
    new_members.clear();
    new_timeline.clear();
    members_after.clear();
    timeline_after.clear();
    outbox.clear();
    prunes.clear();
    for (auto& s : stages) s.rows.clear();
  }

  AlertRecord& own(FoldedAlert& f) {
    if (!f.owned) {
      merged.push_back(*f.rec);
      f.rec = &merged.back();
      f.owned = true;
    }
    return const_cast<AlertRecord&>(*f.rec);
  }

  void alert(const AlertRecord& a, AlertRowIds& rows) {
    FoldedAlert* f = alerts.find(a.fingerprint);
    if (!f) {
      auto [row, fresh] = rows.assign(a.fingerprint);
      alerts.put(a.fingerprint, FoldedAlert{row, fresh, &a, false});
      if (FoldedCounter* c = counters.find(a.fingerprint); c && c->live) {
        // A counter before the change: its maxima stay, the change sets the time.
        AlertRecord& r = own(*alerts.find(a.fingerprint));
        r.count = std::max(r.count, c->count);
        r.last_seen_ms = std::max(r.last_seen_ms, c->last_seen_ms);
        c->live = false;
      }
      return;
    }
    AlertRecord& r = own(*f);
    std::string strings = a.strings.empty() ? std::move(r.strings) : a.strings;
    int64_t changed = a.changed_ms ? a.changed_ms : r.changed_ms;
    uint64_t count = std::max(r.count, a.count);
    int64_t last_seen = std::max(r.last_seen_ms, a.last_seen_ms);
    r = a;
    r.strings = std::move(strings);
    r.changed_ms = changed;
    r.count = count;
    r.last_seen_ms = last_seen;
  }

  void counter(const CounterRecord& c, AlertRowIds& rows) {
    if (FoldedAlert* f = alerts.find(c.fingerprint)) {
      AlertRecord& r = own(*f);
      r.count = std::max(r.count, c.count);
      r.last_seen_ms = std::max(r.last_seen_ms, c.last_seen_ms);
      if (r.status == api::Status::kFiring) r.time_ms = c.time_ms;
      return;
    }
    int64_t row = rows.find(c.fingerprint);
    if (!row) return;  // not stored yet: its change will carry the counters
    if (FoldedCounter* f = counters.find(c.fingerprint)) {
      f->count = std::max(f->count, c.count);
      f->last_seen_ms = std::max(f->last_seen_ms, c.last_seen_ms);
      f->time_ms = c.time_ms;
      f->live = true;
      return;
    }
    counters.put(c.fingerprint, {row, c.count, c.last_seen_ms, c.time_ms, true});
  }

  void unit(StoreUnit& u, AlertRowIds& rows) {
    for (const auto& a : u.alerts) alert(a, rows);
    for (const auto& c : u.counters) counter(c, rows);
    for (const auto& r : u.incidents) {
      if (!r.record.empty()) incidents.put(r.id, &r);  // (empty: only timeline rows changed)
      for (const auto& m : u.membersOf(r)) members.put({r.id, m.seq}, {r.id, &m});
      for (const auto& t : u.timelineOf(r)) timeline.put({r.id, t.seq}, {r.id, &t});
    }
    for (const auto& r : u.problems) problems.put(r.id, &r);
    for (const auto& r : u.silences) silences.put(r.id, &r);
    for (const auto& r : u.records) records.put({r.kind, r.id}, &r);
    for (const auto& [k, v] : u.meta) meta.put(k, &v);
    for (const auto& w : u.windows) windows.put(w.hash, &w);
    for (const auto& q : u.sequences) sequences.put(q.hash, &q);
    for (const auto& t : u.sla.transitions)
      transitions.text(t.service).i(t.at_ms).i(t.status).text(t.incidents).end();
    for (const auto& c : u.sla.clocks) clocks.put({c.incident, c.agreement, c.target}, &c);
    for (const auto& m : u.sla.summaries) summaries.put(m.id, &m);
    for (const auto& [name, rec] : u.sla.heartbeats) heartbeats.put(name, &rec);
    for (const auto& [a, b] : u.sla.gaps) {
      int64_t* e = gaps.find(a);
      gaps.put(a, e ? std::max(*e, b) : b);
    }
    for (const auto& m : u.sla.slo_minutes) slo_minutes.put({m.slo, m.minute}, &m);
    for (const auto& c : u.sla.capacity_samples) samples.text(c.rule).i(c.at_ms).d(c.value).end();
    for (const auto& [rule, rec] : u.sla.capacity_states) capacity_states.put(rule, &rec);
    for (const auto& [slo, before] : u.sla.prune_slo) prunes.emplace_back(&slo, 0, before);
    for (const auto& [rule, before] : u.sla.prune_capacity) prunes.emplace_back(&rule, 1, before);
    for (uint64_t id : u.outbox_done) outbox_ops.put(id, {0, 0, nullptr});
    for (const auto& [id, err] : u.outbox_dead) outbox_ops.put(id, {1, 0, &err});
    for (const auto& [id, at] : u.outbox_revive) outbox_ops.put(id, {2, at, nullptr});
  }

  void encode() {
    auto& s = stages;
    for (const auto& f : alerts.rows) {
      const AlertRecord& a = *f.rec;
      if (f.fresh) {
        new_alerts.row(14)
            .i8(f.row)
            .u8(a.fingerprint)
            .bytea(a.strings)
            .i8(a.first_seen_ms)
            .i8(a.last_seen_ms)
            .i8(a.time_ms)
            .i8(a.changed_ms)
            .u8(a.count)
            .u8(a.content_hash)
            .i8(a.flap_history)
            .i4(static_cast<int>(a.severity))
            .i4(static_cast<int>(a.previous_severity))
            .i4(static_cast<int>(a.status))
            .i4(a.flapping);
        continue;
      }
      s[kAlerts]
          .rows.i(f.row)
          .u(a.fingerprint)
          .bytea(a.strings)
          .i(a.first_seen_ms)
          .i(a.last_seen_ms)
          .i(a.time_ms)
          .i(a.changed_ms)
          .u(a.count)
          .u(a.content_hash)
          .i(a.flap_history)
          .i(static_cast<int>(a.severity))
          .i(static_cast<int>(a.previous_severity))
          .i(static_cast<int>(a.status))
          .i(a.flapping)
          .end();
    }
    for (const auto& c : counters.rows)
      if (c.live) s[kCounters].rows.i(c.row).u(c.count).i(c.last_seen_ms).i(c.time_ms).end();
    auto record = [](pg::CopyRows& out, const StoreUnit::Row* r) {
      out.u(r->id).i(r->status).i(r->updated_ms).text(r->record).end();
    };
    for (auto* r : incidents.rows) record(s[kIncidents].rows, r);
    for (auto* r : problems.rows) record(s[kProblems].rows, r);
    // Past what is stored of the incident: new rows (the fold made each key unique).
    auto split = [](absl::flat_hash_map<uint64_t, uint32_t>& stored, uint64_t id, uint32_t seq,
                    std::vector<std::pair<uint64_t, uint32_t>>& after) {
      auto it = stored.find(id);
      uint32_t have = it == stored.end() ? 0 : it->second;
      if (seq < have) return false;
      after.emplace_back(id, seq + 1);
      return true;
    };
    for (auto [id, m] : members.rows) {
      if (split(members_stored, id, m->seq, members_after))
        new_members.emplace_back(id, m);
      else
        s[kMembers].rows.u(id).i(m->seq).u(m->fingerprint).i(m->role).end();
    }
    std::sort(new_members.begin(), new_members.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second->seq < b.second->seq;
    });
    for (size_t k = 0; k < new_members.size();) {
      uint64_t id = new_members[k].first;
      uint32_t from = new_members[k].second->seq, to = from;
      block.clear();
      for (; k < new_members.size() && new_members[k].first == id; ++k) {
        pg::appendMember(block, *new_members[k].second);
        to = new_members[k].second->seq;
      }
      new_blocks.row(4).u8(id).i8(from).i8(int64_t{to} + 1).bytea(block);
    }
    for (auto [id, t] : timeline.rows) {
      if (split(timeline_stored, id, t->seq, timeline_after))
        new_timeline.row(7)
            .u8(id)
            .i8(t->seq)
            .i8(t->at_ms)
            .text(t->actor)
            .text(t->action)
            .text(t->detail)
            .u8(t->alert);
      else
        s[kTimeline]
            .rows.u(id)
            .i(t->seq)
            .i(t->at_ms)
            .text(t->actor)
            .text(t->action)
            .text(t->detail)
            .u(t->alert)
            .end();
    }
    for (auto* r : silences.rows) s[kSilences].rows.text(r->id).i(r->ends_ms).text(r->record).end();
    for (auto* r : records.rows)
      s[kRecords].rows.text(r->kind).text(r->id).i(r->ends_ms).text(r->record).end();
    for (const auto& [k, at] : meta.at) s[kMeta].rows.text(k).text(*meta.rows[at]).end();
    for (auto* w : windows.rows) {
      auto& o = s[kWindows].rows.u(w->hash);
      if (w->seen.empty())
        o.null().null();
      else
        o.text(w->rule).text(w->seen);
      o.end();
    }
    for (auto* q : sequences.rows) {
      auto& o = s[kSequences].rows.u(q->hash);
      if (q->rule.empty())
        o.null().null().null().null().null().null();
      else
        o.text(q->rule).text(q->key).u(q->first).i(q->at).i(q->active).bytea(q->strings);
      o.end();
    }
    for (auto* c : clocks.rows)
      s[kClocks].rows.u(c->incident).text(c->agreement).i(c->target).text(c->record).end();
    for (auto* m : summaries.rows)
      s[kSummaries].rows.u(m->id).i(m->opened_ms).i(m->resolved_ms).text(m->record).end();
    for (const auto& [name, at] : heartbeats.at)
      s[kHeartbeats].rows.text(name).text(*heartbeats.rows[at]).end();
    for (const auto& [a, at] : gaps.at) s[kGaps].rows.i(a).i(gaps.rows[at]).end();
    for (auto* m : slo_minutes.rows)
      s[kSloMinutes].rows.text(m->slo).i(m->minute).u(m->good).u(m->valid).end();
    for (const auto& [rule, at] : capacity_states.at)
      s[kCapacityState].rows.text(rule).text(*capacity_states.rows[at]).end();
    for (const auto& [id, at] : outbox_ops.at) {
      auto [op, when, err] = outbox_ops.rows[at];
      auto& o = s[kOutboxOps].rows.u(id).i(op).i(when);
      if (err)
        o.text(*err);
      else
        o.null();
      o.end();
    }
    for (auto [name, kind, before] : prunes) s[kPrunes].rows.text(*name).i(kind).i(before).end();
  }
};

void PostgresStore::StagingDeleter::operator()(Staging* s) const { delete s; }

void PostgresStore::committed(bool ok) {
  if (!staging_) return;
  Staging& st = *staging_;
  if (!ok) {
    st.stored_known = false;  // read again before the next write
    st.tables_making = 0;     // rolled back with the group
    return;
  }
  st.tables_made |= st.tables_making;
  st.tables_making = 0;
  for (auto [id, n] : st.members_after) {
    auto& v = st.members_stored[id];
    v = std::max(v, n);
  }
  for (auto [id, n] : st.timeline_after) {
    auto& v = st.timeline_stored[id];
    v = std::max(v, n);
  }
}

void PostgresStore::prepareSession() {
  if (!staging_) staging_.reset(new Staging());
  staging_->tables_made = 0;  // a new session: its staging tables are made as they are needed
  session_ready_ = true;
}

std::string PostgresStore::write(std::vector<StoreUnit*>& units, AlertRowIds& rows,
                                 std::string& lead, const std::string& last) {
  Staging& st = *staging_;
  // The statements go out in as few round trips as they can (on a busy machine each costs a
  // wake-up of the server's process): `lead` (BEGIN) rides on the first, and what ends the
  // group is returned for COMMIT to ride on.
  auto first = [&lead](std::string sql) {
    if (!lead.empty()) sql.insert(0, std::exchange(lead, {}));
    return sql;
  };
  st.clear();
  if (!st.stored_known) {
    // What is stored of each incident (once, and again after a failed commit).
    st.members_stored.clear();
    st.timeline_stored.clear();
    auto load = [&](const char* sql, absl::flat_hash_map<uint64_t, uint32_t>& into) {
      auto r = conn_->exec(sql);
      for (int k = 0; k < r.rows(); ++k) into[r.u64(k, 0)] = static_cast<uint32_t>(r.i64(k, 1));
    };
    load(
        "SELECT incident, max(n) FROM (SELECT incident, max(seq) + 1 n FROM incident_alerts"
        " GROUP BY incident UNION ALL SELECT incident, max(next_seq) FROM incident_alert_blocks"
        " GROUP BY incident) m GROUP BY incident",
        st.members_stored);
    load("SELECT incident, max(seq) + 1 FROM incident_timeline GROUP BY incident",
         st.timeline_stored);
    st.stored_known = true;
  }
  for (StoreUnit* u : units) st.unit(*u, rows);
  st.encode();
  // Outbox entries get their ids now (kept if this attempt fails and the next one writes them).
  std::vector<OutboxEntry*> fresh;
  for (StoreUnit* u : units)
    for (auto& o : u->outbox)
      if (!o.id) fresh.push_back(&o);
  if (!fresh.empty()) {
    auto r = conn_->exec(first("SELECT nextval('outbox_ids') FROM generate_series(1, " +
                               std::to_string(fresh.size()) + ")"));
    std::vector<uint64_t> ids;
    for (int k = 0; k < r.rows(); ++k) ids.push_back(r.u64(k, 0));
    std::sort(ids.begin(), ids.end());
    for (size_t k = 0; k < fresh.size() && k < ids.size(); ++k) fresh[k]->id = ids[k];
  }
  for (StoreUnit* u : units)
    for (const auto& o : u->outbox)
      st.outbox.u(o.id)
          .text(o.target)
          .i(o.created_ms)
          .text(o.subject)
          .text(o.event)
          .text(o.body)
          .end();
  std::string make;
  for (size_t k = 0; k < st.stages.size(); ++k)
    if (!st.stages[k].rows.empty() && !(st.tables_made & (1u << k))) {
      make += std::string("CREATE TEMP TABLE IF NOT EXISTS ") + kStageTables[k][0] + " " +
              kStageTables[k][1] + " ON COMMIT DELETE ROWS;";
      st.tables_making |= 1u << k;
    }
  if (!make.empty()) conn_->exec(first(make));
  // A stage of a few rows goes into its staging table with the merges (one round trip fewer
  // than its COPY); a larger one is copied.
  constexpr size_t kInlineRows = 16, kInlineBytes = 256 << 10;
  std::string merges;
  for (auto& s : st.stages) {
    if (s.rows.empty()) continue;
    if (s.rows.rows() <= kInlineRows && s.rows.data().size() <= kInlineBytes) {
      merges += "INSERT INTO ";
      merges += s.table;
      merges += " VALUES ";
      s.rows.appendValues(merges);
      merges += ';';
    } else {
      conn_->copyIn(first(std::string("COPY ") + s.table + " FROM STDIN"), s.rows.data());
    }
    merges += s.merge;
    merges += ';';
  }
  // New rows have keys no merge touches (new alert ids; an incident's rows past those stored).
  if (!st.new_alerts.empty())
    conn_->copyIn(
        first("COPY alerts(id, fingerprint, strings, first_seen_ms, last_seen_ms, time_ms,"
              " changed_ms, count, content_hash, flap_history, severity, previous_severity,"
              " status, flapping) FROM STDIN (FORMAT binary)"),
        st.new_alerts.data());
  if (!st.new_blocks.empty())
    conn_->copyIn(first("COPY incident_alert_blocks(incident, seq, next_seq, members) FROM STDIN"
                        " (FORMAT binary)"),
                  st.new_blocks.data());
  if (!st.new_timeline.empty())
    conn_->copyIn(
        first("COPY incident_timeline(incident, seq, at_ms, actor, action, detail, alert) FROM"
              " STDIN (FORMAT binary)"),
        st.new_timeline.data());
  merges += last;
  if (st.transitions.empty() && st.samples.empty() && st.outbox.empty()) return merges;
  conn_->exec(first(std::move(merges)));
  // Appends go straight into their tables, after the merges' prunes of the same group.
  if (!st.transitions.empty())
    conn_->copyIn("COPY sla_transitions(service, at_ms, status, incidents) FROM STDIN",
                  st.transitions.data());
  if (!st.samples.empty())
    conn_->copyIn("COPY capacity_samples(rule, at_ms, value) FROM STDIN", st.samples.data());
  if (!st.outbox.empty())
    conn_->copyIn("COPY outbox(id, target, created_ms, subject, event, body) FROM STDIN",
                  st.outbox.data());
  return {};
}

}  // namespace triaged::engine
