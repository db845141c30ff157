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

void OutboxBuilder::build(const Correlator& c, const std::vector<CorrelatorEvent>& events,
                          const std::vector<SlaEvent>& sla, std::vector<OutboxEntry>& out) const {
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
        e.type == CorrelatorEvent::kAlertUnsuppressed)
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
      if (!filter.accepts(name, inc)) continue;
      if (body.empty()) writeEventJson(body, c, e);
      add(t, e.at_ms, subject, name.c_str(), body);
    }
  }
  for (const auto& e : sla) {
    const Incident* inc = e.incident ? c.incident(e.incident) : nullptr;
    if (inc && inc->held) continue;  // its clocks' warnings wait for its release
    std::string body;
    for (const auto& [t, filter] : targets_) {
      if (!filter.accepts(e.type, inc)) continue;
      if (body.empty()) writeSlaEventJson(body, e, inc);
      add(t, e.at_ms, inc ? "incident " + std::to_string(inc->id) : "heartbeat " + e.heartbeat,
          e.type.c_str(), body);
    }
  }
}

}  // namespace triaged::engine
