// Correlator throughput on one thread: alert changes through a rule set of 200 rules (group,
// threshold, sequence, inhibit) with silences, maintenance windows and a topology of 10,000
// CIs. Checks the outcome (incidents, symptoms and suppressions happen) before it
// reports a figure. Usage: triaged-correlate [--changes N] [--alerts N] [--cis N] [--fresh]
// Default: alerts fire and resolve over and over (recurring alerts rejoin their open
// incidents). --fresh: every firing is a new alert; 50,000 fire, then each new one fires as
// the oldest resolves: each one takes the whole path (suppression, topology, rule index, grouping,
// incident).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "correlate/correlator.h"
#include "temp_config.h"
#include "triaged/api/ingest.h"
#include "triaged/config/loader.h"
#include "triaged/rules/rule_set.h"

using namespace triaged;
namespace fs = std::filesystem;

namespace {

constexpr int kGroupRules = 120, kThresholdRules = 40, kSequenceRules = 20, kInhibitRules = 20;

std::string ruleSetYaml(int cis) {
  std::string y = "configuration_items:\n";
  int switches = std::max(1, cis / 100);
  for (int s = 0; s < switches; ++s)
    y += "  - {name: sw-" + std::to_string(s) + ", type: switch}\n";
  for (int h = 0; h < cis - switches; ++h)
    y += "  - {name: host-" + std::to_string(h) + ", depends_on: [sw-" +
         std::to_string(h % switches) + "]}\n";
  y += "services:\n";
  for (int s = 0; s < switches; ++s) {
    y += "  - {name: svc-" + std::to_string(s) +
         ", criticality: " + (s % 3 == 0 ? "high" : "medium") + ", cis: [";
    bool first = true;
    for (int h = s; h < cis - switches; h += switches) {
      y += (first ? "" : ", ") + std::string("host-") + std::to_string(h);
      first = false;
    }
    y += "]}\n";
  }
  y += "groups:\n  - name: bench\n    rules:\n";
  for (int k = 0; k < kGroupRules; ++k)
    y += "      - {name: group-" + std::to_string(k) + ", match: '{check=\"chk-" +
         std::to_string(k) + "\"}', group_by: [service], group_wait: 30s, group_interval: 5m}\n";
  for (int k = 0; k < kThresholdRules; ++k)
    y += "      - {name: thr-" + std::to_string(k) + ", type: threshold, match: '{check=\"thr-" +
         std::to_string(k) + "\"}', group_by: [resource], count: 3, window: 5m}\n";
  for (int k = 0; k < kSequenceRules; ++k)
    y += "      - {name: seq-" + std::to_string(k) +
         ", type: sequence, mode: " + (k % 2 ? "pair" : "absence") + ", first: '{check=\"seqa-" +
         std::to_string(k) + "\"}', then: '{check=\"seqb-" + std::to_string(k) +
         "\"}', on: [resource], within: 10m}\n";
  y += "inhibit_rules:\n";
  for (int k = 0; k < kInhibitRules; ++k)
    y += "  - {source_match: '{check=\"down-" + std::to_string(k) +
         "\"}', target_match: '{team=\"t" + std::to_string(k) + "\"}', equal: [resource]}\n";
  y += "maintenance_windows:\n";
  for (int k = 0; k < 10; ++k)
    y += "  - {name: mw-" + std::to_string(k) + ", match: '{resource=\"host-" +
         std::to_string(k * 7) + "\"}', start: 2026-01-01T00:00:00Z, end: 2026-01-02T00:00:00Z}\n";
  return y;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"correlator throughput"};
  uint64_t changes = 2'000'000, alerts = 100'000;
  int cis = 10'000;
  bool fresh = false;
  app.add_flag("--fresh", fresh, "every firing is a new alert (changes/2 alerts)");
  app.add_option("--changes", changes, "alert changes to apply");
  app.add_option("--alerts", alerts, "distinct alerts");
  app.add_option("--cis", cis, "configuration items");
  CLI11_PARSE(app, argc, argv);
  if (fresh) alerts = changes / 2 + 50'000;

  config::ConfigPtr c;
  try {
    c = testing::configWith(ruleSetYaml(cis),
                            "correlation:\n  resolve_hold_down: 1m\n  reopen_window: 1m\n");
  } catch (const config::ConfigException& e) {
    for (auto& err : e.errors()) std::cerr << err.str() << "\n";
    return 2;
  }
  const auto& rs = *c->rule_set;
  size_t rule_count = rs.rules().size() + rs.inhibitRules().size();

  // The alerts: a resource (a host, 1% on switches), a check drawn from the rules' checks or
  // unmatched ones, a team label that inhibit rules look at.
  std::mt19937_64 rng(42);
  int switches = std::max(1, cis / 100);
  api::IngestOptions io;
  io.name = "bench";
  std::vector<engine::SharedBlob> strings(alerts);
  std::vector<uint64_t> fps(alerts);
  std::vector<size_t> sizes(alerts);
  for (uint64_t i = 0; i < alerts; ++i) {
    std::string resource = rng() % 100 == 0 ? "sw-" + std::to_string(rng() % switches)
                                            : "host-" + std::to_string(rng() % (cis - switches));
    std::string check;
    switch (rng() % 10) {
      case 0:
        check = "thr-" + std::to_string(rng() % kThresholdRules);
        break;
      case 1:
        check = "seqa-" + std::to_string(rng() % kSequenceRules);
        break;
      case 2:
        check = "seqb-" + std::to_string(rng() % kSequenceRules);
        break;
      case 3:
        check = "down-" + std::to_string(rng() % kInhibitRules);
        break;
      case 4:
        check = "other-" + std::to_string(rng() % 50);
        break;
      default:
        check = "chk-" + std::to_string(rng() % kGroupRules);
    }
    api::BatchBuilder b(io, 0);
    auto& e = b.begin(0);
    e.resource = b.keep(resource);
    e.check = b.keep(check);
    b.addLabel("instance", std::to_string(i));  // distinct alerts on one resource and check
    b.addLabel("team", "t" + std::to_string(rng() % (kInhibitRules * 2)));
    e.severity = static_cast<api::Severity>(2 + rng() % 4);
    if (!b.finish()) return 2;
    auto batch = b.take();
    strings[i] = engine::AlertStrings::pack(*batch, batch->events[0]);
    sizes[i] = engine::AlertStrings(strings[i].get()).bytes();
    fps[i] = batch->events[0].fingerprint;
  }

  engine::Correlator corr(c->rule_set, engine::CorrelatorOptions{c->correlation});
  int64_t now = 1'767'225'600'000;
  // Ten silences on hosts.
  for (int k = 0; k < 10; ++k) {
    engine::Silence s;
    std::string err;
    rules::parseMatchers("{resource=\"host-" + std::to_string(k * 13 + 1) + "\"}", s.matchers,
                         &err);
    s.starts_ms = now;
    s.ends_ms = now + 86'400'000;
    std::string id;
    corr.putSilence(std::move(s), now, &id);
  }
  // The change stream: each alert alternates firing and resolved; 1,000 changes per batch,
  // simulated time moves 1 s per batch.
  std::vector<uint8_t> firing(alerts, 0);
  std::vector<engine::CorrelatorInput> batch;
  uint64_t order_seed = 7;
  uint64_t applied = 0, next_fire = 0, next_resolve = 0;
  uint64_t events = 0, opened = 0, suppressed = 0;
  auto t0 = std::chrono::steady_clock::now();
  while (applied < changes) {
    batch.clear();
    for (int k = 0; k < 1000 && applied < changes; ++k, ++applied) {
      order_seed = order_seed * 6364136223846793005ULL + 1442695040888963407ULL;
      uint64_t i = (order_seed >> 33) % alerts;
      if (fresh) {  // 50,000 new alerts fire; then each new one fires as the oldest resolves
        i = (next_fire < 50'000 || applied % 2 == 0 || next_resolve >= next_fire) ? next_fire++
                                                                                  : next_resolve++;
        if (i >= alerts) i = next_resolve++;
      }
      engine::CorrelatorInput in;
      bool fire = !firing[i];
      firing[i] = fire;
      in.change = {fps[i],
                   fire ? engine::ChangeKind::kNew : engine::ChangeKind::kResolved,
                   api::Severity::kMajor,
                   api::Severity::kMajor,
                   fire ? api::Status::kFiring : api::Status::kResolved,
                   false,
                   now};
      if (fire) {
        in.strings = engine::SharedStrings::copyOf(strings[i].get(), sizes[i]);
      }
      batch.push_back(std::move(in));
    }
    corr.apply(batch, now);
    for (const auto& e : corr.takeEvents()) {
      ++events;
      opened += e.type == engine::CorrelatorEvent::kIncidentOpened;
      suppressed += e.type == engine::CorrelatorEvent::kAlertSuppressed;
    }
    now += 1000;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uint64_t symptoms = 0, merged = 0;
  for (const auto& inc : corr.incidents()) {
    merged += inc.status == engine::IncidentStatus::kMerged;
    for (uint64_t fp : inc.alerts)
      if (const auto* a = corr.alert(fp); a && a->role == engine::AlertRole::kSymptom) ++symptoms;
  }
  std::cout << "rules " << rule_count << ", CIs " << rs.cis().size() << ", alerts " << alerts
            << "\n"
            << "changes " << applied << " in " << secs
            << " s: " << static_cast<uint64_t>(applied / secs) << " changes/s (one thread)\n"
            << "incidents opened " << opened << " (merged " << merged << "), symptom alerts "
            << symptoms << ", suppressions " << suppressed << ", problems "
            << corr.problems().size() << ", events " << events << "\n";
  bool ok = opened > 0 && suppressed > 0 && symptoms > 0;
  if (!ok) std::cerr << "FAILED: the run did not exercise every rule type\n";
  return ok ? 0 : 1;
}
