// Reading the neutral event JSON of an outbox entry (docs/api.md, "Notification bodies"),
// shared by the output plugins. Not thread-safe: one EventView per Output.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "triaged/api/output.h"

namespace triaged::plugins::outputs {

// A string field, or "" when absent or not a string.
std::string_view str(simdjson::dom::element e, const char* key);
// An integer field, or 0.
int64_t num(simdjson::dom::element e, const char* key);

class EventView {
 public:
  // False when the body is not a JSON object.
  bool parse(std::string_view body);
  simdjson::dom::element root() const { return root_; }
  // The "incident" object; false when the event has none.
  bool incident(simdjson::dom::element& out) const { return !root_["incident"].get(out); }
  bool problem(simdjson::dom::element& out) const { return !root_["problem"].get(out); }

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
};

// The part after the first dot: "incident.opened" -> "opened".
std::string_view action(std::string_view event);
// Whether the event ends an incident's life at a tool (resolved, closed, merged).
bool resolves(std::string_view event);
// One line for a ticket's work notes or comments.
std::string describe(simdjson::dom::element incident, std::string_view event, std::string_view at);
// describe(), then who did it and what they wrote, from the event's timeline `entry`.
std::string describeAction(const EventView& view, simdjson::dom::element incident,
                           std::string_view event);
// What a ticketing tool (servicenow, jira) gets of an event: the incident, when the event is
// about one (incident events other than the link back to us); false: nothing to send.
struct TicketEvent {
  simdjson::dom::element incident;
  bool resolves = false;  // resolved, closed or merged
  std::string note;       // describe(): the line for work notes and comments
};
bool ticketEvent(const api::Notification& n, EventView& view, TicketEvent& out);
// A base URL without its trailing slashes.
std::string trimmedUrl(std::string url);
// Refusals of PagerDuty, Slack and the ticketing tools: an invalid event (400), a revoked or
// unknown endpoint (403, 404, 410). Retrying cannot change them.
bool refusedByTool(long status);

}  // namespace triaged::plugins::outputs
