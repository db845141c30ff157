// Applied batches kept for the next ones: handed out again empty with their capacity, what is
// built into them is exact, and the pool keeps no more than its bounds.
#include "triaged/api/batch_pool.h"

#include <catch2/catch.hpp>
#include <string>

#include "triaged/api/ingest.h"

using namespace triaged;
namespace pool = api::batch_pool;

namespace {

void drain() {
  while (pool::keptBatches() > 0) pool::take();
}

// A batch of n events built as an input builds it, each with two labels and texts naming i.
std::unique_ptr<api::EventBatch> build(const api::IngestOptions& o, int n, const std::string& tag) {
  api::BatchBuilder b(o, 1'000);
  b.expectText(static_cast<size_t>(n) * 64);  // as a decoder announces its document
  for (int i = 0; i < n; ++i) {
    auto& e = b.begin(i);
    std::string r = tag + "-host" + std::to_string(i);
    e.resource = b.keep(r);
    e.check = "cpu";
    e.summary = b.keep(tag + " summary " + std::to_string(i));
    b.addLabel("team", tag);
    b.addLabel("dc", "fra1");
    REQUIRE(b.finish());
  }
  return b.take();
}

}  // namespace

TEST_CASE("A batch given back is handed out again, empty, with its capacity", "[ingest]") {
  drain();
  api::IngestOptions o;
  o.name = "in";
  auto first = build(o, 1000, "a");
  const api::Event* events = first->events.data();
  size_t capacity = first->events.capacity(), labels = first->labels.capacity();
  size_t bytes = pool::footprint(*first);
  REQUIRE(bytes >= pool::kMinBatchBytes);
  pool::give(std::move(first));
  CHECK(pool::keptBatches() == 1);
  CHECK(pool::keptBytes() == bytes);

  // The next batch built is built into it: no event, label or string of the first is left.
  auto second = build(o, 500, "b");
  CHECK(pool::keptBatches() == 0);
  CHECK(second->events.data() == events);
  CHECK(second->events.capacity() == capacity);
  CHECK(second->labels.capacity() == labels);
  REQUIRE(second->events.size() == 500);
  CHECK(second->labels.size() == 1000);
  CHECK(second->input == "in");
  CHECK_FALSE(second->want_outcomes);
  for (int i = 0; i < 500; ++i) {
    const auto& e = second->events[i];
    CHECK(e.resource == "b-host" + std::to_string(i));
    CHECK(e.summary == "b summary " + std::to_string(i));
    CHECK(second->labelsOf(e)[1].value == "b");
  }
  // The same events built into a new batch have the same fingerprints and content hashes.
  drain();
  auto fresh = build(o, 500, "b");
  for (int i = 0; i < 500; ++i) {
    CHECK(fresh->events[i].fingerprint == second->events[i].fingerprint);
    CHECK(fresh->events[i].content_hash == second->events[i].content_hash);
  }
}

TEST_CASE("The batch pool keeps batches within its bounds and frees the others", "[ingest]") {
  drain();
  api::IngestOptions o;
  o.name = "in";
  // A one-event batch is not worth keeping.
  auto small = build(o, 1, "s");
  REQUIRE(pool::footprint(*small) < pool::kMinBatchBytes);
  pool::give(std::move(small));
  CHECK(pool::keptBatches() == 0);
  // Nor is a giant.
  auto giant = std::make_unique<api::EventBatch>();
  giant->events.reserve(pool::kMaxBatchBytes / sizeof(api::Event) + 1);
  pool::give(std::move(giant));
  CHECK(pool::keptBatches() == 0);
  // At most kMaxBatches, and at most kMaxBytes in all.
  for (size_t i = 0; i < pool::kMaxBatches + 4; ++i) pool::give(build(o, 1000, "x"));
  CHECK(pool::keptBatches() <= pool::kMaxBatches);
  CHECK(pool::keptBatches() > 0);
  CHECK(pool::keptBytes() <= pool::kMaxBytes);
  pool::give(nullptr);  // nothing to keep
  drain();
  CHECK(pool::keptBytes() == 0);
}

TEST_CASE("Kept batches are freed once an interval passes without an input taking one",
          "[ingest]") {
  drain();
  api::IngestOptions o;
  o.name = "in";
  auto a = build(o, 1000, "a");
  auto b = build(o, 1000, "b");
  pool::give(std::move(a));
  pool::give(std::move(b));
  REQUIRE(pool::keptBatches() == 2);
  // take() was called in this interval (the builds): the inputs are busy, nothing is freed.
  size_t kept = pool::keptBatches();
  CHECK(pool::releaseIdle() == 0);
  CHECK(pool::keptBatches() == kept);
  // A whole interval without take(): every kept batch is freed.
  CHECK(pool::releaseIdle() == kept);
  CHECK(pool::keptBatches() == 0);
  CHECK(pool::keptBytes() == 0);
  // The pool works as before afterwards.
  pool::give(build(o, 1000, "c"));
  CHECK(pool::keptBatches() == 1);
  CHECK(pool::releaseIdle() == 0);  // build() took one in this interval
  CHECK(pool::keptBatches() == 1);
  drain();
}
