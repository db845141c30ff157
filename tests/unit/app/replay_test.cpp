// `triaged replay` as a function: the same events give the same output; decoding uses the
// configured input's settings; bad and late lines are named by number and change nothing.
#include "app/replay.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "builtin_plugins.h"
#include "temp_config.h"

using namespace triaged;

namespace {

const char* kEvents =
    R"({"resource":"db1","check":"down","severity":"critical","timestamp":"2026-01-01T00:00:00Z"}
{"resource":"db1","check":"down","status":"resolved","timestamp":"2026-01-01T00:20:00Z"}
)";

struct Run {
  int code;
  std::string out, err;
};

Run replay(const config::Config& c, const std::string& events, engine::ReplayOptions o = {}) {
  auto plugins = plugins::builtinPlugins();
  std::istringstream in(events);
  std::ostringstream out, err;
  int code = engine::runReplay(c, plugins, in, out, err, o);
  return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("Replay is deterministic and decodes as the configured input does", "[replay]") {
  auto c = testing::configWith(
      "configuration_items: [{name: db1}]\n",
      "inputs:\n  - type: native_json\n    name: events\n    resolve_timeout: 1h\n"
      "correlation:\n  resolve_hold_down: 0s\n");
  auto a = replay(*c, kEvents), b = replay(*c, kEvents);
  CHECK(a.code == 0);
  CHECK(a.out == b.out);
  CHECK(a.err.find("decoding as input \"events\" (native_json") != std::string::npos);
  // With a 1 h timeout the alert resolves by its event at 00:20, not by a 5-minute timeout.
  CHECK(a.out.find("\"type\":\"incident.resolved\",\"at\":\"2026-01-01T00:20:00.000Z\"") !=
        std::string::npos);
  CHECK(a.out.find("\"source\":\"events\"") != std::string::npos);
}

TEST_CASE("Replay names bad lines and an unknown input, and exits non-zero", "[replay]") {
  auto c = testing::configWith("configuration_items: [{name: db1}]\n");
  auto r = replay(*c, std::string(kEvents) + "{\"resource\":\"db1\"}\n" +
                          R"({"resource":"x","check":"y"})" + "\n");
  CHECK(r.code == 1);
  CHECK(r.err.find("line 3: check: is required") != std::string::npos);
  CHECK(r.err.find("line 4: timestamp: is required in replay") != std::string::npos);
  CHECK(r.err.find("replayed 4 events: 2 invalid, 0 late") != std::string::npos);
  engine::ReplayOptions o;
  o.input = "missing";
  auto bad = replay(*c, kEvents, o);
  CHECK(bad.code == 2);
  CHECK(bad.err.find("--input: no input named \"missing\"") != std::string::npos);
}
