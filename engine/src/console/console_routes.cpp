#include "console/console_routes.h"

#include <string>

#include "console/console_assets.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

using api::HttpRequest;
using api::HttpResponse;
using api::Responder;
using api::RouteGroup;
using api::Verb;

namespace {

const char* contentType(std::string_view name) {
  auto ends = [&](std::string_view s) {
    return name.size() >= s.size() && name.substr(name.size() - s.size()) == s;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const ConsoleAsset* findAsset(std::string_view name) {
  for (const auto& a : consoleAssets())
    if (name == a.name) return &a;
  return nullptr;
}

// No inline script or style anywhere: everything comes from the daemon itself.
std::string policy(const config::ConsoleConfig& c) {
  std::string ancestors;
  for (const auto& f : c.frame_ancestors) ancestors += (ancestors.empty() ? "" : " ") + f;
  if (ancestors.empty()) ancestors = "'none'";
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "connect-src 'self'; media-src 'self' data:; base-uri 'none'; form-action 'self'; "
         "frame-ancestors " +
         ancestors;
}

}  // namespace

ConsoleRoutes::ConsoleRoutes() : config_(std::make_shared<const config::ConsoleConfig>()) {}

void ConsoleRoutes::configure(const config::ConsoleConfig& c) {
  config_.store(std::make_shared<const config::ConsoleConfig>(c));
}

void ConsoleRoutes::addRoutes(api::Router& router) {
  auto serve = [this](std::string_view name, Responder& r) {
    auto c = config_.load();
    if (!c->enabled)
      return r(HttpResponse::error(404, "the console is disabled (console.enabled: false)"));
    const ConsoleAsset* a = findAsset(name);
    if (!a) return r(HttpResponse::error(404, "not found", "\"no such console file\""));
    HttpResponse res;
    res.status = 200;
    res.content_type = contentType(name);
    res.body.assign(a->bytes());
    res.headers.emplace_back("Content-Security-Policy", policy(*c));
    res.headers.emplace_back("Cache-Control", "no-cache");
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
    r(std::move(res));
  };
  // The page and its files are open: they hold no data; the console asks for a token and
  // every API call it makes is checked as any other.
  router.add({Verb::get, "/", RouteGroup::kOpen,
              [serve](const HttpRequest&, Responder r) { serve("index.html", r); }, "/"});
  router.add({Verb::get, "/console/{file}", RouteGroup::kOpen,
              [serve](const HttpRequest& req, Responder r) { serve(req.param("file"), r); },
              "/console/{file}"});
  router.add(
      {Verb::get, "/api/v1/whoami", RouteGroup::kRead, [](const HttpRequest& req, Responder r) {
         std::string out;
         api::JsonWriter w(out);
         w.beginObject();
         if (req.user.empty())
           w.key("user").null();
         else
           w.field("user", req.user);
         w.field("role", req.role);
         w.endObject();
         out += '\n';
         r(HttpResponse::json(200, std::move(out)));
       }});
}

}  // namespace triaged::engine
