#include "store/recovery.h"

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "store/state_codec.h"
#include "store/store_writer.h"

namespace triaged::engine {

RecoveryStats recoverState(Store& store, StoreWriter& writer, Pipeline& pipeline,
                           CorrelatorStage& correlator, int64_t now) {
  writer.holdUntilStarted();
  auto t0 = std::chrono::steady_clock::now();
  RecoveryStats stats;
  auto lap = [last = t0]() mutable {
    auto now = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(now - last).count();
    last = now;
    return s;
  };
  StoredState st = loadState(store);
  stats.load_seconds = lap();
  // The dedup shards fill on a thread of their own while incidents and records are decoded
  // here: the two touch nothing in common, and each is about a second for a million alerts.
  // (The thread writes only r.alerts and the stats' alert counts; this one everything else.)
  Correlator::Restored r;
  std::jthread alerts([&] {
    auto start = std::chrono::steady_clock::now();
    r.alerts.reserve(st.alerts.size());
    pipeline.reserve(st.alerts.size());
    for (auto& a : st.alerts) {
      SharedBlob strings;  // the table's, shared with the correlator
      if (!pipeline.restore(a, &strings)) {
        ++stats.skipped_alerts;
        continue;
      }
      ++stats.alerts;
      if (a.status == api::Status::kFiring) ++stats.firing;
      r.alerts.push_back(Correlator::RestoredAlert::of(a, std::move(strings)));
      std::string().swap(a.strings);
    }
    stats.alerts_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
  r.next_incident = st.next_incident;
  r.next_problem = st.next_problem;
  for (size_t i = 0; i < st.incidents.size(); ++i) {
    try {
      IncidentRecord rec =
          decodeIncident(st.incidents[i].record, st.incidents[i].alerts, st.incidents[i].timeline);
      r.roles.push_back(std::move(rec.roles));
      r.incidents.push_back(std::move(rec.incident));
    } catch (const std::exception& e) {
      throw std::runtime_error(store.path() + ": incidents row " + std::to_string(i + 1) + ": " +
                               e.what());
    }
    for (const auto& t : r.incidents.back().extra().tickets)
      stats.tickets.emplace_back(t.system, r.incidents.back().id, t.id);
    auto s = r.incidents.back().status;
    if (s == IncidentStatus::kOpen || s == IncidentStatus::kAcknowledged) ++stats.open_incidents;
  }
  for (size_t i = 0; i < st.problems.size(); ++i) {
    try {
      r.problems.push_back(decodeProblem(st.problems[i]));
    } catch (const std::exception& e) {
      throw std::runtime_error(store.path() + ": problems row " + std::to_string(i + 1) + ": " +
                               e.what());
    }
  }
  for (size_t i = 0; i < st.silences.size(); ++i) {
    try {
      r.silences.push_back(decodeSilence(st.silences[i]));
    } catch (const std::exception& e) {
      throw std::runtime_error(store.path() + ": silences row " + std::to_string(i + 1) + ": " +
                               e.what());
    }
  }
  for (size_t i = 0; i < st.records.size(); ++i) {
    const auto& [kind, record] = st.records[i];
    try {
      if (kind == "maintenance") r.maintenance.push_back(decodeMaintenance(record));
      if (kind == "change") r.changes.push_back(decodeChange(record));
    } catch (const std::exception& e) {
      throw std::runtime_error(store.path() + ": records row " + std::to_string(i + 1) + " (" +
                               kind + "): " + e.what());
    }
  }
  for (size_t i = 0; i < st.windows.size(); ++i) {
    Correlator::ThresholdWindow w{st.windows[i].hash, st.windows[i].rule, {}};
    try {
      w.seen = decodeWindow(st.windows[i].seen);
    } catch (const std::exception& e) {
      throw std::runtime_error(store.path() + ": threshold_windows row " + std::to_string(i + 1) +
                               ": " + e.what());
    }
    r.windows.push_back(std::move(w));
  }
  r.sequences = std::move(st.sequences);
  stats.incidents = r.incidents.size();
  stats.problems = r.problems.size();
  stats.silences = r.silences.size();
  stats.decode_seconds = lap();
  alerts.join();
  lap();  // what decoding did not cover of the shards' filling
  Evaluator::Restored sla;
  try {
    sla = slaRestored(st.sla, st.last_alive_ms);
  } catch (const std::exception& e) {
    throw std::runtime_error(store.path() + ": " + e.what());
  }
  stats.sla_transitions = sla.transitions.size();
  stats.clocks = sla.clocks.size();
  stats.heartbeats = sla.heartbeats.size();
  correlator.restore(std::move(r), std::move(sla), now);
  stats.correlator_seconds = lap();
  stats.outbox = std::move(st.outbox);
  writer.adoptRows(std::move(st.alert_rows));
  writer.start();
  stats.writer_seconds = lap();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace triaged::engine
