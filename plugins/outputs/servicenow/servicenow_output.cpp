// ServiceNow Table API: the first event of an incident creates a ServiceNow incident (with
// the correlation_id ServiceNow deduplicates on); later events add work notes and move its
// state (2 in progress on acknowledge or reopen, 6 resolved with a close code). Incidents only.
#include <algorithm>

#include "outputs/common/event_view.h"
#include "outputs/outputs.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins {

namespace {

using outputs::num;
using outputs::str;

class ServiceNowOutput : public api::Output {
 public:
  explicit ServiceNowOutput(const config::NotificationTarget& t)
      : url_(outputs::trimmedUrl(t.url)) {}

  std::optional<api::OutputRequest> request(const api::Notification& n,
                                            const std::string& ticket) override {
    outputs::TicketEvent te;
    if (!outputs::ticketEvent(n, view_, te)) return std::nullopt;
    simdjson::dom::element inc = te.incident;
    bool resolves = te.resolves;
    const std::string& note = te.note;
    api::OutputRequest r;
    api::JsonWriter w(r.body);
    if (ticket.empty()) {
      if (resolves) return std::nullopt;  // nothing was opened there: nothing to resolve
      r.url = url_ + "/api/now/table/incident";
      r.creates = true;
      // Impact and urgency 1..3 from the priority (P1 = 1/1 .. P5 = 3/3).
      int64_t level = std::clamp<int64_t>((num(inc, "priority") + 1) / 2, 1, 3);
      w.beginObject().field("short_description", std::string(str(inc, "title")).substr(0, 160));
      w.field("description", note);
      w.field("correlation_id", "triaged-incident-" + std::to_string(num(inc, "id")));
      w.field("correlation_display", "triaged");
      w.field("impact", std::to_string(level)).field("urgency", std::to_string(level));
      std::string_view category = str(inc, "category");
      if (!category.empty()) w.field("category", category);
      w.endObject();
      return r;
    }
    r.method = "PATCH";
    r.url = url_ + "/api/now/table/incident/" + ticket;
    w.beginObject().field("work_notes", note);
    if (resolves) {
      w.field("state", "6").field("close_code", "Solved (Permanently)").field("close_notes", note);
    } else if (n.event == "incident.acknowledged" || n.event == "incident.reopened") {
      w.field("state", "2");
    }
    w.endObject();
    return r;
  }

  api::OutputTicket ticket(std::string_view response) override {
    simdjson::dom::element result;
    if (!view_.parse(response) || view_.root()["result"].get(result)) return {};
    std::string sys_id(str(result, "sys_id"));
    if (sys_id.empty()) return {};
    return {sys_id, url_ + "/nav_to.do?uri=incident.do?sys_id=" + sys_id};
  }

  bool refused(long status) const override { return outputs::refusedByTool(status); }

 private:
  std::string url_;
  outputs::EventView view_;
};

}  // namespace

api::OutputPlugin servicenowOutput() {
  api::OutputPlugin p;
  p.type = "servicenow";
  p.description = "ServiceNow Table API (create with correlation_id, work notes, resolve)";
  p.create = [](const config::NotificationTarget& t) {
    return std::make_unique<ServiceNowOutput>(t);
  };
  return p;
}

}  // namespace triaged::plugins
