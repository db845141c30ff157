// The postgresql backend's reading side: the same queries, in the same order, as the SQLite
// backend's, in one repeatable-read transaction (a consistent picture while a standby reads
// what a leader writes); large tables through a cursor in slices.
#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <exception>
#include <thread>

#include "store/postgres/pg_member_blocks.h"
#include "store/postgres/pg_store.h"

namespace triaged::engine {

namespace {

constexpr int kSlice = 50000;

// Runs f in a read-only snapshot.
template <class F>
void readOnly(pg::Connection& c, F&& f) {
  c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    f();
    c.exec("COMMIT");
  } catch (...) {
    c.rollback();
    throw;
  }
}

void eachRow(pg::Connection& c, const std::string& sql,
             const std::function<void(const pg::Result&, int)>& f) {
  c.eachSlice(sql, kSlice, [&](const pg::Result& r) {
    for (int k = 0; k < r.rows(); ++k) f(r, k);
  });
}

SlaRows readSla(pg::Connection& c, int64_t& last_alive_ms) {
  SlaRows out;
  last_alive_ms = 0;
  eachRow(c, "SELECT value FROM meta WHERE key = 'last_alive'", [&](const pg::Result& r, int k) {
    last_alive_ms = std::strtoll(r.str(k, 0).c_str(), nullptr, 10);
  });
  eachRow(c, "SELECT service, at_ms, status, incidents FROM sla_transitions ORDER BY id",
          [&](const pg::Result& r, int k) {
            out.transitions.push_back(
                {r.str(k, 0), r.i64(k, 1), static_cast<int>(r.i64(k, 2)), r.str(k, 3)});
          });
  eachRow(c, "SELECT incident, agreement, target, record FROM sla_clocks",
          [&](const pg::Result& r, int k) {
            out.clocks.push_back(
                {r.u64(k, 0), r.str(k, 1), static_cast<int>(r.i64(k, 2)), r.str(k, 3)});
          });
  eachRow(c, "SELECT id, opened_ms, resolved_ms, record FROM sla_incidents ORDER BY id",
          [&](const pg::Result& r, int k) {
            out.summaries.push_back({r.u64(k, 0), r.i64(k, 1), r.i64(k, 2), r.str(k, 3)});
          });
  eachRow(c, "SELECT name, record FROM heartbeats ORDER BY name", [&](const pg::Result& r, int k) {
    out.heartbeats.emplace_back(r.str(k, 0), r.str(k, 1));
  });
  eachRow(c, "SELECT start_ms, end_ms FROM engine_gaps ORDER BY start_ms",
          [&](const pg::Result& r, int k) { out.gaps.emplace_back(r.i64(k, 0), r.i64(k, 1)); });
  eachRow(c, "SELECT slo, minute, good, valid FROM slo_minutes ORDER BY slo, minute",
          [&](const pg::Result& r, int k) {
            out.slo_minutes.push_back({r.str(k, 0), r.i64(k, 1), r.u64(k, 2), r.u64(k, 3)});
          });
  eachRow(c, "SELECT rule, at_ms, value FROM capacity_samples ORDER BY rule, at_ms, id",
          [&](const pg::Result& r, int k) {
            out.capacity_samples.push_back({r.str(k, 0), r.i64(k, 1), r.f64(k, 2)});
          });
  eachRow(c, "SELECT rule, record FROM capacity_state ORDER BY rule",
          [&](const pg::Result& r, int k) {
            out.capacity_states.emplace_back(r.str(k, 0), r.str(k, 1));
          });
  return out;
}

// A member row into an incident's members in seq order: after the last (the common case), or
// in its place, replacing a block's member of the same seq.
void placeMember(std::vector<MemberRow>& alerts, const MemberRow& m) {
  if (alerts.empty() || alerts.back().seq < m.seq) {
    alerts.push_back(m);
    return;
  }
  auto at = std::lower_bound(alerts.begin(), alerts.end(), m.seq,
                             [](const MemberRow& a, uint32_t seq) { return a.seq < seq; });
  if (at != alerts.end() && at->seq == m.seq)
    *at = m;
  else
    alerts.insert(at, m);
}

// Every alert with its strings, in id order, and every alert row's id (the writer's index).
void readAlerts(pg::Connection& c, std::vector<AlertRecord>& out,
                std::vector<std::pair<uint64_t, int64_t>>& rows) {
  eachRow(c,
          "SELECT id, fingerprint, strings, first_seen_ms, last_seen_ms, time_ms, changed_ms,"
          " count, content_hash, flap_history, severity, previous_severity, status, flapping"
          " FROM alerts ORDER BY id",
          [&](const pg::Result& r, int k) {
            rows.emplace_back(r.u64(k, 1), r.i64(k, 0));
            if (r.null(k, 2)) return;  // a row without its strings comes back as no alert
            AlertRecord a;
            a.fingerprint = r.u64(k, 1);
            a.strings = r.bytes(k, 2);
            a.first_seen_ms = r.i64(k, 3);
            a.last_seen_ms = r.i64(k, 4);
            a.time_ms = r.i64(k, 5);
            a.changed_ms = r.i64(k, 6);
            if (!a.changed_ms) a.changed_ms = a.first_seen_ms;
            a.count = r.u64(k, 7);
            a.content_hash = r.u64(k, 8);
            a.flap_history = static_cast<uint32_t>(r.i64(k, 9));
            a.severity = static_cast<api::Severity>(std::clamp<int64_t>(r.i64(k, 10), 0, 5));
            a.previous_severity =
                static_cast<api::Severity>(std::clamp<int64_t>(r.i64(k, 11), 0, 5));
            a.status = r.i64(k, 12) ? api::Status::kResolved : api::Status::kFiring;
            a.flapping = r.i64(k, 13) != 0;
            out.push_back(std::move(a));
          });
}

}  // namespace

std::vector<std::string> PostgresStore::loadRecords(const std::string& kind) {
  std::vector<std::string> out;
  readOnly(*conn_, [&] {
    auto r = conn_->exec("SELECT record FROM records WHERE kind = $1 ORDER BY id", {kind});
    for (int k = 0; k < r.rows(); ++k) out.push_back(r.str(k, 0));
  });
  return out;
}

SlaRows PostgresStore::loadSlaRows(int64_t& last_alive_ms) {
  SlaRows out;
  readOnly(*conn_, [&] { out = readSla(*conn_, last_alive_ms); });
  return out;
}

StoredState PostgresStore::loadState() {
  StoredState out;
  pg::Connection& c = *conn_;
  readOnly(c, [&] {
    // The alerts table (the largest) is read on a second connection, in the same snapshot
    // (exported, as pg_dump -j does), while this one reads the others: the server's work and
    // ours spread over two cores. Without a second connection (max_connections reached, say)
    // it is read here afterwards.
    std::string snapshot(c.exec("SELECT pg_export_snapshot()").text(0, 0));
    std::exception_ptr failed;
    std::jthread side;  // joinable: the alerts are read beside
    if (snapshot.find_first_not_of("0123456789ABCDEFabcdef-") == std::string::npos) {
      try {
        auto c2 = connectAgain();
        c2->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        c2->exec("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
        side = std::jthread([&, c2 = std::move(c2)] {
          try {
            readAlerts(*c2, out.alerts, out.alert_rows);
            c2->exec("COMMIT");
          } catch (...) {
            failed = std::current_exception();
          }
        });
      } catch (const std::exception&) {
        // no second connection: read below, on this one
      }
    }
    absl::flat_hash_map<uint64_t, size_t> incident_at;
    eachRow(c, "SELECT id, record FROM incidents ORDER BY id", [&](const pg::Result& r, int k) {
      incident_at[r.u64(k, 0)] = out.incidents.size();
      out.incidents.push_back({r.str(k, 1), {}, {}});
    });
    // Members: the blocks, then the rows (those of before schema 10, and members rewritten in
    // place, which replace what a block holds of the same seq).
    eachRow(c, "SELECT incident, members FROM incident_alert_blocks ORDER BY incident, seq",
            [&](const pg::Result& r, int k) {
              uint64_t id = r.u64(k, 0);
              auto it = incident_at.find(id);
              if (it == incident_at.end()) return;  // of a pruned incident
              auto& alerts = out.incidents[it->second].alerts;
              pg::eachMember(id, r.bytes(k, 1), [&](const MemberRow& m) { alerts.push_back(m); });
            });
    eachRow(c,
            "SELECT incident, seq, fingerprint, role FROM incident_alerts ORDER BY incident, seq",
            [&](const pg::Result& r, int k) {
              auto it = incident_at.find(r.u64(k, 0));
              if (it == incident_at.end()) return;
              MemberRow m{static_cast<uint32_t>(r.i64(k, 1)), r.u64(k, 2),
                          static_cast<int>(r.i64(k, 3))};
              placeMember(out.incidents[it->second].alerts, m);
            });
    eachRow(c,
            "SELECT incident, seq, at_ms, actor, action, detail, alert FROM incident_timeline"
            " ORDER BY incident, seq",
            [&](const pg::Result& r, int k) {
              auto it = incident_at.find(r.u64(k, 0));
              if (it == incident_at.end()) return;
              out.incidents[it->second].timeline.push_back({static_cast<uint32_t>(r.i64(k, 1)),
                                                            r.i64(k, 2), r.str(k, 3), r.str(k, 4),
                                                            r.str(k, 5), r.u64(k, 6)});
            });
    eachRow(c, "SELECT record FROM problems ORDER BY id",
            [&](const pg::Result& r, int k) { out.problems.push_back(r.str(k, 0)); });
    eachRow(c, "SELECT record FROM silences ORDER BY id",
            [&](const pg::Result& r, int k) { out.silences.push_back(r.str(k, 0)); });
    eachRow(
        c, "SELECT kind, record FROM records ORDER BY kind, id",
        [&](const pg::Result& r, int k) { out.records.emplace_back(r.str(k, 0), r.str(k, 1)); });
    eachRow(c,
            "SELECT id, target, created_ms, subject, event, body, attempts, dead, last_error FROM"
            " outbox ORDER BY id",
            [&](const pg::Result& r, int k) {
              OutboxEntry o;
              o.id = r.u64(k, 0);
              o.target = r.str(k, 1);
              o.created_ms = r.i64(k, 2);
              o.subject = r.str(k, 3);
              o.event = r.str(k, 4);
              o.body = r.str(k, 5);
              o.attempts = static_cast<uint32_t>(r.i64(k, 6));
              o.dead = r.i64(k, 7) != 0;
              o.last_error = r.str(k, 8);
              out.outbox.push_back(std::move(o));
            });
    eachRow(c, "SELECT key, value FROM meta WHERE key IN ('next_incident', 'next_problem')",
            [&](const pg::Result& r, int k) {
              std::string key = r.str(k, 0);
              uint64_t v = std::strtoull(r.str(k, 1).c_str(), nullptr, 10);
              (key == "next_incident" ? out.next_incident : out.next_problem) =
                  std::max<uint64_t>(1, v);
            });
    eachRow(c, "SELECT hash, rule, seen FROM threshold_windows ORDER BY hash",
            [&](const pg::Result& r, int k) {
              out.windows.push_back({r.u64(k, 0), r.str(k, 1), r.str(k, 2)});
            });
    eachRow(c,
            "SELECT hash, rule, key, first, at_ms, active, strings FROM sequence_states ORDER BY"
            " hash",
            [&](const pg::Result& r, int k) {
              out.sequences.push_back({r.u64(k, 0), r.str(k, 1), r.str(k, 2), r.u64(k, 3),
                                       r.i64(k, 4), r.i64(k, 5) != 0, r.bytes(k, 6)});
            });
    out.sla = readSla(c, out.last_alive_ms);
    if (!side.joinable()) {
      readAlerts(c, out.alerts, out.alert_rows);
      return;
    }
    side.join();
    if (failed) std::rethrow_exception(failed);
  });
  return out;
}

}  // namespace triaged::engine
