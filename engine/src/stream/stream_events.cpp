#include "stream/stream_events.h"

#include <algorithm>
#include <iterator>

#include "correlate/correlation_json.h"
#include "evaluate/evaluator_json.h"
#include "rest/alerts_api.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

void appendAlertEvents(const Correlator& c, const std::vector<CorrelatorInput>& changes,
                       std::vector<StreamEvent>& out) {
  for (const auto& in : changes) {
    const AlertChange& ch = in.change;
    StreamEvent e{StreamType::kAlert, {}};
    api::JsonWriter w(e.data);
    w.beginObject()
        .field("fingerprint", FingerprintHex(ch.fingerprint).view())
        .field("change", changeKindName(ch.kind))
        .field("status", api::statusName(ch.status))
        .field("severity", api::severityName(ch.severity))
        .field("flapping", ch.flapping)
        .field("at", api::Rfc3339Ms(ch.at_ms).view());
    if (const CorrAlert* a = c.alert(ch.fingerprint)) {
      StringsCopy copy(a->strings);
      AlertStrings v(copy.data());
      w.field("resource", v.field(AlertStrings::kResource))
          .field("check", v.field(AlertStrings::kCheck));
      if (auto s = v.field(AlertStrings::kService); !s.empty()) w.field("service", s);
      if (auto s = v.field(AlertStrings::kSummary); !s.empty()) w.field("summary", s);
      w.field("suppressed", suppressionName(a->suppressed));
      if (a->incident)
        w.field("incident", a->incident);
      else
        w.key("incident").null();
    }
    w.endObject();
    out.push_back(std::move(e));
  }
}

void appendRoundEvents(const Correlator& c, const Evaluator& ev, const RoundChanges& r, int64_t now,
                       std::vector<StreamEvent>& out) {
  // What happened to each incident this round: its last event (an action, opened, resolved),
  // found in one pass over the round's events (a round can open thousands of incidents).
  std::vector<std::pair<uint64_t, const char*>> last;  // (incident, its last event), sorted
  for (const auto& e : r.events)
    if (e.incident && e.type <= CorrelatorEvent::kIncidentEscalated)
      last.emplace_back(e.incident, correlatorEventName(e.type));
  std::stable_sort(last.begin(), last.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto lastEvent = [&](uint64_t id) -> const char* {
    auto it = std::upper_bound(last.begin(), last.end(), id,
                               [](uint64_t v, const auto& p) { return v < p.first; });
    return it != last.begin() && std::prev(it)->first == id ? std::prev(it)->second
                                                            : "incident.changed";
  };
  std::vector<uint64_t> ids = r.incidents;
  for (const auto& [id, what] : last) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (uint64_t id : ids) {
    const Incident* inc = c.incident(id);
    if (!inc) continue;
    StreamEvent e{StreamType::kIncident, {}};
    const char* what = lastEvent(id);
    e.data = "{\"event\":\"";
    e.data += what;
    if (std::string_view(what) == "incident.changed") {
      // What an alert's flips change (most of the stream at high rates): the counts, the
      // severity and suppression, not the whole incident. "partial": merge into what you have.
      e.data += "\",\"partial\":true,\"incident\":";
      api::JsonWriter w(e.data);
      bool live =
          inc->status == IncidentStatus::kOpen || inc->status == IncidentStatus::kAcknowledged;
      w.beginObject()
          .field("id", inc->id)
          .field("status", incidentStatusName(inc->status))
          .field("severity", api::severityName(static_cast<api::Severity>(
                                 inc->firing() ? inc->severity() : inc->max_severity)))
          .field("firing", inc->firingAll())
          .field("alert_count", static_cast<uint64_t>(inc->alerts.size()))
          .field("suppressed", live && inc->held)
          .field("updated_at", api::Rfc3339Ms(inc->updated_ms).view());
      writeIncidentClocks(w, ev, id);
      w.endObject();
    } else {
      e.data += "\",\"incident\":";
      writeIncidentJson(e.data, c, *inc, false,
                        [&](api::JsonWriter& w) { writeIncidentClocks(w, ev, id); });
    }
    e.data += '}';
    out.push_back(std::move(e));
  }
  uint64_t last_problem = 0;
  for (const auto& ce : r.events) {
    if (!ce.problem || ce.problem == last_problem) continue;
    last_problem = ce.problem;
    auto it = c.problems().find(ce.problem);
    if (it == c.problems().end()) continue;
    StreamEvent e{StreamType::kProblem, {}};
    e.data = "{\"event\":\"";
    e.data += correlatorEventName(ce.type);
    e.data += "\",\"problem\":";
    writeProblemJson(e.data, it->second, false);
    e.data += '}';
    out.push_back(std::move(e));
  }
  for (const auto& id : r.silences) {
    StreamEvent e{StreamType::kSilence, {}};
    auto it = c.silences().find(id);
    if (it != c.silences().end()) {
      writeSilenceJson(e.data, it->second, now);
    } else {
      api::JsonWriter w(e.data);
      w.beginObject().field("id", id).field("deleted", true).endObject();
    }
    out.push_back(std::move(e));
  }
  for (const auto& id : r.maintenance) {
    StreamEvent e{StreamType::kMaintenance, {}};
    api::JsonWriter w(e.data);
    w.beginObject().field("id", id);
    auto it = c.maintenance().find(id);
    if (it != c.maintenance().end()) {
      w.field("ended", it->second.ended_ms != 0);
      if (it->second.ended_ms) w.field("ended_at", api::Rfc3339Ms(it->second.ended_ms).view());
    } else {
      w.field("deleted", true);
    }
    w.endObject();
    out.push_back(std::move(e));
  }
  for (const auto& s : r.sla) {
    bool heartbeat = s.type.rfind("heartbeat.", 0) == 0;
    StreamEvent e{heartbeat ? StreamType::kHeartbeat : StreamType::kSla, {}};
    writeSlaEventJson(e.data, s, s.incident ? c.incident(s.incident) : nullptr);
    out.push_back(std::move(e));
  }
}

}  // namespace triaged::engine
