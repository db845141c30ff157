// A blocking HTTP/1.1 test client on a real loopback socket, with a receive timeout so a test
// can never hang. Reads exactly one response per call (Content-Length framing).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace triaged::test {

struct Response {
  int status = 0;  // 0: the connection closed without a response
  std::string head;
  std::string body;
};

class Client {
 public:
  explicit Client(uint16_t port, int timeout_ms = 5000) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("connect failed");
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  void send(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;  // the server may close early (413, 431): that is what some tests check
      off += static_cast<size_t>(n);
    }
  }
  // Reads one response; status 0 if the peer closed (or timed out) first.
  Response read() {
    Response r;
    while (true) {
      auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        r.head = buf_.substr(0, end + 4);
        r.status = std::stoi(r.head.substr(9, 3));
        size_t len = 0;
        auto cl = lower(r.head).find("content-length:");
        if (cl != std::string::npos) len = std::stoul(r.head.substr(cl + 15));
        if (r.status == 100) {
          buf_.erase(0, end + 4);
          continue;
        }
        while (buf_.size() < end + 4 + len)
          if (!fill()) return Response{};
        r.body = buf_.substr(end + 4, len);
        buf_.erase(0, end + 4 + len);
        return r;
      }
      if (!fill()) return Response{};
    }
  }
  // True when the server closed the connection (EOF), false on timeout or data.
  bool closedByPeer() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0;
  }
  Response request(const std::string& method, const std::string& path, const std::string& body = "",
                   const std::string& extra_headers = "") {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: t\r\n" + extra_headers;
    if (!body.empty() || method == "POST")
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    send(req);
    return read();
  }

 private:
  static std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  bool fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buf_;
};

}  // namespace triaged::test
