// Jira REST v2: the first event of an incident creates an issue; later events comment on it;
// resolving uses the configured transition (else a comment). Incidents only.
#include "outputs/common/event_view.h"
#include "outputs/common/ticketing_output.h"
#include "outputs/outputs.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins {

namespace {

using outputs::num;
using outputs::str;

class JiraOutput : public TicketingOutput {
 public:
  explicit JiraOutput(const config::NotificationTarget& t)
      : TicketingOutput(t),
        project_(t.project),
        issue_type_(t.issue_type),
        resolve_transition_(t.resolve_transition) {}

 protected:
  void create(const outputs::TicketEvent& te, api::OutputRequest& r) override {
    simdjson::dom::element inc = te.incident;
    r.url = url_ + "/rest/api/2/issue";
    std::string id = "triaged-incident-" + std::to_string(num(inc, "id"));
    api::JsonWriter w(r.body);
    w.beginObject().key("fields").beginObject();
    w.key("project").beginObject().field("key", project_).endObject();
    w.field("summary", "[P" + std::to_string(num(inc, "priority")) + "] " +
                           std::string(str(inc, "title")).substr(0, 240));
    w.field("description", te.note);
    w.key("issuetype").beginObject().field("name", issue_type_).endObject();
    w.key("labels").beginArray().value("triaged").value(id).endArray();
    w.endObject().endObject();
    addFields(r.body, 2);  // into "fields": components, custom fields
  }

  void update(const api::Notification&, const outputs::TicketEvent& te, const std::string& ticket,
              api::OutputRequest& r) override {
    api::JsonWriter w(r.body);
    if (te.resolves && !resolve_transition_.empty()) {
      r.url = url_ + "/rest/api/2/issue/" + ticket + "/transitions";
      w.beginObject().key("transition").beginObject().field("id", resolve_transition_).endObject();
      w.key("update")
          .beginObject()
          .key("comment")
          .beginArray()
          .beginObject()
          .key("add")
          .beginObject();
      w.field("body", te.note).endObject().endObject().endArray().endObject().endObject();
      return;
    }
    r.url = url_ + "/rest/api/2/issue/" + ticket + "/comment";
    w.beginObject().field("body", te.note).endObject();
  }

 public:
  api::OutputTicket ticket(std::string_view response, std::string_view) override {
    if (!view_.parse(response)) return {};
    std::string key(str(view_.root(), "key"));
    if (key.empty()) return {};
    return {key, url_ + "/browse/" + key};
  }

 private:
  std::string project_, issue_type_, resolve_transition_;
};

}  // namespace

api::OutputPlugin jiraOutput() {
  auto p =
      outputPlugin<JiraOutput>("jira", "Jira REST v2 (create issue, comment, resolve transition)");
  p.validate = [](const config::NotificationTarget& t,
                  std::vector<std::pair<std::string, std::string>>& problems) {
    if (t.project.empty()) problems.emplace_back("project", "is required for a jira target");
    TicketingOutput::validateFields(t, problems);
  };
  return p;
}

}  // namespace triaged::plugins
