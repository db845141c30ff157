// The evaluator's signals beside incidents: SLOs and their burn rates, capacity rules with
// hysteresis and forecasts, the samples that feed them, and their state through a restart.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "evaluate/evaluator.h"
#include "evaluator_world.h"

using namespace triaged;
using engine::Evaluator;
using testing::kMin;
using testing::sample;
using testing::throughStore;
using testing::World;
namespace fs = std::filesystem;

namespace {

const char* kSignals = R"(
services:
  - name: checkout
  - name: db
slos:
  - name: checkout-requests
    service: checkout
    objective: "99.9"
    period: 30d
    good: requests_good
    valid: requests_total
    matchers: '{region="eu"}'
capacity:
  - name: db-disk
    service: db
    metric: disk_used_ratio
    matchers: '{host="db1"}'
    raise_at: 0.9
    raise_for: 5m
    clear_at: 0.8
    clear_for: 5m
    forecast: {window: 1h, horizon: 24h, limit: 1.0, min_samples: 5, min_r_squared: 0.9}
)";

}  // namespace

TEST_CASE(
    "SLO burn rate: 1h/5m at 14.4 pages, no data neither raises nor clears, recovery resolves",
    "[evaluator][slo]") {
  World w(kSignals);
  int64_t t = w.t0;
  // An hour at 2 % errors: burn 20 on both windows of the first pair (threshold 14.4).
  for (int m = 0; m < 60; ++m, t += kMin) {
    CHECK(w.ev.onSample(sample("requests_total", 1000, t), t) == 1);
    CHECK(w.ev.onSample(sample("requests_good", 980, t), t) == 1);
  }
  CHECK(w.ev.onSample(sample("requests_total", 1000, t, "region", "us"), t) == 0);  // other region
  w.ev.evaluateSignals(t - 1);
  const auto& r = w.ev.slos().at("checkout-requests");
  CHECK(r.burn_long[0] == Approx(20));
  CHECK(r.burn_short[0] == Approx(20));
  CHECK(r.firing[0] == 1);
  // Every pair sums what its windows hold (ratio of sums, not an extrapolation): one hour
  // at 20x is over 6 (6h/30m), 3 (1d/2h) and 1 (3d/6h) as well.
  CHECK(r.firing == std::vector<uint8_t>{1, 1, 1, 1});
  auto alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 4);
  CHECK(alerts[0].check == "slo-burn-0");
  CHECK(alerts[0].firing);
  CHECK(alerts[0].severity == 5);  // page_severity
  CHECK(alerts[2].severity == 2);  // ticket_severity (1d/2h)
  CHECK(alerts[0].service == "checkout");
  CHECK(alerts[0].summary.find("20.00x") != std::string::npos);
  // Traffic stops: no data in the short window changes nothing.
  w.ev.evaluateSignals(t + 10 * kMin);
  CHECK(w.ev.takeAlerts().empty());
  // Clean traffic for 10 minutes: the 5 minute window drops to 0 and the page resolves.
  t += 10 * kMin;
  for (int m = 0; m < 10; ++m, t += kMin) {
    w.ev.onSample(sample("requests_total", 1000, t), t);
    w.ev.onSample(sample("requests_good", 1000, t), t);
  }
  w.ev.evaluateSignals(t - 1);
  alerts = w.ev.takeAlerts();
  REQUIRE_FALSE(alerts.empty());
  CHECK(alerts[0].check == "slo-burn-0");
  CHECK_FALSE(alerts[0].firing);
  // The period budget: 1200 bad of 70,000 valid = 1.714 % errors, 17.14x the allowed 0.1 %.
  CHECK(w.ev.slos().at("checkout-requests").budget_remaining == Approx(1 - 1200.0 / 70000 / 0.001));
}

TEST_CASE(
    "Capacity: hysteresis raises after raise_for and clears after clear_for, the forecast opens "
    "before exhaustion",
    "[evaluator][capacity]") {
  World w(kSignals);
  int64_t t = w.t0;
  auto feed = [&](double v) {
    CHECK(w.ev.onSample(sample("disk_used_ratio", v, t, "host", "db1"), t) == 1);
    t += kMin;
  };
  // Rising 0.5 % a minute from 0.80: linear, so R² = 1; 1.0 is 40 minutes after the start.
  for (int m = 0; m < 10; ++m) feed(0.80 + 0.005 * m);
  w.ev.evaluateSignals(t - kMin);
  const auto& c = w.ev.capacity().at("db-disk");
  REQUIRE(c.fit);
  CHECK(c.fit->r_squared == Approx(1));
  REQUIRE(c.time_left_ms);
  CHECK(*c.time_left_ms == Approx(31 * kMin).margin(1));  // from 0.845 at minute 9 to 1.0
  CHECK(c.forecast_firing);
  auto alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].check == "capacity-forecast");
  CHECK(alerts[0].service == "db");
  // Threshold: at or above 0.9 from minute 20, raised 5 minutes later, not before.
  for (int m = 10; m < 20; ++m) feed(0.80 + 0.005 * m);
  CHECK_FALSE(c.threshold.raised);
  for (int m = 0; m < 5; ++m) feed(0.95);
  CHECK_FALSE(c.threshold.raised);  // 4 minutes above
  feed(0.95);
  CHECK(c.threshold.raised);
  alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].check == "capacity-threshold");
  CHECK(alerts[0].firing);
  // Between clear_at and raise_at: stays raised; at or below 0.8 for 5 minutes: clears.
  feed(0.85);
  CHECK(c.threshold.raised);
  for (int m = 0; m < 6; ++m) feed(0.7);
  CHECK_FALSE(c.threshold.raised);
  alerts = w.ev.takeAlerts();
  REQUIRE(alerts.size() == 1);
  CHECK_FALSE(alerts[0].firing);
}

TEST_CASE("Samples: a bad request names the index and field and yields nothing", "[samples]") {
  std::vector<std::string> errors;
  auto ok = engine::parseSamples(
      R"([{"metric":"disk_used","labels":{"host":"db1"},"value":0.5,"timestamp":"2026-11-01T00:00:00Z"},{"metric":"x","value":2}])",
      7, errors);
  REQUIRE(errors.empty());
  REQUIRE(ok.size() == 2);
  CHECK(ok[0].at_ms == 1'793'491'200'000);
  CHECK(ok[1].at_ms == 7);  // no timestamp: now
  CHECK(ok[0].labels == std::vector<std::pair<std::string, std::string>>{{"host", "db1"}});
  auto bad = engine::parseSamples(R"([{"metric":"a","value":1},{"metric":"9x","value":"high"}])", 0,
                                  errors);
  CHECK(bad.empty());
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "[1].metric: expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  CHECK(errors[1] == "[1].value: expected a finite number");
  errors.clear();
  engine::parseSamples(R"({"value":1})", 0, errors);
  CHECK(errors == std::vector<std::string>{"[0].metric: is required"});
  errors.clear();
  engine::parseSamples("[1", 0, errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("body: not valid JSON", 0) == 0);
  // Oversized and hostile: more samples than a request may carry, too many labels, a
  // non-finite value, a body that is not an array or an object. Each named, nothing kept.
  std::string big = "[";
  for (size_t i = 0; i <= engine::kMaxSamplesPerRequest; ++i)
    big += std::string(i ? "," : "") + R"({"metric":"m","value":1})";
  big += "]";
  errors.clear();
  CHECK(engine::parseSamples(big, 0, errors).empty());
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("more than 10000") != std::string::npos);
  std::string labels = R"({"metric":"m","value":1,"labels":{)";
  for (int i = 0; i < 65; ++i)
    labels += std::string(i ? "," : "") + "\"l" + std::to_string(i) + "\":\"v\"";
  labels += "}}";
  errors.clear();
  CHECK(engine::parseSamples(labels, 0, errors).empty());
  CHECK(errors == std::vector<std::string>{"[0].labels: more than 64 labels"});
  errors.clear();
  CHECK(engine::parseSamples(R"({"metric":"m","value":1e400})", 0, errors).empty());
  CHECK_FALSE(errors.empty());
  errors.clear();
  CHECK(engine::parseSamples("42", 0, errors).empty());
  CHECK(errors ==
        std::vector<std::string>{"body: expected an array of samples or one sample object"});
}

TEST_CASE("SLO minutes and capacity samples survive a restart through the store",
          "[evaluator][store][slo]") {
  fs::path dir = fs::temp_directory_path() / ("triaged-eval-signals-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  World w(kSignals);
  int64_t t = w.t0;
  for (int m = 0; m < 30; ++m, t += kMin) {
    w.ev.onSample(sample("requests_total", 1000, t), t);
    w.ev.onSample(sample("requests_good", 980, t), t);
    w.ev.onSample(sample("disk_used_ratio", 0.5 + 0.01 * m, t, "host", "db1"), t);
  }
  w.ev.evaluateSignals(t - 1);
  auto before = w.ev.slos().at("checkout-requests");
  auto cap = w.ev.capacity().at("db-disk");
  auto st = throughStore(w.ev, dir, t);
  CHECK(st.sla.slo_minutes.size() == 30);
  CHECK(st.sla.capacity_samples.size() == 30);
  Evaluator again(w.config->rule_set, t);
  again.restore(engine::slaRestored(st.sla, st.last_alive_ms), t);
  again.evaluateSignals(t - 1);
  const auto& after = again.slos().at("checkout-requests");
  CHECK(after.burn_long == before.burn_long);
  CHECK(after.burn_short == before.burn_short);
  CHECK(after.firing == before.firing);
  const auto& cap2 = again.capacity().at("db-disk");
  REQUIRE(cap2.fit);
  CHECK(cap2.fit->slope_per_ms == Approx(cap.fit->slope_per_ms));
  CHECK(cap2.last_value == Approx(cap.last_value));
  CHECK(cap2.samples.size() == cap.samples.size());
  // A capacity rule keeps its raised state (no second alert); SLO pairs re-assert theirs from
  // the restored minutes: the same alerts, firing again, which the pipeline counts as
  // duplicates of the stored ones.
  auto alerts = again.takeAlerts();
  CHECK(alerts.size() == 4);
  for (const auto& a : alerts) {
    CHECK(a.check.rfind("slo-burn-", 0) == 0);
    CHECK(a.firing);
  }
  fs::remove_all(dir);
}
