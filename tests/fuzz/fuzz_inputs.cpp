// libFuzzer harness for every HTTP input decoder: the first byte picks the input and the
// format, the rest is the request body, handed to the real plugin's route handler with a sink
// that applies nothing. Any crash, sanitizer report or missing answer is a finding.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "builtin_plugins.h"
#include "triaged/api/event.h"
#include "triaged/api/plugin.h"

using namespace triaged;

namespace {

struct NullSink : api::EventSink {
  api::SubmitStatus submit(std::unique_ptr<api::EventBatch>& batch,
                           std::function<void(const api::BatchResult&)> done) override {
    for (const auto& e : batch->events)
      if (e.resource.empty() || e.check.empty()) std::abort();  // the builder must have refused it
    if (done) done(api::BatchResult{batch->events.size()});
    batch.reset();
    return api::SubmitStatus::kAccepted;
  }
  int retryAfterSeconds() const override { return 1; }
  int64_t nowMs() const override { return 1'767'261'600'000; }
};

struct Rig {
  NullSink sink;
  api::MetricsHub hub;
  api::Router router;
  config::Config cfg;
  std::vector<config::PluginSection> sections;
  std::vector<std::unique_ptr<api::Input>> inputs;
  Rig() {
    auto plugins = plugins::builtinPlugins();
    for (const char* type : {"native_json", "alertmanager", "alertmanager_api", "pagerduty"}) {
      config::PluginSection s;
      s.name = type;
      s.type = type;
      s.node = YAML::Load(std::string("{type: ") + type + "}");
      s.file = "fuzz";
      sections.push_back(s);
    }
    for (auto& s : sections) {
      api::InputContext ctx{s, cfg, router, nullptr, 1, hub, &sink};
      inputs.push_back(plugins.findInput(s.type)->create(ctx));
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Rig rig;
  if (size < 1) return 0;
  static const char* kPaths[] = {"/api/v1/events", "/api/v1/events", "/api/v1/alertmanager",
                                 "/api/v2/alerts", "/v2/enqueue"};
  unsigned pick = data[0] % 5;
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  api::HttpRequest req;
  req.method = api::Verb::post;
  req.path = kPaths[pick];
  req.target = req.path;
  req.content_type = pick == 1 ? "application/x-ndjson" : "application/json";
  req.body = &body;
  req.header = [](std::string_view) { return std::string_view(); };
  std::vector<std::pair<std::string_view, std::string_view>> params;
  bool mismatch = false;
  const api::Route* route = rig.router.match(api::Verb::post, req.path, params, &mismatch, nullptr);
  if (!route) std::abort();
  bool answered = false;
  route->handler(req, [&](api::HttpResponse r) {
    answered = true;
    if (r.status != 200 && r.status != 202 && r.status != 400 && r.status != 413) std::abort();
  });
  if (!answered) std::abort();
  return 0;
}
