// The Kafka input's configuration: its keys, checked strictly, and the librdkafka
// configuration they make (plugins/inputs/kafka/kafka_input.h; docs/configuration.md).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "triaged/api/ingest.h"
#include "triaged/config/config.h"
#include "triaged/config/errors.h"

namespace triaged::plugins::kafka {

enum class Format : uint8_t { kNative, kAlertmanager, kPagerduty };
inline constexpr size_t kFormats = 3;

struct TopicConfig {
  std::string name;
  Format format = Format::kNative;
};

struct KafkaConfig {
  api::IngestOptions ingest;     // native topics
  api::IngestOptions am_ingest;  // alertmanager topics: the same limits, Alertmanager's severities
  api::IngestOptions pd_ingest;  // pagerduty topics: the same limits, PagerDuty's severities
  std::vector<std::string> brokers;
  std::string group_id = "triaged";
  std::vector<TopicConfig> topics;
  std::string dead_letter_topic;
  std::string start_from = "earliest";
  uint64_t batch_events = 4096;
  int64_t batch_wait_ms = 5;
  uint64_t consumers = 1;  // clients in the group, each on a thread with a share of the partitions
  std::vector<std::pair<std::string, std::string>> properties;  // librdkafka's, passed through
};

// librdkafka properties triaged sets itself: at-least-once depends on them.

// Reads and checks an input section; appends every error (file:line and key).
void parse(const config::PluginSection& s, config::ConfigErrors& errors, KafkaConfig& c);

// A librdkafka configuration with the brokers and the passed-through properties; nullptr and
// `why` on the first property librdkafka refuses.
rd_kafka_conf_t* makeConf(const KafkaConfig& c, std::string& why);
// librdkafka's own messages (from its threads) into the daemon's log under `kafka`, at their
// syslog level, named by the client; makeConf sets it (librdkafka would print to stderr).
void logToDaemon(const rd_kafka_t* rk, int level, const char* facility, const char* message);

}  // namespace triaged::plugins::kafka
