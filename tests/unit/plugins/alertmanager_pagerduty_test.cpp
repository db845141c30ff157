// Real payloads (shapes from Alertmanager, Grafana, Prometheus and PagerDuty) through the real
// input plugins, over a real HTTP server on 127.0.0.1, into a real pipeline.
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>

#include "../server/http_client.h"
#include "app/full_config.h"
#include "builtin_plugins.h"
#include "pipeline/pipeline.h"
#include "rest/alerts_api.h"
#include "server/http_server.h"
#include "triaged/config/loader.h"

using namespace triaged;

namespace {

struct Rig {
  engine::ManualClock clock{1'767'261'600'000};  // 2026-01-01T10:00:00Z
  api::MetricsHub hub;
  engine::IoPool pool{1};
  api::Router router;
  std::unique_ptr<engine::Pipeline> pipeline;
  std::unique_ptr<engine::HttpServer> server;
  std::vector<std::unique_ptr<api::Input>> inputs;
  config::ConfigPtr cfg;
  uint16_t port = 0;

  explicit Rig(const std::string& inputs_yaml) {
    // One file per process: CTest runs test cases as parallel processes.
    auto dir = std::filesystem::temp_directory_path() /
               ("triaged-plugin-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto file = dir / "c.yaml";
    std::ofstream(file) << "server: {io_threads: 1}\ninputs:\n" << inputs_yaml;
    auto plugins = plugins::builtinPlugins();
    cfg = engine::loadFullConfig(file.string(), plugins);
    std::filesystem::remove_all(dir);  // read: nothing else uses the folder
    engine::PipelineOptions po;
    po.shards = 2;
    pipeline = std::make_unique<engine::Pipeline>(po, clock, hub);
    engine::addAlertRoutes(router, *pipeline);
    for (const auto& s : cfg->inputs) {
      api::InputContext ctx{s,
                            *cfg,
                            router,
                            [this](size_t) -> boost::asio::io_context& { return pool.context(0); },
                            1,
                            hub,
                            pipeline.get(),
                            {}};  // no acknowledgements here
      inputs.push_back(plugins.findInput(s.type)->create(ctx));
    }
    server = std::make_unique<engine::HttpServer>(pool, router, hub.registry());
    server->setSettings(engine::HttpSettings::fromConfig(*cfg));
    port = server->listen("127.0.0.1", 0);
    pipeline->start();
    pool.start();
    server->startAccepting();
  }
  ~Rig() {
    server->stopAccepting();
    pool.stop();  // as the daemon: the shards may hold the last reference to a connection
    pipeline->stop();
    pool.shutdown();
  }
  test::Response post(const std::string& path, const std::string& body) {
    return test::Client(port).request("POST", path, body, "Content-Type: application/json\r\n");
  }
  std::string alerts(const std::string& query = "") {
    return test::Client(port).request("GET", "/api/v1/alerts" + query).body;
  }
};

const char* kAmWebhook = R"({
  "version": "4",
  "groupKey": "{}/{severity=\"critical\"}:{alertname=\"ProbeFailure\"}",
  "truncatedAlerts": 0,
  "status": "firing",
  "receiver": "team-x-webhook",
  "notification_reason": "first notification",
  "groupLabels": { "alertname": "ProbeFailure" },
  "commonLabels": { "alertname": "ProbeFailure", "severity": "critical" },
  "commonAnnotations": { "summary": "probe failed" },
  "routeLabels": { },
  "externalURL": "http://alertmanager.example:9093",
  "alerts": [
    {
      "status": "firing",
      "labels": { "alertname": "ProbeFailure", "instance": "web1:443", "severity": "critical" },
      "annotations": { "summary": "probe failed", "description": "web1 does not answer" },
      "startsAt": "2023-02-06T13:08:45.828Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.example:9090/graph?g0.expr=probe_success",
      "fingerprint": "1a30ba71cca2921f"
    },
    {
      "status": "resolved",
      "labels": { "alertname": "ProbeFailure", "instance": "web2:443", "severity": "critical" },
      "annotations": { "summary": "probe failed" },
      "startsAt": "2023-02-06T13:00:00Z",
      "endsAt": "2023-02-06T13:05:00Z",
      "generatorURL": "",
      "fingerprint": "2b30ba71cca2921f"
    }
  ]
})";

const char* kGrafana = R"json({
  "receiver": "My Super Webhook", "status": "firing", "orgId": 1,
  "alerts": [{
      "status": "firing",
      "labels": { "alertname": "High memory usage", "team": "blue", "zone": "us-1" },
      "annotations": { "description": "mem", "runbook_url": "http://r", "summary": "high" },
      "startsAt": "2021-10-12T09:51:03.157076+02:00", "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "https://grafana/alerting/1/edit", "fingerprint": "c6eadffa33fcdf37",
      "silenceURL": "https://grafana/alerting/silence/new", "dashboardURL": "", "panelURL": "",
      "values": { "B": 44.2, "C": 1 }, "valueString": "[ var='B' labels={} value=44.2 ]",
      "imageURL": "https://img", "ruleUID": "abc"
  }],
  "groupLabels": { "alertname": "High memory usage" }, "commonLabels": { "team": "blue" },
  "commonAnnotations": { }, "externalURL": "https://grafana/", "version": "1",
  "groupKey": "{}:{alertname=\"High memory usage\"}", "truncatedAlerts": 0,
  "title": "[FIRING:1]  (blue)", "state": "alerting", "message": "**Firing**"
})json";

}  // namespace

TEST_CASE("Alertmanager v4 webhooks create, deduplicate and ignore unknown resolutions",
          "[alertmanager]") {
  Rig rig("  - type: alertmanager\n");
  auto r = rig.post("/api/v1/alertmanager", kAmWebhook);
  REQUIRE(r.status == 200);
  CHECK(r.body == "{\"status\":\"success\"}\n");
  rig.post("/api/v1/alertmanager", kAmWebhook);  // Alertmanager re-sends the group
  auto list = rig.alerts();
  CHECK(list.find("\"matched\":1") != std::string::npos);
  CHECK(list.find("\"resource\":\"web1:443\"") != std::string::npos);
  CHECK(list.find("\"check\":\"ProbeFailure\"") != std::string::npos);
  CHECK(list.find("\"severity\":\"critical\"") != std::string::npos);
  CHECK(list.find("\"count\":2") != std::string::npos);
  CHECK(list.find("\"first_seen\":\"2023-02-06T13:08:45.828Z\"") != std::string::npos);
  CHECK(list.find(
            "\"generator_url\":\"http://prometheus.example:9090/graph?g0.expr=probe_success\"") !=
        std::string::npos);
  // Resolving web1 in a later notification.
  std::string resolved = kAmWebhook;
  resolved.replace(resolved.find("\"status\": \"firing\",\n      \"labels\""), 19,
                   "\"status\": \"resolved\",");
  REQUIRE(rig.post("/api/v1/alertmanager", resolved).status == 200);
  CHECK(rig.alerts("?status=resolved").find("\"matched\":1") != std::string::npos);
}

TEST_CASE("Grafana version 1 webhooks are accepted with their extra fields", "[alertmanager]") {
  Rig rig("  - type: alertmanager\n");
  REQUIRE(rig.post("/api/v1/alertmanager", kGrafana).status == 200);
  auto list = rig.alerts();
  CHECK(list.find("\"check\":\"High memory usage\"") != std::string::npos);
  CHECK(list.find("\"resource\":\"global\"") != std::string::npos);   // no host label at all
  CHECK(list.find("\"severity\":\"warning\"") != std::string::npos);  // no severity: the default
}

TEST_CASE("Webhook payloads that are not Alertmanager's are refused with the reason",
          "[alertmanager]") {
  Rig rig("  - type: alertmanager\n");
  auto r = rig.post("/api/v1/alertmanager", R"({"version":"7","alerts":[]})");
  CHECK(r.status == 400);
  CHECK(r.body.find("unsupported payload version") != std::string::npos);
  r = rig.post("/api/v1/alertmanager", R"({"version":"4"})");
  CHECK(r.status == 400);
  CHECK(r.body.find("\"field\":\"alerts\"") != std::string::npos);
  r = rig.post("/api/v1/alertmanager",
               R"({"version":"4","alerts":[{"status":"firing","labels":{}}]})");
  CHECK(r.status == 400);
  CHECK(r.body.find("at least one label is required") != std::string::npos);
  r = rig.post(
      "/api/v1/alertmanager",
      R"({"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"soon"}]})");
  CHECK(r.status == 400);
  CHECK(r.body.find("\"field\":\"startsAt\"") != std::string::npos);
  CHECK(rig.alerts().find("\"matched\":0") != std::string::npos);
}

TEST_CASE("POST /api/v2/alerts honours startsAt and endsAt as Alertmanager does",
          "[alertmanager]") {
  Rig rig("  - type: alertmanager_api\n");
  // Now is 2026-01-01T10:00:00Z on the manual clock.
  auto r = rig.post("/api/v2/alerts", R"([
    {"labels":{"alertname":"DiskFull","instance":"db1:9100","severity":"critical"},"annotations":{"summary":"full"},
     "startsAt":"2026-01-01T09:00:00Z","endsAt":"2026-01-01T10:05:00Z","generatorURL":"http://prometheus/graph"},
    {"labels":{"alertname":"Old","instance":"db2:9100"},"startsAt":"2026-01-01T08:00:00Z","endsAt":"2026-01-01T09:00:00Z"},
    {"labels":{"alertname":"NoTimes","instance":"db3:9100"}}
  ])");
  REQUIRE(r.status == 200);
  CHECK(r.body.empty());
  auto firing = rig.alerts("?status=firing");
  CHECK(firing.find("\"matched\":2") != std::string::npos);
  CHECK(firing.find("\"ends_at\":\"2026-01-01T10:05:00.000Z\"") != std::string::npos);
  CHECK(firing.find("\"ends_at\":\"2026-01-01T10:05:00.000Z\"") !=
        firing.rfind("\"ends_at\""));  // NoTimes: now + 5m
  // "Old" had endsAt in the past: it resolves — but it was never firing here, so it is ignored.
  CHECK(firing.find("Old") == std::string::npos);
  // endsAt in the past for a known alert resolves it.
  r = rig.post("/api/v2/alerts",
               R"([{"labels":{"alertname":"DiskFull","instance":"db1:9100","severity":"critical"},
     "annotations":{"summary":"full"},"startsAt":"2026-01-01T09:00:00Z","endsAt":"2026-01-01T09:59:00Z",
     "generatorURL":"http://prometheus/graph"}])");
  REQUIRE(r.status == 200);
  CHECK(rig.alerts("?status=resolved").find("DiskFull") != std::string::npos);
  // The body must be an array.
  CHECK(rig.post("/api/v2/alerts", R"({"labels":{"a":"b"}})").status == 400);
}

TEST_CASE("Alertmanager alerts with escapes in keys and values are the same alerts without",
          "[alertmanager]") {
  Rig rig("  - type: alertmanager_api\n");
  // Keys and strings are read in place unless they hold an escape (native_decoder.h).
  auto r = rig.post("/api/v2/alerts", R"([
    {"l\u0061bels":{"alertn\u0061me":"Disk\"Full\"","instance":"db1:9100"},
     "annotations":{"summ\u0061ry":"a\nb"},"startsAt":"2026-01-01T09:00:00Z"},
    {"labels" : {"alertname" : "Disk\u0022Full\u0022" , "instance":"db1:9100"} ,
     "annotations":{"summary":"a\u000ab"} , "startsAt" : "2026-01-01T09:00:00Z"}
  ])");
  REQUIRE(r.status == 200);
  auto list = rig.alerts();
  CHECK(list.find("\"matched\":1") != std::string::npos);
  CHECK(list.find("\"count\":2") != std::string::npos);
  CHECK(list.find(R"("check":"Disk\"Full\"")") != std::string::npos);
  CHECK(list.find(R"("summary":"a\nb")") != std::string::npos);
}

TEST_CASE("PagerDuty Events v2: trigger, resolve, acknowledge and PagerDuty's own answers",
          "[pagerduty]") {
  Rig rig("  - type: pagerduty\n");
  auto r = rig.post("/v2/enqueue",
                    R"({"routing_key":"0123456789abcdef0123456789abcdef","event_action":"trigger",
    "dedup_key":"disk-db1","payload":{"summary":"DiskFull on db1","source":"db1.example","severity":"error",
    "timestamp":"2015-07-17T08:42:58.315+0000","component":"postgres","group":"prod-datapipe","class":"disk",
    "custom_details":{"free":"2%"}},"images":[{"src":"https://x"}],"links":[{"href":"https://y","text":"t"}],
    "client":"Our Engine","client_url":"https://engine.example"})");
  REQUIRE(r.status == 202);
  CHECK(r.body == R"({"status":"success","message":"Event processed","dedup_key":"disk-db1"})");
  auto list = rig.alerts();
  CHECK(list.find("\"resource\":\"db1.example\"") != std::string::npos);
  CHECK(list.find("\"check\":\"disk\"") != std::string::npos);
  CHECK(list.find("\"severity\":\"major\"") != std::string::npos);
  CHECK(list.find("\"component\":\"postgres\"") != std::string::npos);
  r = rig.post("/v2/enqueue",
               R"({"routing_key":"k","event_action":"acknowledge","dedup_key":"disk-db1"})");
  CHECK(r.status == 202);
  r = rig.post("/v2/enqueue",
               R"({"routing_key":"k","event_action":"resolve","dedup_key":"disk-db1"})");
  CHECK(r.status == 202);
  CHECK(rig.alerts("?status=resolved").find("\"matched\":1") != std::string::npos);
  // Without a dedup_key, one is made up and returned.
  r = rig.post(
      "/v2/enqueue",
      R"({"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"}})");
  CHECK(r.status == 202);
  CHECK(r.body.find("\"dedup_key\":\"") != std::string::npos);
}

TEST_CASE("PagerDuty validation errors come back in PagerDuty's shape", "[pagerduty]") {
  Rig rig("  - type: pagerduty\n");
  auto r = rig.post("/v2/enqueue",
                    R"({"event_action":"trigger","payload":{"summary":"s","severity":"fatal"}})");
  CHECK(r.status == 400);
  CHECK(r.body.find(R"("status":"invalid event","message":"Event object is invalid","errors":[)") !=
        std::string::npos);
  CHECK(r.body.find("'routing_key' is missing or blank") != std::string::npos);
  CHECK(r.body.find("'payload.source' is missing or blank") != std::string::npos);
  CHECK(r.body.find("'payload.severity' must be one of") != std::string::npos);
  r = rig.post("/v2/enqueue", R"({"routing_key":"k","event_action":"resolve"})");
  CHECK(r.status == 400);
  CHECK(r.body.find("'dedup_key' is required for resolve events") != std::string::npos);
  r = rig.post("/v2/enqueue", "not json");
  CHECK(r.status == 400);
  CHECK(rig.alerts().find("\"matched\":0") != std::string::npos);
}

TEST_CASE("Pagination walks every alert exactly once, whatever shard holds it", "[alerts-api]") {
  Rig rig("  - type: native_json\n");
  std::string body;
  for (int i = 0; i < 2500; ++i)
    body += R"({"resource":"h)" + std::to_string(i) + R"(","check":"c"})" + "\n";
  auto r = test::Client(rig.port).request("POST", "/api/v1/events", body,
                                          "Content-Type: application/x-ndjson\r\n");
  REQUIRE(r.status == 200);
  std::set<std::string> seen;
  std::string after;
  int pages = 0;
  while (true) {
    auto page = rig.alerts("?limit=100" + (after.empty() ? "" : "&after=" + after));
    size_t pos = 0;
    while ((pos = page.find("\"fingerprint\":\"", pos)) != std::string::npos) {
      CHECK(seen.insert(page.substr(pos + 15, 16)).second);
      pos += 31;
    }
    ++pages;
    auto n = page.find("\"next\":\"");
    if (n == std::string::npos) break;
    after = page.substr(n + 8, 16);
    REQUIRE(pages < 100);
  }
  CHECK(seen.size() == 2500);
  CHECK(pages == 25);
  CHECK(rig.alerts("?limit=0").find("invalid query parameter") != std::string::npos);
  CHECK(rig.alerts("?filter={bad").find("\"parameter\":\"filter\"") != std::string::npos);
}

TEST_CASE(
    "Small requests arriving together are applied as one batch, each answered with its own counts",
    "[native][coalesce]") {
  Rig rig("  - type: native_json\n");
  std::vector<std::unique_ptr<test::Client>> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(std::make_unique<test::Client>(rig.port));
  // Every connection is open and waiting for its next request (one exchange each) ...
  for (auto& c : clients) REQUIRE(c->request("GET", "/api/v1/alerts?limit=1").status == 200);
  auto batches = [&] {
    auto text = rig.hub.serialize();
    auto at = text.find("triaged_pipeline_batch_latency_seconds_count");
    REQUIRE(at != std::string::npos);
    return std::stol(text.substr(text.find(' ', at) + 1));
  };
  long before = batches();
  // ... and the I/O thread is held while the twenty requests arrive, so that one pass of its
  // event loop reads them all: they must travel to the shards as one batch.
  std::promise<void> release;
  std::promise<void> holding;
  boost::asio::post(rig.pool.context(0), [&] {
    holding.set_value();
    release.get_future().wait();
  });
  REQUIRE(holding.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  // Ten clients send the same event, ten send distinct ones; all are sent before any is read.
  for (int i = 0; i < 20; ++i) {
    std::string body = i < 10 ? R"({"resource":"same","check":"c"})"
                              : R"({"resource":"r)" + std::to_string(i) + R"(","check":"c"})";
    clients[i]->send("POST /api/v1/events HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  release.set_value();
  int fresh_same = 0, dup_same = 0, fresh_other = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = clients[i]->read();
    REQUIRE(r.status == 200);
    CHECK(r.body.find("\"accepted\":1") != std::string::npos);
    bool is_new = r.body.find("\"new\":1") != std::string::npos;
    bool is_dup = r.body.find("\"duplicates\":1") != std::string::npos;
    CHECK(is_new != is_dup);
    if (i < 10)
      (is_new ? fresh_same : dup_same)++;
    else
      fresh_other += is_new;
  }
  CHECK(fresh_same == 1);
  CHECK(dup_same == 9);
  CHECK(fresh_other == 10);
  CHECK(batches() - before == 1);  // coalesced: twenty requests, one batch
  CHECK(rig.alerts().find("\"matched\":11") != std::string::npos);
}

TEST_CASE("An input with its own bearer token refuses requests without it, with 401", "[auth]") {
  Rig rig(
      "  - type: pagerduty\n    bearer_token: s3cret\n  - type: native_json\n    bearer_token: "
      "other\n");
  const std::string pd =
      R"({"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"}})";
  auto r = test::Client(rig.port).request("POST", "/v2/enqueue", pd);
  CHECK(r.status == 401);
  CHECK(r.head.find("WWW-Authenticate: Bearer") != std::string::npos);
  CHECK(test::Client(rig.port)
            .request("POST", "/v2/enqueue", pd, "Authorization: Bearer other\r\n")
            .status == 401);
  CHECK(test::Client(rig.port)
            .request("POST", "/v2/enqueue", pd, "Authorization: Bearer s3cret\r\n")
            .status == 202);
  CHECK(test::Client(rig.port)
            .request("POST", "/api/v1/events", R"({"resource":"a","check":"b"})")
            .status == 401);
  CHECK(rig.alerts().find("\"matched\":1") != std::string::npos);
  CHECK(rig.hub.serialize().find(
            "triaged_input_events_rejected_total{input=\"pagerduty\",reason=\"unauthorized\"} 2") !=
        std::string::npos);
}
