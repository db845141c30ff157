// One HTTP/1.1 connection of the server (server/http_server.h), plain or TLS: it reads a
// request at a time (header, then body, each under its timeout and size limit), checks its
// credentials, hands it to its route and writes the answer or a stream. Sessions live on the
// I/O context that accepted them; the server only starts them and, when draining, closes the
// idle ones.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>

namespace triaged::engine {

class HttpServer;

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void closeIfIdle() = 0;
};

// Serves a connection accepted for `ctx` (over TLS when `tls` is set). The session registers
// with the server (HttpServer::onOpen) and leaves it when it closes.
void startSession(HttpServer& server, boost::asio::io_context& ctx,
                  boost::asio::ip::tcp::socket socket,
                  const std::shared_ptr<boost::asio::ssl::context>& tls);

}  // namespace triaged::engine
