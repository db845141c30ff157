// `triaged test-rules`: rule unit tests in the manner of `promtool test rules`.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "app/full_config.h"
#include "app/replay.h"
#include "correlate/correlation_json.h"
#include "rest/alerts_api.h"
#include "triaged/api/json_writer.h"
#include "triaged/config/loader.h"
#include "triaged/config/units.h"
#include "triaged/rules/rule_set.h"

namespace triaged::engine {

namespace {

namespace fs = std::filesystem;
constexpr int64_t kEpoch = 1'767'225'600'000;  // 2026-01-01T00:00:00Z: test time 0

// YAML to JSON for event objects: every scalar is a string except `value`.
void toJson(const YAML::Node& n, std::string& out, bool number = false) {
  if (n.IsMap()) {
    out += '{';
    bool first = true;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!first) out += ',';
      first = false;
      api::appendJsonString(out, it->first.Scalar());
      out += ':';
      toJson(it->second, out, it->first.Scalar() == "value");
    }
    out += '}';
  } else if (n.IsSequence()) {
    out += '[';
    for (size_t i = 0; i < n.size(); ++i) {
      if (i) out += ',';
      toJson(n[i], out);
    }
    out += ']';
  } else if (n.IsNull()) {
    out += "null";
  } else if (number) {
    out += n.Scalar();
  } else {
    api::appendJsonString(out, n.Scalar());
  }
}

int64_t atOf(const YAML::Node& n, const std::string& where) {
  if (!n.IsDefined() || !n.IsScalar())
    throw std::runtime_error(where + ".at: is required (a duration from test start)");
  auto d = config::parseDuration(n.Scalar());
  if (!d) throw std::runtime_error(where + ".at: invalid duration \"" + n.Scalar() + "\"");
  return d->count();
}

struct Check {
  std::vector<std::string> diffs;
  void eq(const std::string& what, const std::string& expected, const std::string& got) {
    if (expected != got) diffs.push_back(what + ": expected " + expected + ", got " + got);
  }
};

std::string resourceOf(const Correlator& c, uint64_t fp) {
  const CorrAlert* a = c.alert(fp);
  if (!a) return fingerprintHex(fp);
  StringsCopy copy(a->strings);
  return std::string(AlertStrings(copy.data()).field(AlertStrings::kResource));
}

void compareIncidents(const YAML::Node& expected, const Correlator& c, Check& check,
                      const std::string& where) {
  std::vector<const Incident*> got;
  for (const auto& inc : c.incidents())
    if (inc.id && inc.status != IncidentStatus::kMerged) got.push_back(&inc);
  if (expected.size() != got.size())
    check.diffs.push_back(where + ": expected " + std::to_string(expected.size()) +
                          " incidents, got " + std::to_string(got.size()));
  for (size_t i = 0; i < expected.size() && i < got.size(); ++i) {
    const Incident& inc = *got[i];
    std::string p = where + "[" + std::to_string(i) + "]";
    const YAML::Node want_incident = expected[i];  // iterators need the node to outlive them
    for (auto it = want_incident.begin(); it != want_incident.end(); ++it) {
      std::string key = it->first.Scalar(), want = it->second.IsScalar() ? it->second.Scalar() : "";
      if (key == "title")
        check.eq(p + ".title", want, inc.title);
      else if (key == "status")
        check.eq(p + ".status", want, incidentStatusName(inc.status));
      else if (key == "priority")
        check.eq(p + ".priority", want, std::to_string(inc.priority));
      else if (key == "alerts")
        check.eq(p + ".alerts", want, std::to_string(inc.alerts.size()));
      else if (key == "firing")
        check.eq(p + ".firing", want, std::to_string(inc.firingAll()));
      else if (key == "held")
        check.eq(p + ".held", want, inc.held ? "true" : "false");
      else if (key == "service")
        check.eq(p + ".service", want, inc.service);
      else if (key == "rule")
        check.eq(p + ".rule", want, inc.rule);
      else if (key == "category")
        check.eq(p + ".category", want, inc.category);
      else if (key == "root_cause")
        check.eq(p + ".root_cause", want, inc.root_cause ? resourceOf(c, inc.root_cause) : "none");
      else if (key == "problem")
        check.eq(p + ".problem", want, inc.problem ? "true" : "false");
      else if (key == "known_error")
        check.eq(p + ".known_error", want, inc.extra().known_error);
      else if (key == "resources") {
        std::string w, g;
        const YAML::Node list = it->second;
        for (const auto& r : list) w += (w.empty() ? "" : ",") + r.Scalar();
        for (uint64_t fp : inc.alerts) g += (g.empty() ? "" : ",") + resourceOf(c, fp);
        check.eq(p + ".resources", "[" + w + "]", "[" + g + "]");
      } else {
        throw std::runtime_error(
            p + "." + key +
            ": unknown field (title, status, priority, alerts, firing, held, service, rule, "
            "category, root_cause, problem, known_error, resources)");
      }
    }
  }
}

void compareSuppressed(const YAML::Node& expected, const Correlator& c, Check& check,
                       const std::string& where) {
  std::vector<const CorrAlert*> got;
  c.forEachAlert([&](const CorrAlert& a) {
    if (a.suppressed != Suppression::kNone && a.status == api::Status::kFiring) got.push_back(&a);
  });
  if (expected.size() != got.size())
    check.diffs.push_back(where + ": expected " + std::to_string(expected.size()) +
                          " suppressed alerts, got " + std::to_string(got.size()));
  for (size_t i = 0; i < expected.size() && i < got.size(); ++i) {
    std::string p = where + "[" + std::to_string(i) + "]";
    if (expected[i]["resource"])
      check.eq(p + ".resource", expected[i]["resource"].Scalar(),
               resourceOf(c, got[i]->fingerprint));
    if (expected[i]["reason"])
      check.eq(p + ".reason", expected[i]["reason"].Scalar(), suppressionName(got[i]->suppressed));
  }
}

std::string incidentsDump(const Correlator& c) {
  std::string s;
  for (const auto& inc : c.incidents()) {
    if (!inc.id) continue;
    s += "      ";
    writeIncidentJson(s, c, inc, false);
    s += "\n";
  }
  return s.empty() ? "      (none)\n" : s;
}

// One test file. Returns the number of failed tests, or -1 if the file is invalid.
int runFile(const std::string& file, const api::PluginRegistry& plugins, std::ostream& out,
            const std::string& input) {
  YAML::Node doc = YAML::LoadFile(file);
  fs::path base = fs::absolute(file).parent_path();
  // The rule files and correlation settings become a config of their own, validated as usual.
  YAML::Node cfg;
  for (const auto& r : doc["rule_files"]) cfg["rule_files"].push_back((base / r.Scalar()).string());
  if (doc["correlation"]) cfg["correlation"] = doc["correlation"];
  // Inputs as in a daemon's configuration: events decode as the chosen one does (a test file
  // is self-contained, as promtool's are: it never depends on the installed configuration).
  if (doc["inputs"]) cfg["inputs"] = doc["inputs"];
  fs::path tmp =
      fs::temp_directory_path() / ("triaged-test-rules-" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream f(tmp);
    f << YAML::Dump(cfg) << "\n";
  }
  config::ConfigPtr config;
  try {
    config = loadFullConfig(tmp.string(), plugins);  // validated as the daemon's is
  } catch (const config::ConfigException& e) {
    fs::remove(tmp);
    for (const auto& line : config::errorLines(e.errors())) out << "  " << line << "\n";
    return -1;
  }
  fs::remove(tmp);
  ReplayInput chosen = replayInput(*config, plugins, input, "test");
  if (!chosen.error.empty()) {
    out << "  " << chosen.error << "\n";
    return -1;
  }
  api::IngestOptions io = std::move(chosen.options);
  // Without inputs, alerts fire until resolved unless the file sets a resolve timeout.
  if (!doc["inputs"]) io.resolve_timeout_ms = 0;
  if (doc["resolve_timeout"]) {
    auto d = config::parseDuration(doc["resolve_timeout"].Scalar());
    if (!d) throw std::runtime_error("resolve_timeout: invalid duration");
    io.resolve_timeout_ms = d->count();
  }
  int failed = 0;
  for (size_t ti = 0; ti < doc["tests"].size(); ++ti) {
    const YAML::Node& test = doc["tests"][ti];
    std::string name = test["name"] ? test["name"].Scalar() : "tests[" + std::to_string(ti) + "]";
    ReplayEngine engine(*config);
    // Inputs and expectations, merged in time order (inputs first at equal times).
    std::multimap<int64_t, std::pair<int, YAML::Node>> steps;
    for (size_t i = 0; i < test["events"].size(); ++i)
      steps.emplace(atOf(test["events"][i]["at"], "events[" + std::to_string(i) + "]"),
                    std::make_pair(0, test["events"][i]));
    for (size_t i = 0; i < test["expect"].size(); ++i)
      steps.emplace(atOf(test["expect"][i]["at"], "expect[" + std::to_string(i) + "]"),
                    std::make_pair(1, test["expect"][i]));
    Check check;
    for (auto& [at, step] : steps) {
      int64_t now = kEpoch + at;
      const YAML::Node& n = step.second;
      if (step.first == 0) {
        std::string json;
        toJson(n["event"], json);
        json.append(64, '\0');
        api::BatchBuilder b(io, now);
        plugins.ndjsonDecoder()(json.data(), json.size() - 64, json.size(), b);
        if (!b.errors().empty())
          throw std::runtime_error(name + ": event at " +
                                   config::formatDuration(config::Duration(at)) + ": " +
                                   b.errors()[0].field + ": " + b.errors()[0].reason);
        auto batch = b.take();
        for (auto& e : batch->events) e.event_time_ms = now;
        engine.apply(*batch, now);
      } else {
        engine.advance(now);
        size_t before = check.diffs.size();
        std::string where = "at " + config::formatDuration(config::Duration(at));
        if (n["incidents"])
          compareIncidents(n["incidents"], engine.correlator(), check, where + " incidents");
        if (n["suppressed"])
          compareSuppressed(n["suppressed"], engine.correlator(), check, where + " suppressed");
        if (check.diffs.size() != before)
          check.diffs.push_back("    incidents " + where + ":\n" +
                                incidentsDump(engine.correlator()));
      }
    }
    if (check.diffs.empty()) {
      out << "  PASS " << name << "\n";
    } else {
      ++failed;
      out << "  FAIL " << name << "\n";
      for (const auto& d : check.diffs) out << "    " << d << (d.back() == '\n' ? "" : "\n");
    }
  }
  return failed;
}

}  // namespace

int runRuleTests(const std::vector<std::string>& files, const api::PluginRegistry& plugins,
                 std::ostream& out, const std::string& input) {
  int failed = 0;
  bool invalid = false;
  for (const auto& f : files) {
    out << f << "\n";
    try {
      int n = runFile(f, plugins, out, input);
      if (n < 0)
        invalid = true;
      else
        failed += n;
    } catch (const std::exception& e) {
      out << "  invalid test file: " << e.what() << "\n";
      invalid = true;
    }
  }
  out << (failed || invalid ? "FAILED" : "SUCCESS") << "\n";
  return invalid ? 2 : failed ? 1 : 0;
}

}  // namespace triaged::engine
