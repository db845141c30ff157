#include <algorithm>
#include <cctype>
#include <string>

#include "triaged/api/http.h"
#include "triaged/api/json_writer.h"

namespace triaged::api {

const char* routeGroupName(RouteGroup g) {
  switch (g) {
    case RouteGroup::kOpen:
      return "open";
    case RouteGroup::kIngest:
      return "ingest";
    case RouteGroup::kRead:
      return "read";
    case RouteGroup::kOperate:
      return "operate";
    case RouteGroup::kAdmin:
      return "admin";
  }
  return "unknown";
}

const char* roleNeeded(RouteGroup g) {
  switch (g) {
    case RouteGroup::kRead:
      return "viewer";
    case RouteGroup::kOperate:
      return "operator";
    case RouteGroup::kAdmin:
      return "admin";
    default:
      return "";
  }
}

std::string percentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string_view HttpRequest::param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

static void forEachQuery(std::string_view q,
                         const std::function<bool(std::string_view, std::string_view)>& fn) {
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    std::string_view k = part.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    if (!fn(k, v)) return;
  }
}

bool HttpRequest::queryParam(std::string_view name, std::string& out) const {
  bool found = false;
  forEachQuery(query, [&](std::string_view k, std::string_view v) {
    if (percentDecode(k) == name) {
      out = percentDecode(v);
      found = true;
      return false;
    }
    return true;
  });
  return found;
}

std::vector<std::string> HttpRequest::queryParams(std::string_view name) const {
  std::vector<std::string> out;
  forEachQuery(query, [&](std::string_view k, std::string_view v) {
    if (percentDecode(k) == name) out.push_back(percentDecode(v));
    return true;
  });
  return out;
}

HttpResponse HttpResponse::json(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::text(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::error(unsigned status, std::string_view message,
                                 std::string_view detail_json) {
  std::string body;
  JsonWriter w(body);
  w.beginObject().field("error", message).key("detail").raw(detail_json).endObject();
  body.push_back('\n');
  return json(status, std::move(body));
}

namespace {

// The end of the segment of `s` that starts at `i`.
size_t segmentEnd(std::string_view s, size_t i) {
  while (i < s.size() && s[i] != '/') ++i;
  return i;
}

// Whether the segment [i, j) of a pattern is a parameter: "{name}", a name of one character or
// more.
bool isParameterSegment(std::string_view pattern, size_t i, size_t j) {
  return j - i > 2 && pattern[i] == '{' && pattern[j - 1] == '}';
}

// Whether `path` matches `pattern` segment by segment ("{name}" takes any one segment; repeated
// slashes count as one), with the parameters' values appended to `params` when given. Walks
// both strings in place, character by character: no allocation per route and request, and a
// route that differs stops at its first different character.
bool matchPattern(std::string_view pattern, std::string_view path,
                  std::vector<std::pair<std::string_view, std::string_view>>* params) {
  size_t i = 0, k = 0;
  const size_t n = pattern.size(), m = path.size();
  for (;;) {
    while (i < n && pattern[i] == '/') ++i;
    while (k < m && path[k] == '/') ++k;
    if (i == n || k == m) return i == n && k == m;
    if (pattern[i] == '{') {
      size_t j = segmentEnd(pattern, i);
      if (isParameterSegment(pattern, i, j)) {
        size_t e = segmentEnd(path, k);
        if (params) params->emplace_back(pattern.substr(i + 1, j - i - 2), path.substr(k, e - k));
        i = j;
        k = e;
        continue;
      }
    }
    while (i < n && k < m && pattern[i] != '/' && pattern[i] == path[k]) ++i, ++k;
    if ((i < n && pattern[i] != '/') || (k < m && path[k] != '/')) return false;
  }
}

// Whether a pattern has a parameter segment.
bool hasParameter(std::string_view pattern) {
  for (size_t i = 0; i < pattern.size(); i = segmentEnd(pattern, i) + 1)
    if (isParameterSegment(pattern, i, segmentEnd(pattern, i))) return true;
  return false;
}

bool methodAllows(Verb route, Verb request) {
  return route == request || (request == Verb::head && route == Verb::get);
}

}  // namespace

void Router::add(Route route) {
  if (route.metric_name.empty()) route.metric_name = route.pattern;
  routes_.push_back(std::make_unique<Route>(std::move(route)));
  const Route* r = routes_.back().get();
  // A route of another pattern that matches an exact path comes after that path's routes.
  for (auto& e : exact_)
    if (e.path != r->pattern && matchPattern(r->pattern, e.path, nullptr)) e.closed = true;
  if (hasParameter(r->pattern)) return;
  auto at = std::lower_bound(exact_.begin(), exact_.end(), std::string_view(r->pattern),
                             [](const Exact& e, std::string_view p) { return e.path < p; });
  if (at != exact_.end() && at->path == r->pattern) {
    if (!at->closed) at->routes.push_back(r);
    return;
  }
  Exact e{r->pattern, {r}, false};
  // An earlier route of another pattern (a parameter route) takes this path first.
  for (size_t k = 0; k + 1 < routes_.size(); ++k)
    if (matchPattern(routes_[k]->pattern, r->pattern, nullptr)) {
      e.routes.clear();
      e.closed = true;
      break;
    }
  exact_.insert(at, std::move(e));
}

const Route* Router::match(Verb method, std::string_view path,
                           std::vector<std::pair<std::string_view, std::string_view>>& params,
                           bool* method_mismatch, std::string* allow) const {
  *method_mismatch = false;
  if (allow) allow->clear();
  auto at = std::lower_bound(exact_.begin(), exact_.end(), path,
                             [](const Exact& e, std::string_view p) { return e.path < p; });
  if (at != exact_.end() && at->path == path)
    for (const Route* r : at->routes)
      if (methodAllows(r->method, method)) {
        params.clear();
        return r;
      }
  for (const auto& r : routes_) {
    if (!matchPattern(r->pattern, path, nullptr)) continue;
    if (!methodAllows(r->method, method)) {
      *method_mismatch = true;
      if (allow) {
        if (!allow->empty()) *allow += ", ";
        *allow += std::string(boost::beast::http::to_string(r->method));
      }
      continue;
    }
    params.clear();
    matchPattern(r->pattern, path, &params);
    *method_mismatch = false;
    return r.get();
  }
  if (fallback_) {
    *method_mismatch = false;
    return fallback_.get();
  }
  return nullptr;
}

}  // namespace triaged::api
