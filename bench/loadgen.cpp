// triaged-loadgen: replays pre-generated event streams against a running triaged as fast as
// possible or at a set rate, over TCP NDJSON, HTTP NDJSON batches, Alertmanager /api/v2/alerts
// batches, Alertmanager webhooks, PagerDuty events or single-event requests. It checks the
// result (alert count, and the count of every fingerprint) before it reports a figure, and
// reports the parse-only ceiling (simdjson alone over the same bytes, one thread) alongside.
//
// Two profiles: `duplicate` (the ceiling: every repeat byte-identical to the alert it repeats)
// and `realistic` (see realistic.h: values and summaries that change, resolutions and
// re-firings, a flapping subset, new keys arriving over time, ten labels); `--passes` replays
// the stream into the same daemon and reports every pass, and the realistic verification
// checks each alert's count, status, last summary and last value.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loadgen_client.h"
#include "realistic.h"

using Clock = std::chrono::steady_clock;
using loadgen::connectTo;
using loadgen::Http;
using loadgen::metric;
using loadgen::verify;
using loadgen::writeAll;

namespace {

struct Options {
  std::string mode = "tcp";
  uint16_t port = 9470, tcp_port = 9471;
  uint64_t events = 1'000'000, distinct = 100'000;
  unsigned batch = 1000, connections = 2;
  double rate = 0;  // events/s; 0 = as fast as possible
  bool verify = true;
  unsigned timeout_s = 300;
  uint64_t events_max = 0;  // verify mode: events sent (answered or not)
  std::string profile = "duplicate";
  unsigned passes = 1;
  unsigned settle_s = 0;
  uint64_t seed = 1;
  std::string tls_ca, tls_cert, tls_key;  // tcp mode over TLS (mutual with cert and key)
};

// A TLS client context for the tcp mode: the server verified against `ca`, and a client
// certificate when given (mutual TLS).
SSL_CTX* tlsContext(const Options& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx || SSL_CTX_load_verify_locations(ctx, o.tls_ca.c_str(), nullptr) != 1)
    throw std::runtime_error("cannot load --tls-ca " + o.tls_ca);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!o.tls_cert.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx, o.tls_cert.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx, o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1))
    throw std::runtime_error("cannot load --tls-cert/--tls-key");
  return ctx;
}

// About 350 bytes per event, as a monitoring event of this size usually is.
std::string nativeEvent(uint64_t host) {
  char buf[512];
  int n = std::snprintf(
      buf, sizeof buf,
      R"({"resource":"host-%07llu.dc1.example.com","check":"DiskFull","severity":"critical",)"
      R"("service":"billing","summary":"Filesystem /var on host-%07llu is 97%% full",)"
      R"("labels":{"team":"storage","env":"prod","dc":"fra1","cluster":"c7","mount":"/var"},)"
      R"("annotations":{"runbook":"https://runbooks.example.com/disk-full"}})",
      static_cast<unsigned long long>(host), static_cast<unsigned long long>(host));
  return std::string(buf, static_cast<size_t>(n));
}

std::string amAlert(uint64_t host) {
  char buf[512];
  int n = std::snprintf(
      buf, sizeof buf,
      R"({"labels":{"alertname":"DiskFull","instance":"host-%07llu:9100","job":"node",)"
      R"("severity":"critical","team":"storage","mount":"/var"},)"
      R"("annotations":{"summary":"Filesystem /var on host-%07llu is 97%% full"},)"
      R"("startsAt":"2026-01-01T10:00:00Z","endsAt":"2099-01-01T10:05:00Z",)"
      R"("generatorURL":"http://prometheus:9090/graph?g0.expr=disk"})",
      static_cast<unsigned long long>(host), static_cast<unsigned long long>(host));
  return std::string(buf, static_cast<size_t>(n));
}

uint64_t hostOf(uint64_t i, const Options& o) { return i % o.distinct; }

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};
Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
  };
  p.p50 = at(0.5);
  p.p90 = at(0.9);
  p.p99 = at(0.99);
  p.max = v.back();
  return p;
}

// What the duplicate profile expects: `total` events spread evenly over the keys.
std::vector<loadgen::Expected> uniform(uint64_t distinct, uint64_t total) {
  std::vector<loadgen::Expected> v(distinct);
  for (uint64_t k = 0; k < distinct; ++k) v[k].count = total / distinct + (k < total % distinct);
  return v;
}

// Waits (bounded) until the dedup shards have processed `n` events.
bool waitProcessed(const Options& o, double n, Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    if (metric(o.port, "triaged_dedup_events_total") >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

double parseBaseline(const std::vector<std::string>& lines) {
  // simdjson alone over the same bytes: iterate each line and touch every field, one thread.
  size_t bytes = 0;
  for (auto& l : lines) bytes += l.size();
  simdjson::ondemand::parser parser;
  std::vector<simdjson::padded_string> docs;
  docs.reserve(lines.size());
  for (auto& l : lines) docs.emplace_back(l);
  uint64_t sink = 0;
  auto t0 = Clock::now();
  for (int rep = 0; rep < 3; ++rep)
    for (auto& d : docs) {
      auto doc = parser.iterate(d);
      for (auto f : doc.get_object()) {
        std::string_view k = f.unescaped_key();
        sink += k.size();
        auto v = f.value();
        if (v.type() == simdjson::ondemand::json_type::object) {
          for (auto g : v.get_object()) sink += std::string_view(g.value().get_string()).size();
        } else if (v.type() == simdjson::ondemand::json_type::number) {
          sink += static_cast<uint64_t>(double(v.get_double()));
        } else {
          sink += std::string_view(v.get_string()).size();
        }
      }
    }
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (sink == 42) std::printf(" ");
  return 3.0 * static_cast<double>(docs.size()) / s;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"triaged load generator"};
  app.add_option("--mode", o.mode,
                 "tcp | http-ndjson | am-v2 | am-webhook | pagerduty | single | probe | verify")
      ->required();
  app.add_option("--port", o.port, "triaged HTTP port");
  app.add_option("--tcp-port", o.tcp_port, "triaged ndjson_tcp port");
  app.add_option("--events", o.events, "events to send");
  app.add_option("--distinct", o.distinct, "distinct fingerprints (events beyond are duplicates)");
  app.add_option("--batch", o.batch, "events per HTTP request");
  app.add_option("--connections", o.connections, "parallel connections");
  app.add_option("--rate", o.rate, "offered events/s (0: as fast as possible)");
  app.add_flag("!--no-verify", o.verify, "skip the correctness check");
  app.add_option("--timeout", o.timeout_s, "give up after this many seconds");
  app.add_option("--events-max", o.events_max, "verify mode: events sent, some perhaps unanswered");
  app.add_option("--profile", o.profile,
                 "duplicate (repeats byte-identical: the ceiling) | realistic (realistic.h)");
  app.add_option("--passes", o.passes, "send the stream this many times into the same daemon");
  app.add_option("--settle", o.settle_s,
                 "after the load, watch RSS this many seconds and report its lowest (at rest: "
                 "after the daemon's idle caches are given back and its heap trimmed)");
  app.add_option("--seed", o.seed, "realistic profile: the stream's seed");
  app.add_option("--tls-ca", o.tls_ca,
                 "tcp mode over TLS: the CA that signed triaged's certificate");
  app.add_option("--tls-cert", o.tls_cert, "tcp mode: a client certificate (mutual TLS)");
  app.add_option("--tls-key", o.tls_key, "tcp mode: the client certificate's key");
  CLI11_PARSE(app, argc, argv);
  if (o.distinct == 0 || o.distinct > o.events) o.distinct = o.events;
  if (o.mode == "verify") {
    // Only the correctness check, after another generator (wrk) sent --events events.
    if (o.events_max == 0) return verify(o.port, uniform(o.distinct, o.events), false) ? 0 : 1;
    // wrk stops with requests in flight that may or may not have been applied: check the alert
    // count, and that the counts add up to between the answered and the sent requests.
    Http h(o.port);
    std::string body;
    h.get("/api/v1/alerts?limit=1", &body);
    simdjson::dom::parser parser;
    uint64_t matched = parser.parse(body)["matched"].get_uint64();
    double sum = metric(o.port, "triaged_dedup_events_total");
    bool ok = matched == o.distinct && sum >= static_cast<double>(o.events) &&
              sum <= static_cast<double>(o.events_max);
    std::printf(
        "verify: %llu alerts (want %llu), %.0f events applied (answered %llu, sent %llu): %s\n",
        (unsigned long long)matched, (unsigned long long)o.distinct, sum,
        (unsigned long long)o.events, (unsigned long long)o.events_max, ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
  }
  if (o.mode == "probe") {
    // Read-side timings on whatever is loaded: a page of 1000 alerts, and a /metrics scrape.
    auto timeIt = [&](const std::string& path) {
      std::vector<double> v;
      Http h(o.port);
      std::string body;
      for (int i = 0; i < 20; ++i) {
        auto s = Clock::now();
        if (h.get(path, &body) != 200) throw std::runtime_error("GET " + path + " failed");
        v.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      }
      return percentiles(v);
    };
    double alerts = metric(o.port, "triaged_alerts_active");
    double rss = metric(o.port, "process_resident_memory_bytes");
    auto list = timeIt("/api/v1/alerts?limit=1000");
    auto filtered =
        timeIt("/api/v1/alerts?limit=1000&filter=%7Bteam%3D%22storage%22%2Cdc%3D~%22fra.%2A%22%7D");
    // Selective: one alert of them all (the resource of host 42), narrowed by the signatures.
    auto one = timeIt("/api/v1/alerts?limit=1000&resource=host-0000042.dc1.example.com");
    auto scrape = timeIt("/metrics");
    std::printf("probe: %.0f active alerts, RSS %.1f MiB\n", alerts, rss / 1048576.0);
    std::printf("GET /api/v1/alerts?limit=1000 (ms): p50 %.1f p90 %.1f max %.1f\n", list.p50,
                list.p90, list.max);
    std::printf(
        "GET /api/v1/alerts?limit=1000&filter={team=\"storage\",dc=~\"fra.*\"} (ms): p50 %.1f p90 "
        "%.1f max %.1f\n",
        filtered.p50, filtered.p90, filtered.max);
    std::printf(
        "GET /api/v1/alerts?limit=1000&resource=host-0000042.dc1.example.com (ms): p50 %.1f p90 "
        "%.1f max %.1f\n",
        one.p50, one.p90, one.max);
    std::printf("GET /metrics (ms): p50 %.1f p90 %.1f max %.1f\n", scrape.p50, scrape.p90,
                scrape.max);
    return 0;
  }

  // Pre-generate everything before timing.
  const bool realistic = o.profile == "realistic";
  if (!realistic && o.profile != "duplicate") {
    std::fprintf(stderr, "--profile: expected duplicate or realistic, got %s\n", o.profile.c_str());
    return 2;
  }
  if (realistic && o.mode != "tcp" && o.mode != "http-ndjson" && o.mode != "single") {
    std::fprintf(stderr, "--profile realistic: modes tcp, http-ndjson and single only\n");
    return 2;
  }
  if (o.passes == 0) o.passes = 1;
  std::vector<std::string> lines(o.events);
  std::vector<loadgen::Expected> expected;
  if (realistic) {
    expected.resize(o.distinct);
    for (unsigned c = 0; c < o.connections; ++c)
      loadgen::RealisticStream::generate(o.distinct, c, o.connections, o.seed, lines,
                                         o.events * c / o.connections,
                                         o.events * (c + 1) / o.connections, expected);
    for (auto& e : expected) e.count *= o.passes;
  } else {
    for (uint64_t i = 0; i < o.events; ++i)
      lines[i] = (o.mode == "am-v2" || o.mode == "am-webhook") ? amAlert(hostOf(i, o))
                                                               : nativeEvent(hostOf(i, o));
    expected = uniform(o.distinct, o.events * o.passes);
  }
  size_t total_bytes = 0;
  for (auto& l : lines) total_bytes += l.size() + 1;
  double baseline = parseBaseline(std::vector<std::string>(
      lines.begin(), lines.begin() + std::min<size_t>(lines.size(), 200000)));

  double rss_before = metric(o.port, "process_resident_memory_bytes");
  std::vector<std::vector<double>> lat(o.connections);
  std::atomic<uint64_t> refused{0};
  auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  SSL_CTX* tls = o.tls_ca.empty() ? nullptr : tlsContext(o);
  std::vector<double> pass_rates;
  for (unsigned pass = 0; pass < o.passes; ++pass) {
    double before = metric(o.port, "triaged_dedup_events_total");
    auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (unsigned c = 0; c < o.connections; ++c) {
      threads.emplace_back([&, c] {
        uint64_t from = o.events * c / o.connections, to = o.events * (c + 1) / o.connections;
        if (o.mode == "tcp") {
          int fd = connectTo(o.tcp_port);
          SSL* ssl = nullptr;
          if (tls) {
            ssl = SSL_new(tls);
            SSL_set_fd(ssl, fd);
            if (SSL_connect(ssl) != 1) {
              std::fprintf(stderr, "TLS handshake failed\n");
              std::exit(1);
            }
          }
          std::string chunk;
          for (uint64_t i = from; i < to; ++i) {
            chunk += lines[i];
            chunk.push_back('\n');
            if (chunk.size() > (1 << 20) || i + 1 == to) {
              if (ssl) {
                for (size_t off = 0; off < chunk.size();) {
                  int w = SSL_write(ssl, chunk.data() + off, static_cast<int>(chunk.size() - off));
                  if (w <= 0) {
                    std::fprintf(stderr, "TLS write failed\n");
                    std::exit(1);
                  }
                  off += static_cast<size_t>(w);
                }
              } else {
                writeAll(fd, chunk.data(), chunk.size());
              }
              chunk.clear();
            }
          }
          char tmp[16];
          if (ssl) {  // close_notify: triaged closes once everything is applied
            SSL_shutdown(ssl);
            while (SSL_read(ssl, tmp, sizeof tmp) > 0) {
            }
            SSL_free(ssl);
          } else {
            ::shutdown(fd, SHUT_WR);
            while (::recv(fd, tmp, sizeof tmp, 0) > 0) {
            }
          }
          ::close(fd);
          return;
        }
        Http h(o.port);
        unsigned per = o.mode == "single" || o.mode == "pagerduty" ? 1 : o.batch;
        double interval = o.rate > 0 ? per / (o.rate / o.connections) : 0;
        auto next = Clock::now();
        for (uint64_t i = from; i < to && Clock::now() < deadline; i += per) {
          uint64_t end = std::min<uint64_t>(to, i + per);
          std::string body, path, ctype = "application/json";
          if (o.mode == "http-ndjson") {
            path = "/api/v1/events";
            ctype = "application/x-ndjson";
            for (uint64_t k = i; k < end; ++k) body += lines[k] + "\n";
          } else if (o.mode == "single") {
            path = "/api/v1/events";
            body = lines[i];
          } else if (o.mode == "am-v2") {
            path = "/api/v2/alerts";
            body = "[";
            for (uint64_t k = i; k < end; ++k) body += (k > i ? "," : "") + lines[k];
            body += "]";
          } else if (o.mode == "am-webhook") {
            path = "/api/v1/alertmanager";
            body =
                R"({"version":"4","status":"firing","receiver":"bench","groupLabels":{},"commonLabels":{},)"
                R"("commonAnnotations":{},"externalURL":"http://am","alerts":[)";
            for (uint64_t k = i; k < end; ++k) {
              std::string a = lines[k];
              a.insert(1, "\"status\":\"firing\",");
              body += (k > i ? "," : "") + a;
            }
            body += "]}";
          } else if (o.mode == "pagerduty") {
            path = "/v2/enqueue";
            char buf[600];
            std::snprintf(
                buf, sizeof buf,
                R"({"routing_key":"0123456789abcdef0123456789abcdef","event_action":"trigger",)"
                R"("dedup_key":"host-%07llu","payload":{"summary":"Filesystem /var is 97%% full",)"
                R"("source":"host-%07llu.dc1.example.com","severity":"critical","component":"disk"}})",
                (unsigned long long)hostOf(i, o), (unsigned long long)hostOf(i, o));
            body = buf;
          }
          if (interval > 0) {
            next += std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double>(interval));
            std::this_thread::sleep_until(next);
          }
          auto s = Clock::now();
          int st;
          while ((st = h.post(path, ctype, body)) == 429) ++refused;  // back-pressure: resend
          if (st / 100 != 2) {
            std::fprintf(stderr, "request answered %d\n", st);
            std::exit(1);
          }
          lat[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
        }
      });
    }
    for (auto& t : threads) t.join();
    // TCP: each connection's EOF (after our half-close) already means its events were applied.
    bool done =
        o.mode != "tcp" || waitProcessed(o, before + static_cast<double>(o.events), deadline);
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!done) {
      std::fprintf(stderr, "timed out before every event was processed\n");
      return 1;
    }
    pass_rates.push_back(static_cast<double>(o.events) / secs);
    if (o.passes > 1)
      std::printf("pass %u: %.0f events/s in %.3f s; RSS %.1f MiB\n", pass + 1, pass_rates.back(),
                  secs, metric(o.port, "process_resident_memory_bytes") / 1048576.0);
  }
  // The figure: the first pass alone, or the passes after it (steady state) when there are more.
  double rate = pass_rates[0];
  if (pass_rates.size() > 1) {
    double sum = 0;
    for (size_t i = 1; i < pass_rates.size(); ++i) sum += 1.0 / pass_rates[i];
    rate = static_cast<double>(pass_rates.size() - 1) / sum;
  }
  double secs = static_cast<double>(o.events) / rate;
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  auto p = percentiles(all);
  if (o.verify && !verify(o.port, expected, realistic)) return 1;
  double rss_after = metric(o.port, "process_resident_memory_bytes");
  double active = metric(o.port, "triaged_alerts_active");
  std::printf(
      "mode=%s profile=%s passes=%u events=%llu distinct=%llu duplicates=%.1f%% batch=%u "
      "connections=%u bytes=%zu\n",
      o.mode.c_str(), o.profile.c_str(), o.passes, (unsigned long long)o.events,
      (unsigned long long)o.distinct,
      100.0 * (1.0 - static_cast<double>(o.distinct) / static_cast<double>(o.events)), o.batch,
      o.connections, total_bytes);
  std::printf(
      "result: %.0f events/s%s in %.3f s; parse-only baseline %.0f events/s (1 thread); ratio "
      "%.2f\n",
      rate, pass_rates.size() > 1 ? " (passes after the first)" : "", secs, baseline,
      rate / baseline);
  std::printf(
      "memory: RSS %.1f MiB before, %.1f MiB after, %.0f active alerts: %.0f bytes per alert "
      "beyond the base\n",
      rss_before / 1048576.0, rss_after / 1048576.0, active,
      (rss_after - rss_before) / std::max(1.0, active));
  if (o.settle_s > 0) {
    // Idle, the daemon gives back SQLite's page cache (after 1 s), the batches kept for the
    // inputs and glibc's free pages (at a checkpoint, every 10 s by default).
    double lowest = rss_after, at = 0;
    auto start = Clock::now();
    while (Clock::now() - start < std::chrono::seconds(o.settle_s)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      double rss = metric(o.port, "process_resident_memory_bytes");
      if (rss < lowest) {
        lowest = rss;
        at = std::chrono::duration<double>(Clock::now() - start).count();
      }
    }
    std::printf(
        "memory at rest: RSS %.1f MiB (lowest within %u s, reached after %.1f s): %.0f bytes per "
        "alert beyond the base\n",
        lowest / 1048576.0, o.settle_s, at, (lowest - rss_before) / std::max(1.0, active));
  }
  if (!all.empty())
    std::printf(
        "latency per request (ms): p50 %.3f p90 %.3f p99 %.3f max %.3f; requests %zu; 429 answers "
        "%llu\n",
        p.p50, p.p90, p.p99, p.max, all.size(), (unsigned long long)refused.load());
  return 0;
}
