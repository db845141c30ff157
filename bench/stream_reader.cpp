// triaged-stream-reader: N clients of GET /api/v1/stream on one epoll thread, reading as fast
// as the daemon writes and counting events and bytes, so that the stream's fan-out can be
// measured without the readers being the bottleneck (bench/console.py). Writes its counts to
// --status every 100 ms ("events bytes open clients"); stops after --timeout seconds or on
// SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::atomic<bool> stop{false};

int connectTo(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"triaged stream reader"};
  uint16_t port = 0;
  unsigned clients = 100, timeout_s = 600;
  std::string types, token, status;
  app.add_option("--port", port, "triaged HTTP port")->required();
  app.add_option("--clients", clients, "stream connections");
  app.add_option("--types", types, "the types query parameter (empty: all)");
  app.add_option("--token", token, "bearer token");
  app.add_option("--status", status, "file rewritten every 100 ms: events bytes open")->required();
  app.add_option("--timeout", timeout_s, "stop after this many seconds");
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGTERM, [](int) { stop = true; });
  std::signal(SIGINT, [](int) { stop = true; });

  int ep = ::epoll_create1(0);
  std::string request = "GET /api/v1/stream" + (types.empty() ? "" : "?types=" + types) +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") + "\r\n";
  std::vector<std::string> tails(clients);  // the last bytes of each, to find "\nevent: "
  for (unsigned i = 0; i < clients; ++i) {
    int fd = connectTo(port);
    if (::send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
      std::perror("send");
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = (static_cast<uint64_t>(i) << 32) | static_cast<uint32_t>(fd);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  uint64_t events = 0, bytes = 0;
  unsigned open = clients;
  std::vector<char> buf(1 << 20);
  epoll_event evs[64];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  auto next_status = std::chrono::steady_clock::now();
  constexpr std::string_view kMark = "\nevent: ";
  while (!stop && open > 0 && std::chrono::steady_clock::now() < deadline) {
    int n = ::epoll_wait(ep, evs, 64, 100);
    for (int k = 0; k < n; ++k) {
      int fd = static_cast<int>(evs[k].data.u64 & 0xffffffffu);
      unsigned i = static_cast<unsigned>(evs[k].data.u64 >> 32);
      ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
      if (got <= 0) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        --open;
        continue;
      }
      bytes += static_cast<uint64_t>(got);
      // Count "\nevent: " across reads: keep the last few bytes of each connection.
      std::string& tail = tails[i];
      std::string_view chunk(buf.data(), static_cast<size_t>(got));
      std::string joined =
          tail + std::string(chunk.substr(0, std::min(chunk.size(), kMark.size())));
      for (size_t p = joined.find(kMark); p != std::string::npos; p = joined.find(kMark, p + 1))
        if (p < tail.size()) ++events;  // starts in the tail: not counted below
      for (size_t p = chunk.find(kMark); p != std::string_view::npos; p = chunk.find(kMark, p + 1))
        ++events;
      tail.assign(chunk.substr(chunk.size() > kMark.size() ? chunk.size() - kMark.size() + 1 : 0));
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= next_status) {
      next_status = now + std::chrono::milliseconds(100);
      std::string tmp = status + ".tmp";
      if (FILE* f = std::fopen(tmp.c_str(), "w")) {
        std::fprintf(f, "%llu %llu %u\n", static_cast<unsigned long long>(events),
                     static_cast<unsigned long long>(bytes), open);
        std::fclose(f);
        std::rename(tmp.c_str(), status.c_str());
      }
    }
  }
  std::printf("%llu events, %llu bytes, %u of %u clients open\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(bytes), open,
              clients);
  return 0;
}
