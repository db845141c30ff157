// libFuzzer harness for the samples parser (POST /api/v1/samples), feeding what it accepts to an
// evaluator with SLOs and capacity rules: anything either parses whole with no errors, or
// yields errors and no samples; the evaluator never fails on what parsed.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "evaluate/samples.h"
#include "triaged/config/loader.h"

using namespace triaged;

namespace {

std::shared_ptr<const rules::RuleSet> ruleSet() {
  static std::shared_ptr<const rules::RuleSet> rs = [] {
    auto dir = std::filesystem::temp_directory_path() /
               ("triaged-fuzz-samples-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "r.yaml") << R"(
services:
  - name: web
slos:
  - name: web-req
    service: web
    objective: "99.9"
    good: req_good
    valid: req_total
capacity:
  - name: disk
    metric: disk_used
    matchers: '{host=~"db.*"}'
    raise_at: 0.9
    clear_at: 0.8
    raise_for: 1m
    forecast: {window: 1h, horizon: 1d, limit: 1, min_samples: 2}
)";
    config::ConfigErrors errors;
    auto r = rules::RuleSet::load({(dir / "r.yaml").string()}, errors);
    std::filesystem::remove_all(dir);
    if (!errors.empty()) std::abort();
    return r;
  }();
  return rs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const int64_t now = 1'793'491'200'000;
  std::vector<std::string> errors;
  auto samples = engine::parseSamples(text, now, errors);
  if (!errors.empty() && !samples.empty()) std::abort();
  for (const auto& e : errors)
    if (e.empty()) std::abort();
  if (samples.empty()) return 0;  // nothing for an evaluator to do
  engine::Evaluator ev(ruleSet(), now);
  for (const auto& s : samples) ev.onSample(s, now);
  ev.evaluateSignals(now);
  ev.advance(now + 3'600'000);
  (void)ev.takeAlerts();
  return 0;
}
