#include "store/store_writer.h"

#include <absl/container/flat_hash_map.h>
#include <concurrentqueue/blockingconcurrentqueue.h>

#include <chrono>
#include <stdexcept>

#include "common/log.h"

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
  Stmt& text(int k, const std::string& v) {
    sqlite3_bind_text(st_, k, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& blob(int k, const std::string& v) {
    if (v.empty())
      sqlite3_bind_null(st_, k);
    else
      sqlite3_bind_blob(st_, k, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
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

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw std::runtime_error(why);
  }
}

}  // namespace

struct StoreWriter::Impl {
  struct Item {
    StoreUnit unit;
    bool stop = false;
  };

  Impl(Store& s, StoreWriterOptions o, const Clock& c, api::MetricsHub& h,
       std::atomic<uint64_t>& commits)
      : store(s),
        opts(o),
        clock(c),
        hub(h),
        commits_total(commits),
        insert_alert(
            s.handle(),
            "INSERT INTO alerts(id, fingerprint, strings, first_seen_ms, last_seen_ms, time_ms, "
            "changed_ms,"
            " count, content_hash, flap_history, severity, previous_severity, status, flapping)"
            " VALUES(?1,?14,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"),
        update_alert(
            s.handle(),
            "UPDATE alerts SET strings=COALESCE(?2, strings), first_seen_ms=?3,"
            " last_seen_ms=MAX(last_seen_ms, ?4), time_ms=?5,"
            " changed_ms=CASE WHEN ?6=0 THEN changed_ms ELSE ?6 END, count=MAX(count, ?7),"
            " content_hash=?8, flap_history=?9, severity=?10, previous_severity=?11, status=?12,"
            " flapping=?13 WHERE id=?1"),
        update_counter(s.handle(),
                       "UPDATE alerts SET count=MAX(count, ?2), last_seen_ms=MAX(last_seen_ms, ?3),"
                       " time_ms=CASE WHEN status=0 THEN ?4 ELSE time_ms END WHERE id=?1"),
        upsert_incident(
            s.handle(),
            "INSERT INTO incidents(id, status, updated_ms, record) VALUES(?1,?2,?3,?4)"
            " ON CONFLICT(id) DO UPDATE SET status=excluded.status, updated_ms=excluded.updated_ms,"
            " record=excluded.record"),
        insert_member(s.handle(),
                      "INSERT OR REPLACE INTO incident_alerts(incident, seq, fingerprint, role) "
                      "VALUES(?1,?2,?3,?4)"),
        insert_timeline(s.handle(),
                        "INSERT OR REPLACE INTO incident_timeline(incident, seq, at_ms, actor, "
                        "action, detail, alert)"
                        " VALUES(?1,?2,?3,?4,?5,?6,?7)"),
        upsert_problem(
            s.handle(),
            "INSERT INTO problems(id, status, updated_ms, record) VALUES(?1,?2,?3,?4)"
            " ON CONFLICT(id) DO UPDATE SET status=excluded.status, updated_ms=excluded.updated_ms,"
            " record=excluded.record"),
        upsert_silence(
            s.handle(),
            "INSERT INTO silences(id, ends_ms, record) VALUES(?1,?2,?3)"
            " ON CONFLICT(id) DO UPDATE SET ends_ms=excluded.ends_ms, record=excluded.record"),
        upsert_record(s.handle(),
                      "INSERT INTO records(kind, id, ends_ms, record) VALUES(?1,?2,?3,?4)"
                      " ON CONFLICT(kind, id) DO UPDATE SET ends_ms=excluded.ends_ms,"
                      " record=excluded.record"),
        insert_outbox(
            s.handle(),
            "INSERT INTO outbox(target, created_ms, subject, event, body) VALUES(?1,?2,?3,?4,?5)"),
        delete_outbox(s.handle(), "DELETE FROM outbox WHERE id=?1"),
        dead_outbox(s.handle(), "UPDATE outbox SET dead=1, last_error=?2 WHERE id=?1"),
        revive_outbox(
            s.handle(),
            "UPDATE outbox SET dead=0, attempts=0, last_error='', created_ms=?2 WHERE id=?1"),
        upsert_meta(s.handle(),
                    "INSERT INTO meta(key, value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET "
                    "value=excluded.value"),
        insert_transition(
            s.handle(),
            "INSERT INTO sla_transitions(service, at_ms, status, incidents) VALUES(?1,?2,?3,?4)"),
        upsert_clock(
            s.handle(),
            "INSERT INTO sla_clocks(incident, agreement, target, record) VALUES(?1,?2,?3,?4)"
            " ON CONFLICT(incident, agreement, target) DO UPDATE SET record=excluded.record"),
        upsert_summary(
            s.handle(),
            "INSERT INTO sla_incidents(id, opened_ms, resolved_ms, record) VALUES(?1,?2,?3,?4)"
            " ON CONFLICT(id) DO UPDATE SET opened_ms=excluded.opened_ms, "
            "resolved_ms=excluded.resolved_ms,"
            " record=excluded.record"),
        upsert_heartbeat(s.handle(),
                         "INSERT INTO heartbeats(name, record) VALUES(?1,?2) ON CONFLICT(name) DO "
                         "UPDATE SET record=excluded.record"),
        upsert_gap(s.handle(),
                   "INSERT INTO engine_gaps(start_ms, end_ms) VALUES(?1,?2) ON CONFLICT(start_ms) "
                   "DO UPDATE SET"
                   " end_ms=MAX(end_ms, excluded.end_ms)"),
        upsert_slo_minute(s.handle(),
                          "INSERT INTO slo_minutes(slo, minute, good, valid) VALUES(?1,?2,?3,?4) "
                          "ON CONFLICT(slo, minute)"
                          " DO UPDATE SET good=excluded.good, valid=excluded.valid"),
        insert_capacity_sample(s.handle(),
                               "INSERT INTO capacity_samples(rule, at_ms, value) VALUES(?1,?2,?3)"),
        upsert_capacity_state(
            s.handle(),
            "INSERT INTO capacity_state(rule, record) VALUES(?1,?2) ON CONFLICT(rule) DO UPDATE SET"
            " record=excluded.record"),
        upsert_window(
            s.handle(),
            "INSERT OR REPLACE INTO threshold_windows(hash, rule, seen) VALUES(?1,?2,?3)"),
        delete_window(s.handle(), "DELETE FROM threshold_windows WHERE hash=?1"),
        upsert_sequence(
            s.handle(),
            "INSERT OR REPLACE INTO sequence_states(hash, rule, key, first, at_ms, active, strings)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7)"),
        delete_sequence(s.handle(), "DELETE FROM sequence_states WHERE hash=?1"),
        prune_slo_minutes(s.handle(), "DELETE FROM slo_minutes WHERE slo=?1 AND minute < ?2"),
        prune_capacity_samples(s.handle(),
                               "DELETE FROM capacity_samples WHERE rule=?1 AND at_ms < ?2") {
    loadRowIds();
    auto& reg = hub.registry();
    commits_family = &prometheus::BuildCounter()
                          .Name("triaged_store_commits_total")
                          .Help("Store transactions, by result.")
                          .Register(reg);
    ok = &commits_family->Add({{"result", "success"}});
    failed = &commits_family->Add({{"result", "error"}});
    rows_family = &prometheus::BuildCounter()
                       .Name("triaged_store_rows_written_total")
                       .Help("Rows written by the store, by table.")
                       .Register(reg);
    for (const char* t : {"alerts", "counters", "incidents", "problems", "silences"})
      rows.push_back(&rows_family->Add({{"table", t}}));
    pruned_family = &prometheus::BuildCounter()
                         .Name("triaged_store_rows_pruned_total")
                         .Help("Rows removed by retention, by table.")
                         .Register(reg);
    for (const char* t : {"alerts", "incidents", "problems", "silences", "incident_rows", "outbox",
                          "sla", "records"})
      pruned.push_back(&pruned_family->Add({{"table", t}}));
    latency_family = &prometheus::BuildHistogram()
                          .Name("triaged_store_commit_seconds")
                          .Help("Time to write and commit one group of changes.")
                          .Register(reg);
    latency = &latency_family->Add(
        {}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1, 0.25, 1});
    depth_family = &prometheus::BuildGauge()
                        .Name("triaged_store_queue_units")
                        .Help("Units of change waiting for the store writer.")
                        .Register(reg);
    depth = &depth_family->Add({});
  }

  ~Impl() {
    auto& reg = hub.registry();
    reg.Remove(*commits_family);
    reg.Remove(*rows_family);
    reg.Remove(*pruned_family);
    reg.Remove(*latency_family);
    reg.Remove(*depth_family);
  }

  // Fingerprint -> row id of every stored alert: the writer's own index (no index on disk).
  void loadRowIds() {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(store.handle(), "SELECT id, fingerprint FROM alerts", -1, &st,
                           nullptr) != SQLITE_OK)
      throw std::runtime_error(store.path() + ": " + sqlite3_errmsg(store.handle()));
    while (sqlite3_step(st) == SQLITE_ROW) {
      int64_t id = sqlite3_column_int64(st, 0);
      row_of[static_cast<uint64_t>(sqlite3_column_int64(st, 1))] = id;
      next_row = std::max(next_row, id + 1);
    }
    sqlite3_finalize(st);
  }

  void write(const StoreUnit& u) {
    for (const auto& a : u.alerts) {
      auto [it, fresh] = row_of.try_emplace(a.fingerprint, next_row);
      if (fresh) {
        ++next_row;
        added.push_back(a.fingerprint);
      }
      Stmt& st = fresh ? insert_alert : update_alert;
      st.i(1, it->second);
      if (fresh) st.u(14, a.fingerprint);
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
    for (const auto& c : u.counters) {
      auto it = row_of.find(c.fingerprint);
      if (it == row_of.end()) continue;  // not stored yet: its change will carry the counters
      update_counter.i(1, it->second).u(2, c.count).i(3, c.last_seen_ms).i(4, c.time_ms).run();
    }
    for (const auto& r : u.incidents) {
      upsert_incident.u(1, r.id).i(2, r.status).i(3, r.updated_ms).text(4, r.record).run();
      for (const auto& m : r.alerts)
        insert_member.u(1, r.id).i(2, m.seq).u(3, m.fingerprint).i(4, m.role).run();
      for (const auto& t : r.timeline)
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
      o.id = static_cast<uint64_t>(sqlite3_last_insert_rowid(store.handle()));
    }
    for (uint64_t id : u.outbox_done) delete_outbox.u(1, id).run();
    for (const auto& [id, err] : u.outbox_dead) dead_outbox.u(1, id).text(2, err).run();
    for (const auto& [id, at] : u.outbox_revive) revive_outbox.u(1, id).i(2, at).run();
  }

  // Commits the group; retries (holding everything back) until it succeeds or the writer stops.
  void commit(std::vector<Item>& group) {
    auto t0 = std::chrono::steady_clock::now();
    for (int attempt = 0;; ++attempt) {
      try {
        added.clear();
        exec(store.handle(), "BEGIN IMMEDIATE");
        for (auto& it : group) {
          write(it.unit);
          writeOutbox(it.unit);
        }
        exec(store.handle(), "COMMIT");
        break;
      } catch (const std::exception& e) {
        sqlite3_exec(store.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        for (uint64_t fp : added) row_of.erase(fp);  // those rows were not stored after all
        failed->Increment();
        log::get("store")->error(
            "commit failed ({}), retrying: {} units wait; no acknowledgement is sent meanwhile",
            e.what(), group.size());
        if (stopping && attempt >= 3) {
          log::get("store")->critical(
              "giving up at shutdown: {} units were not stored and were not acknowledged",
              group.size());
          return;
        }
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::min(1000, 50 << std::min(attempt, 4))));
      }
    }
    ok->Increment();
    commits_total.fetch_add(1, std::memory_order_relaxed);
    latency->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    size_t n[5] = {0, 0, 0, 0, 0};
    for (auto& it : group) {
      n[0] += it.unit.alerts.size();
      n[1] += it.unit.counters.size();
      n[2] += it.unit.incidents.size();
      n[3] += it.unit.problems.size();
      n[4] += it.unit.silences.size();
    }
    for (size_t k = 0; k < 5; ++k)
      if (n[k]) rows[k]->Increment(static_cast<double>(n[k]));
    std::vector<OutboxEntry> fresh;
    for (auto& it : group)
      for (auto& o : it.unit.outbox) fresh.push_back(std::move(o));
    if (!fresh.empty() && outbox_sink) outbox_sink(std::move(fresh));
    for (auto& it : group)
      for (auto& f : it.unit.committed) f();
  }

  void prune(int64_t now) {
    sqlite3* db = store.handle();
    auto del = [&](const char* sql, int64_t before, size_t metric) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) return;
      sqlite3_bind_int64(st, 1, before);
      if (sqlite3_step(st) == SQLITE_DONE)
        pruned[metric]->Increment(static_cast<double>(sqlite3_changes(db)));
      sqlite3_finalize(st);
    };
    {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(
              db, "DELETE FROM alerts WHERE status=1 AND time_ms < ?1 RETURNING fingerprint", -1,
              &st, nullptr) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now - opts.alert_retention_ms);
        size_t n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
          row_of.erase(static_cast<uint64_t>(sqlite3_column_int64(st, 0)));
          ++n;
        }
        sqlite3_finalize(st);
        if (n) pruned[0]->Increment(static_cast<double>(n));
      }
    }
    // Closed and merged incidents, with their alert and timeline rows.
    del("DELETE FROM incident_alerts WHERE incident IN (SELECT id FROM incidents WHERE status IN "
        "(3, 4)"
        " AND updated_ms < ?1)",
        now - opts.incident_retention_ms, 4);
    del("DELETE FROM incident_timeline WHERE incident IN (SELECT id FROM incidents WHERE status IN "
        "(3, 4)"
        " AND updated_ms < ?1)",
        now - opts.incident_retention_ms, 4);
    del("DELETE FROM incidents WHERE status IN (3, 4) AND updated_ms < ?1",
        now - opts.incident_retention_ms, 1);
    del("DELETE FROM problems WHERE status=3 AND updated_ms < ?1", now - opts.incident_retention_ms,
        2);
    del("DELETE FROM silences WHERE ends_ms < ?1", now - opts.incident_retention_ms, 3);
    del("DELETE FROM records WHERE ends_ms > 0 AND ends_ms < ?1", now - opts.incident_retention_ms,
        7);
    del("DELETE FROM outbox WHERE dead=1 AND created_ms < ?1", now - opts.incident_retention_ms, 5);
    // Service level history: transitions before the cutoff, except each service's last one
    // (its state at the cutoff); summaries and clocks of incidents resolved before it.
    int64_t sla_cut = now - opts.sla_retention_ms;
    del("DELETE FROM sla_transitions WHERE at_ms < ?1 AND id NOT IN (SELECT MAX(id) FROM "
        "sla_transitions"
        " WHERE at_ms < ?1 GROUP BY service)",
        sla_cut, 6);
    del("DELETE FROM sla_clocks WHERE incident IN (SELECT id FROM sla_incidents WHERE resolved_ms "
        "!= 0"
        " AND resolved_ms < ?1)",
        sla_cut, 6);
    del("DELETE FROM sla_incidents WHERE resolved_ms != 0 AND resolved_ms < ?1", sla_cut, 6);
    del("DELETE FROM engine_gaps WHERE end_ms < ?1", sla_cut, 6);
  }

  void loop() {
    log::get("store")->info("store writer started");
    std::vector<Item> group;
    Item items[64];
    int64_t next_prune = clock.nowMs() + opts.prune_interval_ms;
    bool stop_seen = false;
    while (true) {
      size_t got = stop_seen
                       ? queue.try_dequeue_bulk(items, 64)
                       : queue.wait_dequeue_bulk_timed(items, 64, std::chrono::milliseconds(200));
      for (size_t k = 0; k < got; ++k) {
        if (items[k].stop)
          stop_seen = true;
        else
          group.push_back(std::move(items[k]));
        items[k] = Item{};
      }
      // Take what else is there: the group grows while the previous commit was syncing.
      while (group.size() < 4096) {
        size_t more = queue.try_dequeue_bulk(items, 64);
        if (!more) break;
        for (size_t k = 0; k < more; ++k) {
          if (items[k].stop)
            stop_seen = true;
          else
            group.push_back(std::move(items[k]));
          items[k] = Item{};
        }
      }
      queued.fetch_sub(group.size(), std::memory_order_acq_rel);
      depth->Set(static_cast<double>(queued.load(std::memory_order_relaxed)));
      if (!group.empty()) {
        commit(group);
        group.clear();
      }
      int64_t now = clock.nowMs();
      if (now >= next_prune) {
        prune(now);
        next_prune = now + opts.prune_interval_ms;
      }
      if (stop_seen && got == 0) break;
    }
  }

  Store& store;
  StoreWriterOptions opts;
  const Clock& clock;
  api::MetricsHub& hub;
  std::atomic<uint64_t>& commits_total;
  std::function<void(std::vector<OutboxEntry>)> outbox_sink;
  Stmt insert_alert, update_alert, update_counter, upsert_incident, insert_member, insert_timeline,
      upsert_problem, upsert_silence, upsert_record, insert_outbox, delete_outbox, dead_outbox,
      revive_outbox, upsert_meta, insert_transition, upsert_clock, upsert_summary, upsert_heartbeat,
      upsert_gap, upsert_slo_minute, insert_capacity_sample, upsert_capacity_state, upsert_window,
      delete_window, upsert_sequence, delete_sequence, prune_slo_minutes, prune_capacity_samples;
  absl::flat_hash_map<uint64_t, int64_t> row_of;  // writer thread only
  int64_t next_row = 1;
  std::vector<uint64_t> added;  // fingerprints given rows in the transaction under way
  moodycamel::BlockingConcurrentQueue<Item> queue;
  std::atomic<size_t> queued{0};
  std::atomic<bool> stopping{false};
  std::thread thread;
  prometheus::Family<prometheus::Counter>*commits_family, *rows_family, *pruned_family;
  prometheus::Family<prometheus::Histogram>* latency_family;
  prometheus::Family<prometheus::Gauge>* depth_family;
  prometheus::Counter *ok, *failed;
  std::vector<prometheus::Counter*> rows, pruned;
  prometheus::Histogram* latency;
  prometheus::Gauge* depth;
};

StoreWriter::StoreWriter(Store& store, StoreWriterOptions opts, const Clock& clock,
                         api::MetricsHub& hub)
    : impl_(std::make_unique<Impl>(store, opts, clock, hub, commits_)) {}

StoreWriter::~StoreWriter() { stop(); }

void StoreWriter::start() {
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "triaged-store");
    impl_->loop();
  });
}

void StoreWriter::stop() {
  if (!impl_->thread.joinable() || impl_->stopping.exchange(true)) return;
  Impl::Item stop;
  stop.stop = true;
  impl_->queued.fetch_add(1, std::memory_order_acq_rel);
  impl_->queue.enqueue(std::move(stop));
  impl_->thread.join();
}

void StoreWriter::submit(StoreUnit unit) {
  if (unit.empty()) return;
  if (!impl_->thread.joinable() || impl_->stopping.load(std::memory_order_acquire)) {
    // Not running (tests, or after stop): nothing will commit; say so rather than hang.
    log::get("store")->error("store writer is not running: {} alert rows not stored",
                             unit.alerts.size());
    return;
  }
  while (impl_->queued.load(std::memory_order_acquire) >= impl_->opts.queue_units)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  impl_->queued.fetch_add(1, std::memory_order_acq_rel);
  Impl::Item it;
  it.unit = std::move(unit);
  impl_->queue.enqueue(std::move(it));
}

void StoreWriter::onOutbox(std::function<void(std::vector<OutboxEntry>)> sink) {
  impl_->outbox_sink = std::move(sink);
}

void StoreWriter::barrier(std::function<void()> fn) {
  StoreUnit u;
  u.committed.push_back(std::move(fn));
  submit(std::move(u));
}

}  // namespace triaged::engine
