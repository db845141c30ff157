// The HTTP server's metrics: requests by route and status class, their duration, and what a
// server limit refused, by reason. Included by the server and its sessions only.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>
#include <unordered_map>

#include "server/http_server.h"

namespace triaged::engine {

struct HttpServer::Metrics {
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Family<prometheus::Counter>& rejected;
  prometheus::Gauge& active;
  prometheus::Counter& accepted;
  struct PerRoute {
    prometheus::Counter* by_class[6]{};  // index status/100
    prometheus::Histogram* duration = nullptr;
  };
  std::unordered_map<const api::Route*, PerRoute> routes;
  PerRoute unmatched;
  std::unordered_map<std::string, prometheus::Counter*> reasons;

  explicit Metrics(prometheus::Registry& r)
      : requests(prometheus::BuildCounter()
                     .Name("triaged_http_requests_total")
                     .Help("HTTP requests answered, by route and status class.")
                     .Register(r)),
        duration(prometheus::BuildHistogram()
                     .Name("triaged_http_request_duration_seconds")
                     .Help("Time from a request's complete headers to its response being queued.")
                     .Register(r)),
        rejected(prometheus::BuildCounter()
                     .Name("triaged_http_rejected_total")
                     .Help("Requests and connections refused by a server limit, by reason.")
                     .Register(r)),
        active(prometheus::BuildGauge()
                   .Name("triaged_http_connections_active")
                   .Help("Open HTTP connections.")
                   .Register(r)
                   .Add({})),
        accepted(prometheus::BuildCounter()
                     .Name("triaged_http_connections_accepted_total")
                     .Help("HTTP connections accepted.")
                     .Register(r)
                     .Add({})) {
    for (const char* reason : {"connection_limit", "header_too_large", "body_too_large",
                               "header_timeout", "body_timeout", "idle_timeout", "write_timeout",
                               "bad_request", "unauthorized", "forbidden", "tls_handshake"})
      reasons[reason] = &rejected.Add({{"reason", reason}});
  }

  PerRoute make(const std::string& name) {
    static const prometheus::Histogram::BucketBoundaries kBuckets{
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
        0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
    PerRoute p;
    static const char* kClass[] = {"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int c = 1; c <= 5; ++c)
      p.by_class[c] = &requests.Add({{"route", name}, {"code", kClass[c]}});
    p.by_class[0] = p.by_class[1];
    p.duration = &duration.Add({{"route", name}}, kBuckets);
    return p;
  }
  void reject(const char* reason) { reasons.at(reason)->Increment(); }
};

}  // namespace triaged::engine
