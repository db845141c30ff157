// Evaluator throughput and the cost of its metrics: N services, each with an agreement
// (availability, response and resolution targets), and M open incidents (two clocks each).
// Incident changes (severity up and down, which moves service states, and priorities, which
// moves clock deadlines) go through a real correlator; the evaluator's share is timed on its
// own. Then the correlator stage (the daemon's thread) refreshes its SLA gauges and a scrape
// serializes the registry, both timed. Checks the outcome before it reports a figure.
// Usage: triaged-evaluate [--services N] [--incidents N] [--changes N]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>

#include "common/clock.h"
#include "correlate/correlator.h"
#include "correlate/correlator_stage.h"
#include "evaluate/evaluator.h"
#include "evaluate/sla_metrics.h"
#include "temp_config.h"
#include "triaged/api/ingest.h"
#include "triaged/api/metrics_hub.h"
#include "triaged/config/loader.h"
#include "triaged/rules/rule_set.h"

using namespace triaged;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string rulesYaml(int services) {
  std::string y = "configuration_items:\n";
  for (int i = 0; i < services; ++i) y += "  - {name: ci-" + std::to_string(i) + "}\n";
  y += "services:\n";
  for (int i = 0; i < services; ++i)
    y += "  - {name: svc-" + std::to_string(i) + ", cis: [ci-" + std::to_string(i) + "]}\n";
  y += "groups:\n  - name: each\n    rules:\n      - {name: one, match: '{check=~\".+\"}', "
       "group_by: [resource, check], "
       "group_wait: 0s}\n";
  y += "agreements:\n";
  for (int i = 0; i < services; ++i)
    y += "  - {name: sla-" + std::to_string(i) + ", service: svc-" + std::to_string(i) +
         ", availability: \"99.9\", period: month, response: {p1: 15m, p2: 30m, p3: 1h, p4: 4h, "
         "p5: 8h},"
         " resolution: {p1: 4h, p2: 8h, p3: 1d, p4: 3d, p5: 5d}}\n";
  return y;
}

struct Alerts {
  std::vector<engine::SharedBlob> strings;
  std::vector<size_t> sizes;
  std::vector<uint64_t> fps;
};

Alerts makeAlerts(uint64_t n, int services) {
  Alerts a;
  api::IngestOptions io;
  io.name = "bench";
  for (uint64_t i = 0; i < n; ++i) {
    api::BatchBuilder b(io, 0);
    auto& e = b.begin(0);
    std::string resource = "ci-" + std::to_string(i % services),
                check = "chk-" + std::to_string(i / services);
    e.resource = b.keep(resource);
    e.check = b.keep(check);
    e.severity = api::Severity::kMajor;
    if (!b.finish()) std::abort();
    auto batch = b.take();
    a.strings.push_back(engine::AlertStrings::pack(*batch, batch->events[0]));
    a.sizes.push_back(engine::AlertStrings(a.strings.back().get()).bytes());
    a.fps.push_back(batch->events[0].fingerprint);
  }
  return a;
}

engine::CorrelatorInput fire(const Alerts& a, uint64_t i, int64_t now) {
  engine::CorrelatorInput in;
  in.change = {a.fps[i],
               engine::ChangeKind::kNew,
               api::Severity::kMajor,
               api::Severity::kMajor,
               api::Status::kFiring,
               false,
               now};
  in.strings = engine::SharedStrings::copyOf(a.strings[i].get(), a.sizes[i]);
  return in;
}

engine::CorrelatorInput severity(const Alerts& a, uint64_t i, bool up, int64_t now) {
  engine::CorrelatorInput in;
  auto from = up ? api::Severity::kMajor : api::Severity::kCritical,
       to = up ? api::Severity::kCritical : api::Severity::kMajor;
  in.change = {a.fps[i], engine::ChangeKind::kSeverity, to, from, api::Status::kFiring, false, now};
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"evaluator throughput and metrics cost"};
  int services = 10'000;
  uint64_t incidents = 50'000, changes = 1'000'000;
  app.add_option("--services", services, "services, each with an agreement");
  app.add_option("--incidents", incidents, "open incidents (two clocks each)");
  app.add_option("--changes", changes, "incident changes to apply");
  CLI11_PARSE(app, argc, argv);

  config::ConfigPtr c;
  try {
    c = testing::configWith(rulesYaml(services), "");
  } catch (const config::ConfigException& e) {
    for (auto& err : e.errors()) std::cerr << err.str() << "\n";
    return 2;
  }
  Alerts alerts = makeAlerts(incidents, services);

  // ---- Throughput: correlator and evaluator on one thread, the evaluator timed apart ----
  int64_t now = 1'793'491'200'000;  // 2026-11-01T00:00:00Z
  engine::Correlator corr(c->rule_set, engine::CorrelatorOptions{c->correlation});
  engine::Evaluator ev(c->rule_set, now);
  std::vector<uint64_t> dirty;
  std::vector<std::string> dirty_silences;
  std::vector<engine::CorrelatorInput> batch;
  double eval_s = 0, corr_s = 0;
  uint64_t evaluated = 0;
  auto round = [&] {
    auto t0 = Clock::now();
    corr.apply(batch, now);
    corr.advance(now);
    corr.takeEvents();
    auto t1 = Clock::now();
    dirty.clear();
    dirty_silences.clear();
    corr.takeDirty(dirty, dirty_silences);
    ev.advance(now);
    ev.onIncidents(corr, dirty, now);
    ev.takeEvents();
    ev.takeDirty();
    auto t2 = Clock::now();
    evaluated += dirty.size();
    corr_s += std::chrono::duration<double>(t1 - t0).count();
    eval_s += std::chrono::duration<double>(t2 - t1).count();
    batch.clear();
  };
  for (uint64_t i = 0; i < incidents; ++i) {
    batch.push_back(fire(alerts, i, now));
    if (batch.size() == 1000) round();
  }
  round();
  size_t open_clocks = ev.openClocks();
  uint64_t setup_evaluated = evaluated;
  double setup_eval_s = eval_s;
  eval_s = corr_s = 0;
  evaluated = 0;
  std::vector<uint8_t> up(incidents, 0);
  uint64_t seed = 7, applied = 0;
  while (applied < changes) {
    for (int k = 0; k < 1000 && applied < changes; ++k, ++applied) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      uint64_t i = (seed >> 33) % incidents;
      up[i] ^= 1;
      batch.push_back(severity(alerts, i, up[i], now));
    }
    round();
    now += 100;  // 10,000 changes per simulated second
  }
  size_t transitions = 0;
  for (int s = 0; s < services; ++s) transitions += ev.timeline(s).size();
  std::cout << "services " << services << ", agreements " << c->rule_set->agreements().size()
            << ", open incidents " << incidents << ", open clocks " << open_clocks << "\n"
            << "opening: " << setup_evaluated << " incident changes evaluated in " << setup_eval_s
            << " s\n"
            << "changes " << applied << " (" << evaluated << " incident changes): evaluator "
            << eval_s << " s = " << static_cast<uint64_t>(evaluated / eval_s)
            << " incident changes/s; correlator " << corr_s
            << " s = " << static_cast<uint64_t>(applied / corr_s) << " changes/s; both "
            << static_cast<uint64_t>(evaluated / (eval_s + corr_s)) << "/s (one thread)\n"
            << "service transitions recorded " << transitions << "\n";

  // ---- Metrics: the stage's SLA refresh (every 10 s) and a scrape ----
  engine::ManualClock clock(now);
  api::MetricsHub hub;
  engine::CorrelatorStage stage(c->rule_set, engine::CorrelatorOptions{c->correlation}, clock, hub,
                                4096, nullptr);
  stage.start();
  auto sync = [&] {
    std::promise<void> p;
    stage.run([&](engine::Correlator&, int64_t) { p.set_value(); });
    p.get_future().wait();
  };
  for (uint64_t i = 0; i < incidents; i += 1000) {
    auto shared = std::make_shared<std::vector<engine::CorrelatorInput>>();
    for (uint64_t j = i; j < std::min(incidents, i + 1000); ++j)
      shared->push_back(fire(alerts, j, now));
    stage.run([shared](engine::Correlator& cr, int64_t t) { cr.apply(*shared, t); });
  }
  sync();
  // The refresh starts on the stage's thread once 10 s have passed and goes on one slice per
  // turn of its loop; the second one also renders the agreed/unknown/downtime counters of the
  // 10 s between them. A task queued meanwhile waits at most one slice: the stall measured is
  // the longest round trip of a task during the refresh, against the same round trip idle.
  double refresh_s = 0, stall_s = 0, idle_s = 1e9;
  for (int k = 0; k < 20; ++k) {
    auto s0 = Clock::now();
    sync();
    idle_s = std::min(idle_s, std::chrono::duration<double>(Clock::now() - s0).count());
  }
  for (int k = 0; k < 2; ++k) {
    clock.advance(10'000);
    auto r0 = Clock::now();
    stall_s = 0;
    for (int turn = 0; turn < 200; ++turn) {  // 10,000 agreements: 100 slices
      auto s0 = Clock::now();
      sync();
      stall_s = std::max(stall_s, std::chrono::duration<double>(Clock::now() - s0).count());
    }
    refresh_s = std::chrono::duration<double>(Clock::now() - r0).count();
  }
  double best = 1e9, worst = 0;
  size_t bytes = 0;
  bool counters = false;  // the second refresh was published whole
  for (int k = 0; k < 5; ++k) {
    auto s0 = Clock::now();
    std::string text = hub.serialize();
    double s = std::chrono::duration<double>(Clock::now() - s0).count();
    best = std::min(best, s);
    worst = std::max(worst, s);
    bytes = text.size();
    counters = text.find("triaged_sla_agreed_seconds_total{") != std::string::npos;
  }
  stage.stop();
  std::cout << "SLA gauge refresh (every 10 s, stage thread, in slices of "
            << engine::SlaMetrics::kSliceAgreements << " agreements): 200 tasks during it in "
            << refresh_s * 1000 << " ms; longest task round trip " << stall_s * 1000
            << " ms (idle: " << idle_s * 1000 << " ms)\n"
            << "scrape: " << bytes / 1024 << " KiB, best " << best * 1000 << " ms, worst "
            << worst * 1000 << " ms of 5\n";
  bool ok = open_clocks == 2 * incidents && evaluated > 0 &&
            transitions > static_cast<size_t>(services) && bytes > 0 && counters;
  if (!ok)
    std::cerr << "FAILED: expected " << 2 * incidents << " open clocks and service transitions\n";
  return ok ? 0 : 1;
}
