// libFuzzer harness for the output plugins: the webhook body template parser and renderer, and
// every target type's request builder and answer reader on arbitrary event JSON. The input is
// "<template>\n<event JSON>". Invariants: a template that compiles renders valid JSON for any
// event; no plugin fails on any event body or answer.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "builtin_plugins.h"
#include "outputs/common/body_template.h"

using namespace triaged;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string text = in.substr(0, nl),
              event = nl == std::string::npos ? std::string() : in.substr(nl + 1);
  static simdjson::dom::parser parser;
  simdjson::dom::element root;
  bool event_ok = !parser.parse(event).get(root);

  plugins::outputs::BodyTemplate t;
  std::string error;
  if (t.compile(text, &error)) {
    std::string body = t.render(event_ok ? &root : nullptr);
    simdjson::dom::parser check;
    simdjson::dom::element out;
    if (check.parse(body).get(out)) std::abort();  // a compiled template must give JSON
  } else if (error.empty()) {
    std::abort();  // a refusal names what is wrong
  }

  // The same text as a URL path template: never fails to render once compiled.
  plugins::outputs::BodyTemplate path;
  if (path.compilePath(text, &error)) (void)path.render(event_ok ? &root : nullptr);

  static auto registry = plugins::builtinPlugins();
  for (const auto& p : registry.outputs()) {
    config::NotificationTarget target;
    target.type = p.type;
    target.url = "https://tools.example";
    target.routing_key = "k";
    target.project = "OPS";
    target.ticket_id_pointer = "/id";
    target.ticket_actions = {
        {"create", {"", "/i", R"({"t": {{incident.title}}, "n": "{{note}}"})"}},
        {"update", {"", "/i/{{ticket.id}}", R"({"n": "{{note}}"})"}}};
    target.mail_from = "triaged@example.org";
    target.mail_to = {"noc@example.org"};
    auto output = p.create(target);
    api::Notification n{1, "incident.opened", "incident 1", event, 1};
    auto req = output->request(n, "");
    if (req) output->request(n, "T-1");
    output->ticket(event, event);  // the answer, and the same bytes as a Location header
  }
  return 0;
}
