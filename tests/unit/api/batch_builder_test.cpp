// The batch builder every input uses: required fields, the input's limits (each refusal names
// the field and counts its reason), defaults, label order, fingerprints, the error cap, and
// rolling back to a mark.
#include <catch2/catch.hpp>

#include "triaged/api/batch_pool.h"
#include "triaged/api/ingest.h"

using namespace triaged;
using api::Reject;

namespace {

api::IngestOptions options() {
  api::IngestOptions o;
  o.name = "in";
  o.max_labels = 3;
  o.max_label_name_bytes = 8;
  o.max_label_value_bytes = 16;
  o.resolve_timeout_ms = 60'000;
  return o;
}

size_t rejected(api::BatchBuilder& b, Reject r) { return b.rejectCounts()[static_cast<size_t>(r)]; }

}  // namespace

TEST_CASE("BatchBuilder refuses events that break a limit, naming the field", "[ingest]") {
  auto o = options();
  api::BatchBuilder b(o, 1'000);
  b.begin(0).check = "c";  // no resource
  CHECK_FALSE(b.finish());
  auto& e1 = b.begin(1);
  e1.resource = "r";
  e1.check = "c";
  for (const char* n : {"a", "b", "c", "d"}) b.addLabel(n, "v");
  CHECK_FALSE(b.finish());
  auto& e2 = b.begin(2);
  e2.resource = "r";
  e2.check = "c";
  b.addLabel("much_too_long_name", "v");
  CHECK_FALSE(b.finish());
  auto& e3 = b.begin(3);
  e3.resource = "r";
  e3.check = "c";
  b.addLabel("team", "a value longer than sixteen bytes");
  CHECK_FALSE(b.finish());
  auto& e4 = b.begin(4);
  e4.resource = "r";
  e4.check = "c";
  b.addLabel("team", "a");
  b.addLabel("team", "b");
  CHECK_FALSE(b.finish());
  CHECK(b.size() == 0);
  REQUIRE(b.errors().size() == 5);
  CHECK(b.errors()[0].index == 0);
  CHECK(b.errors()[0].field == "resource");
  CHECK(b.errors()[0].reason == "is required");
  CHECK(b.errors()[1].field == "labels");
  CHECK(b.errors()[2].field == "labels.much_too_long_name");
  CHECK(b.errors()[2].reason == "name longer than 8 bytes");
  CHECK(b.errors()[3].field == "labels.team");
  CHECK(b.errors()[3].reason == "value longer than 16 bytes");
  CHECK(b.errors()[4].reason == "duplicate name");
  CHECK(rejected(b, Reject::kMissingField) == 1);
  CHECK(rejected(b, Reject::kTooManyLabels) == 1);
  CHECK(rejected(b, Reject::kTooLarge) == 2);
  CHECK(rejected(b, Reject::kInvalidValue) == 1);
  CHECK(b.errorCount() == 5);
}

TEST_CASE("BatchBuilder fills defaults, sorts labels, and keys by fingerprint", "[ingest]") {
  auto o = options();
  api::BatchBuilder b(o, 5'000);
  for (int i = 0; i < 2; ++i) {
    auto& e = b.begin(i);
    e.resource = "db1";
    e.check = "down";
    if (i == 0) {
      b.addLabel("z", "1");
      b.addLabel("a", "2");
    } else {
      b.addLabel("a", "2");
      b.addLabel("z", "1");
    }
    REQUIRE(b.finish());
  }
  auto batch = b.take();
  REQUIRE(batch->events.size() == 2);
  const auto& e = batch->events[0];
  CHECK(e.source == "in");  // the input's name
  CHECK(e.receive_time_ms == 5'000);
  CHECK(e.event_time_ms == 5'000);
  CHECK(e.ends_at_ms == 65'000);  // resolve_timeout
  CHECK(batch->labels[e.labels_begin].name == "a");
  // Label order never changes the identity.
  CHECK(e.fingerprint == batch->events[1].fingerprint);
  CHECK(e.content_hash == batch->events[1].content_hash);
}

TEST_CASE("BatchBuilder keeps at most max_errors messages but counts every error, rollback forgets",
          "[ingest]") {
  auto o = options();
  api::BatchBuilder b(o, 0, 2);
  for (int i = 0; i < 5; ++i) {
    b.begin(i).check = "c";
    CHECK_FALSE(b.finish());
  }
  CHECK(b.errors().size() == 2);
  CHECK(b.errorCount() == 5);
  auto m = b.mark();
  auto& e = b.begin(5);
  e.resource = "r";
  e.check = "c";
  REQUIRE(b.finish());
  b.begin(6).check = "c";
  CHECK_FALSE(b.finish());
  CHECK(b.size() == 1);
  b.rollback(m);
  CHECK(b.size() == 0);
  CHECK(b.errorCount() == 5);
  CHECK(rejected(b, Reject::kMissingField) == 5);
}

TEST_CASE("A batch's arena starts at the size of the text announced, then grows", "[ingest]") {
  api::Arena plain;
  plain.copy("x");
  CHECK(plain.bytes() == 64 * 1024);  // nothing announced: one 64 KiB block

  api::Arena small;
  small.expect(300);
  auto a = small.copy(std::string(200, 'a'));
  CHECK(small.bytes() == 300);
  auto b = small.copy(std::string(200, 'b'));  // more than announced: a block of its own
  CHECK(small.bytes() == 300 + 64 * 1024);
  CHECK(a == std::string(200, 'a'));
  CHECK(b == std::string(200, 'b'));
  small.expect(10);  // too late to matter
  CHECK(small.bytes() == 300 + 64 * 1024);

  api::Arena tiny, huge;
  tiny.expect(1);
  tiny.copy("x");
  CHECK(tiny.bytes() == 256);  // at least 256 bytes
  huge.expect(size_t{1} << 30);
  huge.copy("x");
  CHECK(huge.bytes() == 64 * 1024);  // at most a usual block

  // The native decoder announces its document: a one-event request costs a small block (in a
  // new batch: one the pool kept keeps its block, and earlier tests in this process give some).
  api::batch_pool::releaseIdle();
  api::batch_pool::releaseIdle();  // the second call frees: no take() since the first
  REQUIRE(api::batch_pool::keptBatches() == 0);
  auto o = options();
  api::BatchBuilder bb(o, 1'000);
  bb.expectText(120);
  auto& e = bb.begin(0);
  e.resource = bb.keep("host-1");
  e.check = bb.keep("disk");
  CHECK(bb.finish());
  CHECK(bb.take()->arena.bytes() < 1024);
}

// Fingerprints and content hashes are stored (the alerts table, a peer's replica): the same event
// must hash to the same values in every release. Pinned here for each length class XXH3 treats
// apart (0, 1-3, 4-8, 9-16, 17-128, 129-240, longer), with and without an explicit key.
TEST_CASE("Fingerprints and content hashes of an event are the same in every release", "[ingest]") {
  api::IngestOptions o;
  o.name = "pinned";
  api::BatchBuilder b(o, 1'000);
  const std::string mid(200, 'm'), big(300, 'b');
  auto add = [&](std::string_view summary, std::string_view key) {
    auto& e = b.begin(0);
    e.resource = "db1";
    e.check = "disk-usage-high";
    e.service = "payments";
    e.summary = b.keep(summary);
    e.dedup_key = b.keep(key);
    b.addLabel("env", "prod");
    b.addLabel("instance", "db1.example.net:9100");
    b.addLabel("z", "");
    b.addAnnotation("runbook", "https://runbooks.example.net/disk-usage-high");
    b.addAnnotation("n", "7");
    REQUIRE(b.finish());
  };
  add("disk at 91%", "");
  add(mid, "");
  add(big, "");
  add("", "key-1");
  auto batch = b.take();
  REQUIRE(batch->events.size() == 4);
  const uint64_t want[4][2] = {{0x4a2bd0c8ba3fe9dcULL, 0xc9dbf4d1e19d3e9eULL},
                               {0x4a2bd0c8ba3fe9dcULL, 0x2fc7b6efdc35fe5fULL},
                               {0x4a2bd0c8ba3fe9dcULL, 0x233621edf816c67eULL},
                               {0xa42df4abe1aca506ULL, 0xd1facd762d27a562ULL}};
  for (size_t i = 0; i < 4; ++i) {
    INFO("event " << i);
    CHECK(batch->events[i].fingerprint == want[i][0]);
    CHECK(batch->events[i].content_hash == want[i][1]);
  }
}

// Events keyed by the default key are hashed four at a time (their chains interleaved); each
// must get what hashing it alone gives, whatever its neighbours' shapes, in a full group of four,
// in the group take() finishes, after a rollback and beside events with an explicit key.
TEST_CASE("Events hashed four at a time get the hashes each gets alone", "[ingest]") {
  api::IngestOptions o;
  o.name = "lanes";
  o.max_labels = 300;
  api::BatchBuilder b(o, 1'000);
  const std::string long_text(150, 'x'), longer(400, 'y');
  auto add = [&](int i) {
    auto& e = b.begin(i);
    e.resource = b.keep("host-" + std::to_string(i));
    e.check = i % 3 ? "cpu" : "disk-usage-high";
    e.summary = b.keep(i % 4 == 0 ? long_text : i % 4 == 1 ? longer : "s" + std::to_string(i));
    if (i % 5 == 4 || i == 7)  // an explicit key (7 takes the place of the rolled back 6)
      e.dedup_key = b.keep("key-" + std::to_string(i));
    for (int j = 0; j < (i * 7) % 12; ++j)
      b.addLabel("l" + std::to_string(j), std::string(static_cast<size_t>(j * 5), 'v'));
    if (i == 13)  // more labels than the lanes' room: hashed alone
      for (int j = 12; j < 140; ++j) b.addLabel("l" + std::to_string(j), "w");
    for (int j = 0; j < i % 3; ++j) b.addAnnotation("a" + std::to_string(j), "note");
    REQUIRE(b.finish());
  };
  for (int i = 0; i < 6; ++i) add(i);
  auto m = b.mark();
  add(6);  // pending, then rolled back
  b.rollback(m);
  for (int i = 7; i < 18; ++i) add(i);
  m = b.mark();
  add(18);  // pending when take() comes, but rolled back
  b.rollback(m);
  auto batch = b.take();
  REQUIRE(batch->events.size() == 17);
  size_t default_key = 0;
  for (const auto& e : batch->events) {
    INFO("event " << e.resource);
    if (!e.dedup_key.empty()) {
      CHECK_FALSE(e.signed_by_fingerprint);
      CHECK(e.fingerprint == api::fingerprintOf(*batch, e, o.fingerprint));
      CHECK(e.content_hash == api::contentHashOf(*batch, e));
      continue;
    }
    ++default_key;
    CHECK(e.signed_by_fingerprint);
    CHECK(e.fingerprint == api::fingerprintOf(*batch, e, o.fingerprint));
    CHECK(e.content_hash == api::contentHashOf(*batch, e, e.fingerprint));
  }
  CHECK(default_key == 13);
}
