// A silence over many active alerts: how long creating it takes to suppress the matching firing
// alerts (and hold their incidents) on the correlator thread, and how long its expiry takes to
// release them. Alerts carry realistic label sets (alertname, instance, job, team, env, dc).
// Checks the outcome (exact counts) before it reports a figure.
// Usage: triaged-silence [--alerts N]
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstring>
#include <iostream>
#include <random>

#include "correlate/correlator.h"
#include "temp_config.h"
#include "triaged/api/ingest.h"
#include "triaged/rules/matcher.h"

using namespace triaged;

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

long maxRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"silence over active alerts"};
  uint64_t alerts = 1'000'000;
  app.add_option("--alerts", alerts, "firing alerts");
  CLI11_PARSE(app, argc, argv);

  // Incidents per alertname and team (not one per alert): what a NOC's rules do.
  auto c = testing::configWith(
      "groups:\n  - name: g\n    rules:\n      - {name: by-team, match: '{team=~\".+\"}', "
      "group_by: [alertname, team], group_wait: 0s}\n",
      "correlation:\n  resolve_hold_down: 1m\n");
  engine::Correlator corr(c->rule_set, engine::CorrelatorOptions{c->correlation});
  int64_t now = 1'767'225'600'000;
  const char* names[] = {"NodeDown",     "DiskFull",   "HighLatency",  "ErrorRate",
                         "PodCrashLoop", "CertExpiry", "QueueBacklog", "MemoryPressure"};
  std::mt19937_64 rng(7);
  api::IngestOptions io;
  io.name = "bench";
  uint64_t team7 = 0;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<engine::CorrelatorInput> batch;
  for (uint64_t i = 0; i < alerts;) {
    batch.clear();
    for (int k = 0; k < 1000 && i < alerts; ++k, ++i) {
      api::BatchBuilder b(io, now);
      auto& e = b.begin(0);
      std::string host = "host-" + std::to_string(i);
      e.resource = b.keep(host);
      e.check = b.keep(names[rng() % 8]);
      uint64_t team = rng() % 40;
      team7 += team == 7;
      b.addLabel("alertname", e.check);
      b.addLabel("instance", host + ":9100");
      b.addLabel("job", i % 2 ? "node" : "app");
      b.addLabel("team", "t" + std::to_string(team));
      b.addLabel("env", i % 10 ? "prod" : "staging");
      b.addLabel("dc", "dc" + std::to_string(rng() % 4));
      e.severity = api::Severity::kMajor;
      if (!b.finish()) return 2;
      auto eb = b.take();
      engine::CorrelatorInput in;
      in.change = {eb->events[0].fingerprint,
                   engine::ChangeKind::kNew,
                   api::Severity::kMajor,
                   api::Severity::kMajor,
                   api::Status::kFiring,
                   false,
                   now};
      in.strings = engine::SharedStrings(engine::AlertStrings::pack(*eb, eb->events[0]));
      batch.push_back(std::move(in));
    }
    corr.apply(batch, now);
    corr.takeEvents();
    now += 100;
  }
  double fire_s = since(t0);
  if (corr.alertCount() != alerts || corr.suppressedCount() != 0) {
    std::cerr << "silence: expected " << alerts << " firing alerts, got " << corr.alertCount()
              << "\n";
    return 1;
  }

  auto run = [&](const char* what, const char* matchers, uint64_t expect) {
    engine::Silence s;
    std::string err;
    if (!rules::parseMatchers(matchers, s.matchers, &err)) return false;
    s.starts_ms = now;
    s.ends_ms = now + 3'600'000;
    std::string id;
    auto t = std::chrono::steady_clock::now();
    std::string bad = corr.putSilence(std::move(s), now, &id);
    double put_s = since(t);
    size_t held = corr.heldIncidents();
    if (!bad.empty() || corr.suppressedCount() != expect) {
      std::cerr << "silence " << what << ": expected " << expect << " suppressed, got "
                << corr.suppressedCount() << " " << bad << "\n";
      return false;
    }
    corr.takeEvents();
    now += 1000;
    t = std::chrono::steady_clock::now();
    bad = corr.expireSilence(id, now);
    double expire_s = since(t);
    if (!bad.empty() || corr.suppressedCount() != 0 || corr.heldIncidents() != 0) {
      std::cerr << "silence " << what << ": expiry left " << corr.suppressedCount()
                << " suppressed\n";
      return false;
    }
    std::vector<uint64_t> dirty;
    std::vector<std::string> silences;
    corr.takeDirty(dirty, silences);
    corr.takeEvents();
    now += 1000;
    std::cout << "silence " << what << " " << matchers << ": " << expect << " of " << alerts
              << " firing alerts suppressed in " << put_s * 1000 << " ms (" << held
              << " incidents held), released in " << expire_s * 1000 << " ms\n";
    return true;
  };
  std::cout << alerts << " alerts fired in " << fire_s << " s; " << corr.openIncidents()
            << " incidents open\n";
  bool ok = run("narrow", "{team=\"t7\"}", team7) && run("half", "{job=\"node\"}", alerts / 2) &&
            run("one", "{instance=\"host-12345:9100\"}", alerts > 12345 ? 1 : 0);
  std::cout << "max RSS " << maxRssMb() << " MB\n";
  return ok ? 0 : 1;
}
