// PagerDuty Events v2: one PagerDuty alert per incident (its dedup_key), triggered when the
// incident opens or changes, acknowledged and resolved with it. Incidents only.
#include "outputs/common/event_view.h"
#include "outputs/common/output_plugin.h"
#include "outputs/outputs.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins {

namespace {

using outputs::num;
using outputs::str;

// PagerDuty's four severities from the incident's priority.
const char* severity(int64_t priority) {
  switch (priority) {
    case 1:
      return "critical";
    case 2:
      return "error";
    case 3:
      return "warning";
    default:
      return "info";
  }
}

class PagerDutyOutput : public api::Output {
 public:
  explicit PagerDutyOutput(const config::NotificationTarget& t)
      : url_(t.url), routing_key_(t.routing_key) {}

  std::optional<api::OutputRequest> request(const api::Notification& n,
                                            const std::string&) override {
    simdjson::dom::element inc;
    if (n.event.rfind("incident.", 0) != 0 || !view_.parse(n.body) || !view_.incident(inc))
      return std::nullopt;
    // trigger: opened, updated, reopened, priority changed; acknowledge; resolve: resolved,
    // closed, merged.
    std::string_view action = "trigger";
    if (n.event == "incident.acknowledged") action = "acknowledge";
    if (outputs::resolves(n.event)) action = "resolve";
    api::OutputRequest r;
    r.url = url_;
    api::JsonWriter w(r.body);
    w.beginObject().field("routing_key", routing_key_).field("event_action", action);
    w.field("dedup_key", "triaged-incident-" + std::to_string(num(inc, "id")));
    if (action == "trigger") {
      std::string_view title = str(inc, "title"), service = str(inc, "service");
      std::string summary = "[P" + std::to_string(num(inc, "priority")) + "] " + std::string(title);
      if (summary.size() > 1024) summary.resize(1024);
      w.key("payload").beginObject();
      w.field("summary", summary);
      w.field("source", service.empty() ? std::string_view("triaged") : service);
      w.field("severity", severity(num(inc, "priority")));
      std::string_view at = str(view_.root(), "at");
      if (!at.empty()) w.field("timestamp", at);
      if (!service.empty()) w.field("group", service);
      std::string_view category = str(inc, "category");
      if (!category.empty()) w.field("class", category);
      w.key("custom_details").raw(simdjson::minify(inc));
      w.endObject();
      w.field("client", "triaged");
    }
    w.endObject();
    return r;
  }

  bool refused(long status) const override { return outputs::refusedByTool(status); }

 private:
  std::string url_, routing_key_;
  outputs::EventView view_;
};

}  // namespace

api::OutputPlugin pagerdutyOutput() {
  auto p = outputPlugin<PagerDutyOutput>(
      "pagerduty",
      "PagerDuty Events v2 (trigger, acknowledge, resolve with one dedup_key per incident)");
  p.default_url = "https://events.pagerduty.com/v2/enqueue";
  p.validate = [](const config::NotificationTarget& t,
                  std::vector<std::pair<std::string, std::string>>& problems) {
    if (t.routing_key.empty())
      problems.emplace_back("routing_key", "is required for a pagerduty target");
  };
  return p;
}

}  // namespace triaged::plugins
