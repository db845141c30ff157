#include "notify/escalation.h"

#include <simdjson.h>

#include <algorithm>

#include "common/log.h"
#include "correlate/incident_facts.h"
#include "dedup/alert_table.h"
#include "notify/notification_filter.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

namespace {

constexpr std::string_view kSchedule = "schedule:";

bool live(const Incident& inc) { return inc.status == IncidentStatus::kOpen; }

std::string timeText(int64_t ms) { return api::formatRfc3339Ms(ms); }

}  // namespace

// ---- What policies match ------------------------------------------------------------------

PolicyFacts::PolicyFacts(const Correlator& c, const Incident& inc)
    : c_(c), i_(inc), priority_(std::to_string(inc.priority)) {
  uint64_t fp = inc.root_cause ? inc.root_cause : inc.alerts.empty() ? 0 : inc.alerts.front();
  root_ = fp ? c.alert(fp) : nullptr;
  if (root_) root_strings_.emplace(root_->strings);
}

std::string_view PolicyFacts::get(std::string_view n) const {
  if (n == "ci") {
    if (root_ && root_->ci != rules::RuleSet::kNone && root_->ci < c_.ruleSet().cis().size())
      return c_.ruleSet().cis()[root_->ci].name;
    return i_.cis.empty() ? std::string_view() : std::string_view(i_.cis.front());
  }
  if (n.rfind("label_", 0) == 0) {
    std::string_view v;
    if (root_strings_ && AlertStrings(root_strings_->data()).findLabel(n.substr(6), v)) return v;
    return {};
  }
  if (n == "priority") return priority_;
  return IncidentFacts(i_).get(n);
}

std::vector<std::pair<size_t, std::string>> PolicyFacts::check(
    const std::vector<std::string>& matchers) {
  return NotificationFilter::check(
      matchers,
      [](const std::string& name) {
        return name == "ci" || (name.rfind("label_", 0) == 0 && name.size() > 6);
      },
      "ci, label_<name>");
}

// ---- Checks at load ----------------------------------------------------------------------

std::string Escalator::describe(const std::vector<config::NotificationPolicy>& policies) {
  std::string out;
  for (const auto& p : policies) {
    out += p.name + "|" + p.calendar + "|" + (p.continue_matching ? "c" : "") + "|" +
           std::to_string(p.repeat_interval.count());
    for (const auto& m : p.matchers) out += "|m" + m;
    for (const auto& e : p.events) out += "|e" + e;
    for (const auto& st : p.steps) {
      out += "|s" + std::to_string(st.after.count());
      for (const auto& t : st.targets) out += "|t" + t;
      for (const auto& t : st.out_of_hours) out += "|o" + t;
    }
    out += "\n";
  }
  return out;
}

void Escalator::check(const config::Config& c, config::ConfigErrors& errors) {
  auto target = [&](const std::string& n) {
    for (const auto& t : c.notification_targets)
      if (t.name == n) return true;
    return false;
  };
  std::string names;
  for (const auto& t : c.notification_targets) names += (names.empty() ? "" : ", ") + t.name;
  if (names.empty()) names = "none configured";
  if (c.rule_set)
    for (const auto& s : c.rule_set->oncallSchedules())
      for (size_t i = 0; i < s.people.size(); ++i)
        for (size_t j = 0; j < s.people[i].targets.size(); ++j)
          if (!target(s.people[i].targets[j]))
            errors.push_back({s.file, s.line, 0,
                              "oncall_schedules." + s.name + ".people[" + std::to_string(i) +
                                  "].targets[" + std::to_string(j) + "]",
                              "unknown notification target \"" + s.people[i].targets[j] +
                                  "\" (targets: " + names + ")"});
  for (size_t i = 0; i < c.notification_policies.size(); ++i) {
    const auto& p = c.notification_policies[i];
    std::string path = "notifications.policies[" + std::to_string(i) + "]";
    for (const auto& [index, message] : PolicyFacts::check(p.matchers))
      errors.push_back(
          {p.file, p.line, 0, path + ".matchers[" + std::to_string(index) + "]", message});
    if (!p.calendar.empty() && c.rule_set) {
      bool found = false;
      for (const auto& cal : c.rule_set->calendars()) found = found || cal.name == p.calendar;
      if (!found)
        errors.push_back({p.file, p.line, 0, path + ".calendar",
                          "unknown calendar \"" + p.calendar + "\" (calendars are in rule files)"});
    }
    for (size_t j = 0; j < p.steps.size(); ++j) {
      const auto& st = p.steps[j];
      auto checkList = [&](const std::vector<std::string>& list, const char* key) {
        for (size_t k = 0; k < list.size(); ++k) {
          const std::string& n = list[k];
          std::string where =
              path + ".steps[" + std::to_string(j) + "]." + key + "[" + std::to_string(k) + "]";
          if (n.rfind("schedule:", 0) == 0) {
            if (c.rule_set && !c.rule_set->oncallSchedule(n.substr(9)))
              errors.push_back({p.file, st.line, 0, where,
                                "unknown on-call schedule \"" + n.substr(9) +
                                    "\" (oncall_schedules are in rule files)"});
          } else if (!target(n)) {
            errors.push_back({p.file, st.line, 0, where,
                              "unknown notification target \"" + n + "\" (targets: " + names +
                                  "; or schedule:<name>)"});
          }
        }
      };
      checkList(st.targets, "targets");
      checkList(st.out_of_hours, "out_of_hours");
    }
  }
}

// ---- Policies and steps -------------------------------------------------------------------

void Escalator::configure(std::vector<config::NotificationPolicy> policies) {
  policies_.clear();
  by_name_.clear();
  prometheus::Family<prometheus::Counter>* steps = nullptr;
  if (hub_ && !policies.empty()) {
    auto& reg = hub_->registry();
    steps = &prometheus::BuildCounter()
                 .Name("triaged_escalation_steps_total")
                 .Help("Escalation steps notified after the first (incident.escalated), by policy.")
                 .Register(reg);
    unstaffed_ = &prometheus::BuildCounter()
                      .Name("triaged_escalation_unstaffed_total")
                      .Help("Escalation steps that found no one on call in a schedule.")
                      .Register(reg);
    pending_ = &prometheus::BuildGauge()
                    .Name("triaged_escalations_pending")
                    .Help("Escalations waiting for their next step (not acknowledged, not held).")
                    .Register(reg)
                    .Add({});
  }
  for (auto& cfg : policies) {
    Policy p;
    for (const auto& text : cfg.matchers) {
      std::string error;
      rules::parseMatchers(text, p.matchers, &error);  // checked at load
    }
    if (steps) p.steps_total = &steps->Add({{"policy", cfg.name}});
    p.cfg = std::move(cfg);
    by_name_[p.cfg.name] = policies_.size();
    policies_.push_back(std::move(p));
  }
}

const Escalator::Policy* Escalator::policy(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &policies_[it->second];
}

int64_t Escalator::dueOffset(const Policy& p, const EscalationState& s) const {
  const auto& steps = p.cfg.steps;
  if (s.next < steps.size()) return steps[s.next].after.count();
  int64_t repeat = p.cfg.repeat_interval.count();
  if (repeat <= 0 || steps.empty()) return INT64_MAX;
  return steps.back().after.count() + static_cast<int64_t>(s.repeats + 1) * repeat;
}

void Escalator::observe(Correlator& c, const std::vector<CorrelatorEvent>& events, int64_t now) {
  if (policies_.empty()) return;
  for (const auto& e : events) {
    if (!e.incident) continue;
    const Incident* inc = c.incident(e.incident);
    if (!inc) continue;
    switch (e.type) {
      case CorrelatorEvent::kIncidentOpened:
        // An incident that opens held starts its escalation when it is released (which
        // reports it opened then).
        if (e.held) continue;
        if (inc->extra().escalation.empty()) {
          start(c, *inc, false, now);
          continue;
        }
        break;
      case CorrelatorEvent::kIncidentReopened:
        start(c, *inc, true, now);
        continue;
      case CorrelatorEvent::kIncidentAcknowledged:
      case CorrelatorEvent::kIncidentResolved:
      case CorrelatorEvent::kIncidentClosed:
      case CorrelatorEvent::kIncidentMerged:
        stop(c, *inc);
        continue;
      default:
        break;
    }
    // Any other news of an incident not held: an escalation paused by a hold resumes.
    if (!inc->held && live(*inc))
      for (size_t i = 0; i < inc->extra().escalation.size(); ++i)
        if (!inc->extra().escalation[i].armed_at) arm(*inc, i, now);
  }
}

void Escalator::start(Correlator& c, const Incident& inc, bool restart, int64_t now) {
  if (!live(inc)) return;
  std::vector<EscalationState> states;
  if (restart && !inc.extra().escalation.empty()) {
    states = inc.extra().escalation;
  } else {
    PolicyFacts facts(c, inc);
    for (const auto& p : policies_) {
      if (!rules::matchesAll(p.matchers, facts)) continue;
      EscalationState s;
      s.policy = p.cfg.name;
      states.push_back(std::move(s));
      if (!p.cfg.continue_matching) break;
    }
    if (states.empty()) return;
  }
  for (auto& s : states) {
    if (s.armed_at) --armed_;
    s.armed_at = 0;
    ++s.timer_gen;
    s.next = 0;
    s.repeats = 0;
    s.active = true;
    s.started = inc.activeMs(now);
  }
  *c.escalationOf(inc.id) = std::move(states);
  for (size_t i = 0; i < inc.extra().escalation.size(); ++i) {
    const Policy* p = policy(inc.extra().escalation[i].policy);
    if (!p) continue;
    // The steps due at once are told by the event that started the escalation; a held
    // incident tells no one: they come due when it is released.
    while (!inc.held && inc.extra().escalation[i].next < p->cfg.steps.size() &&
           p->cfg.steps[inc.extra().escalation[i].next].after.count() <= 0)
      notify(c, inc.id, i, now, true);
    arm(inc, i, now);
  }
}

void Escalator::stop(Correlator& c, const Incident& inc) {
  bool any = std::any_of(inc.extra().escalation.begin(), inc.extra().escalation.end(),
                         [](const EscalationState& s) { return s.active; });
  if (!any) return;
  for (auto& s : *c.escalationOf(inc.id)) {
    if (s.armed_at) --armed_;
    s.armed_at = 0;
    ++s.timer_gen;
    s.active = false;
  }
}

void Escalator::arm(const Incident& inc, size_t i, int64_t now) {
  const EscalationState& s = inc.extra().escalation[i];
  const Policy* p = policy(s.policy);
  int64_t offset = p && s.active && live(inc) && !inc.held ? dueOffset(*p, s) : INT64_MAX;
  if (offset == INT64_MAX) {
    if (s.armed_at) {
      --armed_;
      s.armed_at = 0;
      ++s.timer_gen;
    }
    return;
  }
  int64_t due = now + std::max<int64_t>(0, s.started + offset - inc.activeMs(now));
  if (due == s.armed_at) return;
  if (!s.armed_at) ++armed_;
  s.armed_at = due;
  ++s.timer_gen;
  timers_.push({due, inc.id, static_cast<uint32_t>(i), s.timer_gen});
}

void Escalator::advance(Correlator& c, int64_t now) {
  while (!timers_.empty() && timers_.top().at <= now) {
    Timer t = timers_.top();
    timers_.pop();
    const Incident* inc = c.incident(t.incident);
    if (!inc || t.state >= inc->extra().escalation.size()) continue;
    const EscalationState& s = inc->extra().escalation[t.state];
    if (s.timer_gen != t.gen || !s.armed_at) continue;  // stale
    s.armed_at = 0;
    --armed_;
    const Policy* p = policy(s.policy);
    // Held: paused until news of its release (observe) arms it again.
    if (!p || !s.active || !live(*inc) || inc->held) continue;
    if (inc->activeMs(now) - s.started >= dueOffset(*p, s)) notify(c, inc->id, t.state, now, false);
    arm(*inc, t.state, now);
  }
  if (pending_) pending_->Set(static_cast<double>(armed_));
}

void Escalator::restore(Correlator& c, int64_t now) {
  if (policies_.empty()) return;
  for (uint64_t id : c.liveIncidentIds()) {
    const Incident* inc = c.incident(id);
    for (size_t i = 0; inc && i < inc->extra().escalation.size(); ++i) {
      if (!policy(inc->extra().escalation[i].policy) && inc->extra().escalation[i].active) {
        log::get("notify")->warn(
            "incident {}: notification policy \"{}\" is gone; its escalation stops", id,
            inc->extra().escalation[i].policy);
        (*c.escalationOf(id))[i].active = false;
        continue;
      }
      arm(*inc, i, now);
    }
  }
}

std::vector<std::string> Escalator::resolve(const Correlator& c, const Policy& p, size_t step,
                                            int64_t now, Fired& f, std::string& detail) {
  const auto& rules = c.ruleSet();
  const auto& cals = rules.calendars();
  const auto& st = p.cfg.steps[step];
  if (!p.cfg.calendar.empty() && !st.out_of_hours.empty()) {
    auto cal = std::find_if(cals.begin(), cals.end(), [&](const rules::sla::Calendar& x) {
      return x.name == p.cfg.calendar;
    });
    f.out_of_hours = cal != cals.end() && cal->agreed(now, now + 1).empty();
  }
  std::vector<std::string> out;
  auto add = [&](const std::string& t) {
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  };
  for (const auto& name : f.out_of_hours ? st.out_of_hours : st.targets) {
    if (!detail.empty()) detail += ", ";
    if (name.rfind(kSchedule, 0) != 0) {
      add(name);
      detail += name;
      continue;
    }
    std::string schedule = name.substr(kSchedule.size());
    const rules::OncallSchedule* s = rules.oncallSchedule(schedule);
    int who = s ? s->personAt(now, overrides(schedule), cals) : -1;
    if (who < 0) {
      detail += "no one on call for " + schedule;
      f.on_call.emplace_back(schedule, "");
      if (unstaffed_) unstaffed_->Add({{"schedule", schedule}}).Increment();
      continue;
    }
    const auto& person = s->people[static_cast<size_t>(who)];
    f.on_call.emplace_back(schedule, person.name);
    detail += person.name + " (on call for " + schedule + ")";
    for (const auto& t : person.targets) add(t);
  }
  return out;
}

void Escalator::notify(Correlator& c, uint64_t incident, size_t i, int64_t now, bool first) {
  const Incident* inc = c.incident(incident);
  const EscalationState& s = inc->extra().escalation[i];
  const Policy* p = policy(s.policy);
  if (!p || p->cfg.steps.empty()) return;
  size_t n = p->cfg.steps.size();
  Fired f;
  f.incident = incident;
  f.at = now;
  f.policy = p->cfg.name;
  f.step = static_cast<uint32_t>(std::min<size_t>(s.next, n - 1) + 1);
  f.repeat = s.next >= n ? s.repeats + 1 : 0;
  std::string who;
  f.targets = resolve(c, *p, f.step - 1, now, f, who);
  EscalationState& st = (*c.escalationOf(incident))[i];
  for (const auto& t : f.targets)
    if (std::find(st.reached.begin(), st.reached.end(), t) == st.reached.end())
      st.reached.push_back(t);
  if (st.next < n)
    ++st.next;
  else
    ++st.repeats;
  std::string detail = "step " + std::to_string(f.step) + " of " + f.policy;
  if (f.repeat) detail += " (repeat " + std::to_string(f.repeat) + ")";
  if (f.out_of_hours) detail += " (out of hours)";
  detail += ": " + who;
  c.noteEscalation(incident, first ? "notified" : "escalated", std::move(detail), !first, now);
  if (!first) {
    if (p->steps_total) p->steps_total->Increment();
    fired_.push_back(std::move(f));
  }
}

// ---- Routing ------------------------------------------------------------------------------

bool Escalator::routed(const Correlator& c, const std::string& target) {
  if (policies_.empty()) return false;
  const rules::RuleSet* rules = &c.ruleSet();
  if (routed_for_ != rules) {
    routed_.clear();
    for (const auto& p : policies_)
      for (const auto& st : p.cfg.steps)
        for (const auto* list : {&st.targets, &st.out_of_hours})
          for (const auto& name : *list) {
            if (name.rfind(kSchedule, 0) != 0) {
              routed_.insert(name);
              continue;
            }
            if (const auto* s = rules->oncallSchedule(name.substr(kSchedule.size())))
              for (const auto& person : s->people)
                routed_.insert(person.targets.begin(), person.targets.end());
          }
    routed_for_ = rules;
  }
  return routed_.count(target) > 0;
}

void Escalator::targetsFor(const Incident& inc, std::string_view event,
                           std::vector<const std::string*>& out) const {
  for (const auto& s : inc.extra().escalation) {
    const Policy* p = policy(s.policy);
    if (!p) continue;
    const auto& events = p->cfg.events;
    if (!events.empty() && std::find(events.begin(), events.end(), event) == events.end()) continue;
    for (const auto& t : s.reached)
      if (std::none_of(out.begin(), out.end(), [&](const std::string* x) { return *x == t; }))
        out.push_back(&t);
  }
}

// ---- On-call overrides through the API ----------------------------------------------------

const std::vector<rules::OncallOverride>& Escalator::overrides(const std::string& schedule) const {
  static const std::vector<rules::OncallOverride> kNone;
  auto it = overrides_.find(schedule);
  return it == overrides_.end() ? kNone : it->second;
}

std::string Escalator::addOverride(const rules::RuleSet& rules, const std::string& schedule,
                                   rules::OncallOverride o, std::string* id) {
  const rules::OncallSchedule* s = rules.oncallSchedule(schedule);
  if (!s) return "no on-call schedule \"" + schedule + "\"";
  if (s->person(o.person) < 0) return "person: \"" + o.person + "\" is not in schedule " + schedule;
  if (o.end_ms <= o.start_ms) return "end: must be after start";
  auto& list = overrides_[schedule];
  // Overrides that ended a week ago are history: they leave memory (the store keeps them).
  std::erase_if(list, [&](const auto& x) { return x.end_ms < o.created_ms - 7 * 86'400'000LL; });
  const std::vector<rules::OncallOverride>* lists[] = {&s->overrides, &list};
  for (const auto* others : lists) {
    int k = rules::overlappingOverride(*others, o.start_ms, o.end_ms);
    if (k < 0) continue;
    const auto& x = (*others)[static_cast<size_t>(k)];
    return "overlaps " +
           (x.id.empty() ? std::string("an override of the rule file") : "override " + x.id) +
           " (" + x.person + ", " + timeText(x.start_ms) + " to " + timeText(x.end_ms) + ")";
  }
  o.id = "ovr-" + std::to_string(next_override_++);
  if (id) *id = o.id;
  dirty_overrides_.push_back({o.id, o.end_ms, encodeOverride(schedule, o, false)});
  auto at = std::upper_bound(list.begin(), list.end(), o.start_ms,
                             [](int64_t t, const auto& x) { return t < x.start_ms; });
  list.insert(at, std::move(o));
  return "";
}

std::string Escalator::removeOverride(const std::string& schedule, const std::string& id,
                                      int64_t now) {
  auto it = overrides_.find(schedule);
  if (it == overrides_.end()) return "no such override";
  auto& list = it->second;
  auto x = std::find_if(list.begin(), list.end(), [&](const auto& o) { return o.id == id; });
  if (x == list.end()) return "no such override";
  dirty_overrides_.push_back({id, now, encodeOverride(schedule, *x, true)});
  list.erase(x);
  return "";
}

std::string Escalator::encodeOverride(const std::string& schedule, const rules::OncallOverride& o,
                                      bool deleted) {
  std::string out;
  api::JsonWriter w(out);
  w.beginObject().field("schedule", schedule).field("id", o.id).field("person", o.person);
  w.field("start", o.start_ms).field("end", o.end_ms).field("created", o.created_ms);
  w.field("created_by", o.created_by).field("comment", o.comment).field("deleted", deleted);
  w.endObject();
  return out;
}

void Escalator::restoreOverrides(const std::vector<std::string>& records) {
  simdjson::dom::parser parser;
  for (const auto& r : records) {
    simdjson::dom::element e;
    if (parser.parse(r).get(e)) continue;
    rules::OncallOverride o;
    std::string_view schedule, id, person, by, comment;
    bool deleted = false;
    if (e["schedule"].get(schedule) || e["id"].get(id) || e["person"].get(person) ||
        e["start"].get(o.start_ms) || e["end"].get(o.end_ms))
      continue;
    // Optional fields: absent ones keep their defaults.
    if (e["created"].get(o.created_ms)) o.created_ms = 0;
    if (e["created_by"].get(by)) by = {};
    if (e["comment"].get(comment)) comment = {};
    if (e["deleted"].get(deleted)) deleted = false;
    if (id.rfind("ovr-", 0) == 0)
      next_override_ = std::max<uint64_t>(
          next_override_, std::strtoull(std::string(id.substr(4)).c_str(), nullptr, 10) + 1);
    if (deleted) continue;
    o.id = std::string(id);
    o.person = std::string(person);
    o.created_by = std::string(by);
    o.comment = std::string(comment);
    auto& list = overrides_[std::string(schedule)];
    list.push_back(std::move(o));
    std::sort(list.begin(), list.end(),
              [](const auto& a, const auto& b) { return a.start_ms < b.start_ms; });
  }
}

}  // namespace triaged::engine
