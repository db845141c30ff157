// Escalation timers for many open incidents: what the escalator costs the correlator thread.
// Opens N incidents (one per alert, realistic label sets) over the first ten minutes, then runs
// simulated time in one-second rounds as the correlator stage does (apply a second's alert
// changes, run timers, observe the round's events, notify due steps, build the outbox entries),
// with a three-step policy (team at once, on-call after 15 m, a manager after 30 m, then every
// hour until acknowledged; a quarter of the incidents is acknowledged as time goes on).
// The same workload runs without policies (one flat target: what step 1 alone would send), in
// the same process, alternating, so the ratio is measured on one machine state.
// Checks the outcome (exact step counts) before it reports a figure.
// Usage: triaged-escalation [--incidents N] [--minutes M] [--changes-per-second C] [--runs R]
#include "notify/escalation.h"

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <random>

#include "correlate/correlator.h"
#include "notify/outbox_builder.h"
#include "temp_config.h"
#include "triaged/api/ingest.h"

using namespace triaged;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

long maxRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

const char* kTargets = R"(correlation:
  default_group_by: [resource]
notifications:
  targets:
    - {name: team, url: "http://127.0.0.1:9/team"}
    - {name: oncall, url: "http://127.0.0.1:9/oncall"}
    - {name: boss, url: "http://127.0.0.1:9/boss"}
)";
const char* kPolicy = R"(  policies:
    - name: p1
      steps:
        - {targets: [team]}
        - {after: 15m, targets: [oncall]}
        - {after: 30m, targets: [boss]}
      repeat_interval: 1h
)";

struct Result {
  double correlator_s = 0, escalation_s = 0, outbox_s = 0;
  double steady_total_s = 0, steady_escalation_s = 0;  // rounds in which no step was due
  uint64_t steps = 0, entries = 0, acknowledged = 0;
  size_t pending_peak = 0;
};

Result scenario(bool policies, uint64_t incidents, int minutes, int changes_per_s) {
  auto cfg = testing::configWith("groups: []\n", std::string(kTargets) + (policies ? kPolicy : ""));
  engine::Correlator corr(cfg->rule_set, engine::CorrelatorOptions{cfg->correlation});
  engine::Escalator esc;
  esc.configure(cfg->notification_policies);
  engine::OutboxBuilder outbox;
  auto targets = cfg->notification_targets;
  if (!policies) targets.resize(1);  // team only: step 1 without escalation
  outbox.setTargets(targets);
  api::IngestOptions io;
  io.name = "bench";
  std::mt19937_64 rng(11);
  const char* names[] = {"NodeDown", "DiskFull", "HighLatency", "ErrorRate"};
  std::vector<uint64_t> fps;
  fps.reserve(incidents);
  int64_t t0 = 1'767'225'600'000, now = t0;
  Result r;
  std::vector<engine::CorrelatorInput> batch;
  std::vector<engine::OutboxEntry> out;
  uint64_t opened = 0;
  double ack_due = 0;
  int64_t per_second = static_cast<int64_t>(incidents / 600 + 1);  // all open in 10 minutes
  for (int s = 0; s < minutes * 60; ++s) {
    now = t0 + static_cast<int64_t>(s) * 1000;
    batch.clear();
    for (int64_t k = 0; k < per_second && opened < incidents; ++k, ++opened) {
      api::BatchBuilder b(io, now);
      auto& e = b.begin(0);
      std::string host = "host-" + std::to_string(opened);
      e.resource = b.keep(host);
      e.check = b.keep(names[opened % 4]);
      b.addLabel("alertname", e.check);
      b.addLabel("instance", host + ":9100");
      b.addLabel("job", "node");
      b.addLabel("team", "t" + std::to_string(opened % 40));
      e.severity = api::Severity::kCritical;
      if (!b.finish()) std::exit(2);
      auto eb = b.take();
      engine::CorrelatorInput in;
      in.change = {eb->events[0].fingerprint,
                   engine::ChangeKind::kNew,
                   api::Severity::kCritical,
                   api::Severity::kCritical,
                   api::Status::kFiring,
                   false,
                   now};
      in.strings = engine::SharedStrings(engine::AlertStrings::pack(*eb, eb->events[0]));
      fps.push_back(eb->events[0].fingerprint);
      batch.push_back(std::move(in));
    }
    // A second's worth of changes to alerts already open: severity up and down.
    for (int k = 0; k < changes_per_s && !fps.empty(); ++k) {
      uint64_t fp = fps[rng() % fps.size()];
      const engine::CorrAlert* a = corr.alert(fp);
      if (!a) continue;
      auto sev = a->severity == api::Severity::kCritical ? api::Severity::kMajor
                                                         : api::Severity::kCritical;
      engine::CorrelatorInput in;
      in.change = {fp, engine::ChangeKind::kSeverity, sev, a->severity, api::Status::kFiring, false,
                   now};
      batch.push_back(std::move(in));
    }
    auto t = Clock::now();
    if (!batch.empty()) corr.apply(batch, now);
    // People acknowledge about one incident in 20,000 each second (a quarter in 90 minutes).
    ack_due += static_cast<double>(incidents) / 20000;
    for (; ack_due >= 1; ack_due -= 1) {
      uint64_t id = 1 + rng() % corr.nextIncidentId();
      if (const auto* inc = corr.incident(id); inc && inc->status == engine::IncidentStatus::kOpen)
        r.acknowledged += corr.acknowledge(id, "noc", now).empty();
    }
    corr.advance(now);
    auto evs = corr.takeEvents();
    double c_s = since(t);
    t = Clock::now();
    size_t before = evs.size();
    esc.round(corr, evs, now);
    auto fired = esc.takeFired();
    double e_s = since(t);
    t = Clock::now();
    out.clear();
    outbox.build(corr, evs, {}, esc, fired, out);
    std::vector<uint64_t> dirty;
    std::vector<std::string> silences;
    corr.takeDirty(dirty, silences);
    for (uint64_t id : dirty)
      if (auto* inc = corr.mutableIncidentForStore(id)) inc->dirty = inc->persist = false;
    double o_s = since(t);
    r.correlator_s += c_s;
    r.escalation_s += e_s;
    r.outbox_s += o_s;
    if (fired.empty() && evs.size() == before) {
      r.steady_total_s += c_s + e_s + o_s;
      r.steady_escalation_s += e_s;
    }
    r.steps += fired.size();
    r.entries += out.size();
    r.pending_peak = std::max(r.pending_peak, esc.pending());
  }
  // Exact: every step notified after the first is one the incidents' states count.
  uint64_t counted = 0;
  for (const auto& inc : corr.incidents())
    for (const auto& e : inc.extra().escalation) counted += e.next - 1 + e.repeats;
  if (policies && (counted != r.steps || r.steps == 0)) {
    std::cerr << "escalation: " << r.steps << " steps notified, the incidents count " << counted
              << "\n";
    std::exit(1);
  }
  if (corr.openIncidents() + r.acknowledged < incidents) {
    std::cerr << "escalation: expected " << incidents << " incidents, got " << corr.openIncidents()
              << " open + " << r.acknowledged << " acknowledged\n";
    std::exit(1);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"escalation timers for many open incidents"};
  uint64_t incidents = 100'000;
  int minutes = 90, changes = 2000, runs = 2;
  app.add_option("--incidents", incidents, "open incidents");
  app.add_option("--minutes", minutes, "simulated minutes (one round per second)");
  app.add_option("--changes-per-second", changes, "alert changes applied each second");
  app.add_option("--runs", runs, "runs of each variant, alternating");
  CLI11_PARSE(app, argc, argv);
  if (minutes < 40) {
    std::cerr << "--minutes must be at least 40 (steps at 15 and 30 minutes)\n";
    return 2;
  }
  for (int i = 0; i < runs; ++i) {
    Result a = scenario(true, incidents, minutes, changes);
    Result b = scenario(false, incidents, minutes, changes);
    double total_a = a.correlator_s + a.escalation_s + a.outbox_s;
    double total_b = b.correlator_s + b.escalation_s + b.outbox_s;
    std::cout << "run " << i + 1 << ": " << incidents << " incidents, " << minutes
              << " simulated minutes, " << changes << " changes/s; " << a.acknowledged
              << " acknowledged\n"
              << "  with policies: correlator " << a.correlator_s << " s, escalation "
              << a.escalation_s << " s (" << 100 * a.escalation_s / total_a
              << " % of the thread), outbox " << a.outbox_s << " s; " << a.steps
              << " steps notified, " << a.entries << " outbox entries, " << a.pending_peak
              << " escalations pending at most\n"
              << "  timers alone (rounds without a step due): " << a.steady_escalation_s << " s of "
              << a.steady_total_s << " s ("
              << 100 * a.steady_escalation_s / std::max(1e-9, a.steady_total_s) << " %)\n"
              << "  without policies: correlator " << b.correlator_s << " s, outbox " << b.outbox_s
              << " s; " << b.entries << " outbox entries\n"
              << "  thread time with / without: " << total_a / total_b << "\n";
  }
  std::cout << "max RSS " << maxRssMb() << " MB\n";
  return 0;
}
