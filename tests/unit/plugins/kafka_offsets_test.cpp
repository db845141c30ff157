// The Kafka input's offsets: a partition's storable offset is the contiguous low watermark of
// applied batches, whatever order they complete in.
#include "inputs/kafka/kafka_offsets.h"

#include <catch2/catch.hpp>

using triaged::plugins::kafka::OffsetTracker;
using triaged::plugins::kafka::Partition;

TEST_CASE("Kafka offsets move only past batches applied in full, in order", "[kafka]") {
  OffsetTracker t;
  Partition a{"alerts", 0}, b{"alerts", 1};
  t.add(1, a, 9);   // batch 1: a up to offset 9
  t.add(1, b, 4);   //          b up to 4
  t.add(2, a, 19);  // batch 2: a up to 19
  t.add(3, a, 29);  // batch 3: a up to 29, b up to 7
  t.add(3, b, 7);
  CHECK(t.pending(a) == 3);
  // Batch 2 completes first: nothing of a may be stored (batch 1 is still in flight).
  CHECK(t.done(2).empty());
  // Batch 1: a moves past batches 1 and 2 (to 20), b past batch 1 (to 5).
  auto moved = t.done(1);
  REQUIRE(moved.size() == 2);
  CHECK(moved[0] == std::make_pair(a, int64_t{20}));
  CHECK(moved[1] == std::make_pair(b, int64_t{5}));
  auto last = t.done(3);
  REQUIRE(last.size() == 2);
  CHECK(last[0] == std::make_pair(a, int64_t{30}));
  CHECK(last[1] == std::make_pair(b, int64_t{8}));
  CHECK(t.pending() == 0);
}

TEST_CASE("Kafka offsets: a batch's later messages of a partition extend its entry", "[kafka]") {
  OffsetTracker t;
  Partition a{"alerts", 0};
  t.add(1, a, 0);
  t.add(1, a, 1);
  t.add(1, a, 2);  // malformed messages count too: they are part of the batch's range
  CHECK(t.pending(a) == 1);
  auto moved = t.done(1);
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].second == 3);
}

TEST_CASE("Kafka offsets: a revoked partition is forgotten, the others go on", "[kafka]") {
  OffsetTracker t;
  Partition a{"alerts", 0}, b{"alerts", 1};
  t.add(1, a, 5);
  t.add(1, b, 5);
  t.forget(a);
  auto moved = t.done(1);
  REQUIRE(moved.size() == 1);
  CHECK(moved[0].first == b);
  CHECK(t.done(7).empty());  // an unknown batch moves nothing
}
