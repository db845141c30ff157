// The HTTP/1.1 server (Boost.Beast): keep-alive, pipelining-safe (one request at a time per
// connection, left-over bytes kept for the next), limits on header and body size, idle,
// header, body and write timeouts, a cap on concurrent connections, optional TLS, and bearer
// auth per route group. Owned by the daemon; connections live on the IoPool's threads.
// setSettings() may be called from any thread (an atomic snapshot swap).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/io_pool.h"
#include "triaged/api/http.h"
#include "triaged/config/config.h"

namespace triaged::engine {

// A token that reaches the read, operate or admin routes: its SHA-256 digest, the user it
// names ("" for auth.read and auth.admin tokens) and its role (1 viewer, 2 operator, 3 admin).
struct Credential {
  std::string digest;
  std::string user;
  int level = 0;
};

// What a request needs from the current config, swapped as a whole on reload.
struct HttpSettings {
  config::ServerConfig server;
  std::vector<std::string> ingest_digests;  // auth.ingest
  std::vector<Credential> credentials;      // auth.read, auth.admin, auth.users
  // Client certificates' common names (mutual TLS): the identity of each, and the names of
  // the ingest group.
  std::vector<std::pair<std::string, Credential>> cert_credentials;
  std::vector<std::string> cert_ingest;
  const Credential* identifyCert(std::string_view cn) const {
    for (const auto& [name, c] : cert_credentials)
      if (!cn.empty() && name == cn) return &c;
    return nullptr;
  }
  bool certIngest(std::string_view cn) const {
    for (const auto& n : cert_ingest)
      if (!cn.empty() && n == cn) return true;
    return false;
  }
  // Notification targets' callback tokens: (target name, SHA-256 digest).
  std::vector<std::pair<std::string, std::string>> callback_digests;
  // Whether `authorization` carries the callback token of target `system`.
  bool callbackOf(std::string_view system, std::string_view authorization) const;
  // Notification targets' callback HMAC secrets: (target name, secret).
  std::vector<std::pair<std::string, std::string>> callback_secrets;
  const std::string* callbackSecret(std::string_view system) const {
    for (const auto& [name, secret] : callback_secrets)
      if (name == system) return &secret;
    return nullptr;
  }
  // Per RouteGroup: no token is needed (the group has none configured).
  bool open[5] = {true, true, true, true, true};
  std::shared_ptr<boost::asio::ssl::context> tls;  // null when TLS is off

  // The credential an Authorization header presents (every one compared, constant time), or
  // null. *level is the role the request acts with in `group` (0: none, refuse it).
  const Credential* identify(std::string_view authorization) const;
  // The role level that needs no token in `group`'s neighbourhood: an open admin group makes
  // every caller an admin, an open read group a viewer.
  int openLevel() const;

  static std::shared_ptr<const HttpSettings> fromConfig(const config::Config& c);
};

const char* roleName(int level);    // "viewer", "operator", "admin", "" for 0
int routeLevel(api::RouteGroup g);  // what a group needs: 1..3, 0 for open and ingest

// Constant-time check of an Authorization header against a group's token digests.
// Returns true when the group needs no token.
bool checkBearer(std::string_view authorization_header, const std::vector<std::string>& digests);

class HttpServer {
 public:
  HttpServer(IoPool& pool, const api::Router& router, prometheus::Registry& registry);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void setSettings(std::shared_ptr<const HttpSettings> s);
  std::shared_ptr<const HttpSettings> settings() const;

  // Binds the listener (throws std::runtime_error with the reason). Returns the bound port.
  uint16_t listen(const std::string& host, uint16_t port);
  void startAccepting();
  void stopAccepting();
  // Draining: idle keep-alive connections are closed now, busy ones after their response.
  void beginDrain();
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  int64_t activeConnections() const { return active_.load(std::memory_order_acquire); }

  // Internal, used by connections.
  struct Metrics;
  Metrics& metrics() { return *metrics_; }
  const api::Router& router() const { return router_; }
  void onOpen(void* session, boost::asio::io_context& ctx);
  void onClose(void* session, boost::asio::io_context& ctx);

 private:
  void accept();
  // Over max_connections (or draining): 503 on a plain port, closed at once on a TLS port.
  void reject(boost::asio::ip::tcp::socket socket, bool tls);

  IoPool& pool_;
  const api::Router& router_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::atomic<std::shared_ptr<const HttpSettings>> settings_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> accepting_{false};
  std::atomic<int64_t> active_{0};
  // Per-context registry of open connections, touched only on that context's thread.
  // The map is built in the constructor and never changes shape; each set is used only on
  // its own context's thread.
  std::unordered_map<boost::asio::io_context*, std::unordered_set<void*>> sessions_;
};

}  // namespace triaged::engine
