// Request bodies per target type: the generic webhook sends the outbox entry's event JSON as
// it is; PagerDuty Events v2 and Slack incoming webhooks get their own payloads, built from it
// at send time (the outbox keeps one neutral record per event).
#include <simdjson.h>

#include <algorithm>
#include <cstdlib>

#include "triaged/api/json_writer.h"
#include "triaged/engine/notifier.h"

namespace triaged::engine {

namespace {

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

// PagerDuty's four severities from the incident's priority.
const char* pdSeverity(int64_t priority) {
  switch (priority) {
    case 1: return "critical";
    case 2: return "error";
    case 3: return "warning";
    default: return "info";
  }
}

}  // namespace

std::optional<std::string> Notifier::formatBody(const config::NotificationTarget& t, const OutboxEntry& e) {
  if (t.type == "webhook") return e.body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(e.body).get(root)) return std::nullopt;
  std::string out;
  api::JsonWriter w(out);
  simdjson::dom::element inc;
  bool has_incident = !root["incident"].get(inc);
  if (t.type == "pagerduty") {
    // Incidents only: trigger (opened, updated, reopened, priority changed), acknowledge,
    // resolve (resolved, closed, merged). One PagerDuty alert per incident: the dedup key.
    if (!has_incident || e.event.rfind("incident.", 0) != 0) return std::nullopt;
    std::string action = "trigger";
    if (e.event == "incident.acknowledged") action = "acknowledge";
    if (e.event == "incident.resolved" || e.event == "incident.closed" || e.event == "incident.merged")
      action = "resolve";
    int64_t id = num(inc, "id");
    w.beginObject().field("routing_key", t.routing_key).field("event_action", action);
    w.field("dedup_key", "triaged-incident-" + std::to_string(id));
    if (action == "trigger") {
      std::string_view title = str(inc, "title"), service = str(inc, "service");
      std::string summary = "[P" + std::to_string(num(inc, "priority")) + "] " + std::string(title);
      if (summary.size() > 1024) summary.resize(1024);
      w.key("payload").beginObject();
      w.field("summary", summary);
      w.field("source", service.empty() ? std::string_view("triaged") : service);
      w.field("severity", pdSeverity(num(inc, "priority")));
      std::string_view at = str(root, "at");
      if (!at.empty()) w.field("timestamp", at);
      if (!service.empty()) w.field("group", service);
      std::string_view category = str(inc, "category");
      if (!category.empty()) w.field("class", category);
      w.key("custom_details").raw(simdjson::minify(inc));
      w.endObject();
      w.field("client", "triaged");
    }
    w.endObject();
    return out;
  }
  if (t.type == "slack") {
    std::string text;
    if (has_incident) {
      text = "*[P" + std::to_string(num(inc, "priority")) + "] Incident " + std::to_string(num(inc, "id")) + " " +
             e.event.substr(e.event.find('.') + 1) + "*: " + std::string(str(inc, "title"));
      std::string_view service = str(inc, "service");
      if (!service.empty()) text += " (service " + std::string(service) + ")";
      text += " — " + std::string(str(inc, "status"));
    } else {
      simdjson::dom::element prob;
      if (!root["problem"].get(prob)) {
        text = "*Problem " + std::to_string(num(prob, "id")) + " " + e.event.substr(e.event.find('.') + 1) +
               "*: " + std::string(str(prob, "title"));
      } else {
        // SLA and heartbeat events.
        text = "*" + e.event + "*";
        std::string_view agreement = str(root, "agreement"), hb = str(root, "heartbeat");
        if (!agreement.empty())
          text += ": " + std::string(agreement) + " " + std::string(str(root, "target")) + " at " +
                  std::to_string(num(root, "percent")) + " %";
        if (!hb.empty()) text += ": heartbeat " + std::string(hb);
      }
    }
    // Slack's mrkdwn: &, < and > are escaped.
    std::string escaped;
    for (char c : text) {
      if (c == '&') escaped += "&amp;";
      else if (c == '<') escaped += "&lt;";
      else if (c == '>') escaped += "&gt;";
      else escaped += c;
    }
    w.beginObject().field("text", escaped).endObject();
    return out;
  }
  return e.body;
}

namespace {

uint64_t incidentOf(const OutboxEntry& e) {
  if (e.subject.rfind("incident ", 0) != 0) return 0;
  return std::strtoull(e.subject.c_str() + 9, nullptr, 10);
}

std::string describe(simdjson::dom::element inc, const std::string& event, std::string_view at) {
  std::string out = "triaged: incident " + std::to_string(num(inc, "id")) + " " + event.substr(event.find('.') + 1) +
                    " at " + std::string(at) + " (priority P" + std::to_string(num(inc, "priority")) + ", status " +
                    std::string(str(inc, "status"));
  std::string_view service = str(inc, "service");
  if (!service.empty()) out += ", service " + std::string(service);
  out += ")";
  return out;
}

}  // namespace

std::optional<Notifier::Request> Notifier::buildRequest(const config::NotificationTarget& t, const OutboxEntry& e,
                                                        const std::string& ticket) {
  if (t.type != "servicenow" && t.type != "jira") {
    auto body = formatBody(t, e);
    if (!body) return std::nullopt;
    return Request{"POST", t.url, std::move(*body), false};
  }
  // Ticketing tools: incidents only; the link back to us is not news to them.
  if (e.event.rfind("incident.", 0) != 0 || e.event == "incident.ticket_linked" || !incidentOf(e)) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element root, inc;
  if (parser.parse(e.body).get(root) || root["incident"].get(inc)) return std::nullopt;
  bool resolves = e.event == "incident.resolved" || e.event == "incident.closed" || e.event == "incident.merged";
  std::string note = describe(inc, e.event, str(root, "at"));
  std::string id = "triaged-incident-" + std::to_string(num(inc, "id"));
  Request r;
  api::JsonWriter w(r.body);
  int64_t priority = num(inc, "priority");
  if (t.type == "servicenow") {
    if (ticket.empty()) {
      if (resolves) return std::nullopt;  // nothing was opened there: nothing to resolve
      // Table API: create, with the correlation id that ServiceNow deduplicates on.
      r.url = t.url + "/api/now/table/incident";
      r.creates = true;
      // Impact and urgency 1..3 from the priority (P1 = 1/1 .. P5 = 3/3).
      int64_t level = std::clamp<int64_t>((priority + 1) / 2, 1, 3);
      w.beginObject().field("short_description", std::string(str(inc, "title")).substr(0, 160));
      w.field("description", note).field("correlation_id", id).field("correlation_display", "triaged");
      w.field("impact", std::to_string(level)).field("urgency", std::to_string(level));
      std::string_view category = str(inc, "category");
      if (!category.empty()) w.field("category", category);
      w.endObject();
      return r;
    }
    r.method = "PATCH";
    r.url = t.url + "/api/now/table/incident/" + ticket;
    w.beginObject().field("work_notes", note);
    if (resolves) {
      w.field("state", "6").field("close_code", "Solved (Permanently)").field("close_notes", note);
    } else if (e.event == "incident.acknowledged" || e.event == "incident.reopened") {
      w.field("state", "2");
    }
    w.endObject();
    return r;
  }
  // Jira: create an issue, then comment; resolve by the configured transition.
  if (ticket.empty()) {
    if (resolves) return std::nullopt;
    r.url = t.url + "/rest/api/2/issue";
    r.creates = true;
    w.beginObject().key("fields").beginObject();
    w.key("project").beginObject().field("key", t.project).endObject();
    w.field("summary", "[P" + std::to_string(priority) + "] " + std::string(str(inc, "title")).substr(0, 240));
    w.field("description", note);
    w.key("issuetype").beginObject().field("name", t.issue_type).endObject();
    w.key("labels").beginArray().value("triaged").value(id).endArray();
    w.endObject().endObject();
    return r;
  }
  if (resolves && !t.resolve_transition.empty()) {
    r.url = t.url + "/rest/api/2/issue/" + ticket + "/transitions";
    w.beginObject().key("transition").beginObject().field("id", t.resolve_transition).endObject();
    w.key("update").beginObject().key("comment").beginArray().beginObject().key("add").beginObject();
    w.field("body", note).endObject().endObject().endArray().endObject().endObject();
    return r;
  }
  r.url = t.url + "/rest/api/2/issue/" + ticket + "/comment";
  w.beginObject().field("body", note).endObject();
  return r;
}

std::pair<std::string, std::string> Notifier::ticketOf(const config::NotificationTarget& t, const std::string& response) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(response).get(root)) return {};
  if (t.type == "servicenow") {
    simdjson::dom::element result;
    if (root["result"].get(result)) return {};
    std::string sys_id(str(result, "sys_id")), number(str(result, "number"));
    if (sys_id.empty()) return {};
    return {sys_id, t.url + "/nav_to.do?uri=incident.do?sys_id=" + sys_id};
  }
  if (t.type == "jira") {
    std::string key(str(root, "key"));
    if (key.empty()) return {};
    return {key, t.url + "/browse/" + key};
  }
  return {};
}

bool Notifier::permanentFailure(const config::NotificationTarget& t, long status) {
  // PagerDuty: 400 is an invalid event (retrying cannot help); Slack: 400 invalid_payload,
  // 403/404 a revoked or unknown webhook. A generic webhook is retried until max_age.
  if (t.type == "webhook") return false;
  return status == 400 || status == 403 || status == 404 || status == 410;
}

}  // namespace triaged::engine
