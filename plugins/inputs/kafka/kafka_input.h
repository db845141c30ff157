// `kafka`: consumes events from Kafka topics (librdkafka, a consumer group), at least once:
// a partition's offset is stored for commit only once every message up to it has been applied
// (with sync durability: committed to the state store), so a crash or a rebalance reads again
// what was not, and deduplication absorbs the repeats. Cooperative-sticky assignment; offsets
// committed when partitions are revoked and at a stop; while the pipeline is full the assigned
// partitions are paused (nothing buffered beyond what the client had fetched); a message that
// does not decode is skipped, counted, logged with topic, partition and offset, and optionally
// copied to a dead-letter topic. `consumers` members of the group per input, a thread each
// (kafka_consumer.h). docs/configuration.md, "kafka".
#pragma once

#include "triaged/api/plugin.h"

namespace triaged::plugins {

api::InputPlugin kafkaPlugin();

}  // namespace triaged::plugins
