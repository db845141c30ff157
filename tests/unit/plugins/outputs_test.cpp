#include <simdjson.h>

#include <catch2/catch.hpp>

#include "builtin_plugins.h"
#include "outputs/webhook/body_template.h"

using namespace triaged;

namespace {

const char* kEvent =
    R"({"event":"incident.opened","at":"2026-11-21T10:00:00.000Z","incident":{"id":7,"title":"disk \"full\" on db1",)"
    R"("service":"db","priority":2,"status":"open","services":["db","storage"],"tags":{"a":1}}})";

std::string render(const std::string& text, const char* event = kEvent) {
  plugins::outputs::BodyTemplate t;
  std::string error;
  REQUIRE(t.compile(text, &error));
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(std::string(event));
  return t.render(&root);
}

std::string compileError(const std::string& text) {
  plugins::outputs::BodyTemplate t;
  std::string error;
  CHECK_FALSE(t.compile(text, &error));
  return error;
}

}  // namespace

TEST_CASE("Body templates fill JSON values outside strings and escaped text inside them",
          "[outputs]") {
  CHECK(render(R"({"id": {{incident.id}}, "title": {{incident.title}}})") ==
        R"({"id": 7, "title": "disk \"full\" on db1"})");
  CHECK(
      render(
          R"j({"text": "P{{incident.priority}}: {{ incident.title }} ({{incident.services.1}})"})j") ==
      R"j({"text": "P2: disk \"full\" on db1 (storage)"})j");
  // Absent fields: null as a value, nothing inside a string; objects as JSON (escaped in strings).
  CHECK(
      render(
          R"({"x": {{incident.nope}}, "y": "<{{nope.deeper}}>", "z": {{incident.tags}}, "w": "{{incident.tags}}"})") ==
      R"({"x": null, "y": "<>", "z": {"a":1}, "w": "{\"a\":1}"})");
  // An escaped quote in the template does not end its string.
  CHECK(render(R"({"t": "a \"{{incident.id}}\" b"})") == R"({"t": "a \"7\" b"})");
  // Every rendering is valid JSON, whatever the event holds.
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  CHECK_FALSE(parser.parse(render(R"({"a": [{{incident.services}}, {{event}}], "b": "{{at}}"})"))
                  .get(root));
}

TEST_CASE("Body templates that cannot give JSON are refused with the offset", "[outputs]") {
  CHECK(compileError(R"({"a": {{incident.id})").find("without a closing") != std::string::npos);
  CHECK(compileError(R"({"a": {{incident title}}})").find("offset 6") != std::string::npos);
  CHECK(compileError(R"({"a": {{incident.id}})").find("not valid JSON") != std::string::npos);
  CHECK(compileError(R"("{{x}}" extra)").find("not valid JSON") != std::string::npos);
}

TEST_CASE("Output plugins check their own keys and build their requests", "[outputs]") {
  auto registry = plugins::builtinPlugins();
  for (const char* type : {"webhook", "pagerduty", "slack", "servicenow", "jira"})
    REQUIRE(registry.findOutput(type));
  config::NotificationTarget t;
  std::vector<std::pair<std::string, std::string>> problems;
  t.type = "pagerduty";
  registry.findOutput("pagerduty")->validate(t, problems);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].first == "routing_key");
  problems.clear();
  t.type = "webhook";
  t.body_template = R"({"a": {{x}})";
  registry.findOutput("webhook")->validate(t, problems);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].first == "template");

  t = {};
  t.type = "servicenow";
  t.url = "https://sn.example/";
  auto out = registry.findOutput("servicenow")->create(t);
  api::Notification n{1, "incident.opened", "incident 7", kEvent, 7};
  auto req = out->request(n, "");
  REQUIRE(req);
  CHECK(req->creates);
  CHECK(req->url == "https://sn.example/api/now/table/incident");
  CHECK(req->body.find(R"("correlation_id":"triaged-incident-7")") != std::string::npos);
  auto ticket = out->ticket(R"({"result":{"sys_id":"abc123","number":"INC0010001"}})");
  CHECK(ticket.id == "abc123");
  req = out->request(n, "abc123");
  REQUIRE(req);
  CHECK(req->method == "PATCH");
  CHECK(req->url == "https://sn.example/api/now/table/incident/abc123");
  CHECK(out->refused(400));
  CHECK_FALSE(out->refused(503));
  // Not about an incident: nothing to send to a ticketing tool.
  api::Notification p{2, "problem.opened", "problem 1", R"({"problem":{"id":1}})", 0};
  CHECK_FALSE(out->request(p, ""));
}
