// The correlator on simulated time, for the correlate stage's tests: at(t).push(event), then
// look at incidents. Runs the replay engine (dedup and correlation) with no threads.
#pragma once

#include <catch2/catch.hpp>
#include <utility>
#include <vector>

#include "app/replay.h"
#include "triaged/api/ingest.h"
#include "triaged/config/config.h"

namespace triaged::testing {

struct Timeline {
  explicit Timeline(config::ConfigPtr c) : config(std::move(c)), engine(*config) {
    opts.resolve_timeout_ms = 0;
  }
  config::ConfigPtr config;
  engine::ReplayEngine engine;
  api::IngestOptions opts;
  int64_t t0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  int64_t now = t0;

  Timeline& at(int64_t seconds) {
    now = t0 + seconds * 1000;
    engine.advance(now);
    return *this;
  }
  uint64_t push(const char* resource, const char* check,
                api::Severity sev = api::Severity::kWarning, api::Status st = api::Status::kFiring,
                std::vector<std::pair<const char*, const char*>> labels = {}) {
    api::BatchBuilder b(opts, now);
    auto& e = b.begin(0);
    e.resource = b.keep(resource);
    e.check = b.keep(check);
    e.severity = sev;
    e.status = st;
    for (auto& [k, v] : labels) b.addLabel(k, v);
    REQUIRE(b.finish());
    auto batch = b.take();
    uint64_t fp = batch->events[0].fingerprint;
    engine.apply(*batch, now);
    return fp;
  }
  engine::Correlator& c() { return engine.correlator(); }
  std::vector<const engine::Incident*> live() {
    std::vector<const engine::Incident*> v;
    for (auto& inc : c().incidents())
      if (inc.status != engine::IncidentStatus::kMerged) v.push_back(&inc);
    return v;
  }
};

}  // namespace triaged::testing
