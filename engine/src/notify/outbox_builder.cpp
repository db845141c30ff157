#include "notify/outbox_builder.h"

#include <cstdint>

#include "correlate/correlation_json.h"
#include "evaluate/evaluator_json.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

void OutboxBuilder::setTargets(std::vector<config::NotificationTarget> targets) {
  targets_.clear();
  for (auto& t : targets) {
    NotificationFilter f(t);
    targets_.emplace_back(std::move(t), std::move(f));
  }
}

const OutboxBuilder::Target* OutboxBuilder::find(const std::string& name) const {
  for (const auto& t : targets_)
    if (t.first.name == name) return &t;
  return nullptr;
}

namespace {

// The escalation step, after the event's own fields.
void writeEscalation(std::string& body, const Escalator::Fired& f) {
  if (body.empty() || body.back() != '}') return;
  std::string x;
  api::JsonWriter w(x);
  w.beginObject().field("policy", f.policy).field("step", uint64_t{f.step});
  w.field("repeat", uint64_t{f.repeat}).field("out_of_hours", f.out_of_hours);
  w.key("targets").beginArray();
  for (const auto& t : f.targets) w.value(t);
  w.endArray();
  w.key("on_call").beginArray();
  for (const auto& [schedule, person] : f.on_call)
    w.beginObject().field("schedule", schedule).field("person", person).endObject();
  w.endArray().endObject();
  body.pop_back();
  body += ",\"escalation\":" + x + "}";
}

}  // namespace

void OutboxBuilder::build(const Correlator& c, const std::vector<CorrelatorEvent>& events,
                          const std::vector<SlaEvent>& sla, Escalator& escalator,
                          const std::vector<Escalator::Fired>& fired,
                          std::vector<OutboxEntry>& out) const {
  if (targets_.empty()) return;
  auto add = [&](const config::NotificationTarget& t, int64_t at, std::string subject,
                 const char* event, const std::string& body) {
    OutboxEntry o;
    o.target = t.name;
    o.created_ms = at;
    o.subject = std::move(subject);
    o.event = event;
    o.body = body;
    out.push_back(std::move(o));
  };
  for (const auto& e : events) {
    if (e.type == CorrelatorEvent::kAlertSuppressed ||
        e.type == CorrelatorEvent::kAlertUnsuppressed ||
        e.type == CorrelatorEvent::kIncidentEscalated)  // sent as `fired`, below
      continue;
    std::string name = correlatorEventName(e.type);
    bool about_incident = name.rfind("incident.", 0) == 0;
    const Incident* inc = nullptr;
    std::string subject;
    if (about_incident) {
      inc = c.incident(e.incident);
      if (!inc) continue;
      // A held incident tells no one, except the end of one whose opening they were told.
      bool ending = e.type == CorrelatorEvent::kIncidentResolved ||
                    e.type == CorrelatorEvent::kIncidentClosed ||
                    e.type == CorrelatorEvent::kIncidentMerged;
      if (e.held && !(ending && inc->opening_notified)) continue;
      subject = "incident " + std::to_string(e.incident);
    } else {
      subject = "problem " + std::to_string(e.problem);
    }
    std::string body;
    for (const auto& [t, filter] : targets_) {
      if ((inc && escalator.routed(c, t.name)) || !filter.accepts(name, inc)) continue;
      if (body.empty()) writeEventJson(body, c, e);
      add(t, e.at_ms, subject, name.c_str(), body);
    }
    if (!inc || !escalator.enabled()) continue;
    reached_.clear();
    escalator.targetsFor(*inc, name, reached_);
    for (const std::string* n : reached_) {
      const Target* t = find(*n);
      if (!t || !t->second.accepts(name, inc)) continue;
      if (body.empty()) writeEventJson(body, c, e);
      add(t->first, e.at_ms, subject, name.c_str(), body);
    }
  }
  for (const auto& f : fired) {
    const Incident* inc = c.incident(f.incident);
    if (!inc) continue;
    std::string body;
    for (const auto& n : f.targets) {
      const Target* t = find(n);
      if (!t || !t->second.accepts("incident.escalated", inc)) continue;
      if (body.empty()) {
        writeEventJson(body, c, {CorrelatorEvent::kIncidentEscalated, f.at, f.incident});
        writeEscalation(body, f);
      }
      add(t->first, f.at, "incident " + std::to_string(f.incident), "incident.escalated", body);
    }
  }
  for (const auto& e : sla) {
    const Incident* inc = e.incident ? c.incident(e.incident) : nullptr;
    if (inc && inc->held) continue;  // its clocks' warnings wait for its release
    std::string body;
    std::string subject = inc ? "incident " + std::to_string(inc->id) : "heartbeat " + e.heartbeat;
    for (const auto& [t, filter] : targets_) {
      if ((inc && escalator.routed(c, t.name)) || !filter.accepts(e.type, inc)) continue;
      if (body.empty()) writeSlaEventJson(body, e, inc);
      add(t, e.at_ms, subject, e.type.c_str(), body);
    }
    if (!inc || !escalator.enabled()) continue;
    reached_.clear();
    escalator.targetsFor(*inc, e.type, reached_);
    for (const std::string* n : reached_) {
      const Target* t = find(*n);
      if (!t || !t->second.accepts(e.type, inc)) continue;
      if (body.empty()) writeSlaEventJson(body, e, inc);
      add(t->first, e.at_ms, subject, e.type.c_str(), body);
    }
  }
}

}  // namespace triaged::engine
