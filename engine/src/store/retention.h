// Retention, the same for every backend: what each prune deletes, as SQL both SQLite and
// PostgreSQL run (one parameter, ?1 — PostgreSQL's backend writes it $1: the cutoff), the
// cutoff it takes and the table of triaged_store_rows_pruned_total it counts under. Alerts
// come first and return the fingerprints deleted, for the writer's row index.
#pragma once

#include "store/store.h"

namespace triaged::engine {

enum class Cutoff { kAlerts, kIncidents, kSla };

struct PruneStatement {
  const char* sql;
  Cutoff cutoff;
  PrunedTable table;
};

inline constexpr const char* kPruneAlerts =
    "DELETE FROM alerts WHERE status=1 AND time_ms < ?1 RETURNING fingerprint";

inline constexpr PruneStatement kPruneStatements[] = {
    // Closed and merged incidents, with their alert and timeline rows.
    {"DELETE FROM incident_alerts WHERE incident IN (SELECT id FROM incidents WHERE status IN"
     " (3, 4) AND updated_ms < ?1)",
     Cutoff::kIncidents, kPrunedIncidentRows},
    {"DELETE FROM incident_timeline WHERE incident IN (SELECT id FROM incidents WHERE status IN"
     " (3, 4) AND updated_ms < ?1)",
     Cutoff::kIncidents, kPrunedIncidentRows},
    {"DELETE FROM incidents WHERE status IN (3, 4) AND updated_ms < ?1", Cutoff::kIncidents,
     kPrunedIncidents},
    {"DELETE FROM problems WHERE status=3 AND updated_ms < ?1", Cutoff::kIncidents,
     kPrunedProblems},
    {"DELETE FROM silences WHERE ends_ms < ?1", Cutoff::kIncidents, kPrunedSilences},
    {"DELETE FROM records WHERE ends_ms > 0 AND ends_ms < ?1", Cutoff::kIncidents, kPrunedRecords},
    {"DELETE FROM outbox WHERE dead=1 AND created_ms < ?1", Cutoff::kIncidents, kPrunedOutbox},
    // Service level history: transitions before the cutoff, except each service's last one
    // (its state at the cutoff); summaries and clocks of incidents resolved before it.
    {"DELETE FROM sla_transitions WHERE at_ms < ?1 AND id NOT IN (SELECT MAX(id) FROM"
     " sla_transitions WHERE at_ms < ?1 GROUP BY service)",
     Cutoff::kSla, kPrunedSla},
    {"DELETE FROM sla_clocks WHERE incident IN (SELECT id FROM sla_incidents WHERE resolved_ms"
     " != 0 AND resolved_ms < ?1)",
     Cutoff::kSla, kPrunedSla},
    {"DELETE FROM sla_incidents WHERE resolved_ms != 0 AND resolved_ms < ?1", Cutoff::kSla,
     kPrunedSla},
    {"DELETE FROM engine_gaps WHERE end_ms < ?1", Cutoff::kSla, kPrunedSla},
};

inline int64_t cutoffOf(const PruneCutoffs& c, Cutoff k) {
  return k == Cutoff::kAlerts ? c.alerts : k == Cutoff::kIncidents ? c.incidents : c.sla;
}

}  // namespace triaged::engine
