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

namespace boost::asio {
class io_context;
}

namespace triaged::api {

using Verb = boost::beast::http::verb;

// Who may call a route. Ingest has its own tokens (auth.ingest); the others are reached by
// role: kRead by viewers, kOperate (incident, silence and maintenance actions) by operators,
// kAdmin by admins; each role includes the ones before it. auth.read tokens are viewers,
// auth.admin tokens admins, auth.users name theirs.
enum class RouteGroup { kOpen, kIngest, kRead, kOperate, kAdmin };
const char* routeGroupName(RouteGroup g);
// The role a group needs: "viewer", "operator", "admin" ("" for open and ingest).
const char* roleNeeded(RouteGroup g);

// Bytes of capacity a request body has beyond its size when it came with a Content-Length:
// parsers that read past the end (simdjson reads up to 64 bytes beyond) use the body in place
// instead of copying it. A chunked body has whatever capacity it grew to.
inline constexpr size_t kBodyPadding = 64;

struct HttpRequest {
  Verb method = Verb::get;
  std::string_view target;  // path and query as received
  std::string_view path;
  std::string_view query;  // without '?'
  std::string_view content_type;
  std::string* body = nullptr;  // owned by the connection; handlers may move from it
  std::vector<std::pair<std::string_view, std::string_view>> params;  // {name} in the route
  std::function<std::string_view(std::string_view)> header;           // "" when absent
  // Who called: the user's name when the token is a named user's (auth.users), else ""; the
  // role the request acts with ("viewer", "operator", "admin"; a group without tokens acts as
  // its own role), "" on open and ingest routes.
  std::string_view user;
  std::string_view role;

  std::string_view param(std::string_view name) const;
  // Value of a query parameter, percent-decoded; nullopt-like empty with found=false.
  bool queryParam(std::string_view name, std::string& out) const;
  // All values of a repeated query parameter, percent-decoded.
  std::vector<std::string> queryParams(std::string_view name) const;
};

class StreamWriter;

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response
  // Set: an open-ended response. The status and headers are written without a length, then
  // `stream` is called with the connection, which stays open until either side closes it.
  std::function<void(std::shared_ptr<StreamWriter>)> stream;

  static HttpResponse json(unsigned status, std::string body);
  static HttpResponse text(unsigned status, std::string body);
  // {"error": message, "detail": detail_json}; detail_json must be valid JSON ("null" if none).
  static HttpResponse error(unsigned status, std::string_view message,
                            std::string_view detail_json = "null");
};

// The connection under an open-ended response (Server-Sent Events). Every call is made on the
// connection's I/O thread (context()), one write at a time.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  virtual boost::asio::io_context& context() = 0;
  // Writes the parts in order (`keep` holds their memory until done), then done(ok).
  virtual void write(std::vector<std::string_view> parts, std::shared_ptr<const void> keep,
                     std::function<void(bool ok)> done) = 0;
  virtual void close() = 0;
  // Called once when the connection ends (the peer left, a write failed, the server drains).
  virtual void onClosed(std::function<void()> fn) = 0;
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
  // When set: the path parameter naming a notification target whose `callback_token` is
  // accepted too (a ticketing tool calling back); the request's user is then the target.
  std::string callback_param;
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
  // A route for every path and method no other route takes (a standby's 503).
  void setFallback(Route route) { fallback_ = std::make_unique<Route>(std::move(route)); }

 private:
  // Patterns without parameters, sorted, each with the routes of exactly that pattern that a
  // walk of routes_ in order would reach before any route of another pattern matching that path
  // (none for a path an earlier parameter route takes): a request whose path is one of them is
  // answered by a binary search instead of the walk, with the same result.
  struct Exact {
    std::string_view path;
    std::vector<const Route*> routes;
    bool closed = false;  // a route of another pattern matching the path came after these
  };
  std::vector<Exact> exact_;
  std::vector<std::unique_ptr<Route>> routes_;
  std::unique_ptr<Route> fallback_;
};

std::string percentDecode(std::string_view s);
// Everything but RFC 3986's unreserved characters, so a value stays one path segment or one
// query value.
std::string percentEncode(std::string_view s);

}  // namespace triaged::api
