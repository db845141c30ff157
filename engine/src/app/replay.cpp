#include "app/replay.h"

#include <cstring>
#include <istream>

#include "correlate/correlation_json.h"
#include "evaluate/evaluator.h"
#include "rest/sla_api.h"
#include "triaged/api/json_writer.h"
#include "triaged/config/units.h"

namespace triaged::engine {

ReplayEngine::ReplayEngine(const config::Config& c)
    : table_({c.pipeline.flapping_enabled, c.pipeline.flapping_low_percent,
              c.pipeline.flapping_high_percent},
             c.pipeline.resolved_retention.count()),
      correlator_(c.rule_set, CorrelatorOptions{c.correlation, c.state.retention.count()}) {}

void ReplayEngine::flush() {
  if (changes_.empty()) return;
  std::vector<CorrelatorInput> in;
  in.reserve(changes_.size());
  for (const auto& c : changes_) in.push_back(CorrelatorInput::from(table_, c));
  changes_.clear();
  correlator_.apply(in, now_);
}

void ReplayEngine::refreshTexts() {
  std::vector<uint64_t> changed;
  table_.forEachUnsaved([&](const Alert& a, bool content) {
    if (content) changed.push_back(a.fingerprint);
  });
  auto texts = Correlator::Texts::of(table_, changed);
  correlator_.refreshTexts(texts);
}

void ReplayEngine::advance(int64_t now) {
  if (now < now_) return;
  if (now_ == 0) now_ = now;  // the first event starts the clock
  // Walk timers in time order; while alerts fire, step at most a second at a time so that
  // alerts resolve by timeout within a second of their ends_at, as in the daemon.
  while (now_ < now) {
    int64_t step = std::min(now, correlator_.nextDeadline());
    if (table_.firing()) step = std::min(step, now_ + 1000);
    if (step <= now_) step = now_ + 1;
    now_ = step;
    table_.expire(now_, changes_);
    flush();
    correlator_.advance(now_);
    if (on_step_) on_step_(correlator_, now_);
  }
}

void ReplayEngine::apply(api::EventBatch& batch, int64_t now) {
  advance(now);
  for (const auto& e : batch.events) table_.apply(batch, e, now_, changes_);
  flush();
  if (on_step_) on_step_(correlator_, now_);
}

ReplayInput replayInput(const config::Config& config, const api::PluginRegistry& plugins,
                        const std::string& name, const std::string& fallback_name) {
  ReplayInput r;
  std::string candidates;
  for (const auto& s : config.inputs) {
    const api::InputPlugin* p = plugins.findInput(s.type);
    if (!p || !p->native_options) continue;
    candidates += (candidates.empty() ? "\"" : ", \"") + s.name + "\"";
    if (!name.empty() && s.name != name) continue;
    if (!r.description.empty()) continue;  // the first one wins
    r.options = p->native_options(s);
    r.description =
        "input \"" + s.name + "\" (" + s.type + ", " + s.file + ":" + std::to_string(s.line) + ")";
  }
  if (r.description.empty()) {
    if (!name.empty()) {
      r.error = "--input: no input named \"" + name + "\" takes the native event format" +
                (candidates.empty() ? std::string(" (the configuration has none)")
                                    : " (these do: " + candidates + ")");
      return r;
    }
    r.options = plugins.ndjsonOptions(fallback_name);
    r.description = "built-in defaults (no native_json or ndjson_tcp input is configured)";
  }
  const auto& o = r.options;
  std::string fp;
  for (auto [on, field] : {std::pair{o.fingerprint.source, "source"},
                           {o.fingerprint.resource, "resource"},
                           {o.fingerprint.check, "check"}})
    if (on) fp += std::string(fp.empty() ? "" : ",") + field;
  if (o.fingerprint.all_labels) {
    fp += "+all labels";
  } else {
    fp += "+labels[";
    for (size_t i = 0; i < o.fingerprint.labels.size(); ++i)
      fp += (i ? "," : "") + o.fingerprint.labels[i];
    fp += "]";
  }
  if (!o.fingerprint.ignore_labels.empty())
    fp += " (ignoring " + std::to_string(o.fingerprint.ignore_labels.size()) + ")";
  r.description +=
      ": source \"" + o.name + "\", resolve_timeout " +
      (o.resolve_timeout_ms ? config::formatDuration(config::Duration(o.resolve_timeout_ms))
                            : "none") +
      ", default_severity " + api::severityName(o.default_severity) + ", fingerprint " + fp;
  return r;
}

namespace {

void printState(ReplayEngine& engine, std::ostream& out) {
  engine.refreshTexts();
  auto& c = engine.correlator();
  c.forEachAlert([&](const CorrAlert& a) {
    std::string line = "{\"kind\":\"alert\",\"alert\":";
    writeCorrelatedAlertJson(line, a);
    out << line << "}\n";
  });
  for (const auto& inc : c.incidents()) {
    if (!inc.id) continue;
    std::string line = "{\"kind\":\"incident\",\"incident\":";
    writeIncidentJson(line, c, inc, true);
    out << line << "}\n";
  }
  for (const auto& [id, p] : c.problems()) {
    std::string line = "{\"kind\":\"problem\",\"problem\":";
    writeProblemJson(line, p, true);
    out << line << "}\n";
  }
}

}  // namespace

int runReplay(const config::Config& config, const api::PluginRegistry& plugins, std::istream& in,
              std::ostream& out, std::ostream& err, const ReplayOptions& opts) {
  const auto& decode = plugins.ndjsonDecoder();
  if (!decode) {
    err << "no NDJSON decoder registered\n";
    return 2;
  }
  ReplayInput input = replayInput(config, plugins, opts.input);
  if (!input.error.empty()) {
    err << input.error << "\n";
    return 2;
  }
  err << "decoding as " << input.description << "\n";
  const api::IngestOptions& io = input.options;
  ReplayEngine engine(config);
  // The evaluator follows the correlator step by step, as in the daemon.
  std::unique_ptr<Evaluator> evaluator;
  std::vector<uint64_t> dirty;
  std::vector<std::string> dirty_silences;
  if (!opts.report_period.empty()) {
    engine.onStep([&](Correlator& c, int64_t now) {
      if (!evaluator) evaluator = std::make_unique<Evaluator>(config.rule_set, now);
      evaluator->advance(now);
      dirty.clear();
      dirty_silences.clear();
      c.takeDirty(dirty, dirty_silences);
      evaluator->onIncidents(c, dirty, now);
      evaluator->takeEvents();
      evaluator->takeAlerts();
      evaluator->takeDirty();
    });
  }
  const int64_t lateness = config.correlation.max_lateness.count();
  int64_t clock = INT64_MIN;
  uint64_t bad = 0, late = 0, lines = 0;
  std::string line, buf;
  auto emitEvents = [&] {
    for (const auto& e : engine.takeEvents()) {
      std::string s;
      writeEventJson(s, engine.correlator(), e);
      out << s << "\n";
    }
  };
  // Decodes one line received at `now`; null when it is not one valid event.
  auto decodeLine = [&](int64_t now, int64_t number) -> std::unique_ptr<api::EventBatch> {
    buf.assign(line);
    buf.append(64, '\0');  // simdjson reads up to 64 bytes past the end
    api::BatchBuilder b(io, now);
    decode(buf.data(), line.size(), buf.size(), b);
    if (!b.errors().empty()) {
      if (now != INT64_MIN + 1) return nullptr;
      for (const auto& e : b.errors())
        err << "line " << number << ": " << (e.field.empty() ? "" : e.field + ": ") << e.reason
            << "\n";
      ++bad;
      return nullptr;
    }
    auto batch = b.take();
    if (batch->events.size() != 1) return nullptr;
    return batch;
  };
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++lines;
    // First pass finds the event time (a sentinel "now" tells a missing timestamp apart).
    auto probe = decodeLine(INT64_MIN + 1, number);
    if (!probe) continue;
    int64_t t = probe->events[0].event_time_ms;
    if (t == INT64_MIN + 1) {
      err << "line " << number
          << ": timestamp: is required in replay (event time drives the clock)\n";
      ++bad;
      continue;
    }
    if (clock == INT64_MIN) clock = t;
    if (t < clock - lateness) {
      err << "line " << number << ": timestamp: " << api::formatRfc3339Ms(t)
          << " is later than max_lateness behind " << api::formatRfc3339Ms(clock) << "; skipped\n";
      ++late;
      engine.correlator().countLate();
      continue;
    }
    if (t > clock) clock = t;
    auto batch = decodeLine(clock, number);
    if (!batch) continue;
    engine.apply(*batch, clock);
    if (opts.events) emitEvents();
  }
  if (clock != INT64_MIN) engine.advance(clock + opts.advance_ms);
  if (opts.events) emitEvents();
  engine.takeEvents();
  if (!opts.report_period.empty()) {
    int64_t now = engine.now();
    if (!evaluator) evaluator = std::make_unique<Evaluator>(config.rule_set, now);
    RenderedReport rep =
        renderReports(*evaluator, opts.report_period, opts.report_service, opts.report_format, now);
    if (rep.status != 200) {
      err << "--report: " << rep.body << "\n";
      return 2;
    }
    out << rep.body;
  } else {
    printState(engine, out);
  }
  err << "replayed " << lines << " events: " << bad << " invalid, " << late << " late\n";
  return bad ? 1 : 0;
}

}  // namespace triaged::engine
