// The HTTP client of `triaged ctl`: one request at a time over libcurl, with a bearer token.
#pragma once

#include <string>
#include <string_view>

namespace triaged::engine::ctl {

struct Response {
  long status = 0;    // 0: no answer (error says why)
  std::string body;   // the answer's body
  std::string error;  // set when there was no answer: connection refused, timeout, TLS
};

class Client {
 public:
  // base: "http://host:port" (a trailing slash is ignored); token may be empty.
  Client(std::string base, std::string token, long timeout_seconds = 30);
  Response get(std::string_view path_and_query) const;
  Response send(const char* method, std::string_view path, std::string_view json_body) const;
  const std::string& base() const { return base_; }

 private:
  Response perform(const char* method, std::string_view path, const std::string* body) const;
  std::string base_, token_;
  long timeout_;
};

}  // namespace triaged::engine::ctl
