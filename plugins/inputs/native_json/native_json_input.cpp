#include "native_json_input.h"

#include <atomic>

#include "../common/http_ingest.h"
#include "../common/input_config.h"
#include "native_decoder.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins {
namespace {

struct NativeJsonConfig {
  api::IngestOptions ingest;
  std::string path = "/api/v1/events";
};

void parse(const config::PluginSection& s, config::ConfigErrors& errors, NativeJsonConfig& c) {
  readInputSection(s, errors, c.ingest, nativeSeverities(), [&](config::MapReader& r) {
    r.getString("path", c.path);
    if (c.path.empty() || c.path[0] != '/') r.sink().add(r.node()["path"], r.childPath("path"), "must start with /");
  });
}

bool isNdjson(std::string_view ct) {
  auto semi = ct.find(';');
  ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  return ct == "application/x-ndjson" || ct == "application/ndjson" || ct == "application/jsonl" ||
         ct == "application/x-jsonlines";
}

class NativeJsonInput final : public api::Input {
 public:
  explicit NativeJsonInput(api::InputContext& ctx)
      : cfg_(std::make_shared<NativeJsonConfig>(parseValid<NativeJsonConfig>(ctx.section, parse))),
        sink_(*ctx.sink),
        metrics_(ctx.metrics, ctx.section.name, ctx.config.server.io_threads) {
    auto group = cfg_.load()->ingest.bearer_tokens.empty() ? api::RouteGroup::kIngest : api::RouteGroup::kOpen;
    ctx.router.add({api::Verb::post, cfg_.load()->path, group,
                    [this](const api::HttpRequest& req, api::Responder r) { handle(req, std::move(r)); }});
  }

  void reconfigure(const config::PluginSection& s) override {
    cfg_.store(std::make_shared<NativeJsonConfig>(parseValid<NativeJsonConfig>(s, parse)));
  }

 private:
  void handle(const api::HttpRequest& req, api::Responder respond) {
    auto cfg = cfg_.load();
    if (!api::inputAuthorized(cfg->ingest, req)) {
      metrics_.rejected(api::Reject::kUnauthorized);
      auto r = api::HttpResponse::error(401, "unauthorized", "\"a valid bearer token is required for this input\"");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"triaged\"");
      return respond(std::move(r));
    }
    std::string& body = *req.body;
    padBody(body);
    api::BatchBuilder b(cfg->ingest, sink_.nowMs());
    if (isNdjson(req.content_type))
      decodeNdjson(body.data(), body.size(), body.capacity(), b);
    else
      decodeNativeJson(body.data(), body.size(), body.capacity(), b);
    metrics_.received(b.size() + b.errorCount());
    if (b.errorCount() > 0) return respond(rejectBatch(metrics_, b, "invalid events; nothing was applied"));
    if (b.size() == 0) {
      return respond(api::badRequest("no events in the request body", {}, 0));
    }
    if (b.size() > cfg->ingest.max_batch_events) {
      metrics_.rejected(api::Reject::kTooLarge, b.size());
      return respond(api::HttpResponse::error(
          413, "too many events in one request",
          "\"at most " + std::to_string(cfg->ingest.max_batch_events) + " events per request\""));
    }
    submitBatch(sink_, metrics_, b.take(), std::move(respond), [](const api::BatchResult& r) {
      std::string out;
      api::JsonWriter w(out);
      w.beginObject().field("status", "success").field("accepted", r.events).field("new", r.new_alerts);
      w.field("changed", r.changed).field("duplicates", r.duplicates).field("resolved", r.resolved).endObject();
      out.push_back('\n');
      return api::HttpResponse::json(200, std::move(out));
    });
  }

  std::atomic<std::shared_ptr<const NativeJsonConfig>> cfg_;
  api::EventSink& sink_;
  api::InputMetrics metrics_;
};

}  // namespace

api::InputPlugin nativeJsonPlugin() {
  return {"native_json", "triaged's own JSON events over HTTP (object, array or NDJSON)",
          [](const config::PluginSection& s, config::ConfigErrors& e) {
            NativeJsonConfig c;
            parse(s, e, c);
          },
          [](api::InputContext& ctx) -> std::unique_ptr<api::Input> { return std::make_unique<NativeJsonInput>(ctx); }};
}

}  // namespace triaged::plugins
