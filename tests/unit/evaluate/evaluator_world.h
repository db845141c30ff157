// An evaluator following a real correlator (the replay engine) on one simulated clock, as the
// correlator stage runs them, for the evaluate stage's tests: at(t).push(event), then look at
// service states, clocks, reports and the events and alerts raised.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "app/replay.h"
#include "evaluate/evaluator.h"
#include "evaluate/samples.h"
#include "store/state_codec.h"
#include "store/store_writer.h"
#include "temp_config.h"
#include "test_store.h"
#include "triaged/api/ingest.h"

namespace triaged::testing {

using api::Severity;
using api::Status;

constexpr int64_t kMin = 60'000;

// The rule file, with a 5-minute resolve hold-down; `extra` is added to the daemon's config.
inline config::ConfigPtr slaConfig(const std::string& rules_yaml, const std::string& extra = "") {
  return configWith(rules_yaml, "correlation:\n  resolve_hold_down: 5m\n" + extra);
}

// A correlator and an evaluator on one simulated clock, as the correlator stage runs them.
struct World {
  explicit World(const std::string& rules, const std::string& extra = "")
      : config(slaConfig(rules, extra)), replay(*config), ev(config->rule_set, t0) {
    opts.resolve_timeout_ms = 0;
  }
  config::ConfigPtr config;
  engine::ReplayEngine replay;
  int64_t t0 = 1'793'491'200'000;  // 2026-11-01T00:00:00Z, a Sunday
  engine::Evaluator ev;
  api::IngestOptions opts;
  int64_t now = t0;
  std::vector<engine::SlaEvent> events;

  // Moves time to t (ms after t0): evaluator timers fire at their own instants.
  World& at(int64_t ms) {
    now = t0 + ms;
    ev.advance(now);
    replay.advance(now);
    sync();
    return *this;
  }
  void sync() {
    std::vector<uint64_t> ids;
    for (const auto& inc : replay.correlator().incidents())
      if (inc.id) ids.push_back(inc.id);
    ev.onIncidents(replay.correlator(), ids, now);
    for (auto& e : ev.takeEvents()) events.push_back(std::move(e));
  }
  void push(const char* resource, Severity sev, Status st = Status::kFiring,
            const char* check = "http") {
    api::BatchBuilder b(opts, now);
    auto& e = b.begin(0);
    e.resource = b.keep(resource);
    e.check = b.keep(check);
    e.severity = sev;
    e.status = st;
    REQUIRE(b.finish());
    auto batch = b.take();
    replay.apply(*batch, now);
    sync();
  }
  uint32_t svc(const char* name) const { return config->rule_set->serviceByName(name); }
};

inline engine::Sample sample(const char* metric, double v, int64_t at, const char* k = "region",
                             const char* val = "eu") {
  return engine::Sample{metric, {{k, val}}, v, at};
}

// Everything the evaluator changed, written by the store writer to a real store and
// read back as at start-up.
inline engine::StoredState throughStore(engine::Evaluator& ev, const std::filesystem::path& dir,
                                        int64_t now) {
  {
    auto store = testing::openStore(dir);
    engine::ManualClock clock(now);
    api::MetricsHub hub;
    engine::StoreWriter w(*store, {}, clock, hub);
    w.start();
    engine::StoreUnit u;
    auto d = ev.takeDirty();
    engine::slaRows(ev, d, u.sla);
    u.meta.emplace_back("last_alive", std::to_string(now));
    w.submit(std::move(u));
    w.stop();
  }
  return engine::loadState(*testing::openStore(dir));
}

}  // namespace triaged::testing
