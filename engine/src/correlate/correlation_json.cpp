#include "correlate/correlation_json.h"

#include "rest/alerts_api.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

namespace {

void time(api::JsonWriter& w, const char* key, int64_t ms) {
  if (ms)
    w.field(key, api::Rfc3339Ms(ms).view());
  else
    w.key(key).null();
}

void timeline(api::JsonWriter& w, const std::vector<TimelineEntry>& t) {
  w.key("timeline").beginArray();
  for (const auto& e : t) {
    w.beginObject();
    w.field("at", api::Rfc3339Ms(e.at_ms).view());
    w.field("actor", e.actor);
    w.field("action", e.action);
    if (!e.detail.empty()) w.field("detail", e.detail);
    if (e.alert) w.field("alert", FingerprintHex(e.alert).view());
    w.endObject();
  }
  w.endArray();
}

const char* roleName(AlertRole r) {
  return r == AlertRole::kRootCause ? "root_cause"
         : r == AlertRole::kSymptom ? "symptom"
                                    : "member";
}

}  // namespace

void writeCorrelatedAlertJson(std::string& out, const CorrAlert& a) {
  StringsCopy copy(a.strings);
  AlertStrings v(copy.data());
  api::JsonWriter w(out);
  w.beginObject();
  w.field("fingerprint", FingerprintHex(a.fingerprint).view());
  w.field("source", v.field(AlertStrings::kSource));
  w.field("resource", v.field(AlertStrings::kResource));
  w.field("check", v.field(AlertStrings::kCheck));
  if (auto s = v.field(AlertStrings::kService); !s.empty()) w.field("service", s);
  w.field("status", api::statusName(a.status));
  w.field("severity", api::severityName(a.severity));
  if (auto s = v.field(AlertStrings::kSummary); !s.empty()) w.field("summary", s);
  writeLabelsJson(w, v);
  w.field("role", roleName(a.role));
  if (a.incident)
    w.field("incident", a.incident);
  else
    w.key("incident").null();
  w.field("suppressed", suppressionName(a.suppressed));
  if (a.why) {
    const SuppressionReasons& why = *a.why;
    // The first reason (compatibility), then each: Alertmanager's silencedBy/inhibitedBy.
    w.field("suppressed_by", !why.silences.empty()       ? why.silences.front()
                             : !why.maintenance.empty()  ? why.maintenance
                             : !why.inhibited_by.empty() ? fingerprintHex(why.inhibited_by.front())
                                                         : std::string());
    time(w, "suppressed_until", why.until);
    w.key("silenced_by").beginArray();
    for (const auto& id : why.silences) w.value(id);
    w.endArray();
    if (!why.maintenance.empty()) w.field("maintenance", why.maintenance);
    w.key("inhibited_by").beginArray();
    for (uint64_t src : why.inhibited_by) w.value(FingerprintHex(src).view());
    w.endArray();
  }
  time(w, "first_seen", a.first_seen_ms);
  w.endObject();
}

void writeIncidentJson(std::string& out, const Correlator& c, const Incident& inc, bool detail,
                       const std::function<void(api::JsonWriter&)>& extra) {
  api::JsonWriter w(out);
  w.beginObject();
  w.field("id", inc.id);
  w.field("title", inc.title);
  w.field("status", incidentStatusName(inc.status));
  w.field("priority", inc.priority);
  w.field("impact", inc.impact);
  w.field("urgency", inc.urgency);
  w.field("service", inc.service);
  w.field("category", inc.category);
  w.field("rule", inc.rule);
  w.field("group_key", inc.group_key);
  w.field("assignee", inc.extra().assignee);
  time(w, "opened_at", inc.opened_ms);
  time(w, "acknowledged_at", inc.acknowledged_ms);
  time(w, "resolved_at", inc.resolved_ms);
  time(w, "closed_at", inc.closed_ms);
  time(w, "updated_at", inc.updated_ms);
  w.field("alert_count", static_cast<uint64_t>(inc.alerts.size()));
  w.field("firing", inc.firingAll());
  w.field("severity", api::severityName(static_cast<api::Severity>(
                          inc.firing() ? inc.severity() : inc.max_severity)));
  bool live = inc.status == IncidentStatus::kOpen || inc.status == IncidentStatus::kAcknowledged;
  w.field("suppressed", live && inc.held);
  if (live && inc.held) time(w, "held_since", inc.held_since_ms);
  if (live && inc.firing_suppressed) {
    w.field("firing_suppressed", inc.firing_suppressed);
    auto why = c.suppressionOf(inc);
    w.key("suppression").beginObject();
    w.key("silences").beginArray();
    for (const auto& id : why.silences) w.value(id);
    w.endArray();
    w.key("maintenance").beginArray();
    for (const auto& m : why.windows) w.value(m);
    w.endArray();
    w.key("inhibited_by").beginArray();
    for (uint64_t src : why.inhibited_by) w.value(FingerprintHex(src).view());
    w.endArray();
    w.endObject();
  }
  if (inc.root_cause)
    w.field("root_cause", FingerprintHex(inc.root_cause).view());
  else
    w.key("root_cause").null();
  if (inc.merged_into) w.field("merged_into", inc.merged_into);
  if (inc.problem)
    w.field("problem", inc.problem);
  else
    w.key("problem").null();
  if (!inc.extra().known_error.empty()) {
    w.field("known_error", inc.extra().known_error);
    w.field("workaround", inc.extra().workaround);
  }
  w.key("services").beginArray();
  for (const auto& s : inc.services) w.value(s);
  w.endArray();
  w.key("cis").beginArray();
  for (const auto& s : inc.cis) w.value(s);
  w.endArray();
  if (inc.cis_truncated) w.field("cis_truncated", true);  // the lists hold the first 1000
  if (inc.services_truncated) w.field("services_truncated", true);
  w.key("changes").beginArray();
  for (const auto& ch : inc.extra().changes) w.value(ch);
  w.endArray();
  w.key("tickets").beginArray();
  for (const auto& t : inc.extra().tickets) {
    w.beginObject();
    w.field("system", t.system).field("id", t.id).field("url", t.url);
    w.endObject();
  }
  w.endArray();
  if (!inc.extra().escalation.empty()) {
    // Per policy: the steps notified, the state (escalating, paused while held, stopped), when
    // the next step is due (while escalating) and the targets reached.
    w.key("escalation").beginArray();
    for (const auto& e : inc.extra().escalation) {
      w.beginObject().field("policy", e.policy).field("steps_notified", uint64_t{e.next});
      if (e.repeats) w.field("repeats", uint64_t{e.repeats});
      w.field("state", !e.active || !live ? "stopped"
                       : inc.held         ? "paused"
                       : e.armed_at       ? "escalating"
                                          : "done");
      if (e.active && e.armed_at) time(w, "next_step_at", e.armed_at);
      w.key("reached").beginArray();
      for (const auto& t : e.reached) w.value(t);
      w.endArray().endObject();
    }
    w.endArray();
  }
  if (detail) {
    w.key("alerts").beginArray();
    for (uint64_t fp : inc.alerts) {
      if (const CorrAlert* a = c.alert(fp)) {
        std::string one;
        writeCorrelatedAlertJson(one, *a);
        w.raw(one);
      } else {
        w.beginObject()
            .field("fingerprint", FingerprintHex(fp).view())
            .field("status", "forgotten")
            .endObject();
      }
    }
    w.endArray();
    timeline(w, inc.timeline);
    if (inc.timeline_dropped) w.field("timeline_dropped", inc.timeline_dropped);
  }
  if (extra) extra(w);
  w.endObject();
}

void writeProblemJson(std::string& out, const Problem& p, bool detail) {
  api::JsonWriter w(out);
  w.beginObject();
  w.field("id", p.id);
  w.field("title", p.title);
  w.field("status", problemStatusName(p.status));
  w.field("signature", p.signature);
  w.field("root_cause", p.root_cause);
  w.field("workaround", p.workaround);
  time(w, "opened_at", p.opened_ms);
  time(w, "updated_at", p.updated_ms);
  time(w, "resolved_at", p.resolved_ms);
  time(w, "closed_at", p.closed_ms);
  w.key("incidents").beginArray();
  for (uint64_t id : p.incidents) w.value(id);
  w.endArray();
  if (detail) timeline(w, p.timeline);
  w.endObject();
}

void writeSilenceJson(std::string& out, const Silence& s, int64_t now) {
  api::JsonWriter w(out);
  w.beginObject();
  w.field("id", s.id);
  w.key("status").beginObject().field("state", s.state(now)).endObject();
  w.field("updatedAt", api::Rfc3339Ms(s.updated_ms).view());
  w.key("matchers").beginArray();
  for (const auto& m : s.matchers) {
    bool regex = m->op() == rules::MatchOp::kRegex || m->op() == rules::MatchOp::kNotRegex;
    bool equal = m->op() == rules::MatchOp::kEqual || m->op() == rules::MatchOp::kRegex;
    w.beginObject()
        .field("name", m->name())
        .field("value", m->value())
        .field("isRegex", regex)
        .field("isEqual", equal);
    w.endObject();
  }
  w.endArray();
  w.field("startsAt", api::Rfc3339Ms(s.starts_ms).view());
  w.field("endsAt", api::Rfc3339Ms(s.ends_ms).view());
  w.field("createdBy", s.created_by);
  w.field("comment", s.comment);
  if (!s.change_id.empty()) w.field("changeId", s.change_id);
  w.endObject();
}

void writeEventJson(std::string& out, const Correlator& c, const CorrelatorEvent& e) {
  api::JsonWriter w(out);
  w.beginObject();
  w.field("type", correlatorEventName(e.type));
  w.field("at", api::Rfc3339Ms(e.at_ms).view());
  if (e.incident) {
    if (const Incident* inc = c.incident(e.incident)) {
      std::string one;
      writeIncidentJson(one, c, *inc, false);
      w.key("incident").raw(one);
      // What a person (or tool) did, when the event is their action: the timeline entry of
      // that instant (who, and the comment, note or assignee).
      for (auto it = inc->timeline.rbegin(); it != inc->timeline.rend() && it->at_ms >= e.at_ms;
           ++it) {
        if (it->at_ms != e.at_ms || it->alert) continue;
        w.key("entry").beginObject().field("actor", it->actor).field("action", it->action);
        if (!it->detail.empty()) w.field("detail", it->detail);
        w.endObject();
        break;
      }
    }
  }
  if (e.problem) {
    auto it = c.problems().find(e.problem);
    if (it != c.problems().end()) {
      std::string one;
      writeProblemJson(one, it->second, false);
      w.key("problem").raw(one);
    }
  }
  if (e.alert) {
    if (const CorrAlert* a = c.alert(e.alert)) {
      std::string one;
      writeCorrelatedAlertJson(one, *a);
      w.key("alert").raw(one);
    }
  }
  w.endObject();
}

}  // namespace triaged::engine
