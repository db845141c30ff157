// libFuzzer harness for the parsers of the records people and tools post: changes (one, an
// array, or NDJSON), maintenance windows (the rule files' entry as JSON or YAML), silences
// (Alertmanager's PostableSilence, as POST /api/v2/silences reads them), and the
// configuration redaction of the Alertmanager status. Anything either parses, or fails with a
// message that names what is wrong; a parsed change, window or silence record encodes and decodes
// to itself; redaction never lengthens a line's secret.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "rest/alertmanager_api.h"
#include "rest/changes_api.h"
#include "store/state_codec.h"
#include "temp_config.h"
#include "triaged/rules/maintenance.h"

using namespace triaged;
using namespace triaged::engine;

namespace {

const rules::RuleSet& ruleSet() {
  static auto c = testing::configWith(
      "configuration_items:\n  - {name: db1}\nservices:\n  - {name: shop, cis: [db1]}\n");
  return *c->rule_set;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<ChangeRecord> changes;
  std::string error;
  if (parseChanges(text, changes, &error)) {
    for (const auto& c : changes) {
      if (c.id.empty()) std::abort();
      std::string rec, again;
      encodeChange(rec, c);
      encodeChange(again, decodeChange(rec));
      if (rec != again) std::abort();
    }
  } else if (error.empty()) {
    std::abort();
  }
  rules::MaintenanceWindow w;
  std::vector<std::string> cis, services;
  error.clear();
  if (rules::parseMaintenanceWindow(text, ruleSet(), w, cis, services, &error)) {
    if (w.name.empty()) std::abort();
    (void)w.schedule.activeUntil(1'767'225'600'000);
    (void)w.schedule.nextEdge(1'767'225'600'000);
  } else if (error.empty()) {
    std::abort();
  }
  // A posted silence: parsed whole with its matchers, or refused naming the field; a parsed
  // one is stored and read back as itself.
  Silence silence;
  error.clear();
  if (AlertmanagerApi::parseSilence(text, silence, error)) {
    if (silence.matchers.empty() || !error.empty()) std::abort();
    std::string rec, again;
    encodeSilence(rec, silence);
    encodeSilence(again, decodeSilence(rec));
    if (rec != again) std::abort();
  } else if (error.empty()) {
    std::abort();
  }
  std::string shown = AlertmanagerApi::redact(text);
  (void)shown;
  return 0;
}
