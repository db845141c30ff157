#include "pipeline/pipeline.h"

#include <catch2/catch.hpp>
#include <future>
#include <map>
#include <mutex>
#include <tuple>

#include "pipeline/adaptive_spin.h"
#include "triaged/api/ingest.h"

using namespace triaged;

namespace {

std::unique_ptr<api::EventBatch> batchOf(int from, int n, const api::IngestOptions& o) {
  api::BatchBuilder b(o, 1000);
  for (int i = from; i < from + n; ++i) {
    auto& e = b.begin(i);
    e.resource = b.keep("host-" + std::to_string(i));
    e.check = "c";
    b.finish();
  }
  return b.take();
}

struct Collect : engine::ChangeSink {
  std::mutex mu;
  size_t n = 0;
  void consume(size_t, const engine::AlertTable&, const std::vector<engine::AlertChange>& c,
               std::function<void()> committed) override {
    std::lock_guard lk(mu);
    n += c.size();
    if (committed) committed();
  }
};

}  // namespace

TEST_CASE("A batch is applied across shards and reported once, with exact counts", "[pipeline]") {
  engine::ManualClock clock(1000);
  api::MetricsHub hub;
  Collect changes;
  engine::PipelineOptions po;
  po.shards = 3;
  engine::Pipeline p(po, clock, hub, &changes);
  p.start();
  api::IngestOptions o;
  o.name = "t";
  for (int round = 0; round < 2; ++round) {
    std::promise<api::BatchResult> done;
    auto batch = batchOf(0, 1000, o);
    REQUIRE(p.submit(batch, [&](const api::BatchResult& r) { done.set_value(r); }) ==
            api::SubmitStatus::kAccepted);
    CHECK(batch == nullptr);
    auto future = done.get_future();
    REQUIRE(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    auto r = future.get();
    CHECK(r.events == 1000);
    CHECK(r.new_alerts == (round == 0 ? 1000u : 0u));
    CHECK(r.duplicates == (round == 0 ? 0u : 1000u));
  }
  CHECK(changes.n == 1000);
  // Every shard holds a share, and the total is exact.
  // (Sizes are read on the shards' threads and checked here: Catch is not thread-safe.)
  std::vector<size_t> sizes(p.shards());
  std::vector<std::promise<void>> seen(p.shards());
  for (size_t i = 0; i < p.shards(); ++i)
    p.runOnShard(i, [&, i](const engine::AlertTable& t) {
      sizes[i] = t.size();
      seen[i].set_value();
    });
  for (auto& s : seen)
    REQUIRE(s.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  size_t total = 0;
  for (size_t n : sizes) {
    CHECK(n > 200);
    total += n;
  }
  CHECK(total == 1000);
  auto text = hub.serialize();
  CHECK(text.find("triaged_alerts_active{status=\"firing\"} 1000") != std::string::npos);
  CHECK(text.find("triaged_dedup_events_total{outcome=\"duplicate\"} 1000") != std::string::npos);
}

TEST_CASE("A full shard queue refuses the whole batch and keeps it with the caller", "[pipeline]") {
  engine::ManualClock clock(1000);
  api::MetricsHub hub;
  engine::PipelineOptions po;
  po.shards = 2;
  po.queue_batches = 1;
  engine::Pipeline p(po, clock, hub);  // not started: nothing drains the queues
  api::IngestOptions o;
  o.name = "t";
  auto first = batchOf(0, 100, o);
  std::promise<void> first_done;
  REQUIRE(p.submit(first, [&](const api::BatchResult&) { first_done.set_value(); }) ==
          api::SubmitStatus::kAccepted);
  auto second = batchOf(100, 100, o);
  CHECK(p.submit(second, {}) == api::SubmitStatus::kBusy);
  REQUIRE(second != nullptr);
  CHECK(second->events.size() == 100);
  CHECK(hub.serialize().find("triaged_pipeline_queue_full_total") != std::string::npos);
  p.start();
  // Once the shards have taken the first batch (its room is freed before it reports), the
  // same second batch goes in.
  REQUIRE(first_done.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  std::promise<void> done;
  REQUIRE(p.submit(second, [&](const api::BatchResult&) { done.set_value(); }) ==
          api::SubmitStatus::kAccepted);
  REQUIRE(done.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
}

TEST_CASE(
    "The queue is bounded in bytes too: batches beyond queue_bytes wait, one batch always goes "
    "in, and a batch's memory is given back once applied",
    "[pipeline]") {
  engine::ManualClock clock(1000);
  api::MetricsHub hub;
  engine::PipelineOptions po;
  po.shards = 1;
  po.queue_bytes = 1 << 20;
  engine::Pipeline p(po, clock, hub);  // not started: nothing drains the queue
  api::IngestOptions o;
  o.name = "t";
  // A batch of 8,000 events holds more than 1 MiB (its events alone): alone it goes in.
  auto big = batchOf(0, 8000, o);
  std::promise<void> big_done;
  REQUIRE(p.submit(big, [&](const api::BatchResult&) { big_done.set_value(); }) ==
          api::SubmitStatus::kAccepted);
  auto small = batchOf(8000, 10, o);
  CHECK(p.submit(small, {}) == api::SubmitStatus::kBusy);
  REQUIRE(small != nullptr);
  p.start();
  REQUIRE(big_done.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  std::promise<api::BatchResult> done;
  REQUIRE(p.submit(small, [&](const api::BatchResult& r) { done.set_value(r); }) ==
          api::SubmitStatus::kAccepted);
  auto f = done.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  CHECK(f.get().events == 10);  // reported from the context: the batch itself is gone
}

TEST_CASE("A draining pipeline refuses batches", "[pipeline]") {
  engine::ManualClock clock(1000);
  api::MetricsHub hub;
  engine::Pipeline p({}, clock, hub);
  p.start();
  p.beginDrain();
  api::IngestOptions o;
  o.name = "t";
  auto b = batchOf(0, 1, o);
  CHECK(p.submit(b, {}) == api::SubmitStatus::kDraining);
}

TEST_CASE("Shards resolve expired alerts on the injected clock", "[pipeline][time]") {
  engine::ManualClock clock(1000);
  api::MetricsHub hub;
  engine::PipelineOptions po;
  po.shards = 2;
  engine::Pipeline p(po, clock, hub);
  p.start();
  api::IngestOptions o;
  o.name = "t";
  o.resolve_timeout_ms = 5000;
  std::promise<void> done;
  auto b = batchOf(0, 10, o);
  p.submit(b, [&](const api::BatchResult&) { done.set_value(); });
  REQUIRE(done.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  auto firingNow = [&] {
    std::atomic<size_t> firing{0};
    std::vector<std::promise<void>> seen(2);
    for (size_t i = 0; i < 2; ++i)
      p.runOnShard(i, [&, i](const engine::AlertTable& t) {
        firing += t.firing();
        seen[i].set_value();
      });
    for (auto& s : seen)
      REQUIRE(s.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    return firing.load();
  };
  CHECK(firingNow() == 10);  // they fired, so that their expiry below means something
  clock.set(1000 + 4999);
  p.expireNow();
  CHECK(firingNow() == 10);  // not before their deadline
  clock.set(1000 + 5000);
  p.expireNow();
  CHECK(firingNow() == 0);
}

TEST_CASE("A stage spins long while work keeps coming and briefly when it does not", "[pipeline]") {
  engine::AdaptiveSpin spin;
  CHECK(spin.budget() == engine::AdaptiveSpin::kMax);
  // Nothing comes: every spin ends in sleep, and each halves the next, down to the floor.
  int turns = 0;
  CHECK_FALSE(spin.wait([&] {
    ++turns;
    return true;
  }));
  CHECK(turns == engine::AdaptiveSpin::kMax);
  CHECK(spin.budget() == engine::AdaptiveSpin::kMax / 2);
  for (int i = 0; i < 20; ++i) spin.wait([] { return true; });
  CHECK(spin.budget() == engine::AdaptiveSpin::kMin);
  turns = 0;
  spin.wait([&] {
    ++turns;
    return true;
  });
  CHECK(turns == engine::AdaptiveSpin::kMin);
  // Work comes while spinning: the wait ends there and the next spin may be twice as long.
  turns = 0;
  CHECK(spin.wait([&] { return ++turns < 10; }));
  CHECK(turns == 10);
  CHECK(spin.budget() == 2 * engine::AdaptiveSpin::kMin);
  for (int i = 0; i < 20; ++i) spin.wait([] { return false; });
  CHECK(spin.budget() == engine::AdaptiveSpin::kMax);
}

TEST_CASE(
    "A checkpoint hands the sink the alerts whose texts changed without a change of state, "
    "once",
    "[pipeline][time]") {
  // The sink keeps each alert's summary as it last copied it, as the correlator does.
  struct Texts : engine::ChangeSink {
    std::mutex mu;
    std::map<uint64_t, std::string> summary;
    size_t refreshed = 0;
    void keep(const engine::AlertTable& t, uint64_t fp) {
      summary[fp] = std::string(t.find(fp)->view().field(engine::AlertStrings::kSummary));
    }
    void consume(size_t, const engine::AlertTable& t, const std::vector<engine::AlertChange>& c,
                 std::function<void()> committed) override {
      std::lock_guard lk(mu);
      for (auto& ch : c)
        if (ch.kind == engine::ChangeKind::kNew || ch.kind == engine::ChangeKind::kRefired)
          keep(t, ch.fingerprint);
      if (committed) committed();
    }
    void refresh(size_t, const engine::AlertTable& t, const std::vector<uint64_t>& fps) override {
      std::lock_guard lk(mu);
      for (uint64_t fp : fps) keep(t, fp);
      refreshed += fps.size();
    }
  } sink;
  engine::ManualClock clock(1000);
  api::MetricsHub hub;
  engine::PipelineOptions po;
  po.shards = 2;
  engine::Pipeline p(po, clock, hub, &sink);
  p.start();
  api::IngestOptions o;
  o.name = "t";
  // Four alerts; the texts of 0 and 1 change, 2 resolves and fires again with a new text, 3
  // repeats itself.
  auto send = [&](std::vector<std::tuple<int, const char*, api::Status>> events) {
    api::BatchBuilder b(o, 1000);
    for (auto& [host, summary, status] : events) {
      auto& e = b.begin(host);
      e.resource = b.keep("host-" + std::to_string(host));
      e.check = "c";
      e.summary = b.keep(summary);
      e.status = status;
      b.finish();
    }
    auto batch = b.take();
    std::promise<void> done;
    p.submit(batch, [&](const api::BatchResult&) { done.set_value(); });
    REQUIRE(done.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  };
  auto fpOf = [&](int host) {
    api::BatchBuilder b(o, 1000);
    auto& e = b.begin(0);
    e.resource = b.keep("host-" + std::to_string(host));
    e.check = "c";
    b.finish();
    return b.take()->events[0].fingerprint;
  };
  // What the sink holds once every shard has run what was queued before.
  auto held = [&] {
    std::vector<std::promise<void>> seen(2);
    for (size_t i = 0; i < 2; ++i)
      p.runOnShard(i, [&, i](const engine::AlertTable&) { seen[i].set_value(); });
    for (auto& s : seen)
      REQUIRE(s.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    std::lock_guard lk(sink.mu);
    std::string out;
    for (int h = 0; h < 4; ++h) out += sink.summary[fpOf(h)] + ";";
    return out;
  };
  const auto F = api::Status::kFiring, R = api::Status::kResolved;
  send({{0, "a0", F}, {1, "a1", F}, {2, "a2", F}, {3, "a3", F}});
  CHECK(held() == "a0;a1;a2;a3;");
  send({{0, "b0", F}, {1, "b1", F}, {2, "b2", R}, {3, "a3", F}});
  send({{2, "c2", F}});  // re-fired: the sink copies it with the change
  CHECK(held() == "a0;a1;c2;a3;");
  p.checkpointNow();
  CHECK(held() == "b0;b1;c2;a3;");
  CHECK(sink.refreshed == 2);  // not the re-fired alert, nor the repeated one
  p.checkpointNow();
  CHECK(held() == "b0;b1;c2;a3;");
  CHECK(sink.refreshed == 2);  // once
  p.stop();
}
