#include "ndjson_tcp_input.h"

#include <openssl/crypto.h>
#include <simdjson.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>
#include <future>

#include "../common/input_config.h"
#include "../common/native_decoder.h"
#include "../common/stream_socket.h"
#include "../common/stream_submitter.h"
#include "../common/tcp_listener.h"
#include "ndjson_framing.h"
#include "triaged/api/log.h"
#include "triaged/config/loader.h"

namespace triaged::plugins {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct TcpConfig {
  api::IngestOptions ingest;
  std::string listen = "127.0.0.1:9471";
  std::string host = "127.0.0.1";
  uint16_t port = 9471;
  uint64_t max_connections = 1024;
  uint64_t read_buffer_bytes = 1 << 20;
  StreamTls tls;                          // TLS, and mutual TLS as authentication
  std::string handshake_token;            // token_handshake: the first line must carry it
  int64_t handshake_timeout_ms = 10'000;  // server.handshake_timeout: TLS and the token line
};

// The first line of a connection with token_handshake.
constexpr std::string_view kTokenLine = "Authorization: Bearer ";

void parse(const config::PluginSection& s, config::ConfigErrors& errors, TcpConfig& c) {
  readInputSection(s, errors, c.ingest, nativeSeverities(), [&](config::MapReader& r) {
    YAML::Node ln = r.node()["listen"];
    r.getString("listen", c.listen);
    if (!config::parseListen(c.listen, c.host, c.port))
      r.sink().add(ln, r.childPath("listen"), "invalid listen address \"" + c.listen + "\"");
    r.getUnsigned("max_connections", c.max_connections, 1'000'000);
    r.getUnsigned("read_buffer_bytes", c.read_buffer_bytes, 256 << 20);
    if (c.read_buffer_bytes < 4096)
      r.sink().add(r.node()["read_buffer_bytes"], r.childPath("read_buffer_bytes"),
                   "must be at least 4096");
    readStreamTls(r, c.tls);
    if (r.has("token_handshake")) {
      config::MapReader t(r.take("token_handshake"), r.childPath("token_handshake"), r.sink());
      t.getSecret("bearer_token", c.handshake_token);
      t.finish();
      if (c.handshake_token.empty())
        t.sink().add(t.node(), t.childPath("bearer_token"),
                     "is required (bearer_token or bearer_token_file)");
    }
  });
  refuseBearerToken(s, errors,
                    "use tls.client_ca_file (mutual TLS) or token_handshake (a first line "
                    "\"Authorization: Bearer <token>\")");
  if (c.ingest.max_event_bytes > c.read_buffer_bytes)
    errors.push_back(
        {s.file, s.line, 0, s.path() + ".max_event_bytes", "must not exceed read_buffer_bytes"});
}

class TcpInput;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(TcpInput& in, tcp::socket sock, std::shared_ptr<const TcpConfig> cfg,
             std::unique_ptr<TcpListener::Slot> slot);
  ~Connection();
  void start();

 private:
  void read();
  void onData(size_t n);
  void refuse(StreamRefusals::Reason r, const char* why, const std::string& detail);
  bool checkToken();  // the first line (token_handshake): false to wait for more

  TcpInput& in_;
  StreamSocket sock_;
  asio::steady_timer deadline_;  // TLS handshake and token line
  bool awaiting_token_ = false;
  std::shared_ptr<const TcpConfig> cfg_;
  std::vector<char> buf_;  // read buffer with simdjson padding after its usable size
  size_t filled_ = 0;
  int64_t line_ = 1;           // line number of the first byte in buf_
  bool skipping_ = false;      // discarding an oversized line up to its newline
  StreamSubmitter submitter_;  // back-pressure, and the half-close acknowledgement
  bool eof_ = false;
  std::unique_ptr<TcpListener::Slot> slot_;  // counted against max_connections while open
};

class TcpInput final : public api::Input {
 public:
  explicit TcpInput(api::InputContext& ctx)
      : cfg_(std::make_shared<TcpConfig>(parseValid<TcpConfig>(ctx.section, parse))),
        sink_(*ctx.sink),
        metrics_(ctx.metrics, ctx.section.name, ctx.config.server.io_threads),
        log_(api::logger("input:" + ctx.section.name)),
        listener_(ctx.io_context, ctx.io_threads, cfg_.load()->host, cfg_.load()->port,
                  cfg_.load()->listen, log_),
        refusals_(ctx.metrics, ctx.section.name, log_) {}

  void start() override {
    listener_.start(
        [this] { return cfg_.load()->max_connections; },
        [this](tcp::socket s, std::unique_ptr<TcpListener::Slot> slot) {
          std::make_shared<Connection>(*this, std::move(s), cfg_.load(), std::move(slot))->start();
        });
  }
  void stop() override { listener_.stop(); }
  uint16_t boundPort() const override { return listener_.port(); }

  void reconfigure(const config::PluginSection& s) override {
    auto c = std::make_shared<TcpConfig>(parseValid<TcpConfig>(s, parse));
    c->handshake_timeout_ms = handshake_timeout_ms_;
    cfg_.store(std::move(c));
  }

  StreamRefusals& refusals() { return refusals_; }

  api::EventSink& sink() { return sink_; }
  api::InputMetrics& metrics() { return metrics_; }
  bool stopping() const { return listener_.stopping(); }

  // Logs bad lines at most once a second, with how many were skipped meanwhile.
  void logBadLines(const std::vector<api::DecodeError>& errors, uint64_t total) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    suppressed_ += total;
    int64_t last = last_log_.load();
    if (now - last < 1'000'000'000 || !last_log_.compare_exchange_strong(last, now)) return;
    uint64_t n = suppressed_.exchange(0);
    if (!errors.empty())
      log_->warn("skipped {} bad lines; latest: line {}: {}{}{}", n, errors.front().line,
                 errors.front().field, errors.front().field.empty() ? "" : ": ",
                 errors.front().reason);
  }

 private:
  std::atomic<std::shared_ptr<const TcpConfig>> cfg_;
  api::EventSink& sink_;
  api::InputMetrics metrics_;
  std::shared_ptr<spdlog::logger> log_;
  TcpListener listener_;
  std::atomic<int64_t> last_log_{0};
  std::atomic<uint64_t> suppressed_{0};
  StreamRefusals refusals_;
  int64_t handshake_timeout_ms_ = 10'000;

 public:
  void setHandshakeTimeout(int64_t ms) {
    handshake_timeout_ms_ = ms;
    auto c = std::make_shared<TcpConfig>(*cfg_.load());
    c->handshake_timeout_ms = ms;
    cfg_.store(std::move(c));
  }
};

Connection::Connection(TcpInput& in, tcp::socket sock, std::shared_ptr<const TcpConfig> cfg,
                       std::unique_ptr<TcpListener::Slot> slot)
    : in_(in),
      sock_(std::move(sock), cfg->tls.ctx),
      deadline_(sock_.get_executor()),
      cfg_(std::move(cfg)),
      submitter_(sock_, in.sink(), in.metrics()),
      slot_(std::move(slot)) {
  buf_.resize(cfg_->read_buffer_bytes + simdjson::SIMDJSON_PADDING);
}

Connection::~Connection() = default;

void Connection::start() {
  awaiting_token_ = !cfg_->handshake_token.empty();
  if (!sock_.tls() && !awaiting_token_) return read();
  // A client that neither completes TLS nor sends its token line in time is dropped.
  deadline_.expires_after(std::chrono::milliseconds(cfg_->handshake_timeout_ms));
  deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->refuse(StreamRefusals::kTimeout, "no TLS handshake or token line in time", "");
  });
  if (!sock_.tls()) return read();
  sock_.handshake([self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return self->refuse(StreamRefusals::kTls, "TLS handshake failed", ec.message());
    std::string name;
    if (!self->sock_.peerAllowed(self->cfg_->tls.subjects, &name))
      return self->refuse(StreamRefusals::kCertificate, "client certificate not allowed",
                          "CN=" + name);
    if (!self->awaiting_token_) self->deadline_.cancel();
    self->read();
  });
}

void Connection::refuse(StreamRefusals::Reason r, const char* why, const std::string& detail) {
  deadline_.cancel();
  in_.refusals().refused(r, sock_.remote(),
                         detail.empty() ? why : std::string(why) + ": " + detail);
  sock_.close();
}

bool Connection::checkToken() {
  char* data = buf_.data();
  const char* nl = static_cast<const char*>(std::memchr(data, '\n', filled_));
  if (!nl) {
    if (filled_ >= 4096)
      refuse(StreamRefusals::kToken, "no token line", "the first line is longer than 4 KiB");
    return false;
  }
  std::string_view line(data, static_cast<size_t>(nl - data));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::string& want = cfg_->handshake_token;
  bool ok = line.size() == kTokenLine.size() + want.size() &&
            line.substr(0, kTokenLine.size()) == kTokenLine &&
            CRYPTO_memcmp(line.data() + kTokenLine.size(), want.data(), want.size()) == 0;
  if (!ok) {
    refuse(StreamRefusals::kToken, "wrong or missing token line", "");
    return false;
  }
  size_t used = static_cast<size_t>(nl - data) + 1;
  std::memmove(data, data + used, filled_ - used);
  filled_ -= used;
  ++line_;  // lines of errors count from the connection's first line
  awaiting_token_ = false;
  deadline_.cancel();
  return true;
}

void Connection::read() {
  if (eof_) return submitter_.finish();
  if (in_.stopping()) return;
  size_t room = cfg_->read_buffer_bytes - filled_;
  sock_.async_read_some(asio::buffer(buf_.data() + filled_, room),
                        [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                          if (ec) {
                            // A reset: nothing to acknowledge.
                            if (!StreamSocket::endOfStream(ec) || self->awaiting_token_) return;
                            self->eof_ = true;
                            // End of stream: a last line without its newline still counts.
                            if (self->filled_ > 0 && !self->skipping_) {
                              self->buf_[self->filled_] = '\n';
                              return self->onData(1);
                            }
                            return self->submitter_.finish();
                          }
                          self->onData(n);
                        });
}

void Connection::onData(size_t n) {
  filled_ += n;
  if (awaiting_token_ && !checkToken()) {
    if (awaiting_token_ && filled_ < 4096) read();  // more of the first line to come
    return;
  }
  char* data = buf_.data();
  NdjsonFrames f = nextNdjsonFrames(data, filled_, cfg_->read_buffer_bytes, skipping_);
  if (f.new_oversized) {
    in_.metrics().received(1);
    in_.metrics().rejected(api::Reject::kTooLarge);
  }
  if (f.discard_all) filled_ = 0;
  if (f.end == 0) return read();
  if (f.skip_ended) ++line_;
  size_t start = f.start, end = f.end;
  api::BatchBuilder b(cfg_->ingest, in_.sink().nowMs());
  int64_t first_line = line_;
  // The chunk ends with a newline, so the lines decoded are exactly the newlines consumed.
  auto decode_start = std::chrono::steady_clock::now();
  if (end > start)
    line_ += static_cast<int64_t>(
        decodeNdjson(data + start, end - start, buf_.size() - start, b, first_line));
  in_.metrics().decoded(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - decode_start).count());
  auto& m = in_.metrics();
  m.received(b.size() + b.errorCount());
  if (b.errorCount()) {
    auto& counts = b.rejectCounts();
    for (size_t i = 0; i < counts.size(); ++i)
      if (counts[i]) m.rejected(static_cast<api::Reject>(i), counts[i]);
    in_.logBadLines(b.errors(), b.errorCount());
  }
  std::memmove(data, data + end, filled_ - end);
  filled_ -= end;
  if (b.size() == 0) return read();
  submitter_.submit(b.take(), shared_from_this(), [this] { read(); });
}

}  // namespace

api::InputPlugin ndjsonTcpPlugin() {
  return {"ndjson_tcp", "native events as NDJSON over TCP or TLS, streamed",
          [](const config::PluginSection& s, config::ConfigErrors& e) {
            TcpConfig c;
            parse(s, e, c);
          },
          [](api::InputContext& ctx) -> std::unique_ptr<api::Input> {
            auto in = std::make_unique<TcpInput>(ctx);
            in->setHandshakeTimeout(ctx.config.server.handshake_timeout.count());
            return in;
          },
          [](const config::PluginSection& s) { return parseValid<TcpConfig>(s, parse).ingest; }};
}

}  // namespace triaged::plugins
