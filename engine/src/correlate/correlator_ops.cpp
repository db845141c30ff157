// Incidents, problems and the operations people and ticketing tools perform.
#include <algorithm>

#include "correlate/correlator.h"
#include "correlator_internal.h"

namespace triaged::engine {

using rules::RuleSet;

namespace {

// Adds s to the sorted list unless there; a list full at kMaxListed sets *truncated instead
// (a storm's incident may touch 100,000 CIs: the list stays bounded, the flag says so).
constexpr size_t kMaxListed = 1000;
bool insertSorted(Incident::Names& v, std::string_view s, bool* truncated = nullptr) {
  if (s.empty()) return false;
  auto it = std::lower_bound(v.begin(), v.end(), s);
  if (it != v.end() && *it == s) return false;
  if (truncated && v.size() >= kMaxListed) {
    *truncated = true;
    return false;
  }
  v.insert(it, std::string(s));
  return true;
}

}  // namespace

const IncidentExtra Incident::kNoExtra;

std::string Incident::signature() const {
  std::string s;
  s.reserve(rule.size() + 1 + group_key.size());
  s.append(rule).append(1, '/').append(group_key);
  return s;
}

size_t Correlator::openProblems() const {
  size_t n = 0;
  for (const auto& [id, p] : problems_)
    if (p.status == ProblemStatus::kOpen || p.status == ProblemStatus::kKnownError) ++n;
  return n;
}

// "{{ name }}" is replaced by the label or field of the alert.
std::string Correlator::render(const std::string& tmpl, const CorrAlert& a) const {
  AlertFacts f(a);
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t open = tmpl.find("{{", i);
    if (open == std::string::npos) break;
    size_t close = tmpl.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(tmpl, i, open - i);
    std::string name = tmpl.substr(open + 2, close - open - 2);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    out += f.get(name);
    i = close + 2;
  }
  out.append(tmpl, i);
  return out;
}

Incident& Correlator::openIncident(uint32_t rule_index, const std::string& key,
                                   const std::vector<uint64_t>& fps, int64_t now,
                                   const CorrAlert* proto) {
  const rules::Rule& rule = ruleAt(rule_index);
  uint64_t id = next_incident_++;
  Incident& inc = incidents_.emplace_back();
  inc.id = id;
  inc.rule = rule.name;
  inc.group_key = key;
  inc.opened_ms = inc.updated_ms = inc.announced_ms = now;
  inc.interval_ms = rule.group_interval;
  inc.category = rule.incident.category.empty() ? "alert" : rule.incident.category;
  if (rule.incident.priority) {
    inc.priority = rule.incident.priority;
    inc.priority_fixed = true;
  }
  const CorrAlert* first = fps.empty() ? proto : alert(fps.front());
  if (first) {
    AlertFacts f(*first);
    if (!rule.incident.title.empty()) {
      inc.title = render(rule.incident.title, *first);
      inc.category = render(inc.category, *first);
    } else if (!f.get("summary").empty()) {
      inc.title = std::string(f.get("summary"));
    } else if (!f.get("check").empty()) {
      inc.title = std::string(f.get("check")) + " on " + std::string(f.get("resource"));
    } else {
      inc.title = std::string(f.get("alertname"));
    }
  }
  if (inc.title.empty()) inc.title = rule.incident.title.empty() ? rule.name : rule.incident.title;
  inc.service = rule.incident.service;
  for (uint64_t fp : fps)
    if (auto it = alerts_.find(fp); it != alerts_.end())
      addAlert(inc, *it->second, AlertRole::kMember, now, false);
  if (inc.service.empty() && !inc.services.empty()) inc.service = inc.services.front();
  if (insertSorted(inc.services, inc.service)) {
    uint32_t s = rules_->serviceByName(inc.service);
    int crit = s == RuleSet::kNone ? 2 : rules_->services()[s].criticality;
    inc.criticality = inc.criticality ? std::min(inc.criticality, crit) : crit;
  }
  note(inc, now, rule_index < rules_->rules().size() ? "rule:" + rule.name : "triaged", "opened",
       std::to_string(inc.alerts.size()) + (inc.alerts.size() == 1 ? " alert" : " alerts"));
  linkChanges(inc, now);
  refreshHeld(inc, now);  // opened with only suppressed alerts: held from the start
  recompute(inc, now, "");
  countOpen(inc, +1);
  emit(CorrelatorEvent::kIncidentOpened, now, id);
  attachKnownError(inc, now);
  linkProblem(inc, now);
  return inc;
}

void Correlator::addAlert(Incident& inc, CorrAlert& a, AlertRole role, int64_t now,
                          bool announce_it) {
  if (a.incident == inc.id) return;
  a.incident = inc.id;
  if (a.role != AlertRole::kRootCause) a.role = role;
  inc.alerts.push_back(a.fingerprint);
  if (a.status == api::Status::kFiring) {
    countFiring(inc, a);
    ++inc.gen;  // cancels a pending hold-down
  }
  widenScope(inc, a);
  inc.max_severity = std::max(inc.max_severity, static_cast<int>(a.severity));
  if (!announce_it) return;
  note(inc, now, "triaged", role == AlertRole::kSymptom ? "symptom joined" : "alert joined", {},
       a.fingerprint);
  recompute(inc, now, "triaged");
  refreshHeld(inc, now);
  if (a.suppressed == Suppression::kNone) announce(inc, now);
}

void Correlator::widenScope(Incident& inc, const CorrAlert& a, std::string* added) {
  AlertFacts f(a);
  auto said = [&](const char* what, std::string_view name) {
    if (added) added->append(added->empty() ? "" : ", ").append(what).append(" ").append(name);
  };
  auto addService = [&](std::string_view name) {
    if (!insertSorted(inc.services, name, &inc.services_truncated)) return;
    said("service", name);
    if (inc.service.empty()) inc.service = std::string(name);  // the first service affected
    uint32_t s = rules_->serviceByName(name);
    int crit = s == RuleSet::kNone ? 2 : rules_->services()[s].criticality;
    inc.criticality = inc.criticality ? std::min(inc.criticality, crit) : crit;
  };
  if (a.ci != RuleSet::kNone) {
    const auto& ci = rules_->cis()[a.ci];
    if (insertSorted(inc.cis, ci.name, &inc.cis_truncated)) said("CI", ci.name);
    for (uint32_t s : ci.services) addService(rules_->services()[s].name);
  } else if (std::string_view r = f.get("resource"); insertSorted(inc.cis, r, &inc.cis_truncated)) {
    said("CI", r);
  }
  addService(f.get("service"));
}

void Correlator::recompute(Incident& inc, int64_t now, const std::string& actor) {
  if (inc.priority_fixed) return;
  const auto& c = opts_.settings;
  int impact = inc.criticality ? inc.criticality : 2;  // no service known: assume medium impact
  if ((c.impact_services && inc.services.size() >= c.impact_services) ||
      (c.impact_cis && inc.cis.size() >= c.impact_cis))
    impact = std::max(1, impact - 1);
  int urgency = inc.max_severity >= static_cast<int>(api::Severity::kCritical) ? 1
                : inc.max_severity >= static_cast<int>(api::Severity::kMinor)  ? 2
                                                                               : 3;
  int priority = c.priority_matrix[impact - 1][urgency - 1];
  inc.impact = impact;
  inc.urgency = urgency;
  if (priority == inc.priority) return;
  int before = inc.priority;
  if (actor.empty()) {  // being opened: counted once open
    inc.priority = priority;
    return;
  }
  bool counted = inc.status == IncidentStatus::kOpen || inc.status == IncidentStatus::kAcknowledged;
  if (counted) countOpen(inc, -1);
  inc.priority = priority;
  if (counted) countOpen(inc, +1);
  note(inc, now, actor, "priority changed", priorityChange(before, priority));
  emit(CorrelatorEvent::kIncidentPriorityChanged, now, inc.id);
}

// Joins and changes are announced at most once per group_interval.
void Correlator::announce(Incident& inc, int64_t now) {
  if (inc.update_pending) return;
  touch(inc);
  if (now - inc.announced_ms >= inc.interval_ms) {
    inc.announced_ms = now;
    emit(CorrelatorEvent::kIncidentUpdated, now, inc.id);
    return;
  }
  inc.update_pending = true;
  schedule(inc.announced_ms + inc.interval_ms, kAnnounce, inc.id, 0);
}

void Correlator::reopen(Incident& inc, int64_t now, uint64_t fp) {
  inc.status = IncidentStatus::kOpen;
  inc.resolved_ms = 0;
  inc.acknowledged_ms = 0;
  ++inc.gen;
  countOpen(inc, +1);
  // Reopened by an alert no one suppresses: the targets hear of it.
  if (const CorrAlert* a = alert(fp); inc.held && (!a || a->suppressed == Suppression::kNone))
    release(inc, now);
  note(inc, now, "triaged", "reopened", "an alert recurred", fp);
  emit(CorrelatorEvent::kIncidentReopened, now, inc.id);
}

void Correlator::markResolved(Incident& inc, const std::string& by, const std::string& detail,
                              int64_t now) {
  inc.status = IncidentStatus::kResolved;
  inc.resolved_ms = now;
  inc.update_pending = false;
  ++inc.gen;
  countOpen(inc, -1);
  note(inc, now, by, "resolved", detail);
  emit(CorrelatorEvent::kIncidentResolved, now, inc.id);
  queueForget(inc, now);
  schedule(now + opts_.settings.close_after.count(), kClose, inc.id, inc.gen);
}

// Resolved members were kept while their incident was open; they may be forgotten now.
void Correlator::queueForget(const Incident& inc, int64_t now) {
  for (uint64_t fp : inc.alerts)
    if (auto it = alerts_.find(fp); it != alerts_.end() &&
                                    it->second->status == api::Status::kResolved &&
                                    it->second->incident == inc.id) {
      it->second->changed_ms = now;
      queueForget(*it->second, now + opts_.settings.reopen_window.count());
    }
}

void Correlator::attachKnownError(Incident& inc, int64_t now) {
  if (inc.alerts.empty()) return;
  const CorrAlert* first = alert(inc.alerts.front());
  if (!first) return;
  AlertFacts f(*first);
  for (const auto& ke : rules_->knownErrors()) {
    if (!matchesAll(ke.match, f)) continue;
    inc.edit().known_error = ke.id;
    inc.edit().workaround = ke.workaround;
    note(inc, now, "triaged", "known error matched", ke.id + ": " + ke.workaround);
    return;
  }
}

// Incidents with the same signature recurring `problem_incidents` times within
// `problem_window` open a problem; later ones join it while it is open.
void Correlator::linkProblem(Incident& inc, int64_t now) {
  const auto& c = opts_.settings;
  std::string signature = inc.signature();
  Recurrence& r = recurrences_[recurrenceKey(signature)];
  auto pit = problems_.find(r.problem);
  if (pit != problems_.end() && (pit->second.status == ProblemStatus::kOpen ||
                                 pit->second.status == ProblemStatus::kKnownError)) {
    Problem& p = pit->second;
    p.incidents.push_back(inc.id);
    p.updated_ms = now;
    inc.problem = p.id;
    note(inc, now, "triaged", "linked to problem", "PRB" + std::to_string(p.id));
    if (!p.workaround.empty() && inc.extra().known_error.empty()) {
      auto& x = inc.edit();
      x.known_error = p.known_error.empty() ? "PRB" + std::to_string(p.id) : p.known_error;
      x.workaround = p.workaround;
      note(inc, now, "triaged", "known error matched", x.known_error + ": " + p.workaround);
    }
    emit(CorrelatorEvent::kProblemUpdated, now, inc.id, p.id);
    return;
  }
  r.opened.emplace_back(now, inc.id);
  while (!r.opened.empty() && r.opened.front().first < now - c.problem_window.count())
    r.dropOldest();
  while (r.opened.size() > c.problem_incidents) r.dropOldest();
  if (r.opened.size() < c.problem_incidents) return;
  uint64_t id = next_problem_++;
  Problem& p = problems_[id];
  p.id = id;
  p.signature = signature;
  p.title = "Recurring: " + inc.title;
  p.opened_ms = p.updated_ms = now;
  p.timeline.push_back(
      {now, "triaged", "opened",
       std::to_string(r.opened.size()) + " incidents with signature " + signature});
  for (const auto& [at, iid] : r.opened) {
    p.incidents.push_back(iid);
    if (Incident* x = mutableIncident(iid)) {
      x->problem = id;
      note(*x, now, "triaged", "linked to problem", "PRB" + std::to_string(id));
    }
  }
  r.opened.clear();
  r.problem = id;
  emit(CorrelatorEvent::kProblemOpened, now, inc.id, id);
}

}  // namespace triaged::engine
