#include "server/response_head.h"

#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

using namespace triaged;
namespace http = boost::beast::http;

namespace {

// Parses head + body as a client would; fails the test when it is not valid HTTP/1.x.
http::response<http::string_body> parse(const std::string& head, const std::string& body,
                                        bool head_request = false) {
  http::response_parser<http::string_body> p;
  p.skip(head_request);
  p.eager(true);
  boost::beast::error_code ec;
  std::string all = head + body;
  size_t used = p.put(boost::asio::buffer(all), ec);
  if (!ec && !p.is_done()) p.put_eof(ec);
  INFO(all);
  REQUIRE_FALSE(ec);
  REQUIRE(p.is_done());
  CHECK(used <= all.size());
  return p.release();
}

}  // namespace

TEST_CASE("A response head is the status, the handler's headers and the framing", "[http]") {
  auto r = api::HttpResponse::json(200, "{}\n");
  r.headers.emplace_back("Retry-After", "5");
  std::string head;
  engine::appendResponseHead(head, 11, r, true, r.body.size());
  CHECK(head ==
        "HTTP/1.1 200 OK\r\nRetry-After: 5\r\nContent-Type: application/json\r\n"
        "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
        "X-Content-Type-Options: nosniff\r\nContent-Length: 3\r\n\r\n");
  auto m = parse(head, r.body);
  CHECK(m.keep_alive());
  CHECK(m.body() == "{}\n");

  // Appended: a session reuses its string.
  std::string again = "x";
  engine::appendResponseHead(again, 11, r, true, r.body.size());
  CHECK(again == "x" + head);
}

TEST_CASE("A later header replaces an earlier one, and framing headers are the server's",
          "[http]") {
  api::HttpResponse r = api::HttpResponse::text(404, "gone");
  r.headers = {{"X-A", "1"},
               {"content-type", "text/html"},
               {"x-a", "2"},
               {"Content-Security-Policy", "default-src 'self'"},
               {"Content-Length", "999"},
               {"Connection", "keep-alive"},
               {"Transfer-Encoding", "chunked"},
               {"X-Content-Type-Options", "none"}};
  std::string head;
  engine::appendResponseHead(head, 11, r, false, r.body.size());
  CHECK(head ==
        "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\nx-a: 2\r\n"
        "Content-Security-Policy: default-src 'self'\r\nX-Content-Type-Options: nosniff\r\n"
        "Content-Length: 4\r\nConnection: close\r\n\r\n");
  auto m = parse(head, r.body);
  CHECK_FALSE(m.keep_alive());
  CHECK(m.body() == "gone");
}

TEST_CASE("Keep-alive is said as HTTP/1.0 and 1.1 need it", "[http]") {
  auto r = api::HttpResponse::json(201, "{}");
  std::string h10, h10close, h11;
  engine::appendResponseHead(h10, 10, r, true, 2);
  engine::appendResponseHead(h10close, 10, r, false, 2);
  engine::appendResponseHead(h11, 11, r, true, 2);
  CHECK(h10.rfind("HTTP/1.0 201 Created\r\n", 0) == 0);
  CHECK(h10.find("Connection: keep-alive\r\n") != std::string::npos);
  CHECK(parse(h10, "{}").keep_alive());
  CHECK(h10close.find("Connection") == std::string::npos);
  CHECK_FALSE(parse(h10close, "{}").keep_alive());
  CHECK(h11.find("Connection") == std::string::npos);
}

TEST_CASE("No length where HTTP has no body, and HEAD keeps the length of the body", "[http]") {
  for (unsigned status : {101u, 204u, 304u}) {
    api::HttpResponse r;
    r.status = status;
    std::string head;
    engine::appendResponseHead(head, 11, r, true, 0);
    INFO(head);
    CHECK(head.find("Content-Length") == std::string::npos);
  }
  auto r = api::HttpResponse::json(200, std::string(1000, 'x'));
  std::string head;
  engine::appendResponseHead(head, 11, r, true, r.body.size());
  CHECK(head.find("Content-Length: 1000\r\n") != std::string::npos);
  auto m = parse(head, "", true);
  CHECK(m[http::field::content_length] == "1000");
  // A status with no reason phrase of its own still gives a valid line.
  api::HttpResponse odd;
  odd.status = 599;
  std::string odd_head;
  engine::appendResponseHead(odd_head, 11, odd, true, 0);
  CHECK(parse(odd_head, "").result_int() == 599);
}

TEST_CASE("A stream's head has no length and is not cached", "[http]") {
  api::HttpResponse r;
  r.content_type = "text/event-stream";
  r.headers.emplace_back("X-Triaged-Stream", "1");
  std::string head;
  engine::appendStreamHead(head, r);
  CHECK(head ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        "Connection: close\r\nX-Content-Type-Options: nosniff\r\nX-Accel-Buffering: no\r\n"
        "X-Triaged-Stream: 1\r\n\r\n");
}
