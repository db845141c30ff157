// What outputs to ticketing tools share (Jira, ServiceNow): a ticket per incident, created by
// its first event and updated by the later ones; a resolution of an incident that never got
// a ticket sends nothing. Incidents only (problem and SLA events are not sent). A tool says
// how to create and how to update, and how to read the ticket id from the create answer.
// Used on the notifier thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "outputs/common/event_view.h"
#include "outputs/common/output_plugin.h"
#include "triaged/api/output.h"

namespace triaged::plugins {

class TicketingOutput : public api::Output {
 public:
  explicit TicketingOutput(const config::NotificationTarget& t)
      : url_(outputs::trimmedUrl(t.url)) {}

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

  std::string url_;  // the tool's base URL, without trailing slashes
  outputs::EventView view_;
};

}  // namespace triaged::plugins
