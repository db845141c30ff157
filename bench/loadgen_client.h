// triaged-loadgen's side of the daemon's API: a plain HTTP/1.1 keep-alive connection, a metric
// read from /metrics, and the verification of what the daemon holds against what was sent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "realistic.h"

namespace loadgen {

// A TCP connection to 127.0.0.1:port (no delay, 60 s receive timeout); throws when refused.
int connectTo(uint16_t port);
// Sends all of it; throws when the connection is gone.
void writeAll(int fd, const char* p, size_t n);

// One HTTP/1.1 keep-alive connection.
class Http {
 public:
  explicit Http(uint16_t port) : fd_(connectTo(port)) {}
  ~Http();
  int post(const std::string& path, const std::string& ctype, const std::string& body,
           std::string* out = nullptr) {
    std::string req = "POST " + path + " HTTP/1.1\r\nHost: bench\r\nContent-Type: " + ctype +
                      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    req += body;
    writeAll(fd_, req.data(), req.size());
    return read(out);
  }
  int get(const std::string& path, std::string* out) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n";
    writeAll(fd_, req.data(), req.size());
    return read(out);
  }

 private:
  int read(std::string* out);
  void fill();
  int fd_;
  std::string buf_;
};

// The sum of a metric's samples (every label set) in /metrics.
double metric(uint16_t port, const std::string& name);

// Pages through GET /api/v1/alerts and checks every alert against what was sent: its count,
// and with `content` its status, last summary and last value. Prints the verdict.
bool verify(uint16_t port, const std::vector<Expected>& expected, bool content);

}  // namespace loadgen
