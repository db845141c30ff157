// HTTP request/response types and the route table shared by the server and the plugins that
// register endpoints. A Request is owned by its connection and valid only during the handler
// call; a Responder may be called later from any thread, exactly once.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace triaged::api {

using Verb = boost::beast::http::verb;

// Who may call a route: each group has its own bearer tokens (auth.ingest/read/admin).
enum class RouteGroup { kOpen, kIngest, kRead, kAdmin };
const char* routeGroupName(RouteGroup g);

struct HttpRequest {
  Verb method = Verb::get;
  std::string_view target;  // path and query as received
  std::string_view path;
  std::string_view query;  // without '?'
  std::string_view content_type;
  std::string* body = nullptr;  // owned by the connection; handlers may move from it
  std::vector<std::pair<std::string_view, std::string_view>> params;  // {name} in the route
  std::function<std::string_view(std::string_view)> header;           // "" when absent

  std::string_view param(std::string_view name) const;
  // Value of a query parameter, percent-decoded; nullopt-like empty with found=false.
  bool queryParam(std::string_view name, std::string& out) const;
  // All values of a repeated query parameter, percent-decoded.
  std::vector<std::string> queryParams(std::string_view name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response

  static HttpResponse json(unsigned status, std::string body);
  static HttpResponse text(unsigned status, std::string body);
  // {"error": message, "detail": detail_json}; detail_json must be valid JSON ("null" if none).
  static HttpResponse error(unsigned status, std::string_view message,
                            std::string_view detail_json = "null");
};

using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(const HttpRequest&, Responder)>;

// A route's own say on who may call it, asked when the request's headers are complete (before
// any body is read), with its Authorization header: kUseGroup leaves it to the group's tokens.
enum class RouteAuth : uint8_t { kUseGroup, kAllow, kDeny };
using RouteAuthorizer = std::function<RouteAuth(std::string_view authorization)>;

struct Route {
  Route(Verb m, std::string p, RouteGroup g, Handler h, std::string metric = {})
      : method(m),
        pattern(std::move(p)),
        group(g),
        handler(std::move(h)),
        metric_name(std::move(metric)) {}
  Verb method;
  std::string pattern;  // "/api/v1/alerts/{fingerprint}"
  RouteGroup group;
  Handler handler;
  std::string metric_name;    // bounded label for metrics; defaults to the pattern
  RouteAuthorizer authorize;  // optional: an input with its own tokens
};

// Routes registered at start-up, then read-only. Matching is by path segments.
class Router {
 public:
  void add(Route route);
  // Returns the matching route, filling params; sets *method_mismatch when the path matched
  // under another method (405), with the allowed methods in *allow.
  const Route* match(Verb method, std::string_view path,
                     std::vector<std::pair<std::string_view, std::string_view>>& params,
                     bool* method_mismatch, std::string* allow) const;
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  std::vector<std::unique_ptr<Route>> routes_;
};

std::string percentDecode(std::string_view s);

}  // namespace triaged::api
