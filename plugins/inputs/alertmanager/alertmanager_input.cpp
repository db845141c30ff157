#include "alertmanager_input.h"

#include <simdjson.h>

#include <atomic>
#include <chrono>

#include "../common/http_ingest.h"
#include "../common/http_input.h"
#include "../common/input_config.h"
#include "../common/native_decoder.h"

namespace triaged::plugins {
namespace {

namespace od = simdjson::ondemand;
using api::Reject;

const std::vector<std::pair<std::string, api::Severity>>& amSeverities() {
  using S = api::Severity;
  static const std::vector<std::pair<std::string, S>> kMap = {
      {"critical", S::kCritical}, {"page", S::kCritical},
      {"disaster", S::kCritical}, {"high", S::kMajor},
      {"error", S::kMajor},       {"major", S::kMajor},
      {"average", S::kMinor},     {"medium", S::kMinor},
      {"minor", S::kMinor},       {"warning", S::kWarning},
      {"warn", S::kWarning},      {"low", S::kWarning},
      {"info", S::kInfo},         {"information", S::kInfo},
      {"none", S::kInfo},         {"ok", S::kOk}};
  return kMap;
}

struct AmConfig {
  api::IngestOptions ingest;
  std::string path;
  std::vector<std::string> resource_labels = {"instance", "host", "hostname", "node",
                                              "device",   "pod",  "job"};
  std::string check_label = "alertname";
  std::string severity_label = "severity";
  std::string service_label = "service";
  bool use_sender_fingerprint = false;
};

void parseWith(const config::PluginSection& s, config::ConfigErrors& errors, AmConfig& c,
               bool webhook) {
  c.path = webhook ? "/api/v1/alertmanager" : "/api/v2/alerts";
  // Alertmanager resends firing alerts only every repeat_interval (4h by default) and sends
  // resolutions itself, so the webhook input does not time alerts out unless told to.
  c.ingest.resolve_timeout_ms = webhook ? 0 : 5 * 60 * 1000;
  readInputSection(s, errors, c.ingest, amSeverities(), [&](config::MapReader& r) {
    if (webhook) r.getString("path", c.path);
    r.getStringList("resource_labels", c.resource_labels);
    r.getString("check_label", c.check_label);
    r.getString("severity_label", c.severity_label);
    r.getString("service_label", c.service_label);
    if (webhook) r.getBool("use_sender_fingerprint", c.use_sender_fingerprint);
    if (c.path.empty() || c.path[0] != '/')
      r.sink().add(r.node()["path"], r.childPath("path"), "must start with /");
  });
}

std::string jsonError(simdjson::error_code ec) {
  return std::string("invalid JSON: ") + simdjson::error_message(ec);
}

bool readTime(od::value& v, api::BatchBuilder& b, const char* field, int64_t& out) {
  std::string_view s;
  if (stringInPlace(v, s)) {
    b.error(field, "expected an RFC 3339 string", Reject::kWrongType);
    return false;
  }
  if (s.empty() || s.rfind("0001-01-01T00:00:00", 0) == 0) {  // Go's zero time: unset
    out = 0;
    return true;
  }
  auto ms = api::parseRfc3339(s);
  if (!ms) {
    b.error(field, "invalid RFC 3339 time \"" + std::string(s.substr(0, 64)) + "\"",
            Reject::kInvalidValue);
    return false;
  }
  out = *ms;
  return true;
}

// One alert object of either format. `webhook`: the status field decides; otherwise endsAt.
void decodeAlert(od::object obj, api::BatchBuilder& b, const AmConfig& c, bool webhook) {
  api::Event& e = b.current();
  int64_t starts = 0, ends = 0;
  bool have_labels = false, have_status = false;
  for (auto f : obj) {
    std::string_view key;
    if (keyInPlace(f, key)) return b.error("", "invalid JSON object key", Reject::kInvalidJson);
    od::value& v = f.value_unsafe().value();  // keyInPlace checked the field
    if (key == "labels") {
      have_labels = true;
      if (!decodeStringMap(v, b, "labels", true)) return;
    } else if (key == "annotations") {
      if (!decodeStringMap(v, b, "annotations", false)) return;
    } else if (key == "startsAt") {
      if (!readTime(v, b, "startsAt", starts)) return;
    } else if (key == "endsAt") {
      if (!readTime(v, b, "endsAt", ends)) return;
    } else if (key == "generatorURL") {
      std::string_view s;
      if (stringInPlace(v, s))
        return b.error("generatorURL", "expected a string", Reject::kWrongType);
      if (!s.empty()) b.addAnnotation("generator_url", s);
    } else if (webhook && key == "status") {
      std::string_view s;
      if (stringInPlace(v, s)) return b.error("status", "expected a string", Reject::kWrongType);
      if (s == "firing")
        e.status = api::Status::kFiring;
      else if (s == "resolved")
        e.status = api::Status::kResolved;
      else
        return b.error("status",
                       "expected firing or resolved, got \"" + std::string(s.substr(0, 64)) + "\"",
                       Reject::kInvalidValue);
      have_status = true;
    } else if (webhook && key == "fingerprint" && c.use_sender_fingerprint) {
      std::string_view s;
      if (stringInPlace(v, s))
        return b.error("fingerprint", "expected a string", Reject::kWrongType);
      e.dedup_key = b.keep(s);
    }
    // Anything else (Grafana's values, silenceURL, dashboardURL, ...) is tolerated and ignored.
  }
  const std::span<const api::Label> labels = b.labelsSoFar(), annotations = b.annotationsSoFar();
  if (!have_labels || labels.empty())
    return b.error("labels", "at least one label is required", Reject::kMissingField);
  if (webhook && !have_status) return b.error("status", "is required", Reject::kMissingField);
  auto find = [](std::span<const api::Label> v, std::string_view name) -> std::string_view {
    for (const auto& l : v)
      if (l.name == name) return l.value;
    return {};
  };
  for (const auto& rl : c.resource_labels) {
    if (auto v = find(labels, rl); !v.empty()) {
      e.resource = v;
      break;
    }
  }
  if (e.resource.empty()) e.resource = "global";  // an alert about no particular host
  e.check = find(labels, c.check_label);
  if (e.check.empty()) e.check = "alert";
  e.service = find(labels, c.service_label);
  if (auto sev = find(labels, c.severity_label);
      !sev.empty() && !b.options().mapSeverity(sev, e.severity))
    e.severity = b.options().default_severity;  // an unknown scale is not the sender's error
  e.summary = find(annotations, "summary");
  e.description = find(annotations, "description");
  int64_t now = b.now();
  if (webhook) {
    e.event_time_ms = e.status == api::Status::kResolved && ends ? ends : starts;
  } else {
    e.event_time_ms = starts ? starts : now;
    if (ends == 0) ends = now + b.options().resolve_timeout_ms;
    if (ends <= now)
      e.status = api::Status::kResolved;
    else
      e.ends_at_ms = ends;
  }
}

void decodeArray(od::array alerts, api::BatchBuilder& b, const AmConfig& c, bool webhook) {
  int64_t index = 0;
  for (auto item : alerts) {
    b.begin(index++);
    od::value v;
    od::object obj;
    if (auto ec = item.get(v)) {
      b.error("", jsonError(ec), Reject::kInvalidJson);
      b.finish();
      return;
    }
    if (auto ec = v.get_object().get(obj)) {
      b.error("", ec == simdjson::INCORRECT_TYPE ? "expected an alert object" : jsonError(ec),
              ec == simdjson::INCORRECT_TYPE ? Reject::kWrongType : Reject::kInvalidJson);
      b.finish();
      if (ec != simdjson::INCORRECT_TYPE) return;
      continue;
    }
    decodeAlert(obj, b, c, webhook);
    b.finish();
  }
}

void decodeBody(std::string& body, api::BatchBuilder& b, const AmConfig& c, bool webhook) {
  thread_local od::parser parser;
  od::document doc;
  auto fail = [&](const std::string& field, const std::string& why, Reject r) {
    b.begin(0);
    b.error(field, why, r);
    b.finish();
  };
  if (auto ec =
          parser.iterate(simdjson::padded_string_view(body.data(), body.size(), body.capacity()))
              .get(doc))
    return fail("", jsonError(ec), Reject::kInvalidJson);
  od::array alerts;
  if (webhook) {
    od::object top;
    if (auto ec = doc.get_object().get(top))
      return fail(
          "", ec == simdjson::INCORRECT_TYPE ? "expected a webhook payload object" : jsonError(ec),
          Reject::kWrongType);
    bool found = false;
    for (auto f : top) {
      std::string_view key;
      if (f.unescaped_key().get(key)) return fail("", "invalid JSON", Reject::kInvalidJson);
      if (key == "version") {
        std::string_view v;
        if (f.value().get_string().get(v))
          return fail("version", "expected a string", Reject::kWrongType);
        if (v != "4" && v != "1")
          return fail("version",
                      "unsupported payload version \"" + std::string(v.substr(0, 16)) +
                          "\" (Alertmanager sends 4, Grafana 1)",
                      Reject::kInvalidValue);
      } else if (key == "alerts") {
        if (f.value().get_array().get(alerts))
          return fail("alerts", "expected an array", Reject::kWrongType);
        found = true;
        decodeArray(alerts, b, c, webhook);
      }
    }
    if (!found) return fail("alerts", "is required", Reject::kMissingField);
    return;
  }
  if (auto ec = doc.get_array().get(alerts))
    return fail("", ec == simdjson::INCORRECT_TYPE ? "expected an array of alerts" : jsonError(ec),
                Reject::kWrongType);
  decodeArray(alerts, b, c, webhook);
}

class AmInput final : public HttpInput<AmConfig> {
 public:
  AmInput(api::InputContext& ctx, bool webhook)
      : HttpInput(ctx, [webhook](const config::PluginSection& s) { return load(s, webhook); }),
        webhook_(webhook) {
    serve(ctx);
  }

 private:
  static AmConfig load(const config::PluginSection& s, bool webhook) {
    AmConfig c;
    config::ConfigErrors errors;
    parseWith(s, errors, c, webhook);
    if (!errors.empty()) throw config::ConfigException(std::move(errors));
    return c;
  }

  void handle(const api::HttpRequest& req, api::Responder respond,
              std::shared_ptr<const AmConfig> cfg) override {
    std::string& body = *req.body;
    auto decode_start = std::chrono::steady_clock::now();
    api::BatchBuilder b(cfg->ingest, sink_.nowMs());
    decodeBody(body, b, *cfg, webhook_);
    metrics_.decoded(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - decode_start).count());
    metrics_.received(b.size() + b.errorCount());
    if (b.errorCount())
      return respond(rejectBatch(metrics_, b, "invalid alerts; nothing was applied"));
    if (b.size() > cfg->ingest.max_batch_events) {
      metrics_.rejected(Reject::kTooLarge, b.size());
      return respond(api::HttpResponse::error(413, "too many alerts in one request"));
    }
    bool webhook = webhook_;
    submitBatch(sink_, metrics_, b.take(), std::move(respond), [webhook](const api::BatchResult&) {
      // Alertmanager's own API answers 200 with an empty body; webhook senders ignore the body.
      return webhook ? api::HttpResponse::json(200, "{\"status\":\"success\"}\n")
                     : api::HttpResponse::json(200, "");
    });
  }

  bool webhook_;
};

}  // namespace

const std::vector<std::pair<std::string, api::Severity>>& alertmanagerSeverities() {
  return amSeverities();
}

void decodeAlertmanagerWebhook(std::string& body, api::BatchBuilder& b) {
  static const AmConfig defaults = [] {
    AmConfig c;
    c.ingest.resolve_timeout_ms = 0;
    return c;
  }();
  decodeBody(body, b, defaults, true);
}

api::InputPlugin alertmanagerWebhookPlugin() {
  return {"alertmanager",
          "Alertmanager (version 4) and Grafana (version 1) webhook receiver",
          [](const config::PluginSection& s, config::ConfigErrors& e) {
            AmConfig c;
            parseWith(s, e, c, true);
          },
          [](api::InputContext& ctx) -> std::unique_ptr<api::Input> {
            return std::make_unique<AmInput>(ctx, true);
          },
          {}};  // not the native event format: replay cannot decode as this input
}

api::InputPlugin alertmanagerApiPlugin() {
  return {"alertmanager_api",
          "POST /api/v2/alerts, as Prometheus sends to an Alertmanager",
          [](const config::PluginSection& s, config::ConfigErrors& e) {
            AmConfig c;
            parseWith(s, e, c, false);
          },
          [](api::InputContext& ctx) -> std::unique_ptr<api::Input> {
            return std::make_unique<AmInput>(ctx, false);
          },
          {}};  // not the native event format: replay cannot decode as this input
}

}  // namespace triaged::plugins
