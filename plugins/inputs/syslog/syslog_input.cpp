#include "syslog_input.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>

#include "../common/input_config.h"
#include "../common/stream_submitter.h"
#include "../common/tcp_listener.h"
#include "syslog_parser.h"
#include "triaged/api/log.h"
#include "triaged/config/loader.h"

namespace triaged::plugins {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

struct SyslogConfig {
  api::IngestOptions ingest;
  std::string listen_udp, listen_tcp;  // "" = off
  uint64_t max_connections = 1024;
  std::vector<std::shared_ptr<const SyslogRule>> rules;
  StreamTls tls;  // listen_tcp over TLS (RFC 5425), mutual TLS as authentication
};

void parse(const config::PluginSection& s, config::ConfigErrors& errors, SyslogConfig& c) {
  c.ingest.resolve_timeout_ms = 0;  // syslog events are one-off: they resolve by a rule, if at all
  readInputSection(s, errors, c.ingest, {}, [&](config::MapReader& r) {
    for (auto* key : {"listen_udp", "listen_tcp"}) {
      std::string v, h;
      uint16_t p;
      YAML::Node n = r.node()[key];
      r.getString(key, v);
      if (!v.empty() && !config::parseListen(v, h, p))
        r.sink().add(n, r.childPath(key), "invalid listen address \"" + v + "\"");
      (std::string(key) == "listen_udp" ? c.listen_udp : c.listen_tcp) = v;
    }
    r.getUnsigned("max_connections", c.max_connections, 1'000'000);
    c.rules = readSyslogRules(r);
    readStreamTls(r, c.tls);
  });
  refuseBearerToken(s, errors,
                    "use tls with client_ca_file (mutual TLS) for listen_tcp, or a private listen "
                    "address");
  if (c.tls.enabled() && c.listen_tcp.empty())
    errors.push_back({s.file, s.line, 0, s.path() + ".tls",
                      "is for listen_tcp (syslog over TLS, RFC 5425); set listen_tcp"});
  if (c.listen_udp.empty() && c.listen_tcp.empty())
    errors.push_back({s.file, s.line, 0, s.path(), "set listen_udp, listen_tcp or both"});
  if (c.rules.empty())
    errors.push_back({s.file, s.line, 0, s.path() + ".rules", "at least one rule is required"});
}

class SyslogInput;

// Decodes messages into a batch; counts what no rule wants.
struct Decoder {
  static void add(const SyslogConfig& c, api::BatchBuilder& b, std::string_view msg,
                  api::InputMetrics& m) {
    std::string err;
    b.begin(static_cast<int64_t>(b.size()));
    auto parsed = parseSyslog(msg, b.now(), &err);
    if (!parsed) {
      b.error("", err, api::Reject::kInvalidValue);
      b.finish();
      return;
    }
    if (!applySyslogRules(c.rules, *parsed, b)) {
      b.events().pop_back();
      m.received(1);
      m.rejected(api::Reject::kNoRule);
      return;
    }
    b.finish();
  }
};

class TcpConn : public std::enable_shared_from_this<TcpConn> {
 public:
  TcpConn(SyslogInput& in, tcp::socket s, std::shared_ptr<const SyslogConfig> cfg,
          std::unique_ptr<TcpListener::Slot> slot);
  void start();
  void read();

 private:
  void frames();
  void refuse(StreamRefusals::Reason r, const std::string& why);
  SyslogInput& in_;
  std::shared_ptr<const SyslogConfig> cfg_;
  StreamSocket sock_;
  asio::steady_timer deadline_;  // the TLS handshake
  StreamSubmitter submitter_;    // back-pressure, and the half-close acknowledgement
  std::string buf_;
  bool eof_ = false;
  std::unique_ptr<TcpListener::Slot> slot_;  // counted against max_connections while open
};

class SyslogInput final : public api::Input {
 public:
  explicit SyslogInput(api::InputContext& ctx)
      : sink_(*ctx.sink),
        metrics_(ctx.metrics, ctx.section.name, ctx.config.server.io_threads),
        io_(ctx.io_context),
        log_(api::logger("input:" + ctx.section.name)),
        refusals_(ctx.metrics, ctx.section.name, log_),
        handshake_timeout_ms_(ctx.config.server.handshake_timeout.count()) {
    cfg_.store(std::make_shared<SyslogConfig>(parseValid<SyslogConfig>(ctx.section, parse)));
    auto c = cfg_.load();
    std::string host;
    uint16_t port;
    if (!c->listen_udp.empty()) {
      config::parseListen(c->listen_udp, host, port);
      udp_ = std::make_unique<udp::socket>(io_(0));
      udp::endpoint ep(asio::ip::make_address(host), port);
      boost::system::error_code ec;
      udp_->open(ep.protocol(), ec);
      if (!ec) udp_->bind(ep, ec);
      if (ec)
        throw std::runtime_error("cannot listen on udp " + c->listen_udp + ": " + ec.message());
      udp_->non_blocking(true);
      udp_port_ = udp_->local_endpoint().port();
    }
    if (!c->listen_tcp.empty()) {
      config::parseListen(c->listen_tcp, host, port);
      listener_ = std::make_unique<TcpListener>(io_, ctx.io_threads, host, port,
                                                "tcp " + c->listen_tcp, log_);
    }
  }

  void start() override {
    if (udp_) asio::post(udp_->get_executor(), [this] { waitUdp(); });
    if (listener_)
      listener_->start(
          [this] { return cfg_.load()->max_connections; },
          [this](tcp::socket s, std::unique_ptr<TcpListener::Slot> slot) {
            std::make_shared<TcpConn>(*this, std::move(s), cfg_.load(), std::move(slot))->start();
          });
  }

  void stop() override {
    stopping_ = true;
    if (listener_) listener_->stop();
    if (!udp_) return;
    std::promise<void> done;
    asio::post(udp_->get_executor(), [this, &done] {
      boost::system::error_code ec;
      udp_->close(ec);
      done.set_value();
    });
    done.get_future().wait_for(std::chrono::seconds(5));
  }

  // The TCP port when TCP is on, else the UDP port (tests and logs).
  uint16_t boundPort() const override { return listener_ ? listener_->port() : udp_port_; }
  void reconfigure(const config::PluginSection& s) override {
    cfg_.store(std::make_shared<SyslogConfig>(parseValid<SyslogConfig>(s, parse)));
  }

  std::shared_ptr<const SyslogConfig> cfg() const { return cfg_.load(); }
  api::EventSink& sink() { return sink_; }
  api::InputMetrics& metrics() { return metrics_; }
  bool stopping() const { return stopping_; }
  void countErrors(api::BatchBuilder& b) {
    auto& counts = b.rejectCounts();
    for (size_t i = 0; i < counts.size(); ++i)
      if (counts[i]) metrics_.rejected(static_cast<api::Reject>(i), counts[i]);
    if (!b.errors().empty()) log_->debug("bad syslog message: {}", b.errors().front().reason);
  }

 private:
  void waitUdp() {
    udp_->async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
      if (ec || stopping_) return;
      // Drain what the kernel holds (up to 1024 datagrams) into one batch.
      auto c = cfg_.load();
      api::BatchBuilder b(c->ingest, sink_.nowMs());
      char buf[65536];
      for (int i = 0; i < 1024; ++i) {
        udp::endpoint from;
        size_t n = udp_->receive_from(asio::buffer(buf), from, 0, ec);
        if (ec) break;
        Decoder::add(*c, b, std::string_view(buf, n), metrics_);
      }
      metrics_.received(b.size() + b.errorCount());
      countErrors(b);
      if (b.size()) {
        size_t n = b.size();
        auto batch = b.take();
        auto st = sink_.submit(batch, {});
        if (st == api::SubmitStatus::kAccepted)
          metrics_.accepted(n);
        else
          metrics_.rejected(api::refusalReason(st), n);
      }
      waitUdp();
    });
  }

  std::atomic<std::shared_ptr<const SyslogConfig>> cfg_;
  api::EventSink& sink_;
  api::InputMetrics metrics_;
  std::function<asio::io_context&(size_t)> io_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<udp::socket> udp_;
  std::unique_ptr<TcpListener> listener_;
  uint16_t udp_port_ = 0;
  std::atomic<bool> stopping_{false};
  StreamRefusals refusals_;
  int64_t handshake_timeout_ms_;

 public:
  StreamRefusals& refusals() { return refusals_; }
  int64_t handshakeTimeoutMs() const { return handshake_timeout_ms_; }
};

TcpConn::TcpConn(SyslogInput& in, tcp::socket s, std::shared_ptr<const SyslogConfig> cfg,
                 std::unique_ptr<TcpListener::Slot> slot)
    : in_(in),
      cfg_(std::move(cfg)),
      sock_(std::move(s), cfg_->tls.ctx),
      deadline_(sock_.get_executor()),
      submitter_(sock_, in.sink(), in.metrics()),
      slot_(std::move(slot)) {}

void TcpConn::start() {
  if (!sock_.tls()) return read();
  deadline_.expires_after(std::chrono::milliseconds(in_.handshakeTimeoutMs()));
  deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->refuse(StreamRefusals::kTimeout, "no TLS handshake in time");
  });
  sock_.handshake([self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return self->refuse(StreamRefusals::kTls, "TLS handshake failed: " + ec.message());
    std::string name;
    if (!self->sock_.peerAllowed(self->cfg_->tls.subjects, &name))
      return self->refuse(StreamRefusals::kCertificate,
                          "client certificate not allowed: CN=" + name);
    self->deadline_.cancel();
    self->read();
  });
}

void TcpConn::refuse(StreamRefusals::Reason r, const std::string& why) {
  deadline_.cancel();
  in_.refusals().refused(r, sock_.remote(), why);
  sock_.close();
}

void TcpConn::read() {
  if (eof_) return submitter_.finish();
  if (in_.stopping()) return;
  size_t old = buf_.size();
  buf_.resize(old + 65536);
  sock_.async_read_some(asio::buffer(buf_.data() + old, 65536),
                        [self = shared_from_this(), old](boost::system::error_code ec, size_t n) {
                          self->buf_.resize(old + n);
                          if (ec) {
                            if (!StreamSocket::endOfStream(ec)) return;
                            self->eof_ = true;
                            if (!self->buf_.empty() && self->buf_.back() != '\n' &&
                                !std::isdigit(static_cast<unsigned char>(self->buf_[0])))
                              self->buf_.push_back('\n');  // a last line without its newline counts
                          }
                          self->frames();
                        });
}

void TcpConn::frames() {
  auto c = in_.cfg();
  api::BatchBuilder b(c->ingest, in_.sink().nowMs());
  FrameDrop dropped;
  size_t used = splitSyslogFrames(
      buf_, c->ingest.max_event_bytes,
      [&](std::string_view msg) { Decoder::add(*c, b, msg, in_.metrics()); }, &dropped);
  if (dropped != FrameDrop::kNone)
    in_.metrics().rejected(dropped == FrameDrop::kTooLarge ? api::Reject::kTooLarge
                                                           : api::Reject::kInvalidValue);
  buf_.erase(0, used);
  in_.metrics().received(b.size() + b.errorCount());
  in_.countErrors(b);
  if (b.size() == 0) return read();
  submitter_.submit(b.take(), shared_from_this(), [this] { read(); });
}

}  // namespace

api::InputPlugin syslogPlugin() {
  return {"syslog",
          "syslog (RFC 5424, RFC 3164) over UDP and TCP, with RE2 extraction rules",
          [](const config::PluginSection& s, config::ConfigErrors& e) {
            SyslogConfig c;
            parse(s, e, c);
          },
          [](api::InputContext& ctx) -> std::unique_ptr<api::Input> {
            return std::make_unique<SyslogInput>(ctx);
          },
          {}};  // not the native event format: replay cannot decode as this input
}

}  // namespace triaged::plugins
