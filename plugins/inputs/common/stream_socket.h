// The connection of a stream input (ndjson_tcp, syslog over TCP): plain TCP, or TLS (RFC 5425
// for syslog) with optional mutual TLS (client certificates signed by a CA, optionally only
// some subjects). `tls:` of the input's section is read here into a context built once per
// (re)load, so a reload reads the certificates again and new connections use them; a
// connection keeps the context it started with. Used on the connection's I/O thread.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <prometheus/counter.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "triaged/api/metrics_hub.h"
#include "triaged/config/reader.h"

namespace triaged::plugins {

struct StreamTls {
  std::shared_ptr<boost::asio::ssl::context> ctx;  // null: plain TCP
  bool client_certs = false;                       // mutual TLS: a certificate is required
  std::vector<std::string> subjects;               // allowed common names; empty: any the CA signed
  bool enabled() const { return ctx != nullptr; }
};

// Reads `tls` (cert_file, key_file, client_ca_file, client_subjects) of an input section;
// errors name the key and say why a file cannot be used.
inline void readStreamTls(config::MapReader& parent, StreamTls& out) {
  namespace ssl = boost::asio::ssl;
  if (!parent.has("tls")) return;
  config::MapReader r(parent.take("tls"), parent.childPath("tls"), parent.sink());
  if (!r.valid()) return;
  std::string cert, key, ca;
  r.getString("cert_file", cert, true);
  r.getString("key_file", key, true);
  r.getString("client_ca_file", ca);
  r.getStringList("client_subjects", out.subjects);
  r.finish();
  if (!out.subjects.empty() && ca.empty())
    r.sink().add(r.node()["client_subjects"], r.childPath("client_subjects"),
                 "needs client_ca_file (the subjects of client certificates that CA signed)");
  if (cert.empty() || key.empty()) return;
  auto path = [&](const std::string& f) {
    std::filesystem::path p(f);
    return (p.is_relative() ? r.sink().baseDir() / p : p).string();
  };
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  const char* key_name = "cert_file";
  try {
    ctx->use_certificate_chain_file(path(cert));
    key_name = "key_file";
    ctx->use_private_key_file(path(key), ssl::context::pem);
    if (!ca.empty()) {
      key_name = "client_ca_file";
      ctx->load_verify_file(path(ca));
      ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      out.client_certs = true;
    }
  } catch (const std::exception& e) {
    r.sink().add(r.node()[key_name], r.childPath(key_name),
                 std::string("cannot be used: ") + e.what());
    return;
  }
  out.ctx = std::move(ctx);
}

// Connections a stream input refused (TLS handshake, client certificate, token line, too slow
// to present them): counted by reason (triaged_input_connections_refused_total{input,
// reason}) and logged at most once a second with the client's address. Any thread.
class StreamRefusals {
 public:
  enum Reason { kTls, kCertificate, kToken, kTimeout, kReasons };
  StreamRefusals(api::MetricsHub& hub, const std::string& input,
                 std::shared_ptr<spdlog::logger> log)
      : log_(std::move(log)) {
    auto& family = prometheus::BuildCounter()
                       .Name("triaged_input_connections_refused_total")
                       .Help("Connections a stream input refused before reading events from them.")
                       .Register(hub.registry());
    static const char* kNames[] = {"tls", "certificate", "token", "timeout"};
    for (int i = 0; i < kReasons; ++i)
      counters_[i] = &family.Add({{"input", input}, {"reason", kNames[i]}});
  }
  void refused(Reason r, const std::string& remote, const std::string& why) {
    counters_[r]->Increment();
    ++since_;
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    int64_t last = last_.load();
    if (now - last < 1'000'000'000 || !last_.compare_exchange_strong(last, now)) return;
    log_->warn("refused a connection from {}: {} ({} refused since the last message)", remote, why,
               since_.exchange(0));
  }

 private:
  std::shared_ptr<spdlog::logger> log_;
  prometheus::Counter* counters_[kReasons] = {};
  std::atomic<int64_t> last_{0};
  std::atomic<uint64_t> since_{0};
};

class StreamSocket {
 public:
  using tcp = boost::asio::ip::tcp;
  using TlsStream = boost::asio::ssl::stream<tcp::socket>;

  StreamSocket(tcp::socket s, std::shared_ptr<boost::asio::ssl::context> tls) : ctx_(tls) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    if (ctx_)
      tls_ = std::make_unique<TlsStream>(std::move(s), *ctx_);
    else
      plain_.emplace(std::move(s));
  }

  tcp::socket& lowest() { return tls_ ? tls_->next_layer() : *plain_; }
  auto get_executor() { return lowest().get_executor(); }
  bool tls() const { return tls_ != nullptr; }
  const std::string& remote() const { return remote_; }

  template <class Handler>
  void handshake(Handler&& h) {
    tls_->async_handshake(boost::asio::ssl::stream_base::server, std::forward<Handler>(h));
  }
  template <class Buffer, class Handler>
  void async_read_some(const Buffer& b, Handler&& h) {
    if (tls_)
      tls_->async_read_some(b, std::forward<Handler>(h));
    else
      plain_->async_read_some(b, std::forward<Handler>(h));
  }
  // The end of the sender's stream: a TCP half-close, or TLS's close_notify (or a TLS peer
  // that closed its socket without one).
  static bool endOfStream(const boost::system::error_code& ec) {
    return ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated;
  }
  void close() {
    boost::system::error_code ec;
    lowest().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close(ec);
  }
  // The client certificate's common name ("" without one).
  std::string peerName() {
    if (!tls_) return {};
    X509* cert = SSL_get1_peer_certificate(tls_->native_handle());
    if (!cert) return {};
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    X509_free(cert);
    return cn;
  }
  // Whether the peer's certificate is one of `subjects` (any when the list is empty).
  bool peerAllowed(const std::vector<std::string>& subjects, std::string* name) {
    *name = peerName();
    if (subjects.empty()) return true;
    for (const auto& s : subjects)
      if (s == *name) return true;
    return false;
  }

 private:
  std::shared_ptr<boost::asio::ssl::context> ctx_;  // outlives the stream that uses it
  std::unique_ptr<TlsStream> tls_;
  std::optional<tcp::socket> plain_;
  std::string remote_;
};

}  // namespace triaged::plugins
