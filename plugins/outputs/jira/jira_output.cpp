// Jira REST v2: the first event of an incident creates an issue; later events comment on it;
// resolving uses the configured transition (else a comment). Incidents only.
#include "outputs/common/event_view.h"
#include "outputs/outputs.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins {

namespace {

using outputs::num;
using outputs::str;

class JiraOutput : public api::Output {
 public:
  explicit JiraOutput(const config::NotificationTarget& t)
      : url_(outputs::trimmedUrl(t.url)),
        project_(t.project),
        issue_type_(t.issue_type),
        resolve_transition_(t.resolve_transition) {}

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
      if (resolves) return std::nullopt;
      r.url = url_ + "/rest/api/2/issue";
      r.creates = true;
      std::string id = "triaged-incident-" + std::to_string(num(inc, "id"));
      w.beginObject().key("fields").beginObject();
      w.key("project").beginObject().field("key", project_).endObject();
      w.field("summary", "[P" + std::to_string(num(inc, "priority")) + "] " +
                             std::string(str(inc, "title")).substr(0, 240));
      w.field("description", note);
      w.key("issuetype").beginObject().field("name", issue_type_).endObject();
      w.key("labels").beginArray().value("triaged").value(id).endArray();
      w.endObject().endObject();
      return r;
    }
    if (resolves && !resolve_transition_.empty()) {
      r.url = url_ + "/rest/api/2/issue/" + ticket + "/transitions";
      w.beginObject().key("transition").beginObject().field("id", resolve_transition_).endObject();
      w.key("update")
          .beginObject()
          .key("comment")
          .beginArray()
          .beginObject()
          .key("add")
          .beginObject();
      w.field("body", note).endObject().endObject().endArray().endObject().endObject();
      return r;
    }
    r.url = url_ + "/rest/api/2/issue/" + ticket + "/comment";
    w.beginObject().field("body", note).endObject();
    return r;
  }

  api::OutputTicket ticket(std::string_view response) override {
    if (!view_.parse(response)) return {};
    std::string key(str(view_.root(), "key"));
    if (key.empty()) return {};
    return {key, url_ + "/browse/" + key};
  }

  bool refused(long status) const override { return outputs::refusedByTool(status); }

 private:
  std::string url_, project_, issue_type_, resolve_transition_;
  outputs::EventView view_;
};

}  // namespace

api::OutputPlugin jiraOutput() {
  api::OutputPlugin p;
  p.type = "jira";
  p.description = "Jira REST v2 (create issue, comment, resolve transition)";
  p.validate = [](const config::NotificationTarget& t,
                  std::vector<std::pair<std::string, std::string>>& problems) {
    if (t.project.empty()) problems.emplace_back("project", "is required for a jira target");
  };
  p.create = [](const config::NotificationTarget& t) { return std::make_unique<JiraOutput>(t); };
  return p;
}

}  // namespace triaged::plugins
