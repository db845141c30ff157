#include "evaluate/evaluator_json.h"

#include "triaged/api/ingest.h"

namespace triaged::engine {

void writeSlaEventJson(std::string& body, const SlaEvent& e, const Incident* inc) {
  api::JsonWriter w(body);
  w.beginObject().field("event", e.type).field("at", api::Rfc3339Ms(e.at_ms).view());
  if (!e.agreement.empty())
    w.field("agreement", e.agreement)
        .field("target", e.target)
        .field("percent", static_cast<int64_t>(e.percent));
  if (e.deadline_ms && e.deadline_ms != INT64_MAX)
    w.field("deadline", api::Rfc3339Ms(e.deadline_ms).view());
  if (!e.heartbeat.empty()) w.field("heartbeat", e.heartbeat);
  if (inc) {
    w.key("incident")
        .beginObject()
        .field("id", inc->id)
        .field("title", inc->title)
        .field("service", inc->service)
        .field("priority", static_cast<int64_t>(inc->priority))
        .field("status", incidentStatusName(inc->status))
        .endObject();
  }
  w.endObject();
}

void writeIncidentClocks(api::JsonWriter& w, const Evaluator& ev, uint64_t incident) {
  const auto& clocks = ev.clocks();
  const auto& agreements = ev.ruleSet().agreements();
  w.key("sla").beginArray();
  for (auto it = clocks.lower_bound({incident, 0, 0}); it != clocks.end(); ++it) {
    const TaskClock& c = it->second;
    if (c.incident != incident) break;
    if (c.agreement >= agreements.size()) continue;
    w.beginObject()
        .field("agreement", agreements[c.agreement].name)
        .field("target", clockTargetName(c.target))
        .field("stage", clockStageName(c.stage));
    if (c.breach_ms && c.breach_ms != INT64_MAX)
      w.field("deadline", api::Rfc3339Ms(c.breach_ms).view());
    w.field("breached", c.breached).field("crossed", static_cast<int64_t>(c.crossed));
    w.endObject();
  }
  w.endArray();
}

}  // namespace triaged::engine
