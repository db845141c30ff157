#include "pagerduty_input.h"

#include <simdjson.h>

#include <atomic>
#include <random>

#include "../common/http_ingest.h"
#include "../common/http_input.h"
#include "../common/input_config.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins {
namespace {

namespace od = simdjson::ondemand;
using api::Reject;

struct PdConfig {
  api::IngestOptions ingest;
  std::string path = "/v2/enqueue";
};

void parse(const config::PluginSection& s, config::ConfigErrors& errors, PdConfig& c) {
  c.ingest.resolve_timeout_ms = 0;  // PagerDuty alerts stay open until resolved
  readInputSection(s, errors, c.ingest, pagerdutySeverities(),
                   [&](config::MapReader& r) { r.getString("path", c.path); });
}

// PagerDuty's error body: {"status":"invalid event","message":"Event object is
// invalid","errors":[...]}.
api::HttpResponse pdInvalid(const std::vector<std::string>& errors) {
  std::string out;
  api::JsonWriter w(out);
  w.beginObject()
      .field("status", "invalid event")
      .field("message", "Event object is invalid")
      .key("errors")
      .beginArray();
  for (const auto& e : errors) w.value(e);
  w.endArray().endObject();
  return api::HttpResponse::json(400, std::move(out));
}

api::HttpResponse pdThrottled(int retry_after) {
  auto r =
      api::HttpResponse::json(429,
                              "{\"status\":\"throttle exceeded\",\"message\":\"Requests for this "
                              "service are arriving too quickly.  Please retry later.\"}");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return r;
}

std::string randomKey() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s(32, '0');
  for (int i = 0; i < 32; i += 16) {
    uint64_t v = rng();
    for (int k = 0; k < 16; ++k, v >>= 4) s[i + k] = kHex[v & 15];
  }
  return s;
}

class PdInput final : public HttpInput<PdConfig> {
  std::function<void(uint64_t, std::string, std::function<void(bool)>)> acknowledge_;

 public:
  // The routing key in the body is PagerDuty's credential; a bearer token may be required too.
  explicit PdInput(api::InputContext& ctx)
      : HttpInput(ctx,
                  [](const config::PluginSection& s) { return parseValid<PdConfig>(s, parse); }),
        acknowledge_(ctx.acknowledge) {
    serve(ctx);
  }

 private:
  void handle(const api::HttpRequest& req, api::Responder respond,
              std::shared_ptr<const PdConfig> cfg) override {
    std::string& body = *req.body;
    metrics_.received(1);
    api::BatchBuilder b(cfg->ingest, sink_.nowMs());
    b.begin(0);
    PagerdutyEvent pd = decodePagerdutyEvent(body, b);
    if (!pd.errors.empty()) {
      b.error("", pd.errors.front(), Reject::kInvalidValue);
      b.finish();
      metrics_.rejected(Reject::kInvalidValue);
      return respond(pdInvalid(pd.errors));
    }
    std::string dedup = pd.dedup_key;
    if (pd.action == "acknowledge") {
      // Acknowledgement belongs to incidents: the alert itself does not change, the incident
      // its dedup_key belongs to is acknowledged (answered once that is committed; 202 as
      // PagerDuty answers, found or not).
      bool ok = b.finish();
      metrics_.accepted(1);
      uint64_t fp = b.events().empty() ? 0 : b.events().back().fingerprint;
      if (!acknowledge_ || !ok || fp == 0) return respond(accepted(dedup));
      acknowledge_(fp, "pagerduty", [respond, dedup](bool) { respond(accepted(dedup)); });
      return;
    }
    if (!b.finish()) {
      auto& first = b.errors().front();
      metrics_.rejected(Reject::kInvalidValue);
      return respond(pdInvalid({first.field + " " + first.reason}));
    }
    submitBatch(
        sink_, metrics_, b.take(), std::move(respond),
        [dedup](const api::BatchResult&) { return accepted(dedup); }, pdThrottled);
  }

  static api::HttpResponse accepted(const std::string& dedup) {
    std::string out;
    api::JsonWriter(out)
        .beginObject()
        .field("status", "success")
        .field("message", "Event processed")
        .field("dedup_key", dedup)
        .endObject();
    return api::HttpResponse::json(202, std::move(out));
  }
};

void decodeInto(std::string& body, api::BatchBuilder& b, std::vector<std::string>& errors,
                std::string& action, std::string& dedup) {
  thread_local od::parser parser;
  od::document doc;
  od::object top;
  if (auto ec =
          parser.iterate(simdjson::padded_string_view(body.data(), body.size(), body.capacity()))
              .get(doc);
      ec || doc.get_object().get(top)) {
    errors.push_back("Event object is not valid JSON");
    return;
  }
  api::Event& e = b.current();
  bool routing = false, have_payload = false;
  std::string_view summary, source, severity, component, group, klass;
  for (auto f : top) {
    std::string_view key;
    if (f.unescaped_key().get(key)) return errors.push_back("Event object is not valid JSON");
    od::value v;
    if (f.value().get(v)) return errors.push_back("Event object is not valid JSON");
    if (key == "routing_key") {
      std::string_view s;
      if (v.get_string().get(s) || s.empty())
        return errors.push_back("'routing_key' must be a non-empty string");
      routing = true;
    } else if (key == "event_action") {
      std::string_view s;
      if (v.get_string().get(s)) return errors.push_back("'event_action' must be a string");
      action = std::string(s);
    } else if (key == "dedup_key") {
      std::string_view s;
      if (v.get_string().get(s)) return errors.push_back("'dedup_key' must be a string");
      if (s.size() > 255) return errors.push_back("'dedup_key' must be 255 characters or fewer");
      dedup = std::string(s);
    } else if (key == "payload") {
      od::object p;
      if (v.get_object().get(p)) return errors.push_back("'payload' must be an object");
      have_payload = true;
      for (auto pf : p) {
        std::string_view pk;
        if (pf.unescaped_key().get(pk)) return errors.push_back("Event object is not valid JSON");
        od::value pv;
        if (pf.value().get(pv)) return errors.push_back("Event object is not valid JSON");
        std::string_view s;
        if (pk == "custom_details") {
          // A string is kept; structured details are noted (their fields are not labels).
          od::json_type t;
          if (!pv.type().get(t) && t == od::json_type::string && !pv.get_string().get(s))
            b.addAnnotation("custom_details", s);
          else
            b.addAnnotation("custom_details", "(structured)");
          continue;
        }
        if (pk != "summary" && pk != "source" && pk != "severity" && pk != "timestamp" &&
            pk != "component" && pk != "group" && pk != "class")
          continue;
        if (pv.get_string().get(s))
          return errors.push_back("'payload." + std::string(pk) + "' must be a string");
        if (pk == "summary")
          summary = b.keep(s);
        else if (pk == "source")
          source = b.keep(s);
        else if (pk == "severity")
          severity = b.keep(s);
        else if (pk == "component")
          component = b.keep(s);
        else if (pk == "group")
          group = b.keep(s);
        else if (pk == "class")
          klass = b.keep(s);
        else if (pk == "timestamp") {
          auto ms = api::parseRfc3339(s);
          if (!ms)
            return errors.push_back("'payload.timestamp' must be a valid ISO 8601 timestamp");
          e.event_time_ms = *ms;
        }
      }
    }
    // images, links, client, client_url: accepted and ignored.
  }
  if (!routing) errors.push_back("'routing_key' is missing or blank");
  if (action != "trigger" && action != "acknowledge" && action != "resolve")
    errors.push_back("'event_action' must be one of trigger, acknowledge or resolve");
  if (action != "trigger" && dedup.empty() && !action.empty())
    errors.push_back("'dedup_key' is required for " + action + " events");
  if (action == "trigger") {
    if (!have_payload) errors.push_back("'payload' is missing");
    if (summary.empty()) errors.push_back("'payload.summary' is missing or blank");
    if (summary.size() > 1024)
      errors.push_back("'payload.summary' must be 1024 characters or fewer");
    if (source.empty()) errors.push_back("'payload.source' is missing or blank");
    if (severity.empty())
      errors.push_back("'payload.severity' is missing or blank");
    else if (!b.options().mapSeverity(severity, e.severity))
      errors.push_back("'payload.severity' must be one of critical, error, warning or info");
  }
  if (!errors.empty()) return;
  e.summary = summary;
  e.resource = source;
  e.check = !klass.empty() ? klass : (!component.empty() ? component : std::string_view("event"));
  if (!component.empty()) b.addLabel("component", component);
  if (!group.empty()) b.addLabel("group", group);
  if (!klass.empty()) b.addLabel("class", klass);
}

}  // namespace

const std::vector<std::pair<std::string, api::Severity>>& pagerdutySeverities() {
  using S = api::Severity;
  static const std::vector<std::pair<std::string, S>> kMap = {{"critical", S::kCritical},
                                                              {"error", S::kMajor},
                                                              {"warning", S::kWarning},
                                                              {"info", S::kInfo}};
  return kMap;
}

PagerdutyEvent decodePagerdutyEvent(std::string& body, api::BatchBuilder& b) {
  PagerdutyEvent out;
  decodeInto(body, b, out.errors, out.action, out.dedup_key);
  if (!out.errors.empty()) return out;
  api::Event& e = b.current();
  if (out.dedup_key.empty()) out.dedup_key = randomKey();  // a trigger without one
  e.dedup_key = b.keep(out.dedup_key);
  e.status = out.action == "resolve" ? api::Status::kResolved : api::Status::kFiring;
  // resolve and acknowledge carry no payload: they name the alert of their dedup_key, whose
  // content stays (a resolve does not turn it into "unknown"/"event").
  e.names_only = out.action != "trigger";
  if (e.resource.empty()) e.resource = "unknown";
  if (e.check.empty()) e.check = "event";
  return out;
}

api::InputPlugin pagerdutyPlugin() {
  return {"pagerduty",
          "PagerDuty Events API v2 (POST /v2/enqueue)",
          [](const config::PluginSection& s, config::ConfigErrors& e) {
            PdConfig c;
            parse(s, e, c);
          },
          [](api::InputContext& ctx) -> std::unique_ptr<api::Input> {
            return std::make_unique<PdInput>(ctx);
          },
          {}};  // not the native event format: replay cannot decode as this input
}

}  // namespace triaged::plugins
