// What outputs to ticketing tools share (Jira, ServiceNow): a ticket per incident, created by
// its first event and updated by the later ones; a resolution of an incident that never got
// a ticket sends nothing. Incidents only (problem and SLA events are not sent). A tool says
// how to create and how to update, and how to read the ticket id from the create answer.
// Used on the notifier thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "outputs/common/body_template.h"
#include "outputs/common/event_view.h"
#include "outputs/common/output_plugin.h"
#include "triaged/api/output.h"

namespace triaged::plugins {

class TicketingOutput : public api::Output {
 public:
  explicit TicketingOutput(const config::NotificationTarget& t) : url_(outputs::trimmedUrl(t.url)) {
    std::string error;
    has_fields_ = !t.ticket_fields.empty() && fields_.compile(t.ticket_fields, &error);
  }

  // The target's `fields`: a JSON object template; each problem as (key, message).
  static void validateFields(const config::NotificationTarget& t,
                             std::vector<std::pair<std::string, std::string>>& problems) {
    if (t.ticket_fields.empty()) return;
    outputs::BodyTemplate bt;
    std::string error;
    if (!bt.compile(t.ticket_fields, &error)) {
      problems.emplace_back("fields", error);
      return;
    }
    std::string sample = bt.render(nullptr);  // valid JSON: compile() checked it
    size_t first = sample.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || sample[first] != '{')
      problems.emplace_back("fields", "must be a JSON object of the ticket's fields");
  }

  std::optional<api::OutputRequest> request(const api::Notification& n,
                                            const std::string& ticket) final {
    outputs::TicketEvent te;
    if (!outputs::ticketEvent(n, view_, te)) return std::nullopt;
    if (ticket.empty() && te.resolves)
      return std::nullopt;  // nothing opened there: nothing to resolve
    api::OutputRequest r;
    if (ticket.empty()) {
      r.creates = true;
      create(te, r);
    } else {
      update(n, te, ticket, r);
    }
    return r;
  }

  bool refused(long status) const override { return outputs::refusedByTool(status); }

 protected:
  // The request that creates the incident's ticket (url, body; method when not POST).
  virtual void create(const outputs::TicketEvent& te, api::OutputRequest& r) = 0;
  // The request that reports a later event of the incident on `ticket`.
  virtual void update(const api::Notification& n, const outputs::TicketEvent& te,
                      const std::string& ticket, api::OutputRequest& r) = 0;

  // Adds the `fields` (rendered for this event) to the JSON object of `body` that closes
  // `depth` characters before its end (1: the outer object).
  void addFields(std::string& body, size_t depth) const {
    if (!has_fields_) return;
    simdjson::dom::element root = view_.root();
    std::string f = fields_.render(&root);
    size_t open = f.find('{'), close = f.rfind('}');
    if (open == std::string::npos || close == std::string::npos || close <= open + 1) return;
    std::string members = f.substr(open + 1, close - open - 1);
    if (members.find_first_not_of(" \t\r\n") == std::string::npos) return;
    body.insert(body.size() - depth, "," + members);
  }

  std::string url_;  // the tool's base URL, without trailing slashes
  outputs::EventView view_;
  outputs::BodyTemplate fields_;
  bool has_fields_ = false;
};

}  // namespace triaged::plugins
