// What people and ticketing tools do to incidents and problems (silences: suppression.cpp).
#include <algorithm>
#include <cstdio>

#include "correlator_internal.h"

namespace triaged::engine {

namespace {

bool active(const Incident& inc) {
  return inc.status == IncidentStatus::kOpen || inc.status == IncidentStatus::kAcknowledged;
}

}  // namespace

std::string Correlator::acknowledge(uint64_t id, const std::string& by, int64_t now) {
  Incident* inc = mutableIncident(id);
  if (!inc) return "no such incident";
  if (inc->status == IncidentStatus::kAcknowledged) return "";
  if (inc->status != IncidentStatus::kOpen)
    return std::string("incident is ") + incidentStatusName(inc->status);
  inc->status = IncidentStatus::kAcknowledged;
  inc->acknowledged_ms = now;
  note(*inc, now, by, "acknowledged");
  emit(CorrelatorEvent::kIncidentAcknowledged, now, id);
  return "";
}

std::string Correlator::assign(uint64_t id, const std::string& assignee, const std::string& by,
                               int64_t now) {
  Incident* inc = mutableIncident(id);
  if (!inc) return "no such incident";
  if (inc->status == IncidentStatus::kClosed || inc->status == IncidentStatus::kMerged)
    return std::string("incident is ") + incidentStatusName(inc->status);
  inc->edit().assignee = assignee;
  note(*inc, now, by, "assigned", assignee);
  emit(CorrelatorEvent::kIncidentAssigned, now, id);
  return "";
}

std::string Correlator::comment(uint64_t id, const std::string& text, const std::string& by,
                                int64_t now) {
  Incident* inc = mutableIncident(id);
  if (!inc) return "no such incident";
  note(*inc, now, by, "commented", text);
  emit(CorrelatorEvent::kIncidentCommented, now, id);
  return "";
}

std::string Correlator::setPriority(uint64_t id, int priority, const std::string& by, int64_t now) {
  Incident* inc = mutableIncident(id);
  if (!inc) return "no such incident";
  if (priority < 1 || priority > 5) return "priority must be 1..5";
  int before = inc->priority;
  if (active(*inc)) countOpen(*inc, -1);
  inc->priority = priority;
  if (active(*inc)) countOpen(*inc, +1);
  inc->priority_fixed = true;
  note(*inc, now, by, "priority changed", priorityChange(before, priority));
  emit(CorrelatorEvent::kIncidentPriorityChanged, now, id);
  return "";
}

std::string Correlator::resolve(uint64_t id, const std::string& by, const std::string& text,
                                int64_t now) {
  Incident* inc = mutableIncident(id);
  if (!inc) return "no such incident";
  if (inc->status == IncidentStatus::kResolved) return "";
  if (!active(*inc)) return std::string("incident is ") + incidentStatusName(inc->status);
  markResolved(*inc, by, text, now);
  return "";
}

std::string Correlator::close(uint64_t id, const std::string& by, int64_t now) {
  Incident* inc = mutableIncident(id);
  if (!inc) return "no such incident";
  if (inc->status == IncidentStatus::kClosed) return "";
  if (inc->status == IncidentStatus::kMerged) return "incident is merged";
  if (active(*inc)) {
    countOpen(*inc, -1);
    queueForget(*inc, now);
  }
  if (!inc->resolved_ms) inc->resolved_ms = now;
  inc->status = IncidentStatus::kClosed;
  inc->closed_ms = now;
  ++inc->gen;
  pruneGroup(*inc);
  note(*inc, now, by, "closed");
  schedulePrune(*inc);
  emit(CorrelatorEvent::kIncidentClosed, now, id);
  return "";
}

std::string Correlator::merge(uint64_t from, uint64_t into, const std::string& by, int64_t now) {
  if (from == into) return "cannot merge an incident into itself";
  Incident* src = mutableIncident(from);
  Incident* dst = mutableIncident(into);
  if (!src || !dst) return "no such incident";
  if (src->status == IncidentStatus::kMerged || src->status == IncidentStatus::kClosed)
    return std::string("incident ") + std::to_string(from) + " is " +
           incidentStatusName(src->status);
  if (dst->status == IncidentStatus::kMerged || dst->status == IncidentStatus::kClosed)
    return std::string("incident ") + std::to_string(into) + " is " +
           incidentStatusName(dst->status);
  if (active(*src)) countOpen(*src, -1);
  if (dst->status == IncidentStatus::kResolved) reopen(*dst, now, 0);
  for (uint64_t fp : src->alerts) {
    auto it = alerts_.find(fp);
    if (it == alerts_.end() || it->second->incident != from) continue;
    CorrAlert& a = *it->second;
    a.incident = 0;
    a.counted_severity = -1;  // src's counts are dropped whole below
    a.counted_maintenance = a.counted_suppressed = false;
    addAlert(*dst, a, a.role, now, false);
  }
  src->firing_by_severity = {};
  src->firing_maintenance = src->firing_suppressed = 0;
  src->status = IncidentStatus::kMerged;
  src->merged_into = into;
  ++src->gen;
  for (const auto& t : src->extra().tickets) dst->edit().tickets.push_back(t);
  note(*src, now, by, "merged", "into " + std::to_string(into));
  schedulePrune(*src);
  note(*dst, now, by, "merged in", "incident " + std::to_string(from) + " (" + src->title + ")");
  recompute(*dst, now, by);
  refreshHeld(*dst, now);
  emit(CorrelatorEvent::kIncidentMerged, now, from);
  emit(CorrelatorEvent::kIncidentUpdated, now, into);
  return "";
}

std::string Correlator::linkTicket(uint64_t id, TicketLink link, const std::string& by,
                                   int64_t now) {
  Incident* inc = mutableIncident(id);
  if (!inc) return "no such incident";
  if (link.system.empty() || link.id.empty()) return "system and id are required";
  for (auto& t : inc->edit().tickets)
    if (t.system == link.system && t.id == link.id) {
      t.url = link.url;
      return "";
    }
  note(*inc, now, by, "ticket linked", link.system + " " + link.id);
  inc->edit().tickets.push_back(std::move(link));
  emit(CorrelatorEvent::kIncidentTicketLinked, now, id);
  return "";
}

std::string Correlator::setKnownError(uint64_t id, const std::string& root_cause,
                                      const std::string& workaround, const std::string& by,
                                      int64_t now) {
  auto it = problems_.find(id);
  if (it == problems_.end()) return "no such problem";
  Problem& p = it->second;
  if (p.status == ProblemStatus::kClosed) return "problem is closed";
  if (workaround.empty()) return "workaround is required";
  p.root_cause = root_cause;
  p.workaround = workaround;
  p.status = ProblemStatus::kKnownError;
  p.updated_ms = now;
  p.timeline.push_back({now, by, "known error", workaround});
  emit(CorrelatorEvent::kProblemKnownError, now, 0, id);
  return "";
}

std::string Correlator::setProblemStatus(uint64_t id, ProblemStatus s, const std::string& by,
                                         int64_t now) {
  auto it = problems_.find(id);
  if (it == problems_.end()) return "no such problem";
  Problem& p = it->second;
  if (p.status == ProblemStatus::kClosed) return "problem is closed";
  p.status = s;
  p.updated_ms = now;
  if (s == ProblemStatus::kResolved) p.resolved_ms = now;
  if (s == ProblemStatus::kClosed) p.closed_ms = now;
  p.timeline.push_back({now, by, problemStatusName(s), ""});
  emit(s == ProblemStatus::kResolved ? CorrelatorEvent::kProblemResolved
                                     : CorrelatorEvent::kProblemClosed,
       now, 0, id);
  return "";
}

std::vector<EscalationState>* Correlator::escalationOf(uint64_t id) {
  Incident* inc = mutableIncident(id);
  if (!inc) return nullptr;
  touch(*inc);
  return &inc->edit().escalation;
}

void Correlator::noteEscalation(uint64_t id, const char* action, std::string detail, bool report,
                                int64_t now) {
  Incident* inc = mutableIncident(id);
  if (!inc) return;
  note(*inc, now, "triaged", action, std::move(detail));
  if (report) emit(CorrelatorEvent::kIncidentEscalated, now, id);
}

}  // namespace triaged::engine
