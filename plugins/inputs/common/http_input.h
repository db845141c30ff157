// The frame every HTTP input shares: its settings (parsed from its section, swapped whole on
// reload), the route it serves (open when the input has its own bearer token, else in the
// ingest auth group), its metrics, and each request's preamble (the input's own token is
// checked, the body padded for simdjson). A derived input decodes in handle().
// Constructed on the control thread; handle() runs on the I/O threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "http_ingest.h"
#include "triaged/api/plugin.h"

namespace triaged::plugins {

template <class Config>
class HttpInput : public api::Input {
 public:
  using Parse = std::function<Config(const config::PluginSection&)>;

  HttpInput(api::InputContext& ctx, Parse parse)
      : parse_(std::move(parse)),
        sink_(*ctx.sink),
        metrics_(ctx.metrics, ctx.section.name, ctx.config.server.io_threads) {
    cfg_.store(std::make_shared<const Config>(parse_(ctx.section)));
  }

  void reconfigure(const config::PluginSection& s) override {
    cfg_.store(std::make_shared<const Config>(parse_(s)));
  }

 protected:
  // Called last by the derived constructor: from then on requests reach handle().
  // Its own tokens, when it has them, are checked at the headers, before the body is read;
  // without them (also after a reload removed them) the ingest group's tokens apply.
  void serve(api::InputContext& ctx) {
    auto c = cfg_.load();
    api::Route route(api::Verb::post, c->path, api::RouteGroup::kIngest,
                     [this](const api::HttpRequest& req, api::Responder r) {
                       auto cfg = cfg_.load();
                       padBody(*req.body);
                       handle(req, std::move(r), cfg);
                     });
    route.authorize = [this](std::string_view authorization) {
      auto cfg = cfg_.load();
      if (cfg->ingest.bearer_tokens.empty()) return api::RouteAuth::kUseGroup;
      if (api::inputAuthorized(cfg->ingest, authorization)) return api::RouteAuth::kAllow;
      metrics_.rejected(api::Reject::kUnauthorized);
      return api::RouteAuth::kDeny;
    };
    ctx.router.add(std::move(route));
  }

  // A request to this input's path, authorized, its body padded.
  virtual void handle(const api::HttpRequest& req, api::Responder respond,
                      std::shared_ptr<const Config> cfg) = 0;

  Parse parse_;
  std::atomic<std::shared_ptr<const Config>> cfg_;
  api::EventSink& sink_;
  api::InputMetrics metrics_;
};

}  // namespace triaged::plugins
