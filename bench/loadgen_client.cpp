#include "loadgen_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace loadgen {

int connectTo(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("connect failed");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{60, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void writeAll(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) throw std::runtime_error("send failed");
    p += w;
    n -= static_cast<size_t>(w);
  }
}

Http::~Http() { ::close(fd_); }

int Http::read(std::string* out) {
  while (true) {
    auto end = buf_.find("\r\n\r\n");
    if (end != std::string::npos) {
      int status = std::atoi(buf_.c_str() + 9);
      size_t len = 0;
      auto cl = buf_.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) len = std::stoul(buf_.substr(cl + 16));
      while (buf_.size() < end + 4 + len) fill();
      if (out) *out = buf_.substr(end + 4, len);
      buf_.erase(0, end + 4 + len);
      return status;
    }
    fill();
  }
}

void Http::fill() {
  char tmp[1 << 16];
  ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) throw std::runtime_error("connection closed");
  buf_.append(tmp, static_cast<size_t>(n));
}

double metric(uint16_t port, const std::string& name) {
  Http h(port);
  std::string body;
  h.get("/metrics", &body);
  double sum = 0;
  size_t pos = 0;
  while ((pos = body.find("\n" + name, pos)) != std::string::npos) {
    size_t eol = body.find('\n', pos + 1);
    std::string line = body.substr(pos + 1, eol - pos - 1);
    char after = line.size() > name.size() ? line[name.size()] : ' ';
    if (after == ' ' || after == '{') sum += std::stod(line.substr(line.rfind(' ') + 1));
    pos = eol;
  }
  return sum;
}

// Pages through GET /api/v1/alerts and checks every alert against what was sent: its count,
// and with `content` its status, last summary and last value.
bool verify(uint16_t port, const std::vector<Expected>& expected, bool content) {
  Http h(port);
  std::string after;
  uint64_t alerts = 0, counted = 0, wrong = 0, want_alerts = 0, want_events = 0;
  for (const auto& e : expected) {
    want_alerts += e.count > 0;
    want_events += e.count;
  }
  simdjson::dom::parser parser;
  while (true) {
    std::string body;
    int st = h.get("/api/v1/alerts?limit=10000" + (after.empty() ? "" : "&after=" + after), &body);
    if (st != 200) {
      std::fprintf(stderr, "verify: GET /api/v1/alerts answered %d\n", st);
      return false;
    }
    simdjson::dom::element doc = parser.parse(body);
    for (auto a : doc["data"].get_array()) {
      ++alerts;
      uint64_t c = a["count"].get_uint64();
      counted += c;
      std::string_view res = a["resource"].get_string().value();
      uint64_t host = std::stoull(std::string(res.substr(5, 7)));
      if (host >= expected.size()) {
        ++wrong;
        continue;
      }
      const auto& e = expected[host];
      bool ok = c == e.count;
      if (content) {
        std::string_view status, summary;
        double value = -1;
        ok = ok && !a["status"].get(status) && status == (e.firing ? "firing" : "resolved") &&
             !a["summary"].get(summary) && summary == e.summary && !a["value"].get(value) &&
             value == e.value;
      }
      if (!ok && wrong++ < 3)
        std::fprintf(stderr, "verify: wrong alert %s\n", simdjson::minify(a).c_str());
    }
    auto next = doc["next"];
    if (next.is_null()) break;
    after = std::string(next.get_string().value());
  }
  bool ok = alerts == want_alerts && counted == want_events && wrong == 0;
  std::printf("verify: %llu alerts (want %llu), counts sum %llu (want %llu), %llu wrong%s: %s\n",
              (unsigned long long)alerts, (unsigned long long)want_alerts,
              (unsigned long long)counted, (unsigned long long)want_events,
              (unsigned long long)wrong, content ? " (count, status, summary, value)" : " (count)",
              ok ? "OK" : "FAILED");
  return ok;
}

}  // namespace loadgen
