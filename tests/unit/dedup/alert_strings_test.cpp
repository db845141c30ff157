// An alert's strings as the table packs them (AlertStrings, dedup/alert_table.h): every
// field, label and annotation back as it went in, and the signed strings compared with an
// event's in one pass.
#include <catch2/catch.hpp>

#include "dedup/alert_table.h"
#include "triaged/api/ingest.h"

using namespace triaged;

TEST_CASE("Packed alert strings round-trip fields, labels and annotations", "[dedup]") {
  api::IngestOptions o;
  o.name = "in";
  api::BatchBuilder b(o, 1);
  auto& e = b.begin(0);
  e.resource = "r";
  e.check = "c";
  e.service = "svc";
  e.description = std::string_view("multi\nline");
  b.addLabel("b", "2");
  b.addLabel("a", "1");
  b.addAnnotation("runbook", "http://x");
  REQUIRE(b.finish());
  auto batch = b.take();
  auto blob = engine::AlertStrings::pack(*batch, batch->events[0]);
  engine::AlertStrings s(blob.get());
  CHECK(s.field(engine::AlertStrings::kSource) == "in");
  CHECK(s.field(engine::AlertStrings::kService) == "svc");
  CHECK(s.field(engine::AlertStrings::kDescription) == "multi\nline");
  REQUIRE(s.labelCount() == 2);
  CHECK(s.label(0).name == "a");
  CHECK(s.label(1).value == "2");
  CHECK(s.annotation(0).value == "http://x");
  std::string_view v;
  CHECK(s.findLabel("b", v));
  CHECK(v == "2");
  CHECK_FALSE(s.findLabel("zzz", v));
  std::string seen;
  s.forEachLabel(
      [&](const api::Label& l) { seen += std::string(l.name) + "=" + std::string(l.value) + ";"; });
  s.forEachAnnotation(
      [&](const api::Label& l) { seen += std::string(l.name) + "=" + std::string(l.value) + ";"; });
  CHECK(seen == "a=1;b=2;runbook=http://x;");
}

TEST_CASE("Whether an event has an alert's signed strings is read in one pass, field by field",
          "[dedup]") {
  api::IngestOptions o;
  o.name = "in";
  api::BatchBuilder b(o, 1);
  auto add = [&](std::string_view service, std::string_view dc, std::string_view summary) {
    auto& e = b.begin(0);
    e.resource = "r";
    e.check = "c";
    e.service = service;
    e.summary = summary;
    b.addLabel("dc", dc);
    b.addLabel("team", "ops");
    REQUIRE(b.finish());
  };
  add("svc", "fra1", "one");
  add("svc", "fra1", "two");   // only an unsigned text differs
  add("svc2", "fra1", "one");  // the service
  add("svc", "ams1", "one");   // a label's value
  auto batch = b.take();
  auto blob = engine::AlertStrings::pack(*batch, batch->events[0]);
  engine::AlertStrings s(blob.get());
  CHECK(s.sameSigned(*batch, batch->events[0]));
  CHECK(s.sameSigned(*batch, batch->events[1]));
  CHECK_FALSE(s.sameSigned(*batch, batch->events[2]));
  CHECK_FALSE(s.sameSigned(*batch, batch->events[3]));
}
