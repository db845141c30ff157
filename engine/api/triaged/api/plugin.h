// The plugin API: what an input or output plugin (triaged/api/output.h) implements and what the
// engine gives it. Plugins include only headers under engine/api/. Registration is one explicit
// list (plugins/builtin_plugins.cpp), never static self-registration. A plugin instance is created
// and stopped on the control thread; its own handlers run on the I/O threads it is given.
#pragma once

#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "triaged/api/http.h"
#include "triaged/api/ingest.h"
#include "triaged/api/metrics_hub.h"
#include "triaged/api/output.h"
#include "triaged/config/config.h"
#include "triaged/config/errors.h"

namespace triaged::api {

class EventSink;  // the pipeline's entry, defined in triaged/api/event.h

class Input {
 public:
  virtual ~Input() = default;
  // Called once listeners may accept traffic.
  virtual void start() {}
  // Stop taking new input (drain). Called on the control thread before shutdown.
  virtual void stop() {}
  // Port actually bound by an input with its own listener (0 if none), for logs and tests.
  virtual uint16_t boundPort() const { return 0; }
  // A reload changed this input's section (already validated). Called on the control thread;
  // the input swaps its settings atomically. Listen addresses apply at the next restart.
  virtual void reconfigure(const config::PluginSection&) {}
};

struct InputContext {
  const config::PluginSection& section;
  const config::Config& config;
  Router& router;  // add HTTP routes here
  std::function<boost::asio::io_context&(size_t)>
      io_context;  // I/O thread i's context, for own listeners
  size_t io_threads = 1;
  MetricsHub& metrics;
  EventSink* sink = nullptr;  // where decoded events go
  // Acknowledges the incident of the alert with this fingerprint, as `actor` (an input whose
  // protocol has acknowledgement: PagerDuty's event_action acknowledge). `done(found)` runs
  // once it is committed (found: the alert is in an open incident), on some other thread.
  std::function<void(uint64_t fingerprint, std::string actor, std::function<void(bool)> done)>
      acknowledge;
};

struct InputPlugin {
  std::string type;         // `type:` in the config
  std::string description;  // one line, for --help and docs
  // Checks the section strictly (unknown keys, types, ranges); appends every error.
  std::function<void(const config::PluginSection&, config::ConfigErrors&)> validate;
  // Builds the input from a validated section. May throw std::runtime_error (start-up only).
  std::function<std::unique_ptr<Input>(InputContext&)> create;
  // Set by inputs that take the native event format (what `triaged replay` and `test-rules`
  // decode): the ingest settings of a validated section, so that a replay decodes events
  // exactly as this input does (source, resolve timeout, severities, fingerprint, limits).
  std::function<IngestOptions(const config::PluginSection&)> native_options;
};

// Decodes NDJSON of the native event format into a batch (for `triaged replay` and
// `triaged test-rules`); returns the number of non-blank lines. Errors go to the builder.
using NdjsonDecoder =
    std::function<size_t(const char* data, size_t len, size_t capacity, BatchBuilder& b)>;

class PluginRegistry {
 public:
  void setNdjsonDecoder(NdjsonDecoder d, std::vector<std::pair<std::string, Severity>> severities) {
    ndjson_ = std::move(d);
    ndjson_severities_ = std::move(severities);
  }
  const NdjsonDecoder& ndjsonDecoder() const { return ndjson_; }
  // Ingest options for events decoded with it (its severity names).
  IngestOptions ndjsonOptions(std::string name) const {
    IngestOptions o;
    o.name = std::move(name);
    o.severity_map = ndjson_severities_;
    return o;
  }
  void addInput(InputPlugin p) { inputs_.push_back(std::move(p)); }
  const InputPlugin* findInput(const std::string& type) const {
    for (const auto& p : inputs_)
      if (p.type == type) return &p;
    return nullptr;
  }
  const std::vector<InputPlugin>& inputs() const { return inputs_; }
  void addOutput(OutputPlugin p) { outputs_.push_back(std::move(p)); }
  const OutputPlugin* findOutput(const std::string& type) const {
    for (const auto& p : outputs_)
      if (p.type == type) return &p;
    return nullptr;
  }
  const std::vector<OutputPlugin>& outputs() const { return outputs_; }

 private:
  std::vector<InputPlugin> inputs_;
  std::vector<OutputPlugin> outputs_;
  NdjsonDecoder ndjson_;
  std::vector<std::pair<std::string, Severity>> ndjson_severities_;
};

}  // namespace triaged::api
