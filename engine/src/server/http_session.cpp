#include "server/http_session.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "common/log.h"
#include "common/signature.h"
#include "server/http_metrics.h"
#include "server/http_server.h"
#include "server/response_head.h"
#include "triaged/api/json_writer.h"
#include "triaged/config/loader.h"

namespace triaged::engine {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// The common name of a client certificate that verified against server.tls.client_ca_file
// ("" when none was presented or it did not verify).
std::string peerName(SSL* ssl) {
  if (SSL_get_verify_result(ssl) != X509_V_OK) return {};
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  X509_free(cert);
  return cn;
}

enum class Phase {
  kHandshake,
  kIdle,
  kHeader,
  kBody,
  kHandler,
  kWrite,
  kStream,
  kClosing,
  kClosed
};

// Calls the responder with a 500 if a handler drops it without answering, so that no
// connection ever hangs on a lost response.
struct ResponseOnce {
  std::function<void(api::HttpResponse)> deliver;
  std::atomic<bool> done{false};
  ~ResponseOnce() {
    if (!done.load() && deliver)
      deliver(api::HttpResponse::error(500, "handler returned no response"));
  }
};

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(HttpServer& server, asio::io_context& ctx, Stream stream)
      : server_(server), ctx_(ctx), stream_(std::move(stream)), timer_(ctx) {
    server_.onOpen(static_cast<SessionBase*>(this), ctx_);
  }
  ~Session() override { server_.onClose(static_cast<SessionBase*>(this), ctx_); }

  void start() {
    settings_ = server_.settings();
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      arm(settings_->server.handshake_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  self->server_.metrics().reject("tls_handshake");
                                  return self->closeNow();
                                }
                                self->cert_name_ = peerName(self->stream_.native_handle());
                                self->readRequest();
                              });
    } else {
      readRequest();
    }
  }

  void closeIfIdle() override {
    if (phase_ == Phase::kStream) return closeNow();  // an event stream ends at a drain
    if (phase_ == Phase::kIdle) {
      timed_out_ = true;
      drain_close_ = true;
      lowest().cancel();
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;
  tcp::socket& lowest() {
    if constexpr (kTls)
      return stream_.next_layer();
    else
      return stream_;
  }

  void arm(std::chrono::milliseconds d) {
    ++timer_gen_;
    timed_out_ = false;
    timer_.expires_after(d);
    timer_.async_wait([self = this->shared_from_this(), gen = timer_gen_](beast::error_code ec) {
      if (ec || gen != self->timer_gen_) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->lowest().cancel(ignored);
    });
  }
  void disarm() {
    ++timer_gen_;
    timer_.cancel();
  }

  static constexpr size_t kIdleReadBytes = 4096;
  static constexpr size_t kBodyReadBytes = 65536;    // a chunked body's reads
  static constexpr size_t kBodyStepBytes = 1 << 20;  // a known length's, at most

  void readRequest() {
    settings_ = server_.settings();
    // Draining: bytes already received are a request in flight and get served; a connection
    // with nothing pending closes.
    if (server_.draining() && buffer_.size() == 0) return closeNow();
    parser_.emplace();
    body_read_ = false;
    parser_->header_limit(static_cast<uint32_t>(settings_->server.max_header_bytes));
    parser_->body_limit(settings_->server.max_body_bytes);
    if (buffer_.size() > 0) {
      // Pipelined bytes are already here: the request has started.
      phase_ = Phase::kHeader;
      arm(settings_->server.header_timeout);
      return readHeader();
    }
    // Idle keep-alive wait: read whatever arrives first, then the header clock starts. A
    // waiting connection gives back the room a large body took.
    phase_ = Phase::kIdle;
    arm(settings_->server.idle_timeout);
    if (body_room_) buffer_.shrink_to_fit();
    body_room_ = false;
    stream_.async_read_some(buffer_.prepare(kIdleReadBytes),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->onReadError(ec);
                              self->buffer_.commit(n);
                              self->phase_ = Phase::kHeader;
                              self->arm(self->settings_->server.header_timeout);
                              self->readHeader();
                            });
  }

  void readHeader() {
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->onReadError(ec);
                              self->onHeader();
                            });
  }

  void onHeader() {
    started_ = std::chrono::steady_clock::now();
    auto& req = parser_->get();
    std::string_view target(req.target().data(), req.target().size());
    auto q = target.find('?');
    path_ = std::string(target.substr(0, q));
    bool mismatch = false;
    std::string allow;
    params_.clear();
    route_ = server_.router().match(req.method(), path_, params_, &mismatch, &allow);
    bool body_pending = !parser_->is_done();
    if (!route_) {
      auto r = mismatch ? api::HttpResponse::error(405, "method not allowed")
                        : api::HttpResponse::error(404, "not found", "\"" + path_ + "\"");
      if (mismatch) r.headers.emplace_back("Allow", allow);
      r.close = body_pending;
      return respond(std::move(r));
    }
    auto auth = req[http::field::authorization];
    std::string_view authorization(auth.data(), auth.size());
    api::RouteAuth own =
        route_->authorize ? route_->authorize(authorization) : api::RouteAuth::kUseGroup;
    if (own == api::RouteAuth::kDeny)
      return refuse(401, "a valid bearer token is required for this input", body_pending);
    if (own == api::RouteAuth::kUseGroup && !authorize(authorization, body_pending)) return;
    if (!body_pending) return dispatch();
    auto expect = req[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      // curl and others wait for this before sending large bodies. Written asynchronously like
      // everything on an I/O thread, under the write timeout.
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      phase_ = Phase::kWrite;
      arm(settings_->server.write_timeout);
      asio::async_write(stream_, asio::buffer(kContinue, sizeof kContinue - 1),
                        [self = this->shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->closeNow();
                          self->readBody();
                        });
      return;
    }
    readBody();
  }

  // Who is calling, and may they call this route? Answers 401 (no valid token) or 403 (a valid
  // token whose role is too low, naming the role needed) and returns false when not.
  bool authorize(std::string_view authorization, bool body_pending) {
    user_.clear();
    role_ = nullptr;
    const auto& s = *settings_;
    api::RouteGroup group = route_->group;
    if (group == api::RouteGroup::kIngest) {
      if (s.open[static_cast<int>(api::RouteGroup::kIngest)]) return true;
      if (!s.ingest_digests.empty() && checkBearer(authorization, s.ingest_digests)) return true;
      if (authorization.empty() && s.certIngest(cert_name_)) return true;
      refuse(401, "a valid bearer token is required for the ingest routes", body_pending);
      return false;
    }
    signed_by_.clear();
    if (!route_->callback_param.empty()) {
      // A ticketing tool with its own token, or its signature (checked once the body is read),
      // for its own tickets only.
      auto sig = parser_->get()["X-Triaged-Signature"];
      for (const auto& [name, value] : params_) {
        if (name != route_->callback_param) continue;
        if (!authorization.empty() && s.callbackOf(value, authorization)) {
          user_ = value;
          role_ = "callback";
          return true;
        }
        if (!sig.empty() && authorization.empty() && s.callbackSecret(value)) {
          signed_by_ = value;
          user_ = value;
          role_ = "callback";
          return true;
        }
      }
    }
    const Credential* who =
        authorization.empty() ? s.identifyCert(cert_name_) : s.identify(authorization);
    int level = who ? std::max(who->level, s.openLevel()) : s.openLevel();
    if (who) user_ = who->user;
    role_ = level ? roleName(level) : nullptr;
    int needed = routeLevel(group);
    if (needed == 0 || s.open[static_cast<int>(group)] || level >= needed) return true;
    if (!who) {
      refuse(401,
             "a valid bearer token is required for the " + std::string(api::routeGroupName(group)) +
                 " routes",
             body_pending);
      return false;
    }
    std::string whom = who->user.empty() ? "this token" : who->user;
    refuse(403,
           "the " + std::string(roleName(needed)) + " role is needed; " + whom + " is " +
               (who->level == 2 ? "an " : "a ") + roleName(who->level),
           body_pending);
    return false;
  }

  void refuse(unsigned status, const std::string& why, bool body_pending) {
    server_.metrics().reject(status == 401 ? "unauthorized" : "forbidden");
    std::string detail;
    api::appendJsonString(detail, why);
    auto r = api::HttpResponse::error(status, status == 401 ? "unauthorized" : "forbidden", detail);
    if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"triaged\"");
    r.close = body_pending;
    respond(std::move(r));
  }

  // A request that cannot be read on: counted by `reason`, answered, and the connection closed
  // (what is left of it on the wire cannot be told from the next request).
  void failRead(const char* reason, unsigned status, const char* title, const std::string& detail) {
    server_.metrics().reject(reason);
    auto r = api::HttpResponse::error(status, title, detail);
    r.close = true;
    respond(std::move(r));
  }

  void readBody() {
    phase_ = Phase::kBody;
    arm(settings_->server.body_timeout);
    auto length = parser_->content_length();
    if (length && !parser_->chunked() && *length <= settings_->server.max_body_bytes)
      return readWholeBody(static_cast<size_t>(*length));
    // A chunked body goes through the parser, read up to 64 KiB a system call (Beast reads as
    // much as the buffer has room for; the idle read's 4 KiB would be a call per 4 KiB).
    if (buffer_.capacity() < kBodyReadBytes) {
      buffer_.reserve(kBodyReadBytes);
      body_room_ = true;
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->onReadError(ec);
                       self->dispatch();
                     });
  }

  // A body of known length is read straight into the request's string, with room for the
  // padding parsers need: what came with the header is copied once, the rest arrives in place,
  // as much a system call as the kernel holds. Through the parser it was copied from the
  // connection's buffer, 4 KiB a call, and copied again to pad it. The string grows by at most
  // kBodyStepBytes ahead of what arrived: a client announcing a large body and sending little
  // of it costs no more memory than it sent (the reserve is address space, not yet pages).
  void readWholeBody(size_t length) {
    auto& body = parser_->get().body();
    body.reserve(length + api::kBodyPadding);
    size_t have = std::min(buffer_.size(), length);
    body.assign(static_cast<const char*>(buffer_.data().data()), have);
    buffer_.consume(have);
    readBodyStep(length);
  }
  void readBodyStep(size_t length) {
    auto& body = parser_->get().body();
    size_t at = body.size();
    if (at == length) {
      body_read_ = true;
      return dispatch();
    }
    size_t step = std::min(length - at, kBodyStepBytes);
    body.resize(at + step);
    asio::async_read(stream_, asio::buffer(body.data() + at, step),
                     [self = this->shared_from_this(), length](beast::error_code ec, size_t) {
                       if (ec) return self->onReadError(ec);
                       self->readBodyStep(length);
                     });
  }

  void onReadError(beast::error_code ec) {
    auto& m = server_.metrics();
    if (timed_out_) {
      if (phase_ == Phase::kIdle) {
        if (!drain_close_) m.reject("idle_timeout");
        return closeNow();
      }
      const bool header = phase_ == Phase::kHeader;
      return failRead(
          header ? "header_timeout" : "body_timeout", 408, "request timeout",
          header ? "\"headers not received in time\"" : "\"body not received in time\"");
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::ssl::error::stream_truncated || ec == http::error::partial_message) {
      return closeNow();
    }
    if (ec == http::error::header_limit) {
      return failRead(
          "header_too_large", 431, "request header fields too large",
          "\"headers exceed " + std::to_string(settings_->server.max_header_bytes) + " bytes\"");
    }
    if (ec == http::error::body_limit) {
      return failRead(
          "body_too_large", 413, "payload too large",
          "\"body exceeds " + std::to_string(settings_->server.max_body_bytes) + " bytes\"");
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
      std::string detail;
      api::appendJsonString(detail, ec.message());
      return failRead("bad_request", 400, "malformed HTTP request", detail);
    }
    closeNow();
  }

  void dispatch() {
    phase_ = Phase::kHandler;
    disarm();
    auto& req = parser_->get();
    if (!signed_by_.empty()) {
      const std::string* secret = settings_->callbackSecret(signed_by_);
      auto sig = req["X-Triaged-Signature"];
      int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
      if (!secret ||
          !signatureValid(*secret, std::string_view(sig.data(), sig.size()), req.body(), now))
        return refuse(401,
                      "X-Triaged-Signature is not a valid signature of this body by " + signed_by_ +
                          " made in the last 5 minutes",
                      false);
    }
    api::HttpRequest r;
    r.method = req.method();
    r.target = std::string_view(req.target().data(), req.target().size());
    r.path = path_;
    auto q = r.target.find('?');
    if (q != std::string_view::npos) r.query = r.target.substr(q + 1);
    auto ct = req[http::field::content_type];
    r.content_type = std::string_view(ct.data(), ct.size());
    r.body = &req.body();
    r.params = params_;
    r.user = user_;
    if (role_) r.role = role_;
    r.header = [&req](std::string_view name) {
      auto v = req[beast::string_view(name.data(), name.size())];
      return std::string_view(v.data(), v.size());
    };
    auto once = std::make_shared<ResponseOnce>();
    // The pending response keeps the connection alive until it is delivered.
    auto self = this->shared_from_this();
    // The reference moves into the posted handler, so the last one is always released on the
    // connection's own I/O thread, never on the thread that answered (a shard, the
    // correlator): the session's destructor touches its I/O thread's session set (found by
    // ThreadSanitizer).
    once->deliver = [self](api::HttpResponse res) mutable {
      auto& ctx = self->ctx_;
      asio::post(ctx, [self = std::move(self), res = std::move(res)]() mutable {
        self->respond(std::move(res));
      });
    };
    api::Responder responder = [once](api::HttpResponse res) {
      if (once->done.exchange(true)) return;
      auto deliver = std::move(once->deliver);  // drop the connection reference once answered
      deliver(std::move(res));
    };
    try {
      route_->handler(r, std::move(responder));
    } catch (const std::exception& e) {
      log::get("http")->error("handler for {} threw: {}", route_->pattern, e.what());
      // The ResponseOnce destructor answers 500 if the handler did not.
    }
  }

  void respond(api::HttpResponse r) {
    if (phase_ == Phase::kClosed) return;
    auto& m = server_.metrics();
    auto it = route_ ? m.routes.find(route_) : m.routes.end();
    auto& rm = it != m.routes.end() ? it->second : m.unmatched;
    if (r.status >= 100 && r.status < 600) rm.by_class[r.status / 100]->Increment();
    if (route_ && parser_ && parser_->is_header_done()) {
      rm.duration->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    }
    if (r.stream) return startStream(std::move(r));
    bool head = parser_ && parser_->is_header_done() && parser_->get().method() == http::verb::head;
    unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    keep_alive_ = !r.close && !server_.draining() && parser_ &&
                  (parser_->is_done() || body_read_) && parser_->get().keep_alive();
    body_ = std::move(r.body);
    head_.clear();
    appendResponseHead(head_, version == 10 ? 10 : 11, r, keep_alive_, body_.size());
    if (head) body_.clear();
    parser_.reset();  // frees the request body before the write
    phase_ = Phase::kWrite;
    arm(settings_->server.write_timeout);
    std::array<asio::const_buffer, 2> out{asio::buffer(head_), asio::buffer(body_)};
    asio::async_write(stream_, out,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) {
                          if (self->timed_out_) self->server_.metrics().reject("write_timeout");
                          return self->closeNow();
                        }
                        self->body_ = {};  // a large answer is not kept by an idle connection
                        if (!self->keep_alive_) return self->closeGracefully();
                        self->readRequest();
                      });
  }

  // ---- An open-ended response (Server-Sent Events): the head without a length, then the
  // producer's writes until either side closes. The peer is watched by a read that only ends
  // when it goes away.
  class Writer final : public api::StreamWriter {
   public:
    explicit Writer(std::shared_ptr<Session> s) : s_(std::move(s)) {}
    asio::io_context& context() override { return s_->ctx_; }
    void write(std::vector<std::string_view> parts, std::shared_ptr<const void> keep,
               std::function<void(bool)> done) override {
      s_->streamWrite(parts, std::move(keep), std::move(done));
    }
    void close() override { s_->closeNow(); }
    void onClosed(std::function<void()> fn) override {
      if (s_->phase_ == Phase::kClosed) return fn();
      s_->on_stream_closed_ = std::move(fn);
    }

   private:
    std::shared_ptr<Session> s_;
  };

  void startStream(api::HttpResponse r) {
    head_.clear();
    appendStreamHead(head_, r);
    parser_.reset();
    phase_ = Phase::kStream;
    arm(settings_->server.write_timeout);
    asio::async_write(stream_, asio::buffer(head_),
                      [self = this->shared_from_this(), open = std::move(r.stream)](
                          beast::error_code ec, size_t) {
                        if (ec || self->phase_ == Phase::kClosed) return self->closeNow();
                        self->disarm();
                        self->watchPeer();
                        open(std::make_shared<Writer>(self));
                      });
  }

  void watchPeer() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->closeNow();
                              self->buffer_.commit(n);  // a client has nothing to say: dropped
                              self->watchPeer();
                            });
  }

  void streamWrite(const std::vector<std::string_view>& parts, std::shared_ptr<const void> keep,
                   std::function<void(bool)> done) {
    if (phase_ != Phase::kStream) return done(false);
    std::vector<asio::const_buffer> bufs;
    bufs.reserve(parts.size());
    for (auto p : parts) bufs.emplace_back(p.data(), p.size());
    arm(settings_->server.write_timeout);
    asio::async_write(stream_, bufs,
                      [self = this->shared_from_this(), keep = std::move(keep),
                       done = std::move(done)](beast::error_code ec, size_t) {
                        if (ec || self->phase_ != Phase::kStream) {
                          if (self->timed_out_) self->server_.metrics().reject("write_timeout");
                          self->closeNow();
                          return done(false);
                        }
                        self->disarm();
                        done(true);
                      });
  }

  void closeGracefully() {
    phase_ = Phase::kClosing;
    // Lingering close: what the client still sends (a body refused with 413, headers refused
    // with 431) is read and dropped for up to 2 s and 64 MiB, so that it reads our answer
    // instead of a reset (closing a socket with unread data sends one). Over TLS too: the
    // records are read and dropped until the client closes (it was told `Connection: close`).
    if constexpr (!kTls) {
      beast::error_code ec;
      stream_.shutdown(tcp::socket::shutdown_send, ec);
    }
    arm(std::chrono::milliseconds(2000));
    linger(0);
  }

  void linger(size_t dropped) {
    if (dropped > (size_t{64} << 20)) return closeNow();
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(65536), [self = this->shared_from_this(), dropped](
                                                        beast::error_code ec, size_t n) {
      if (ec) return self->closeNow();  // the client closed, or 2 s passed
      self->buffer_.commit(n);
      self->linger(dropped + n);
    });
  }

  void closeNow() {
    phase_ = Phase::kClosed;
    disarm();
    beast::error_code ec;
    lowest().close(ec);
    if (on_stream_closed_) {
      auto f = std::move(on_stream_closed_);
      on_stream_closed_ = nullptr;
      f();
    }
  }

  HttpServer& server_;
  asio::io_context& ctx_;
  Stream stream_;
  asio::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  bool timed_out_ = false;
  bool drain_close_ = false;
  bool keep_alive_ = true;
  Phase phase_ = Phase::kIdle;
  beast::flat_buffer buffer_;
  bool body_room_ = false;  // buffer_ grew for a large body: given back when the connection idles
  bool body_read_ = false;  // the body was read past the parser (readWholeBody)
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const HttpSettings> settings_;
  const api::Route* route_ = nullptr;
  std::string user_;
  std::string signed_by_;
  std::string cert_name_;  // a verified client certificate's common name (mutual TLS)  // a
                           // callback signed by this system: verified once the body is read
  const char* role_ = nullptr;
  std::string path_;
  std::vector<std::pair<std::string_view, std::string_view>> params_;
  std::string head_, body_;  // the answer being written (head_ keeps its capacity)
  std::function<void()> on_stream_closed_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

void startSession(HttpServer& server, asio::io_context& ctx, tcp::socket socket,
                  const std::shared_ptr<asio::ssl::context>& tls) {
  if (tls) {
    auto session = std::make_shared<Session<asio::ssl::stream<tcp::socket>>>(
        server, ctx, asio::ssl::stream<tcp::socket>(std::move(socket), *tls));
    session->start();
  } else {
    std::make_shared<Session<tcp::socket>>(server, ctx, std::move(socket))->start();
  }
}

}  // namespace triaged::engine
