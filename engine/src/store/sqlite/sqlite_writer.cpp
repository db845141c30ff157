// The SQLite backend's writing side: prepared statements for every row a unit carries, one
// transaction per group, and retention.
#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/log.h"
#include "store/retention.h"
#include "store/sqlite/sqlite_store.h"

namespace triaged::engine {

namespace {

// A prepared statement, reset after each use.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("cannot prepare statement: ") + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt& i(int k, int64_t v) {
    sqlite3_bind_int64(st_, k, v);
    return *this;
  }
  Stmt& u(int k, uint64_t v) { return i(k, static_cast<int64_t>(v)); }
  Stmt& d(int k, double v) {
    sqlite3_bind_double(st_, k, v);
    return *this;
  }
  Stmt& text(int k, std::string_view v) {  // "" binds '' (a null pointer would bind NULL)
    sqlite3_bind_text(st_, k, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& blob(int k, const std::string& v) {
    if (v.empty())
      sqlite3_bind_null(st_, k);
    else
      sqlite3_bind_blob(st_, k, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  // A statement that reads: true with a row to look at, false (and reset) once done.
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    sqlite3_reset(st_);
    if (rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    return false;
  }
  sqlite3_stmt* get() { return st_; }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  void run() {
    int rc = sqlite3_step(st_);
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    if (rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

// What a change does to an alert's row beside its strings (?2), for an update in place and
// for a fold of the journal (Writer::Folded mirrors these rules): count and last seen are
// maxima, a change time of 0 keeps the row's, the rest is set.
constexpr const char* kAlertChange =
    " first_seen_ms=?3, last_seen_ms=MAX(last_seen_ms, ?4), time_ms=?5,"
    " changed_ms=CASE WHEN ?6=0 THEN changed_ms ELSE ?6 END, count=MAX(count, ?7),"
    " content_hash=?8, flap_history=?9, severity=?10, previous_severity=?11, status=?12,"
    " flapping=?13 WHERE id=?1";

}  // namespace

struct SqliteStore::Writer {
  explicit Writer(sqlite3* db)
      : db(db),
        insert_alert(
            db,
            "INSERT INTO alerts(id, fingerprint, strings, first_seen_ms, last_seen_ms, time_ms, "
            "changed_ms,"
            " count, content_hash, flap_history, severity, previous_severity, status, flapping)"
            " VALUES(?1,?14,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"),
        update_alert(
            db, (std::string("UPDATE alerts SET strings=COALESCE(?2, strings),") + kAlertChange)
                    .c_str()),
        update_counter(db,
                       "UPDATE alerts SET count=MAX(count, ?2), last_seen_ms=MAX(last_seen_ms, ?3),"
                       " time_ms=CASE WHEN status=0 THEN ?4 ELSE time_ms END WHERE id=?1"),
        journal_alert(
            db,
            "INSERT INTO alert_journal(id, counter, strings, first_seen_ms, last_seen_ms, time_ms,"
            " changed_ms, count, content_hash, flap_history, severity, previous_severity, status,"
            " flapping) VALUES(?1,0,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"),
        journal_counter(db,
                        "INSERT INTO alert_journal(id, counter, count, last_seen_ms, time_ms)"
                        " VALUES(?1,1,?2,?3,?4)"),
        read_journal(db,
                     "SELECT seq, id, counter, strings IS NOT NULL, first_seen_ms, last_seen_ms,"
                     " time_ms, changed_ms, count, content_hash, flap_history, severity,"
                     " previous_severity, status, flapping FROM alert_journal WHERE seq > ?1"
                     " ORDER BY seq LIMIT ?2"),
        fold_alert(db, (std::string("UPDATE alerts SET strings=COALESCE((SELECT strings FROM"
                                    " alert_journal WHERE seq=?2), strings),") +
                        kAlertChange)
                           .c_str()),
        clear_journal(db, "DELETE FROM alert_journal"),
        upsert_incident(
            db,
            "INSERT INTO incidents(id, status, updated_ms, record) VALUES(?1,?2,?3,?4)"
            " ON CONFLICT(id) DO UPDATE SET status=excluded.status, updated_ms=excluded.updated_ms,"
            " record=excluded.record"),
        insert_member(db,
                      "INSERT OR REPLACE INTO incident_alerts(incident, seq, fingerprint, role) "
                      "VALUES(?1,?2,?3,?4)"),
        insert_timeline(db,
                        "INSERT OR REPLACE INTO incident_timeline(incident, seq, at_ms, actor, "
                        "action, detail, alert)"
                        " VALUES(?1,?2,?3,?4,?5,?6,?7)"),
        upsert_problem(
            db,
            "INSERT INTO problems(id, status, updated_ms, record) VALUES(?1,?2,?3,?4)"
            " ON CONFLICT(id) DO UPDATE SET status=excluded.status, updated_ms=excluded.updated_ms,"
            " record=excluded.record"),
        upsert_silence(
            db,
            "INSERT INTO silences(id, ends_ms, record) VALUES(?1,?2,?3)"
            " ON CONFLICT(id) DO UPDATE SET ends_ms=excluded.ends_ms, record=excluded.record"),
        upsert_record(db,
                      "INSERT INTO records(kind, id, ends_ms, record) VALUES(?1,?2,?3,?4)"
                      " ON CONFLICT(kind, id) DO UPDATE SET ends_ms=excluded.ends_ms,"
                      " record=excluded.record"),
        insert_outbox(
            db,
            "INSERT INTO outbox(target, created_ms, subject, event, body) VALUES(?1,?2,?3,?4,?5)"),
        delete_outbox(db, "DELETE FROM outbox WHERE id=?1"),
        dead_outbox(db, "UPDATE outbox SET dead=1, last_error=?2 WHERE id=?1"),
        revive_outbox(
            db, "UPDATE outbox SET dead=0, attempts=0, last_error='', created_ms=?2 WHERE id=?1"),
        upsert_meta(db,
                    "INSERT INTO meta(key, value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET "
                    "value=excluded.value"),
        insert_transition(
            db,
            "INSERT INTO sla_transitions(service, at_ms, status, incidents) VALUES(?1,?2,?3,?4)"),
        upsert_clock(
            db,
            "INSERT INTO sla_clocks(incident, agreement, target, record) VALUES(?1,?2,?3,?4)"
            " ON CONFLICT(incident, agreement, target) DO UPDATE SET record=excluded.record"),
        upsert_summary(
            db,
            "INSERT INTO sla_incidents(id, opened_ms, resolved_ms, record) VALUES(?1,?2,?3,?4)"
            " ON CONFLICT(id) DO UPDATE SET opened_ms=excluded.opened_ms, "
            "resolved_ms=excluded.resolved_ms,"
            " record=excluded.record"),
        upsert_heartbeat(db,
                         "INSERT INTO heartbeats(name, record) VALUES(?1,?2) ON CONFLICT(name) DO "
                         "UPDATE SET record=excluded.record"),
        upsert_gap(db,
                   "INSERT INTO engine_gaps(start_ms, end_ms) VALUES(?1,?2) ON CONFLICT(start_ms) "
                   "DO UPDATE SET"
                   " end_ms=MAX(end_ms, excluded.end_ms)"),
        upsert_slo_minute(db,
                          "INSERT INTO slo_minutes(slo, minute, good, valid) VALUES(?1,?2,?3,?4) "
                          "ON CONFLICT(slo, minute)"
                          " DO UPDATE SET good=excluded.good, valid=excluded.valid"),
        insert_capacity_sample(db,
                               "INSERT INTO capacity_samples(rule, at_ms, value) VALUES(?1,?2,?3)"),
        upsert_capacity_state(
            db,
            "INSERT INTO capacity_state(rule, record) VALUES(?1,?2) ON CONFLICT(rule) DO UPDATE SET"
            " record=excluded.record"),
        upsert_window(
            db, "INSERT OR REPLACE INTO threshold_windows(hash, rule, seen) VALUES(?1,?2,?3)"),
        delete_window(db, "DELETE FROM threshold_windows WHERE hash=?1"),
        upsert_sequence(
            db,
            "INSERT OR REPLACE INTO sequence_states(hash, rule, key, first, at_ms, active, strings)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7)"),
        delete_sequence(db, "DELETE FROM sequence_states WHERE hash=?1"),
        prune_slo_minutes(db, "DELETE FROM slo_minutes WHERE slo=?1 AND minute < ?2"),
        prune_capacity_samples(db, "DELETE FROM capacity_samples WHERE rule=?1 AND at_ms < ?2") {}

  // The alert and counter rows of a whole group, in row order. A group often holds both shards'
  // checkpoints, each touching rows all over the alerts table; written unit by unit, the table
  // was swept once per shard, and with more alerts than the page cache holds every page was
  // read (from the log) and written (to it) twice. Ids are assigned, and counters of rows not
  // yet stored skipped, in the units' order, as before; writes to one row keep that order.
  void writeAlerts(const std::vector<StoreUnit*>& units, AlertRowIds& rows) {
    pending.clear();
    uint32_t order = 0;
    for (const StoreUnit* u : units) {
      for (const auto& a : u->alerts) {
        auto [row, fresh] = rows.assign(a.fingerprint);
        pending.push_back({row, order++, fresh, &a, nullptr});
      }
      for (const auto& c : u->counters) {
        int64_t row = rows.find(c.fingerprint);
        if (!row) continue;  // not stored yet: its change will carry the counters
        pending.push_back({row, order++, false, nullptr, &c});
      }
    }
    std::sort(pending.begin(), pending.end(), [](const AlertWrite& x, const AlertWrite& y) {
      return x.row != y.row ? x.row < y.row : x.order < y.order;
    });
    size_t updates = 0;
    for (const AlertWrite& w : pending) updates += !w.fresh;
    // Many changes (a sixteenth of the rows or more) touch most pages of the table whichever
    // way: they update in place, after the journal (which holds older changes) is folded.
    const bool journal = updates * kDenseShare < rows.size();
    if (!journal && journal_entries > 0) foldJournal();
    Stmt& update = journal ? journal_alert : update_alert;
    Stmt& counter = journal ? journal_counter : update_counter;
    for (const AlertWrite& w : pending) {
      if (w.counter) {
        const CounterRecord& c = *w.counter;
        counter.i(1, w.row).u(2, c.count).i(3, c.last_seen_ms).i(4, c.time_ms).run();
        journal_entries += journal;
        continue;
      }
      const AlertRecord& a = *w.alert;
      Stmt& st = w.fresh ? insert_alert : update;
      journal_entries += journal && !w.fresh;
      st.i(1, w.row);
      if (w.fresh) st.u(14, a.fingerprint);
      st.blob(2, a.strings)
          .i(3, a.first_seen_ms)
          .i(4, a.last_seen_ms)
          .i(5, a.time_ms)
          .i(6, a.changed_ms)
          .u(7, a.count)
          .u(8, a.content_hash)
          .i(9, a.flap_history)
          .i(10, static_cast<int>(a.severity))
          .i(11, static_cast<int>(a.previous_severity))
          .i(12, static_cast<int>(a.status))
          .i(13, a.flapping)
          .run();
    }
    // A checkpoint of many alerts leaves a large vector: not kept for the small groups after it.
    if (pending.capacity() > kKeptWrites) std::vector<AlertWrite>().swap(pending);
  }

  // An alert's entries in the journal, merged in the order written into the one update that
  // has their effect: a change sets what it carries (strings only when it has them, its change
  // time only when not 0) and counters after it move the time of a firing alert; count and
  // last seen are maxima throughout. Counters alone stay a counter's update (whether the time
  // moves is the row's status, which they do not change).
  struct Folded {
    int64_t row = 0;
    bool change = false;
    int64_t strings_seq = 0;  // the journal entry whose strings the row takes (0: none)
    int64_t first_seen = 0, last_seen = 0, time = 0, changed = 0, count = 0, content_hash = 0,
            flap_history = 0, severity = 0, previous_severity = 0, status = 0, flapping = 0;
  };

  // Applies the journal to the alerts table and empties it: each alert's entries merged into
  // one update (Folded), which leaves the row as the entries applied one by one in the order
  // written would, then the updates in row order. Read `fold_chunk` entries at a time, which
  // bounds the memory of a fold. Inside the caller's transaction, which a throw rolls back.
  void foldJournal() {
    struct Done {  // the read ends with the fold, also when an update throws
      Stmt& read;
      ~Done() { read.reset(); }
    } done{read_journal};
    int64_t after = 0;
    for (;;) {
      folded.clear();
      at.clear();
      read_journal.i(1, after).i(2, static_cast<int64_t>(fold_chunk));
      while (read_journal.step()) {
        auto col = [&](int k) -> int64_t { return sqlite3_column_int64(read_journal.get(), k); };
        after = col(0);
        auto [it, fresh] = at.try_emplace(col(1), folded.size());
        if (fresh) folded.push_back({col(1)});
        Folded& f = folded[it->second];
        if (col(2) != 0) {  // a counter: count, last seen, and the time if firing
          if (!f.change || f.status == 0) f.time = col(6);
        } else {
          if (col(3)) f.strings_seq = col(0);
          if (col(7) != 0) f.changed = col(7);
          f.first_seen = col(4);
          f.time = col(6);
          f.content_hash = col(9);
          f.flap_history = col(10);
          f.severity = col(11);
          f.previous_severity = col(12);
          f.status = col(13);
          f.flapping = col(14);
          f.change = true;
        }
        f.count = fresh ? col(8) : std::max(f.count, col(8));
        f.last_seen = fresh ? col(5) : std::max(f.last_seen, col(5));
      }
      if (folded.empty()) break;
      std::sort(folded.begin(), folded.end(),
                [](const Folded& x, const Folded& y) { return x.row < y.row; });
      for (const Folded& f : folded) {
        if (!f.change) {
          update_counter.i(1, f.row).i(2, f.count).i(3, f.last_seen).i(4, f.time).run();
          continue;
        }
        fold_alert.i(1, f.row);
        if (f.strings_seq) fold_alert.i(2, f.strings_seq);
        fold_alert.i(3, f.first_seen)
            .i(4, f.last_seen)
            .i(5, f.time)
            .i(6, f.changed)
            .i(7, f.count)
            .i(8, f.content_hash)
            .i(9, f.flap_history)
            .i(10, f.severity)
            .i(11, f.previous_severity)
            .i(12, f.status)
            .i(13, f.flapping)
            .run();
      }
    }
    if (folded.capacity() > kKeptFolded) {  // a large fold's vectors are not kept
      std::vector<Folded>().swap(folded);
      absl::flat_hash_map<int64_t, size_t>().swap(at);
    }
    clear_journal.run();
    journal_entries = 0;
  }

  // Everything else a unit carries (its alert and counter rows: writeAlerts).
  void write(const StoreUnit& u) {
    for (const auto& r : u.incidents) {
      if (!r.record.empty())
        upsert_incident.u(1, r.id).i(2, r.status).i(3, r.updated_ms).text(4, r.record).run();
      for (const auto& m : u.membersOf(r))
        insert_member.u(1, r.id).i(2, m.seq).u(3, m.fingerprint).i(4, m.role).run();
      for (const auto& t : u.timelineOf(r))
        insert_timeline.u(1, r.id)
            .i(2, t.seq)
            .i(3, t.at_ms)
            .text(4, t.actor)
            .text(5, t.action)
            .text(6, t.detail)
            .u(7, t.alert)
            .run();
    }
    for (const auto& r : u.problems)
      upsert_problem.u(1, r.id).i(2, r.status).i(3, r.updated_ms).text(4, r.record).run();
    for (const auto& r : u.silences)
      upsert_silence.text(1, r.id).i(2, r.ends_ms).text(3, r.record).run();
    for (const auto& r : u.records)
      upsert_record.text(1, r.kind).text(2, r.id).i(3, r.ends_ms).text(4, r.record).run();
    for (const auto& [k, v] : u.meta) upsert_meta.text(1, k).text(2, v).run();
    for (const auto& w : u.windows) {
      if (w.seen.empty())
        delete_window.u(1, w.hash).run();
      else
        upsert_window.u(1, w.hash).text(2, w.rule).text(3, w.seen).run();
    }
    for (const auto& q : u.sequences) {
      if (q.rule.empty())
        delete_sequence.u(1, q.hash).run();
      else
        upsert_sequence.u(1, q.hash)
            .text(2, q.rule)
            .text(3, q.key)
            .u(4, q.first)
            .i(5, q.at)
            .i(6, q.active)
            .blob(7, q.strings)
            .run();
    }
    for (const auto& t : u.sla.transitions)
      insert_transition.text(1, t.service).i(2, t.at_ms).i(3, t.status).text(4, t.incidents).run();
    for (const auto& c : u.sla.clocks)
      upsert_clock.u(1, c.incident).text(2, c.agreement).i(3, c.target).text(4, c.record).run();
    for (const auto& m : u.sla.summaries)
      upsert_summary.u(1, m.id).i(2, m.opened_ms).i(3, m.resolved_ms).text(4, m.record).run();
    for (const auto& [name, rec] : u.sla.heartbeats)
      upsert_heartbeat.text(1, name).text(2, rec).run();
    for (const auto& [a, b] : u.sla.gaps) upsert_gap.i(1, a).i(2, b).run();
    for (const auto& m : u.sla.slo_minutes)
      upsert_slo_minute.text(1, m.slo).i(2, m.minute).u(3, m.good).u(4, m.valid).run();
    for (const auto& c : u.sla.capacity_samples)
      insert_capacity_sample.text(1, c.rule).i(2, c.at_ms).d(3, c.value).run();
    for (const auto& [rule, rec] : u.sla.capacity_states)
      upsert_capacity_state.text(1, rule).text(2, rec).run();
    for (const auto& [slo, before] : u.sla.prune_slo)
      prune_slo_minutes.text(1, slo).i(2, before).run();
    for (const auto& [rule, before] : u.sla.prune_capacity)
      prune_capacity_samples.text(1, rule).i(2, before).run();
  }

  // Outbox rows get their ids here; they are handed on after the commit.
  void writeOutbox(StoreUnit& u) {
    for (auto& o : u.outbox) {
      insert_outbox.text(1, o.target)
          .i(2, o.created_ms)
          .text(3, o.subject)
          .text(4, o.event)
          .text(5, o.body)
          .run();
      o.id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db));
    }
    for (uint64_t id : u.outbox_done) delete_outbox.u(1, id).run();
    for (const auto& [id, err] : u.outbox_dead) dead_outbox.u(1, id).text(2, err).run();
    for (const auto& [id, at] : u.outbox_revive) revive_outbox.u(1, id).i(2, at).run();
  }

  struct AlertWrite {
    int64_t row;
    uint32_t order;
    bool fresh;
    const AlertRecord* alert;      // or
    const CounterRecord* counter;  // (one of the two)
  };
  static constexpr size_t kKeptWrites = 65'536;  // 2.5 MB
  static constexpr size_t kDenseShare = 16;
  static constexpr size_t kKeptFolded = 16'384;
  std::vector<Folded> folded;               // a fold's merged updates
  absl::flat_hash_map<int64_t, size_t> at;  // a row's place in `folded`
  std::vector<AlertWrite> pending;  // (its capacity kept from group to group, up to kKeptWrites)
  sqlite3* db;
  uint64_t journal_entries = 0;  // in alert_journal, committed or in this transaction
  uint64_t fold_chunk = 65'536;  // entries a fold reads at once (SqliteStore::Options)
  Stmt insert_alert, update_alert, update_counter, journal_alert, journal_counter, read_journal,
      fold_alert, clear_journal, upsert_incident, insert_member, insert_timeline, upsert_problem,
      upsert_silence, upsert_record, insert_outbox, delete_outbox, dead_outbox, revive_outbox,
      upsert_meta, insert_transition, upsert_clock, upsert_summary, upsert_heartbeat, upsert_gap,
      upsert_slo_minute, insert_capacity_sample, upsert_capacity_state, upsert_window,
      delete_window, upsert_sequence, delete_sequence, prune_slo_minutes, prune_capacity_samples;
};

void SqliteStore::WriterDeleter::operator()(Writer* w) const { delete w; }

SqliteStore::Writer& SqliteStore::writer() {
  if (!writer_) {
    writer_.reset(new Writer(db_));
    writer_->fold_chunk = options_.fold_chunk_entries;
    try {
      checkpointer_ = std::make_unique<WalCheckpointer>(db_, path_, options_.checkpoints);
    } catch (const std::exception& e) {
      log::get("store")->warn("{}; the writer checkpoints itself", e.what());
    }
  }
  return *writer_;
}

void SqliteStore::loadAlertRows(AlertRowIds& rows) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT id, fingerprint FROM alerts", -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error(path_ + ": " + sqlite3_errmsg(db_));
  while (sqlite3_step(st) == SQLITE_ROW)
    rows.loaded(static_cast<uint64_t>(sqlite3_column_int64(st, 1)), sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
}

void SqliteStore::commit(std::vector<StoreUnit*>& units, AlertRowIds& rows) {
  Writer& w = writer();
  uint64_t journal_before = w.journal_entries;
  try {
    exec("BEGIN IMMEDIATE");
    w.writeAlerts(units, rows);
    for (StoreUnit* u : units) {
      w.write(*u);
      w.writeOutbox(*u);
    }
    if (w.journal_entries >= std::max<uint64_t>(options_.fold_min_entries, rows.size()))
      w.foldJournal();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    w.journal_entries = journal_before;
    throw;
  }
}

uint64_t SqliteStore::journalEntries() const { return writer_ ? writer_->journal_entries : 0; }

void SqliteStore::foldJournal(const char* when) {
  // At open: statements for this fold only, if there is anything to fold (no writer yet, so
  // no checkpoint thread).
  bool own = !writer_;
  uint64_t left = own ? number("SELECT count(*) FROM alert_journal") : writer_->journal_entries;
  if (left == 0) return;
  std::unique_ptr<Writer> once(own ? new Writer(db_) : nullptr);
  Writer& w = own ? *once : *writer_;
  w.fold_chunk = options_.fold_chunk_entries;
  w.journal_entries = left;
  uint64_t before = left;
  auto t0 = std::chrono::steady_clock::now();
  try {
    exec("BEGIN IMMEDIATE");
    w.foldJournal();
    exec("COMMIT");
  } catch (const std::exception& e) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    w.journal_entries = before;
    throw std::runtime_error(std::string(e.what()) + " (folding the alert journal " + when + ")");
  }
  if (own)
    log::get("store")->info(
        "{}: folded {} changes left in the alert journal into the alerts table in {:.3f} s", path_,
        before, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

PruneCounts SqliteStore::prune(const PruneCutoffs& before, AlertRowIds& rows) {
  PruneCounts n{};
  // Retention reads the alerts' status and time: the journal's changes must be in them first.
  try {
    foldJournal("before retention");
  } catch (const std::exception& e) {
    log::get("store")->warn("{}; retention waits for the next interval", e.what());
    return n;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, kPruneAlerts, -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, before.alerts);
    while (sqlite3_step(st) == SQLITE_ROW) {
      rows.forget(static_cast<uint64_t>(sqlite3_column_int64(st, 0)));
      ++n[kPrunedAlerts];
    }
    sqlite3_finalize(st);
  }
  for (const auto& p : kPruneStatements) {
    st = nullptr;
    if (sqlite3_prepare_v2(db_, p.sql, -1, &st, nullptr) != SQLITE_OK) continue;
    sqlite3_bind_int64(st, 1, cutoffOf(before, p.cutoff));
    if (sqlite3_step(st) == SQLITE_DONE) n[p.table] += static_cast<uint64_t>(sqlite3_changes(db_));
    sqlite3_finalize(st);
  }
  return n;
}

}  // namespace triaged::engine
