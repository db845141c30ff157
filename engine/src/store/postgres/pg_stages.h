// The postgresql backend's staging schema: one session-local staging table per kind of row a
// group writes, and the statement that merges it into its table (the merge rules of the
// SQLite backend's statements: an alert's strings stay when a change carries none, counters
// and last-seen never go back). pg_writer.cpp folds a group's rows, copies them into these
// tables and runs the merges.
#pragma once

namespace triaged::engine::pg {

enum StageId {
  kAlerts,
  kCounters,
  kIncidents,
  kMembers,
  kTimeline,
  kProblems,
  kSilences,
  kRecords,
  kMeta,
  kWindows,
  kSequences,
  kClocks,
  kSummaries,
  kHeartbeats,
  kGaps,
  kSloMinutes,
  kCapacityState,
  kOutboxOps,
  kPrunes,
  kStages
};

static_assert(kStages <= 32, "Staging::tables_made has a bit per stage");

// Staging tables (session-local, emptied at every commit) and their merges, by StageId.
inline constexpr const char* kStageTables[kStages][3] = {
    {"s_alerts", "(LIKE alerts)",
     "INSERT INTO alerts AS a SELECT * FROM s_alerts ON CONFLICT (id) DO UPDATE SET"
     " strings = COALESCE(excluded.strings, a.strings), first_seen_ms = excluded.first_seen_ms,"
     " last_seen_ms = GREATEST(a.last_seen_ms, excluded.last_seen_ms), time_ms = excluded.time_ms,"
     " changed_ms = CASE WHEN excluded.changed_ms = 0 THEN a.changed_ms ELSE excluded.changed_ms"
     " END, count = GREATEST(a.count, excluded.count), content_hash = excluded.content_hash,"
     " flap_history = excluded.flap_history, severity = excluded.severity,"
     " previous_severity = excluded.previous_severity, status = excluded.status,"
     " flapping = excluded.flapping"},
    {"s_counters", "(id BIGINT, count BIGINT, last_seen_ms BIGINT, time_ms BIGINT)",
     "UPDATE alerts AS a SET count = GREATEST(a.count, c.count),"
     " last_seen_ms = GREATEST(a.last_seen_ms, c.last_seen_ms),"
     " time_ms = CASE WHEN a.status = 0 THEN c.time_ms ELSE a.time_ms END"
     " FROM s_counters c WHERE a.id = c.id"},
    {"s_incidents", "(LIKE incidents)",
     "INSERT INTO incidents SELECT * FROM s_incidents ON CONFLICT (id) DO UPDATE SET"
     " status = excluded.status, updated_ms = excluded.updated_ms, record = excluded.record"},
    {"s_incident_alerts", "(LIKE incident_alerts)",
     "INSERT INTO incident_alerts SELECT * FROM s_incident_alerts ON CONFLICT (incident, seq) DO"
     " UPDATE SET fingerprint = excluded.fingerprint, role = excluded.role"},
    {"s_incident_timeline", "(LIKE incident_timeline)",
     "INSERT INTO incident_timeline SELECT * FROM s_incident_timeline ON CONFLICT (incident, seq)"
     " DO UPDATE SET at_ms = excluded.at_ms, actor = excluded.actor, action = excluded.action,"
     " detail = excluded.detail, alert = excluded.alert"},
    {"s_problems", "(LIKE problems)",
     "INSERT INTO problems SELECT * FROM s_problems ON CONFLICT (id) DO UPDATE SET"
     " status = excluded.status, updated_ms = excluded.updated_ms, record = excluded.record"},
    {"s_silences", "(LIKE silences)",
     "INSERT INTO silences SELECT * FROM s_silences ON CONFLICT (id) DO UPDATE SET"
     " ends_ms = excluded.ends_ms, record = excluded.record"},
    {"s_records", "(LIKE records)",
     "INSERT INTO records SELECT * FROM s_records ON CONFLICT (kind, id) DO UPDATE SET"
     " ends_ms = excluded.ends_ms, record = excluded.record"},
    {"s_meta", "(LIKE meta)",
     "INSERT INTO meta SELECT * FROM s_meta ON CONFLICT (key) DO UPDATE SET"
     " value = excluded.value"},
    {"s_windows", "(hash BIGINT, rule TEXT, seen TEXT)",
     "DELETE FROM threshold_windows w USING s_windows s WHERE w.hash = s.hash AND s.rule IS NULL;"
     "INSERT INTO threshold_windows SELECT * FROM s_windows WHERE rule IS NOT NULL"
     " ON CONFLICT (hash) DO UPDATE SET rule = excluded.rule, seen = excluded.seen"},
    {"s_sequences",
     "(hash BIGINT, rule TEXT, key TEXT, first BIGINT, at_ms BIGINT, active INTEGER,"
     " strings BYTEA)",
     "DELETE FROM sequence_states q USING s_sequences s WHERE q.hash = s.hash AND s.rule IS NULL;"
     "INSERT INTO sequence_states SELECT * FROM s_sequences WHERE rule IS NOT NULL"
     " ON CONFLICT (hash) DO UPDATE SET rule = excluded.rule, key = excluded.key,"
     " first = excluded.first, at_ms = excluded.at_ms, active = excluded.active,"
     " strings = excluded.strings"},
    {"s_clocks", "(LIKE sla_clocks)",
     "INSERT INTO sla_clocks SELECT * FROM s_clocks ON CONFLICT (incident, agreement, target)"
     " DO UPDATE SET record = excluded.record"},
    {"s_summaries", "(LIKE sla_incidents)",
     "INSERT INTO sla_incidents SELECT * FROM s_summaries ON CONFLICT (id) DO UPDATE SET"
     " opened_ms = excluded.opened_ms, resolved_ms = excluded.resolved_ms,"
     " record = excluded.record"},
    {"s_heartbeats", "(LIKE heartbeats)",
     "INSERT INTO heartbeats SELECT * FROM s_heartbeats ON CONFLICT (name) DO UPDATE SET"
     " record = excluded.record"},
    {"s_gaps", "(LIKE engine_gaps)",
     "INSERT INTO engine_gaps AS g SELECT * FROM s_gaps ON CONFLICT (start_ms) DO UPDATE SET"
     " end_ms = GREATEST(g.end_ms, excluded.end_ms)"},
    {"s_slo_minutes", "(LIKE slo_minutes)",
     "INSERT INTO slo_minutes SELECT * FROM s_slo_minutes ON CONFLICT (slo, minute) DO UPDATE SET"
     " good = excluded.good, valid = excluded.valid"},
    {"s_capacity_state", "(LIKE capacity_state)",
     "INSERT INTO capacity_state SELECT * FROM s_capacity_state ON CONFLICT (rule) DO UPDATE SET"
     " record = excluded.record"},
    // op 0: delivered (deleted), 1: dead with the error, 2: pending again from `at`.
    {"s_outbox_ops", "(id BIGINT, op INTEGER, at BIGINT, err TEXT)",
     "DELETE FROM outbox o USING s_outbox_ops s WHERE o.id = s.id AND s.op = 0;"
     "UPDATE outbox o SET dead = 1, last_error = s.err FROM s_outbox_ops s"
     " WHERE o.id = s.id AND s.op = 1;"
     "UPDATE outbox o SET dead = 0, attempts = 0, last_error = '', created_ms = s.at"
     " FROM s_outbox_ops s WHERE o.id = s.id AND s.op = 2"},
    // kind 0: SLO minutes, 1: capacity samples, older than `before` of the named rule.
    {"s_prunes", "(name TEXT, kind INTEGER, before BIGINT)",
     "DELETE FROM slo_minutes m USING s_prunes p WHERE p.kind = 0 AND m.slo = p.name"
     " AND m.minute < p.before;"
     "DELETE FROM capacity_samples c USING s_prunes p WHERE p.kind = 1 AND c.rule = p.name"
     " AND c.at_ms < p.before"},
};

}  // namespace triaged::engine::pg
