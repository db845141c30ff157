#include "server/response_head.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <string_view>

namespace triaged::engine {

namespace http = boost::beast::http;

namespace {

void appendStatusLine(std::string& out, unsigned version, unsigned status) {
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  char num[16];
  auto [end, ec] = std::to_chars(num, num + sizeof num, status);
  out.append(num, end);
  out += ' ';
  auto reason = http::obsolete_reason(http::int_to_status(status));
  out.append(reason.data(), reason.size());
  out += "\r\n";
}

void appendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out += ": ";
  out.append(value);
  out += "\r\n";
}

bool sameName(std::string_view a, std::string_view b) { return boost::beast::iequals(a, b); }

}  // namespace

void appendResponseHead(std::string& out, unsigned version, const api::HttpResponse& r,
                        bool keep_alive, size_t body_size) {
  appendStatusLine(out, version, r.status);
  bool content_type = false, policy = false;
  const auto& h = r.headers;
  for (size_t i = 0; i < h.size(); ++i) {
    std::string_view name = h[i].first;
    bool replaced = false;
    for (size_t j = i + 1; j < h.size() && !replaced; ++j) replaced = sameName(name, h[j].first);
    // Framing is the server's; the nosniff header is always written below.
    if (replaced || sameName(name, "Content-Length") || sameName(name, "Connection") ||
        sameName(name, "Transfer-Encoding") || sameName(name, "X-Content-Type-Options"))
      continue;
    content_type = content_type || sameName(name, "Content-Type");
    policy = policy || sameName(name, "Content-Security-Policy");
    appendField(out, name, h[i].second);
  }
  if (!content_type) appendField(out, "Content-Type", r.content_type);
  // Nothing the API answers is meant to run or be framed; the console sets its own policy.
  if (!policy)
    appendField(out, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  appendField(out, "X-Content-Type-Options", "nosniff");
  if (!(r.status / 100 == 1 || r.status == 204 || r.status == 304)) {
    char num[24];
    auto [end, ec] = std::to_chars(num, num + sizeof num, body_size);
    appendField(out, "Content-Length", std::string_view(num, static_cast<size_t>(end - num)));
  }
  if (version == 11 && !keep_alive) appendField(out, "Connection", "close");
  if (version == 10 && keep_alive) appendField(out, "Connection", "keep-alive");
  out += "\r\n";
}

void appendStreamHead(std::string& out, const api::HttpResponse& r) {
  appendStatusLine(out, 11, r.status);
  appendField(out, "Content-Type", r.content_type);
  out +=
      "Cache-Control: no-store\r\nConnection: close\r\n"
      "X-Content-Type-Options: nosniff\r\nX-Accel-Buffering: no\r\n";
  for (const auto& [k, v] : r.headers) appendField(out, k, v);
  out += "\r\n";
}

}  // namespace triaged::engine
