// The SQLite backend's reading side: the stored state at start (loadState) and the service
// level ledgers (loadSlaRows, also for `triaged report`): one query per table, rows in the order
// recovery needs them.
#include <absl/container/flat_hash_map.h>

#include <stdexcept>

#include "common/log.h"
#include "store/sqlite/sqlite_store.h"

namespace triaged::engine {

namespace {

void eachRow(sqlite3* db, const std::string& path, const char* sql,
             const std::function<void(sqlite3_stmt*)>& f) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
    throw std::runtime_error(path + ": " + sqlite3_errmsg(db));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) f(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) throw std::runtime_error(path + ": " + sqlite3_errmsg(db));
}

std::string columnText(sqlite3_stmt* st, int k) {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, k));
  return std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(st, k)));
}

}  // namespace

std::vector<std::string> SqliteStore::loadRecords(const std::string& kind) {
  std::vector<std::string> out;
  // The kind is one of ours (a fixed word), never user input.
  eachRow(db_, path_, ("SELECT record FROM records WHERE kind='" + kind + "' ORDER BY id").c_str(),
          [&](sqlite3_stmt* st) { out.push_back(columnText(st, 0)); });
  return out;
}

SlaRows SqliteStore::loadSlaRows(int64_t& last_alive_ms) {
  SlaRows out;
  auto each = [&](const char* sql, auto&& f) { eachRow(db_, path_, sql, f); };
  auto text = columnText;
  last_alive_ms = 0;
  each("SELECT value FROM meta WHERE key='last_alive'",
       [&](sqlite3_stmt* st) { last_alive_ms = std::strtoll(text(st, 0).c_str(), nullptr, 10); });
  each("SELECT service, at_ms, status, incidents FROM sla_transitions ORDER BY id",
       [&](sqlite3_stmt* st) {
         out.transitions.push_back({text(st, 0), sqlite3_column_int64(st, 1),
                                    static_cast<int>(sqlite3_column_int64(st, 2)), text(st, 3)});
       });
  each("SELECT incident, agreement, target, record FROM sla_clocks", [&](sqlite3_stmt* st) {
    out.clocks.push_back({static_cast<uint64_t>(sqlite3_column_int64(st, 0)), text(st, 1),
                          static_cast<int>(sqlite3_column_int64(st, 2)), text(st, 3)});
  });
  each("SELECT id, opened_ms, resolved_ms, record FROM sla_incidents ORDER BY id",
       [&](sqlite3_stmt* st) {
         out.summaries.push_back({static_cast<uint64_t>(sqlite3_column_int64(st, 0)),
                                  sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                                  text(st, 3)});
       });
  each("SELECT name, record FROM heartbeats ORDER BY name",
       [&](sqlite3_stmt* st) { out.heartbeats.emplace_back(text(st, 0), text(st, 1)); });
  each("SELECT start_ms, end_ms FROM engine_gaps ORDER BY start_ms", [&](sqlite3_stmt* st) {
    out.gaps.emplace_back(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
  });
  each("SELECT slo, minute, good, valid FROM slo_minutes ORDER BY slo, minute",
       [&](sqlite3_stmt* st) {
         out.slo_minutes.push_back({text(st, 0), sqlite3_column_int64(st, 1),
                                    static_cast<uint64_t>(sqlite3_column_int64(st, 2)),
                                    static_cast<uint64_t>(sqlite3_column_int64(st, 3))});
       });
  each("SELECT rule, at_ms, value FROM capacity_samples ORDER BY rule, at_ms, id",
       [&](sqlite3_stmt* st) {
         out.capacity_samples.push_back(
             {text(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_double(st, 2)});
       });
  each("SELECT rule, record FROM capacity_state ORDER BY rule",
       [&](sqlite3_stmt* st) { out.capacity_states.emplace_back(text(st, 0), text(st, 1)); });
  return out;
}

StoredState SqliteStore::loadState() {
  StoredState out;
  auto each = [&](const char* sql, auto&& f) { eachRow(db_, path_, sql, f); };
  auto text = columnText;
  // Every alert with its strings, in id order, and every alert row's id (the writer's index).
  each(
      "SELECT id, fingerprint, strings, first_seen_ms, last_seen_ms, time_ms, changed_ms, count,"
      " content_hash, flap_history, severity, previous_severity, status, flapping FROM alerts"
      " ORDER BY id",
      [&](sqlite3_stmt* st) {
        out.alert_rows.emplace_back(static_cast<uint64_t>(sqlite3_column_int64(st, 1)),
                                    sqlite3_column_int64(st, 0));
        if (sqlite3_column_type(st, 2) == SQLITE_NULL) return;  // no strings: no alert back
        AlertRecord a;
        a.fingerprint = static_cast<uint64_t>(sqlite3_column_int64(st, 1));
        const void* b = sqlite3_column_blob(st, 2);
        a.strings.assign(static_cast<const char*>(b),
                         static_cast<size_t>(sqlite3_column_bytes(st, 2)));
        a.first_seen_ms = sqlite3_column_int64(st, 3);
        a.last_seen_ms = sqlite3_column_int64(st, 4);
        a.time_ms = sqlite3_column_int64(st, 5);
        a.changed_ms = sqlite3_column_int64(st, 6);
        if (!a.changed_ms) a.changed_ms = a.first_seen_ms;
        a.count = static_cast<uint64_t>(sqlite3_column_int64(st, 7));
        a.content_hash = static_cast<uint64_t>(sqlite3_column_int64(st, 8));
        a.flap_history = static_cast<uint32_t>(sqlite3_column_int64(st, 9));
        a.severity =
            static_cast<api::Severity>(std::clamp<int64_t>(sqlite3_column_int64(st, 10), 0, 5));
        a.previous_severity =
            static_cast<api::Severity>(std::clamp<int64_t>(sqlite3_column_int64(st, 11), 0, 5));
        a.status = sqlite3_column_int64(st, 12) ? api::Status::kResolved : api::Status::kFiring;
        a.flapping = sqlite3_column_int64(st, 13) != 0;
        out.alerts.push_back(std::move(a));
      });
  absl::flat_hash_map<uint64_t, size_t> incident_at;
  each("SELECT id, record FROM incidents ORDER BY id", [&](sqlite3_stmt* st) {
    incident_at[static_cast<uint64_t>(sqlite3_column_int64(st, 0))] = out.incidents.size();
    out.incidents.push_back({text(st, 1), {}, {}});
  });
  each("SELECT incident, seq, fingerprint, role FROM incident_alerts ORDER BY incident, seq",
       [&](sqlite3_stmt* st) {
         auto it = incident_at.find(static_cast<uint64_t>(sqlite3_column_int64(st, 0)));
         if (it == incident_at.end()) return;  // of a pruned incident
         out.incidents[it->second].alerts.push_back(
             {static_cast<uint32_t>(sqlite3_column_int64(st, 1)),
              static_cast<uint64_t>(sqlite3_column_int64(st, 2)),
              static_cast<int>(sqlite3_column_int64(st, 3))});
       });
  each(
      "SELECT incident, seq, at_ms, actor, action, detail, alert FROM incident_timeline ORDER BY "
      "incident, seq",
      [&](sqlite3_stmt* st) {
        auto it = incident_at.find(static_cast<uint64_t>(sqlite3_column_int64(st, 0)));
        if (it == incident_at.end()) return;
        out.incidents[it->second].timeline.push_back(
            {static_cast<uint32_t>(sqlite3_column_int64(st, 1)), sqlite3_column_int64(st, 2),
             text(st, 3), text(st, 4), text(st, 5),
             static_cast<uint64_t>(sqlite3_column_int64(st, 6))});
      });
  each("SELECT record FROM problems ORDER BY id",
       [&](sqlite3_stmt* st) { out.problems.push_back(text(st, 0)); });
  each("SELECT record FROM silences ORDER BY id",
       [&](sqlite3_stmt* st) { out.silences.push_back(text(st, 0)); });
  each("SELECT kind, record FROM records ORDER BY kind, id",
       [&](sqlite3_stmt* st) { out.records.emplace_back(text(st, 0), text(st, 1)); });
  each(
      "SELECT id, target, created_ms, subject, event, body, attempts, dead, last_error FROM outbox "
      "ORDER BY id",
      [&](sqlite3_stmt* st) {
        OutboxEntry o;
        o.id = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
        o.target = text(st, 1);
        o.created_ms = sqlite3_column_int64(st, 2);
        o.subject = text(st, 3);
        o.event = text(st, 4);
        o.body = text(st, 5);
        o.attempts = static_cast<uint32_t>(sqlite3_column_int64(st, 6));
        o.dead = sqlite3_column_int64(st, 7) != 0;
        o.last_error = text(st, 8);
        out.outbox.push_back(std::move(o));
      });
  each("SELECT key, value FROM meta WHERE key IN ('next_incident', 'next_problem')",
       [&](sqlite3_stmt* st) {
         std::string k = text(st, 0);
         uint64_t v = std::strtoull(text(st, 1).c_str(), nullptr, 10);
         (k == "next_incident" ? out.next_incident : out.next_problem) = std::max<uint64_t>(1, v);
       });
  each("SELECT hash, rule, seen FROM threshold_windows ORDER BY hash", [&](sqlite3_stmt* st) {
    out.windows.push_back(
        {static_cast<uint64_t>(sqlite3_column_int64(st, 0)), text(st, 1), text(st, 2)});
  });
  each("SELECT hash, rule, key, first, at_ms, active, strings FROM sequence_states ORDER BY hash",
       [&](sqlite3_stmt* st) {
         SequenceState q{static_cast<uint64_t>(sqlite3_column_int64(st, 0)),
                         text(st, 1),
                         text(st, 2),
                         static_cast<uint64_t>(sqlite3_column_int64(st, 3)),
                         sqlite3_column_int64(st, 4),
                         sqlite3_column_int64(st, 5) != 0,
                         {}};
         if (const void* b = sqlite3_column_blob(st, 6))
           q.strings.assign(static_cast<const char*>(b),
                            static_cast<size_t>(sqlite3_column_bytes(st, 6)));
         out.sequences.push_back(std::move(q));
       });
  out.sla = loadSlaRows(out.last_alive_ms);
  return out;
}

}  // namespace triaged::engine
