#include "kafka_config.h"

#include "../alertmanager/alertmanager_input.h"
#include "../common/input_config.h"
#include "../common/native_decoder.h"
#include "../pagerduty/pagerduty_input.h"
#include "triaged/api/log.h"
#include "triaged/config/reader.h"

namespace triaged::plugins::kafka {

namespace {

const std::vector<std::string>& ownedProperties() {
  static const std::vector<std::string> k = {
      "bootstrap.servers",  "metadata.broker.list",     "group.id",
      "enable.auto.commit", "enable.auto.offset.store", "partition.assignment.strategy",
      "auto.offset.reset",  "enable.partition.eof",     "group.protocol"};
  return k;
}

}  // namespace

// The client's name is `triaged-<input>-<n>#consumer-<k>` unless client.id is set.
void logToDaemon(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  static const auto log = api::logger("kafka");
  auto lvl = level <= 3   ? spdlog::level::err
             : level == 4 ? spdlog::level::warn
             : level <= 6 ? spdlog::level::info
                          : spdlog::level::debug;
  log->log(lvl, "{}: {}: {}", rk ? rd_kafka_name(rk) : "librdkafka", facility, message);
}

// A librdkafka configuration with the passed-through properties; nullptr and `why` on the
// first one it refuses.

rd_kafka_conf_t* makeConf(const KafkaConfig& c, std::string& why) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : c.properties)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      why = "properties." + k + ": " + err;
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  std::string brokers;
  for (const auto& b : c.brokers) brokers += (brokers.empty() ? "" : ",") + b;
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set_log_cb(conf, &logToDaemon);
  return conf;
}

void parse(const config::PluginSection& s, config::ConfigErrors& errors, KafkaConfig& c) {
  refuseBearerToken(s, errors, "authenticate to the brokers with properties (sasl.*, ssl.*)");
  readInputSection(s, errors, c.ingest, nativeSeverities(), [&](config::MapReader& r) {
    r.getStringList("brokers", c.brokers);
    if (c.brokers.empty())
      r.sink().add(r.node(), r.childPath("brokers"), "at least one broker (host:port) is required");
    for (size_t i = 0; i < c.brokers.size(); ++i) {
      const auto& b = c.brokers[i];
      auto colon = b.rfind(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == b.size() ||
          b.find_first_not_of("0123456789", colon + 1) != std::string::npos)
        r.sink().add(r.node()["brokers"], r.childPath("brokers") + "[" + std::to_string(i) + "]",
                     "expected host:port, got \"" + b + "\"");
    }
    r.getString("group_id", c.group_id);
    if (c.group_id.empty())
      r.sink().add(r.node()["group_id"], r.childPath("group_id"), "must not be empty");
    if (r.has("topics")) {
      config::forEachInList(r.take("topics"), r.childPath("topics"), r.sink(),
                            [&](const YAML::Node& n, const std::string& path) {
                              TopicConfig t;
                              if (n.IsScalar()) {
                                t.name = n.as<std::string>();
                              } else {
                                config::MapReader tr(n, path, r.sink());
                                tr.getString("name", t.name, true);
                                tr.getEnum("format", t.format,
                                           {{"native", Format::kNative},
                                            {"alertmanager", Format::kAlertmanager},
                                            {"pagerduty", Format::kPagerduty}});
                                tr.finish();
                              }
                              if (t.name.empty()) r.sink().add(n, path, "a topic name is required");
                              c.topics.push_back(std::move(t));
                            });
    }
    if (c.topics.empty())
      r.sink().add(r.node(), r.childPath("topics"), "at least one topic is required");
    r.getString("dead_letter_topic", c.dead_letter_topic);
    r.getEnum("start_from", c.start_from, {"earliest", "latest"});
    r.getUnsigned("batch_events", c.batch_events, 100000);
    if (c.batch_events == 0)
      r.sink().add(r.node()["batch_events"], r.childPath("batch_events"), "must be at least 1");
    r.getUnsigned("consumers", c.consumers, 64);
    if (c.consumers == 0)
      r.sink().add(r.node()["consumers"], r.childPath("consumers"), "must be at least 1");
    config::Duration wait{c.batch_wait_ms};
    r.getDuration("batch_wait", wait);
    c.batch_wait_ms = wait.count();
    r.getStringMap("properties", c.properties);
    for (const auto& [k, v] : c.properties)
      for (const auto& owned : ownedProperties())
        if (k == owned)
          r.sink().add(r.node()["properties"], r.childPath("properties") + "." + k,
                       "is set by triaged (at-least-once delivery depends on it); use " +
                           std::string(k == "group.id"            ? "group_id"
                                       : k == "auto.offset.reset" ? "start_from"
                                       : k == "bootstrap.servers" || k == "metadata.broker.list"
                                           ? "brokers"
                                           : "the input's own keys"));
  });
  std::string why;
  if (errors.empty()) {
    if (rd_kafka_conf_t* conf = makeConf(c, why)) {
      rd_kafka_conf_destroy(conf);
    } else {
      errors.push_back({s.file, s.line, 0, s.path() + "." + why.substr(0, why.find(':')),
                        why.substr(why.find(':') + 2)});
    }
  }
  c.am_ingest = c.ingest;
  c.am_ingest.severity_map = alertmanagerSeverities();
  c.am_ingest.resolve_timeout_ms = 0;  // Alertmanager sends its resolutions itself
  c.pd_ingest = c.ingest;
  c.pd_ingest.severity_map = pagerdutySeverities();
  c.pd_ingest.resolve_timeout_ms = 0;  // PagerDuty alerts stay open until resolved
}

}  // namespace triaged::plugins::kafka
