// The SLA gauges' refresh on the correlator's thread: counted and rendered in slices, one per
// turn, with the same figures whatever the slices.
#include "evaluate/sla_metrics.h"

#include <catch2/catch.hpp>

#include "evaluator_world.h"
#include "triaged/api/metrics_hub.h"

using namespace triaged;
using testing::kMin;
using testing::World;

namespace {

const char* kRules = R"(
configuration_items:
  - name: web1
  - name: web2
  - name: web3
services:
  - name: web
    cis: [web1, web2, web3]
agreements:
  - name: web-sla
    service: web
    availability: "99.9"
    period: month
    response: {p1: 10m, p2: 10m, p3: 10m, p4: 10m, p5: 10m}
    resolution: {p1: 1h, p2: 1h, p3: 1h, p4: 1h, p5: 1h}
)";

struct Refreshed {
  std::string text;
  int turns = 0;  // turns that left the refresh under way
};

// One whole refresh, a slice a turn, as the correlator stage runs it.
Refreshed refresh(const World& w, uint32_t slice_clocks) {
  api::MetricsHub hub;
  engine::SlaMetrics m(hub, w.t0);
  m.setSliceClocks(slice_clocks);
  Refreshed r;
  m.startSla(w.ev, w.now);
  while (m.stepSla(w.ev, w.now)) ++r.turns;
  r.text = hub.serialize();
  return r;
}

double active(const std::string& text, const std::string& target, const std::string& stage) {
  std::string series = "triaged_task_sla_active{agreement=\"web-sla\",target=\"" + target +
                       "\",stage=\"" + stage + "\"} ";
  auto at = text.find(series);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size()));
}

}  // namespace

TEST_CASE("The SLA refresh counts open clocks a slice a turn, with the same figures as at once",
          "[evaluator][metrics]") {
  World w(kRules);
  w.at(kMin).push("web1", api::Severity::kCritical);
  w.push("web2", api::Severity::kCritical);
  w.push("web3", api::Severity::kCritical);
  REQUIRE(w.ev.openClocks() == 6);  // a response and a resolution clock per incident
  auto whole = refresh(w, engine::SlaMetrics::kSliceClocks);
  auto sliced = refresh(w, 2);
  CHECK(whole.turns == 1);   // the clocks in one turn, then the one slice of agreements
  CHECK(sliced.turns == 3);  // two clocks a turn
  for (const auto* r : {&whole, &sliced}) {
    CHECK(active(r->text, "response", "in_progress") == 3);
    CHECK(active(r->text, "resolution", "in_progress") == 3);
    CHECK(active(r->text, "resolution", "paused") == 0);
  }
  // A resolved incident's clocks stop: no longer open, whatever the slices.
  w.at(2 * kMin).push("web2", api::Severity::kCritical, api::Status::kResolved);
  w.at(10 * kMin);
  REQUIRE(w.ev.openClocks() == 4);
  for (uint32_t slice : {1U, 3U, engine::SlaMetrics::kSliceClocks}) {
    auto r = refresh(w, slice);
    CHECK(active(r.text, "response", "in_progress") == 2);
    CHECK(active(r.text, "resolution", "in_progress") == 2);
  }
}
