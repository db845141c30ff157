#include <simdjson.h>

#include <catch2/catch.hpp>

#include "builtin_plugins.h"
#include "outputs/common/body_template.h"

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
  auto ticket = out->ticket(R"({"result":{"sys_id":"abc123","number":"INC0010001"}})", "");
  // Field mapping: more fields of the created ticket, from the event.
  t.ticket_fields = R"({"assignment_group": "NOC", "cmdb_ci": {{incident.services.0}}})";
  problems.clear();
  registry.findOutput("servicenow")->validate(t, problems);
  CHECK(problems.empty());
  auto mapped = registry.findOutput("servicenow")->create(t);
  auto created = mapped->request(n, "");
  REQUIRE(created);
  simdjson::dom::parser jp;
  simdjson::dom::element doc = jp.parse(created->body);
  CHECK(std::string_view(doc["assignment_group"]) == "NOC");
  CHECK(std::string_view(doc["cmdb_ci"]) == "db");
  CHECK(std::string_view(doc["correlation_id"]) == "triaged-incident-7");
  config::NotificationTarget jt;
  jt.type = "jira";
  jt.url = "https://jira.example";
  jt.project = "NOC";
  jt.ticket_fields = R"({"components": [{"name": "noc"}], "customfield_1": {{incident.service}}})";
  auto jira = registry.findOutput("jira")->create(jt);
  auto jreq = jira->request(n, "");
  REQUIRE(jreq);
  simdjson::dom::element jdoc = jp.parse(jreq->body);
  CHECK(std::string_view(jdoc["fields"]["components"].at(0)["name"]) == "noc");
  CHECK(std::string_view(jdoc["fields"]["customfield_1"]) == "db");
  CHECK(std::string_view(jdoc["fields"]["project"]["key"]) == "NOC");
  t.ticket_fields = R"([1, 2])";
  problems.clear();
  registry.findOutput("servicenow")->validate(t, problems);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].first == "fields");
  t.ticket_fields.clear();
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

TEST_CASE("Ticket targets send templated requests to the ticket the incident's first event made",
          "[outputs]") {
  auto registry = plugins::builtinPlugins();
  config::NotificationTarget t;
  t.type = "ticket";
  t.url = "http://tickets.example/";
  t.ticket_id_pointer = "/issue/id";
  t.ticket_link = "http://tickets.example/issues/{{ticket.id}}";
  t.ticket_actions = {
      {"create",
       {"", "/issues.json", R"({"subject": "[P{{incident.priority}}] {{incident.title}}"})"}},
      {"update", {"", "/issues/{{ticket.id}}.json", R"({"notes": "{{note}}"})"}},
      {"resolve",
       {"PATCH", "/issues/{{ticket.id}}.json", R"({"status": 5, "notes": "{{note}}"})"}}};
  std::vector<std::pair<std::string, std::string>> problems;
  registry.findOutput("ticket")->validate(t, problems);
  CHECK(problems.empty());
  auto out = registry.findOutput("ticket")->create(t);

  api::Notification opened{1, "incident.opened", "incident 7", kEvent, 7};
  auto req = out->request(opened, "");
  REQUIRE(req);
  CHECK(req->creates);
  CHECK(req->method == "POST");
  CHECK(req->url == "http://tickets.example/issues.json");
  CHECK(req->body == R"({"subject": "[P2] disk \"full\" on db1"})");
  // The id from the answer (a number), and the link for people.
  auto ticket = out->ticket(R"({"issue":{"id":42,"subject":"x"}})", "");
  CHECK(ticket.id == "42");
  CHECK(ticket.url == "http://tickets.example/issues/42");
  CHECK(out->ticket(R"({"other":1})", "").id.empty());  // counted and logged by the notifier

  // Later events: their own action, else update; the ticket's id is in the path.
  std::string ack = kEvent;
  ack.replace(ack.find("incident.opened"), 15, "incident.acknowledged");
  ack.insert(ack.size() - 1, R"(,"entry":{"actor":"olivia","action":"acknowledged"})");
  req = out->request({2, "incident.acknowledged", "incident 7", ack, 7}, "42");
  REQUIRE(req);
  CHECK_FALSE(req->creates);
  CHECK(req->method == "PUT");
  CHECK(req->url == "http://tickets.example/issues/42.json");
  CHECK(req->body.find("acknowledged at 2026-11-21T10:00:00.000Z") != std::string::npos);
  CHECK(req->body.find("by olivia") != std::string::npos);
  std::string resolved = kEvent;
  resolved.replace(resolved.find("incident.opened"), 15, "incident.resolved");
  req = out->request({3, "incident.resolved", "incident 7", resolved, 7}, "a/b");
  REQUIRE(req);
  CHECK(req->method == "PATCH");
  CHECK(req->url == "http://tickets.example/issues/a%2Fb.json");  // an id stays one segment
  // A resolution of an incident that never got a ticket: nothing to close there.
  CHECK_FALSE(out->request({4, "incident.resolved", "incident 7", resolved, 7}, ""));
  // The link back to us is not news to the tool.
  CHECK_FALSE(out->request({5, "incident.ticket_linked", "incident 7", kEvent, 7}, "42"));

  // Without a pointer, the Location header's last segment is the id.
  t.ticket_id_pointer.clear();
  out = registry.findOutput("ticket")->create(t);
  CHECK(out->ticket("", "http://tickets.example/issues/77.json?x=1").id == "77");
  CHECK(out->ticket("", "").id.empty());

  // Bad templates and a missing create are configuration errors naming the key.
  t.ticket_actions = {{"update", {"", "/x/{{ticket id}}", R"({"a": {{note})"}}};
  problems.clear();
  registry.findOutput("ticket")->validate(t, problems);
  REQUIRE(problems.size() == 3);
  CHECK(problems[0].first == "ticket.update.path");
  CHECK(problems[1].first == "ticket.update.body");
  CHECK(problems[2].first == "ticket.create");
}
