// ServiceNow Table API: the first event of an incident creates a ServiceNow incident (with
// the correlation_id ServiceNow deduplicates on); later events add work notes and move its
// state (2 in progress on acknowledge or reopen, 6 resolved with a close code). Incidents only.
#include <algorithm>

#include "outputs/common/event_view.h"
#include "outputs/common/ticketing_output.h"
#include "outputs/outputs.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins {

namespace {

using outputs::num;
using outputs::str;

class ServiceNowOutput : public TicketingOutput {
 public:
  explicit ServiceNowOutput(const config::NotificationTarget& t) : TicketingOutput(t) {}

 protected:
  void create(const outputs::TicketEvent& te, api::OutputRequest& r) override {
    simdjson::dom::element inc = te.incident;
    r.url = url_ + "/api/now/table/incident";
    // Impact and urgency 1..3 from the priority (P1 = 1/1 .. P5 = 3/3).
    int64_t level = std::clamp<int64_t>((num(inc, "priority") + 1) / 2, 1, 3);
    api::JsonWriter w(r.body);
    w.beginObject().field("short_description", std::string(str(inc, "title")).substr(0, 160));
    w.field("description", te.note);
    w.field("correlation_id", "triaged-incident-" + std::to_string(num(inc, "id")));
    w.field("correlation_display", "triaged");
    w.field("impact", std::to_string(level)).field("urgency", std::to_string(level));
    std::string_view category = str(inc, "category");
    if (!category.empty()) w.field("category", category);
    w.endObject();
    addFields(r.body, 1);  // assignment_group, cmdb_ci, custom fields
  }

  void update(const api::Notification& n, const outputs::TicketEvent& te, const std::string& ticket,
              api::OutputRequest& r) override {
    r.method = "PATCH";
    r.url = url_ + "/api/now/table/incident/" + ticket;
    api::JsonWriter w(r.body);
    w.beginObject().field("work_notes", te.note);
    if (te.resolves) {
      w.field("state", "6")
          .field("close_code", "Solved (Permanently)")
          .field("close_notes", te.note);
    } else if (n.event == "incident.acknowledged" || n.event == "incident.reopened") {
      w.field("state", "2");
    }
    w.endObject();
  }

 public:
  api::OutputTicket ticket(std::string_view response, std::string_view) override {
    simdjson::dom::element result;
    if (!view_.parse(response) || view_.root()["result"].get(result)) return {};
    std::string sys_id(str(result, "sys_id"));
    if (sys_id.empty()) return {};
    return {sys_id, url_ + "/nav_to.do?uri=incident.do?sys_id=" + sys_id};
  }
};

}  // namespace

api::OutputPlugin servicenowOutput() {
  auto p = outputPlugin<ServiceNowOutput>(
      "servicenow", "ServiceNow Table API (create with correlation_id, work notes, resolve)");
  p.validate = TicketingOutput::validateFields;
  return p;
}

}  // namespace triaged::plugins
