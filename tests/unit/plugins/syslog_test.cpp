#include <catch2/catch.hpp>
#include <map>

#include "inputs/syslog/syslog_parser.h"

using namespace triaged;
using plugins::parseSyslog;

namespace {
const int64_t kNow = 1'767'261'600'000;  // 2026-01-01T10:00:00Z
}

TEST_CASE("RFC 5424 messages parse with structured data and a BOM", "[syslog]") {
  std::string err;
  auto m = parseSyslog(
      "<165>1 2026-01-01T09:59:58.123Z router1 ifmgr 1234 LINK [exampleSDID@32473 iut=\"3\" "
      "eventSource=\"Application]\"] "
      "\xEF\xBB\xBFInterface Gi0/1, changed state to down",
      kNow, &err);
  REQUIRE(m);
  CHECK(m->rfc5424);
  CHECK(m->facility == 20);
  CHECK(m->severity == 5);
  CHECK(m->time_ms == kNow - 1877);
  CHECK(m->hostname == "router1");
  CHECK(m->app == "ifmgr");
  CHECK(m->procid == "1234");
  CHECK(m->msgid == "LINK");
  CHECK(m->message == "Interface Gi0/1, changed state to down");
  auto nil = parseSyslog("<14>1 - - - - - - hello", kNow, &err);
  REQUIRE(nil);
  CHECK(nil->hostname.empty());
  CHECK(nil->time_ms == 0);
  CHECK(nil->message == "hello");
}

TEST_CASE("RFC 3164 messages parse with a tag and pid, in the current year", "[syslog]") {
  std::string err;
  auto m = parseSyslog(
      "<34>Jan  1 09:58:00 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8", kNow,
      &err);
  REQUIRE(m);
  CHECK_FALSE(m->rfc5424);
  CHECK(m->severity == 2);
  CHECK(m->facility == 4);
  CHECK(m->hostname == "mymachine");
  CHECK(m->app == "su");
  CHECK(m->procid == "230");
  CHECK(m->time_ms == kNow - 120'000);
  CHECK(m->message == "'su root' failed for lonvick on /dev/pts/8");
  // December read in January belongs to last year.
  auto dec = parseSyslog("<13>Dec 31 23:59:59 h app: x", kNow, &err);
  REQUIRE(dec);
  CHECK(dec->time_ms == api::parseRfc3339("2025-12-31T23:59:59Z"));
  // Bare messages without timestamp or tag still parse.
  auto bare = parseSyslog("<13>just text", kNow, &err);
  REQUIRE(bare);
  CHECK(bare->message == "just text");
}

TEST_CASE("Malformed priorities are errors that say what is wrong", "[syslog]") {
  for (auto [line, why] : {std::pair{"no pri", "missing <PRI>"},
                           {"<>x", "malformed <PRI>"},
                           {"<1a>x", "malformed <PRI>"},
                           {"<999>x", "<PRI> out of range"},
                           {"<12345>x", "malformed <PRI>"}}) {
    std::string err;
    INFO(line);
    CHECK_FALSE(parseSyslog(line, kNow, &err));
    CHECK(err == why);
  }
}

TEST_CASE("Extraction rules turn matching lines into events with named groups as labels",
          "[syslog]") {
  auto node = YAML::Load(R"(
rules:
  - name: link-down
    match: 'Interface (?P<interface>\S+), changed state to down'
    app: '^ifmgr$'
    check: LinkDown
    labels: {layer: "l2", port: "${interface}"}
  - name: link-up
    match: 'Interface (?P<interface>\S+), changed state to up'
    check: LinkDown
    status: resolved
)");
  config::ConfigErrors errors;
  config::ErrorSink sink("t.yaml", errors);
  config::MapReader r(node, "inputs[0]", sink);
  auto rules = plugins::readSyslogRules(r);
  REQUIRE(errors.empty());
  REQUIRE(rules.size() == 2);
  api::IngestOptions o;
  o.name = "syslog";
  api::BatchBuilder b(o, kNow);
  std::string err;
  auto m = parseSyslog(
      "<163>1 2026-01-01T09:59:00Z router1 ifmgr - - - Interface Gi0/1, changed state to down",
      kNow, &err);
  b.begin(0);
  REQUIRE(plugins::applySyslogRules(rules, *m, b));
  REQUIRE(b.finish());
  auto up =
      parseSyslog("<165>1 - router1 other - - - Interface Gi0/1, changed state to up", kNow, &err);
  b.begin(1);
  REQUIRE(plugins::applySyslogRules(rules, *up, b));
  REQUIRE(b.finish());
  auto none = parseSyslog("<165>1 - router1 ifmgr - - - something else", kNow, &err);
  b.begin(2);
  CHECK_FALSE(plugins::applySyslogRules(rules, *none, b));
  b.events().pop_back();
  auto batch = b.take();
  REQUIRE(batch->events.size() == 2);
  const auto& e = batch->events[0];
  CHECK(e.check == "LinkDown");
  CHECK(e.resource == "router1");
  CHECK(e.severity == api::Severity::kMajor);  // syslog severity 3 (error)
  CHECK(e.event_time_ms == kNow - 60'000);
  std::map<std::string, std::string> labels;
  for (uint32_t i = 0; i < e.labels_count; ++i)
    labels[std::string(batch->labelsOf(e)[i].name)] = std::string(batch->labelsOf(e)[i].value);
  CHECK(labels == std::map<std::string, std::string>{
                      {"interface", "Gi0/1"}, {"layer", "l2"}, {"port", "Gi0/1"}});
  // The "up" line resolves the same alert: same check, resource and labels.
  CHECK(batch->events[1].status == api::Status::kResolved);
  CHECK(batch->events[1].fingerprint != e.fingerprint);  // extra labels differ (layer, port)
}

TEST_CASE("Bad extraction rules are config errors with RE2's reason", "[syslog]") {
  auto node = YAML::Load("rules:\n  - match: '(unclosed'\n    check: X\n  - check: Y\n");
  config::ConfigErrors errors;
  config::ErrorSink sink("t.yaml", errors);
  config::MapReader r(node, "inputs[0]", sink);
  plugins::readSyslogRules(r);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].path == "inputs[0].rules[0].match");
  CHECK(errors[0].message.find("invalid regular expression") == 0);
  CHECK(errors[1].path == "inputs[0].rules[1].match");
}
