#include "inputs/common/native_decoder.h"

#include <simdjson.h>

#include <catch2/catch.hpp>

using namespace triaged;

namespace {

api::IngestOptions opts() {
  api::IngestOptions o;
  o.name = "native";
  o.severity_map = plugins::nativeSeverities();
  return o;
}

struct Decoded {
  std::unique_ptr<api::EventBatch> batch;
  std::vector<api::DecodeError> errors;
  uint64_t error_count;
};

Decoded json(const std::string& text, const api::IngestOptions& o = opts()) {
  simdjson::padded_string p(text);
  api::BatchBuilder b(o, 1'000'000);
  plugins::decodeNativeJson(p.data(), p.size(), p.size() + simdjson::SIMDJSON_PADDING, b);
  auto errs = b.errors();
  auto n = b.errorCount();
  return {b.take(), errs, n};
}

Decoded ndjson(const std::string& text, const api::IngestOptions& o = opts()) {
  simdjson::padded_string p(text);
  api::BatchBuilder b(o, 1'000'000);
  plugins::decodeNdjson(p.data(), p.size(), p.size() + simdjson::SIMDJSON_PADDING, b);
  auto errs = b.errors();
  auto n = b.errorCount();
  return {b.take(), errs, n};
}

std::string label(const api::EventBatch& b, const api::Event& e, std::string_view name) {
  const auto* l = b.labelsOf(e);
  for (uint32_t i = 0; i < e.labels_count; ++i)
    if (l[i].name == name) return std::string(l[i].value);
  return "<none>";
}

}  // namespace

TEST_CASE("A native event decodes every field", "[decode][native]") {
  auto d = json(
      R"({"source":"nagios","resource":"db1","check":"DiskFull","severity":"critical","status":"firing",
    "service":"billing","labels":{"team":"storage","dc":"fra"},"annotations":{"runbook":"http://x"},
    "summary":"/var 97%","description":"long","value":97.5,"timestamp":"2026-01-01T10:00:00.250Z","dedup_key":"k1"})");
  REQUIRE(d.error_count == 0);
  REQUIRE(d.batch->events.size() == 1);
  const auto& e = d.batch->events[0];
  CHECK(e.source == "nagios");
  CHECK(e.resource == "db1");
  CHECK(e.check == "DiskFull");
  CHECK(e.severity == api::Severity::kCritical);
  CHECK(e.service == "billing");
  CHECK(e.summary == "/var 97%");
  CHECK(e.has_value);
  CHECK(e.value == 97.5);
  CHECK(e.event_time_ms == 1767261600250);
  CHECK(e.dedup_key == "k1");
  CHECK(e.labels_count == 2);
  CHECK(label(*d.batch, e, "dc") == "fra");
  CHECK(d.batch->labelsOf(e)[0].name == "dc");  // sorted
  CHECK(e.annotations_count == 1);
  CHECK(e.receive_time_ms == 1'000'000);
  CHECK(e.ends_at_ms == 1'000'000 + 5 * 60 * 1000);
}

TEST_CASE("Keys and strings decode to their values with escapes or without, spaced or not",
          "[decode][native]") {
  // Escapes in keys and values, and spaces around them, as in any JSON.
  const std::string escaped =
      R"({"res\u006furce" : "db\"1\"" ,"check":"c\\d", "severity" : "crit\u0069cal" ,)"
      R"("status":"resolv\u0065d","summary":"a\nb \u00e9" , "labels":{"t\u0065am" : "o\/ps" ,)"
      R"("dc" : "fra"  } })";
  for (const auto& d : {json(escaped), json("[" + escaped + "]"), ndjson(escaped + "\n")}) {
    REQUIRE(d.error_count == 0);
    REQUIRE(d.batch->events.size() == 1);
    const auto& e = d.batch->events[0];
    CHECK(e.resource == "db\"1\"");
    CHECK(e.check == "c\\d");
    CHECK(e.severity == api::Severity::kCritical);
    CHECK(e.status == api::Status::kResolved);
    CHECK(e.summary == "a\nb \u00e9");
    CHECK(label(*d.batch, e, "team") == "o/ps");
    CHECK(label(*d.batch, e, "dc") == "fra");
  }
  // The same event written with escapes and without is the same alert with the same content.
  auto a = json(
      R"({"res\u006furce":"db1","check":"c","summary":"s\u0031","labels":{"t\u0065am":"\u006fps"}})");
  auto b = json(
      R"( { "resource" : "db1" , "check" : "c" , "summary" : "s1" , "labels" : { "team" : "ops" } } )");
  REQUIRE(a.error_count == 0);
  REQUIRE(b.error_count == 0);
  CHECK(a.batch->events[0].fingerprint == b.batch->events[0].fingerprint);
  CHECK(a.batch->events[0].content_hash == b.batch->events[0].content_hash);
  // A value that is not a string is still refused by name, spaced or not.
  auto bad = json(R"({"resource" : 7 , "check":"c"})");
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].field == "resource");
  auto bad_label = json(R"({"resource":"r","check":"c","labels":{"team" : 1 }})");
  REQUIRE(bad_label.errors.size() == 1);
  CHECK(bad_label.errors[0].field == "labels.team");
}

TEST_CASE("Source defaults to the input's name and severity to the input's default",
          "[decode][native]") {
  auto d = json(R"({"resource":"r","check":"c"})");
  REQUIRE(d.batch->events.size() == 1);
  CHECK(d.batch->events[0].source == "native");
  CHECK(d.batch->events[0].severity == api::Severity::kWarning);
  CHECK(d.batch->events[0].event_time_ms == 1'000'000);
}

TEST_CASE("Epoch-millisecond timestamps and severity aliases are accepted", "[decode][native]") {
  auto d = json(R"([{"resource":"r","check":"c","timestamp":1700000000123,"severity":"error"},
                    {"resource":"r","check":"c","severity":"CLEAR"}])");
  REQUIRE(d.error_count == 0);
  CHECK(d.batch->events[0].event_time_ms == 1700000000123);
  CHECK(d.batch->events[0].severity == api::Severity::kMajor);
  CHECK(d.batch->events[1].severity == api::Severity::kOk);
}

TEST_CASE("Every invalid event in an array is reported with its index and field",
          "[decode][native]") {
  auto d = json(R"([{"resource":"r","check":"c"},
                    {"resource":"r","check":"c","bogus":true},
                    {"check":"c"},
                    {"resource":5,"check":"c"},
                    {"resource":"r","check":"c","labels":{"a":1}},
                    {"resource":"r","check":"c","status":"maybe"},
                    {"resource":"r","check":"c","timestamp":"yesterday"},
                    "not an object"])");
  CHECK(d.error_count == 7);
  REQUIRE(d.errors.size() == 7);
  CHECK((d.errors[0].index == 1 && d.errors[0].field == "bogus" &&
         d.errors[0].reason == "unknown field"));
  CHECK((d.errors[1].index == 2 && d.errors[1].field == "resource" &&
         d.errors[1].reason == "is required"));
  CHECK((d.errors[2].index == 3 && d.errors[2].field == "resource" &&
         d.errors[2].reason == "expected a string"));
  CHECK((d.errors[3].index == 4 && d.errors[3].field == "labels.a"));
  CHECK((d.errors[4].index == 5 && d.errors[4].field == "status"));
  CHECK((d.errors[5].index == 6 && d.errors[5].field == "timestamp"));
  CHECK((d.errors[6].index == 7 && d.errors[6].reason == "expected a JSON object"));
  CHECK(d.batch->events.size() == 1);
}

TEST_CASE("Truncated and malformed JSON bodies are errors, not crashes", "[decode][native]") {
  for (const char* bad : {"", "{", "[{\"resource\":\"r\",", "{\"resource\":\"r\" \"check\":1}",
                          "nul", "[1,2", "{\"resource\":\"\\u12\"}", "\"just a string\"", "42",
                          "[{\"resource\":\"r\",\"check\":\"c\"},"}) {
    INFO(bad);
    auto d = json(bad);
    CHECK(d.error_count >= 1);
  }
}

TEST_CASE("NDJSON lines decode with line numbers in errors, bad lines skipped",
          "[decode][ndjson]") {
  auto d = ndjson(
      "{\"resource\":\"n1\",\"check\":\"c\"}\n"
      "\n"
      "{\"resource\":\"n2\",\"check\":\"c\"\n"
      "{\"resource\":\"n3\",\"check\":\"c\",\"labels\":{\"a\":1}}\n"
      "{\"resource\":\"n4\",\"check\":\"c\"}");
  CHECK(d.batch->events.size() == 2);
  CHECK(d.batch->events[0].resource == "n1");
  CHECK(d.batch->events[1].resource == "n4");
  REQUIRE(d.errors.size() == 2);
  CHECK(d.errors[0].line == 3);
  CHECK(d.errors[0].reason.find("invalid JSON") == 0);
  CHECK(d.errors[1].line == 4);
  CHECK(d.errors[1].field == "labels.a");
}

TEST_CASE("Content after an event object on its line is an error", "[decode][ndjson]") {
  auto d = ndjson(
      "{\"resource\":\"a\",\"check\":\"b\"}   \n{\"resource\":\"c\",\"check\":\"d\"} junk\n"
      "{\"resource\":\"e\",\"check\":\"f\"}{\"resource\":\"g\",\"check\":\"h\"}\n");
  CHECK(d.batch->events.size() == 1);
  REQUIRE(d.errors.size() == 2);
  CHECK(d.errors[0].line == 2);  // simdjson itself refuses the stray token
  CHECK(d.errors[1].line == 3);
  CHECK(d.errors[1].reason == "unexpected content after the event object");
  auto single = json("{\"resource\":\"a\",\"check\":\"b\"} {\"x\":1}");
  CHECK(single.error_count == 1);
}

TEST_CASE("NDJSON fast path keeps line numbers for semantic errors", "[decode][ndjson]") {
  auto d = ndjson("{\"resource\":\"n1\",\"check\":\"c\"}\n\n\n{\"resource\":\"n2\",\"nope\":1}\n");
  CHECK(d.batch->events.size() == 1);
  REQUIRE(d.errors.size() == 1);
  CHECK(d.errors[0].line == 4);
  CHECK(d.errors[0].field == "nope");
}

TEST_CASE("Limits: oversized events, too many labels, long label values", "[decode][limits]") {
  auto o = opts();
  o.max_event_bytes = 100;
  o.max_labels = 2;
  o.max_label_value_bytes = 5;
  auto d = ndjson("{\"resource\":\"r\",\"check\":\"c\",\"summary\":\"" + std::string(200, 'x') +
                      "\"}\n" +
                      "{\"resource\":\"r\",\"check\":\"c\",\"labels\":{\"a\":\"1\",\"b\":\"2\","
                      "\"c\":\"3\"}}\n" +
                      "{\"resource\":\"r\",\"check\":\"c\",\"labels\":{\"a\":\"123456\"}}\n" +
                      "{\"resource\":\"r\",\"check\":\"c\",\"labels\":{\"a\":\"12345\"}}\n",
                  o);
  REQUIRE(d.errors.size() == 3);
  CHECK(d.errors[0].reason == "event larger than 100 bytes");
  CHECK(d.errors[1].reason.find("more than 2 labels") == 0);
  CHECK(d.errors[2].field == "labels.a");
  CHECK(d.batch->events.size() == 1);
}

TEST_CASE("Label order never changes a fingerprint, label values and fields do", "[fingerprint]") {
  auto a = json(R"({"resource":"r","check":"c","labels":{"x":"1","y":"2","z":"3"}})");
  auto b = json(R"({"labels":{"z":"3","x":"1","y":"2"},"check":"c","resource":"r"})");
  auto c = json(R"({"resource":"r","check":"c","labels":{"x":"1","y":"2","z":"4"}})");
  auto d = json(R"({"resource":"r2","check":"c","labels":{"x":"1","y":"2","z":"3"}})");
  CHECK(a.batch->events[0].fingerprint == b.batch->events[0].fingerprint);
  CHECK(a.batch->events[0].content_hash == b.batch->events[0].content_hash);
  CHECK(a.batch->events[0].fingerprint != c.batch->events[0].fingerprint);
  CHECK(a.batch->events[0].fingerprint != d.batch->events[0].fingerprint);
}

TEST_CASE("Volatile labels can be left out of the fingerprint, an explicit dedup key wins",
          "[fingerprint]") {
  auto o = opts();
  o.fingerprint.ignore_labels = {"pod"};
  auto a = json(R"({"resource":"r","check":"c","labels":{"pod":"a-1"}})", o);
  auto b = json(R"({"resource":"r","check":"c","labels":{"pod":"b-2"}})", o);
  CHECK(a.batch->events[0].fingerprint == b.batch->events[0].fingerprint);
  CHECK(a.batch->events[0].content_hash != b.batch->events[0].content_hash);
  auto k1 = json(R"({"resource":"r1","check":"c1","dedup_key":"same"})");
  auto k2 = json(R"({"resource":"r2","check":"c2","dedup_key":"same"})");
  CHECK(k1.batch->events[0].fingerprint == k2.batch->events[0].fingerprint);
}

TEST_CASE("RFC 3339 timestamps parse with fractions and offsets, and bad ones do not", "[time]") {
  CHECK(api::parseRfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(api::parseRfc3339("2026-01-01T10:00:00Z") == 1767261600000);
  CHECK(api::parseRfc3339("2026-01-01T12:00:00+02:00") == 1767261600000);
  CHECK(api::parseRfc3339("2015-07-17T08:42:58.315+0000") == 1437122578315);
  CHECK(api::parseRfc3339("2021-10-12T09:51:03.157076+02:00") == 1634025063157);
  CHECK(api::parseRfc3339("2024-02-29T00:00:00Z").has_value());
  CHECK_FALSE(api::parseRfc3339("2023-02-29T00:00:00Z").has_value());
  CHECK_FALSE(api::parseRfc3339("2026-13-01T00:00:00Z").has_value());
  CHECK_FALSE(api::parseRfc3339("2026-01-01 10:00").has_value());
  CHECK_FALSE(api::parseRfc3339("2026-01-01T10:00:00").has_value());
  CHECK_FALSE(api::parseRfc3339("2026-01-01T10:00:00Zjunk").has_value());
  CHECK(api::formatRfc3339Ms(1767261600250) == "2026-01-01T10:00:00.250Z");
  CHECK(api::parseRfc3339(api::formatRfc3339Ms(-62135596800000)) == -62135596800000);  // 0001-01-01
  // Written digit by digit (no printf): the edges of every field, and years beyond four digits
  // as printf writes them.
  CHECK(api::formatRfc3339Ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(api::formatRfc3339Ms(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(api::formatRfc3339Ms(951868799999) == "2000-02-29T23:59:59.999Z");
  CHECK(api::formatRfc3339Ms(253402300799999) == "9999-12-31T23:59:59.999Z");
  CHECK(api::formatRfc3339Ms(253402300800000) == "10000-01-01T00:00:00.000Z");
  CHECK(api::formatRfc3339Ms(-62167219200001) == "-001-12-31T23:59:59.999Z");
  CHECK(api::Rfc3339Ms(1767261600250).view() == "2026-01-01T10:00:00.250Z");
  for (int64_t ms = -86'400'000LL * 800; ms < 86'400'000LL * 800; ms += 86'400'000LL + 3'723'457)
    CHECK(api::parseRfc3339(api::formatRfc3339Ms(ms)) == ms);
}
