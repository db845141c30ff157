#include "outputs/common/event_view.h"

namespace triaged::plugins::outputs {

std::string_view str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get_string().get(v)) return {};
  return v;
}

int64_t num(simdjson::dom::element e, const char* key) {
  int64_t v = 0;
  if (e[key].get_int64().get(v)) return 0;
  return v;
}

bool EventView::parse(std::string_view body) {
  if (parser_.parse(body.data(), body.size()).get(root_)) return false;
  return root_.is_object();
}

std::string_view action(std::string_view event) {
  size_t dot = event.find('.');
  return dot == std::string_view::npos ? event : event.substr(dot + 1);
}

bool resolves(std::string_view event) {
  return event == "incident.resolved" || event == "incident.closed" || event == "incident.merged";
}

std::string describe(simdjson::dom::element inc, std::string_view event, std::string_view at) {
  std::string out = "triaged: incident " + std::to_string(num(inc, "id")) + " " +
                    std::string(action(event)) + " at " + std::string(at) + " (priority P" +
                    std::to_string(num(inc, "priority")) + ", status " +
                    std::string(str(inc, "status"));
  std::string_view service = str(inc, "service");
  if (!service.empty()) out += ", service " + std::string(service);
  out += ")";
  return out;
}

std::string describeAction(const EventView& view, simdjson::dom::element incident,
                           std::string_view event) {
  std::string out = describe(incident, event, str(view.root(), "at"));
  simdjson::dom::element entry;
  if (!view.root()["entry"].get(entry)) {
    // Who did it, and what they wrote (a comment, a resolution note, the assignee).
    std::string_view actor = str(entry, "actor"), detail = str(entry, "detail");
    if (!actor.empty()) out += " by " + std::string(actor);
    if (!detail.empty()) out += ": " + std::string(detail);
  }
  return out;
}

bool ticketEvent(const api::Notification& n, EventView& view, TicketEvent& out) {
  // The link back to us is not news to the tool.
  if (n.event.rfind("incident.", 0) != 0 || n.event == "incident.ticket_linked" || !n.incident)
    return false;
  if (!view.parse(n.body) || !view.incident(out.incident)) return false;
  out.resolves = resolves(n.event);
  out.note = describeAction(view, out.incident, n.event);
  return true;
}

std::string trimmedUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

bool refusedByTool(long status) {
  return status == 400 || status == 403 || status == 404 || status == 410;
}

}  // namespace triaged::plugins::outputs
