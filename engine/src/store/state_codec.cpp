#include "store/state_codec.h"

#include <simdjson.h>

#include <mutex>
#include <set>
#include <stdexcept>

#include "store/record_reader.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

namespace {

using codec::element;
using codec::JsonWriter;
using codec::parse;
using codec::Reader;
using codec::writeStrings;

void writeTimeline(JsonWriter& w, const std::vector<TimelineEntry>& t) {
  w.key("timeline").beginArray();
  for (const auto& e : t) {
    w.beginArray()
        .value(e.at_ms)
        .value(e.actor)
        .value(e.action)
        .value(e.detail)
        .value(e.alert)
        .endArray();
  }
  w.endArray();
}

std::vector<TimelineEntry> readTimeline(const Reader& r) {
  std::vector<TimelineEntry> out;
  for (auto e : r.arr("timeline")) {
    simdjson::dom::array a;
    int64_t at;
    std::string_view actor, action, detail;
    uint64_t alert;
    if (e.get_array().get(a) || a.size() != 5 || a.at(0).get_int64().get(at) ||
        a.at(1).get_string().get(actor) || a.at(2).get_string().get(action) ||
        a.at(3).get_string().get(detail) || a.at(4).get_uint64().get(alert))
      throw std::runtime_error("field \"timeline\" holds a malformed entry");
    out.push_back({at, std::string(actor), internAction(action), std::string(detail), alert});
  }
  return out;
}

}  // namespace

const char* internAction(std::string_view action) {
  static std::mutex mu;
  static std::set<std::string, std::less<>> phrases;
  std::lock_guard lock(mu);
  auto it = phrases.find(action);
  if (it == phrases.end()) it = phrases.emplace(action).first;
  return it->c_str();  // set nodes never move
}

void incidentRows(const Correlator& c, const Incident& inc, size_t alerts_from,
                  size_t timeline_from, StoreUnit& unit, StoreUnit::Row& out) {
  for (size_t i = alerts_from; i < inc.alerts.size(); ++i) {
    uint64_t fp = inc.alerts[i];
    const CorrAlert* a = c.alert(fp);
    AlertRole role = fp == inc.root_cause         ? AlertRole::kRootCause
                     : a && a->incident == inc.id ? a->role
                                                  : AlertRole::kMember;
    unit.addMember(out, {static_cast<uint32_t>(i), fp, static_cast<int>(role)});
  }
  auto row = [&](size_t i) {
    const auto& e = inc.timeline[i];
    unit.addTimeline(out, static_cast<uint32_t>(i), e.at_ms, e.actor, e.action, e.detail, e.alert);
  };
  auto rewritten = [&](uint32_t i) {  // changed in place: the row is replaced
    if (i < timeline_from && i < inc.timeline.size()) row(i);
  };
  if (inc.rewritten_entry) rewritten(inc.rewritten_entry - 1);
  for (uint32_t i : inc.extra().timeline_rewritten) rewritten(i);
  for (size_t i = timeline_from; i < inc.timeline.size(); ++i) row(i);
}

// Sparse: besides id, title, status, opened and updated, a field at its default (empty, zero,
// false; opening_notified true) is left out, and decodeIncident reads a missing one as that
// default. Most incidents have no assignee, tickets, escalation, problem or hold, and the
// signature is derived from rule and group key: ~910 bytes a record became ~450 (schema 9).
void encodeIncident(std::string& out, const Incident& inc) {
  out.reserve(out.size() + 512);  // most records are 400-500 bytes: one allocation, no copies
  JsonWriter w(out);
  auto str = [&](const char* k, const std::string& v) {
    if (!v.empty()) w.field(k, v);
  };
  auto num = [&](const char* k, int64_t v) {
    if (v != 0) w.field(k, v);
  };
  auto unum = [&](const char* k, uint64_t v) {
    if (v != 0) w.field(k, v);
  };
  auto flag = [&](const char* k, bool v) {
    if (v) w.field(k, true);
  };
  auto list = [&](const char* k, const auto& v) {
    if (!v.empty()) writeStrings(w, k, v);
  };
  w.beginObject();
  w.field("id", inc.id).field("title", inc.title);
  str("service", inc.service);
  str("category", inc.category);
  str("rule", inc.rule);
  str("group_key", inc.group_key);
  w.field("status", static_cast<int>(inc.status));
  num("priority", inc.priority);
  num("impact", inc.impact);
  num("urgency", inc.urgency);
  flag("priority_fixed", inc.priority_fixed);
  w.field("opened", inc.opened_ms);
  num("acknowledged", inc.acknowledged_ms);
  num("resolved", inc.resolved_ms);
  num("closed", inc.closed_ms);
  w.field("updated", inc.updated_ms);
  str("assignee", inc.extra().assignee);
  unum("root_cause", inc.root_cause);
  unum("merged_into", inc.merged_into);
  unum("problem", inc.problem);
  str("known_error", inc.extra().known_error);
  str("workaround", inc.extra().workaround);
  if (!inc.extra().tickets.empty()) {
    w.key("tickets").beginArray();
    for (const auto& t : inc.extra().tickets)
      w.beginArray().value(t.system).value(t.id).value(t.url).endArray();
    w.endArray();
  }
  list("cis", inc.cis);
  list("services", inc.services);
  list("changes", inc.extra().changes);
  flag("cis_truncated", inc.cis_truncated);
  flag("services_truncated", inc.services_truncated);
  num("interval", inc.interval_ms);
  unum("group_hash", inc.group_hash);
  flag("threshold_group", inc.threshold_group);
  num("max_severity", inc.max_severity);
  num("criticality", inc.criticality);
  unum("timeline_dropped", inc.timeline_dropped);
  num("announced", inc.announced_ms);
  flag("update_pending", inc.update_pending);
  flag("held", inc.held);
  num("held_since", inc.held_since_ms);
  if (!inc.opening_notified) w.field("opening_notified", false);  // missing: true
  num("held_total", inc.held_total_ms);
  if (!inc.extra().escalation.empty()) {
    // [policy, next step, repeats, started, active, [targets reached]]
    w.key("escalation").beginArray();
    for (const auto& e : inc.extra().escalation) {
      w.beginArray().value(e.policy).value(uint64_t{e.next}).value(uint64_t{e.repeats});
      w.value(e.started).value(e.active).beginArray();
      for (const auto& t : e.reached) w.value(t);
      w.endArray().endArray();
    }
    w.endArray();
  }
  w.endObject();
}

IncidentRecord decodeIncident(std::string_view record, const std::vector<MemberRow>& alerts,
                              const std::vector<TimelineRow>& timeline) {
  thread_local simdjson::dom::parser parser;
  Reader r = parse(parser, record);
  IncidentRecord out;
  Incident& inc = out.incident;
  inc.id = r.u64("id");
  inc.title = r.str("title");
  inc.service = r.strOr("service");
  inc.category = r.strOr("category");
  inc.rule = r.strOr("rule");
  inc.group_key = r.strOr("group_key");
  int64_t status = r.i64("status");
  if (status < 0 || status > static_cast<int>(IncidentStatus::kMerged))
    throw std::runtime_error("field \"status\" is out of range");
  inc.status = static_cast<IncidentStatus>(status);
  inc.priority = static_cast<int>(r.i64Or("priority"));
  inc.impact = static_cast<int>(r.i64Or("impact"));
  inc.urgency = static_cast<int>(r.i64Or("urgency"));
  inc.priority_fixed = r.flagOr("priority_fixed", false);
  inc.opened_ms = r.i64("opened");
  inc.acknowledged_ms = r.i64Or("acknowledged");
  inc.resolved_ms = r.i64Or("resolved");
  inc.closed_ms = r.i64Or("closed");
  inc.updated_ms = r.i64("updated");
  // What few incidents have is allocated only when there is some (Incident::edit).
  if (auto v = r.strOr("assignee"); !v.empty()) inc.edit().assignee = std::move(v);
  for (size_t i = 0; i < alerts.size(); ++i) {
    const auto& m = alerts[i];
    if (m.seq != i)
      throw std::runtime_error("alert rows: row " + std::to_string(i) + " is missing");
    if (m.role < 0 || m.role > static_cast<int>(AlertRole::kSymptom))
      throw std::runtime_error("alert rows: role of row " + std::to_string(i) + " is out of range");
    inc.alerts.push_back(m.fingerprint);
    out.roles.push_back(static_cast<AlertRole>(m.role));
  }
  inc.root_cause = r.u64Or("root_cause");
  inc.merged_into = r.u64Or("merged_into");
  inc.problem = r.u64Or("problem");
  if (auto v = r.strOr("known_error"); !v.empty()) inc.edit().known_error = std::move(v);
  if (auto v = r.strOr("workaround"); !v.empty()) inc.edit().workaround = std::move(v);
  if (r.has("tickets"))
    for (auto e : r.arr("tickets")) {
      simdjson::dom::array a;
      std::string_view sys, id, url;
      if (e.get_array().get(a) || a.size() != 3 || a.at(0).get_string().get(sys) ||
          a.at(1).get_string().get(id) || a.at(2).get_string().get(url))
        throw std::runtime_error("field \"tickets\" holds a malformed entry");
      inc.edit().tickets.push_back({std::string(sys), std::string(id), std::string(url)});
    }
  if (r.has("cis"))
    for (auto& s : r.strings("cis")) inc.cis.push_back(std::move(s));
  if (r.has("services"))
    for (auto& s : r.strings("services")) inc.services.push_back(std::move(s));
  if (r.has("changes"))
    if (auto v = r.strings("changes"); !v.empty()) inc.edit().changes = std::move(v);
  inc.cis_truncated = r.flagOr("cis_truncated", false);
  inc.services_truncated = r.flagOr("services_truncated", false);
  inc.interval_ms = r.i64Or("interval");
  inc.group_hash = r.u64Or("group_hash");
  inc.threshold_group = r.flagOr("threshold_group", false);
  inc.max_severity = static_cast<int>(r.i64Or("max_severity"));
  inc.criticality = static_cast<int>(r.i64Or("criticality"));
  for (size_t i = 0; i < timeline.size(); ++i) {
    const auto& t = timeline[i];
    if (t.seq != i)
      throw std::runtime_error("timeline rows: row " + std::to_string(i) + " is missing");
    inc.timeline.push_back({t.at_ms, t.actor, internAction(t.action), t.detail, t.alert});
    inc.timeline_bytes += static_cast<uint32_t>(inc.timeline.back().bytes());
  }
  inc.stored_alerts = static_cast<uint32_t>(inc.alerts.size());
  inc.stored_timeline = static_cast<uint32_t>(inc.timeline.size());
  inc.timeline_dropped = r.u64Or("timeline_dropped");
  inc.announced_ms = r.i64Or("announced");
  inc.update_pending = r.flagOr("update_pending", false);
  // Rows written before suppression became a state have no held state, and
  // their incidents' openings were notified.
  inc.held = r.flagOr("held", false);
  inc.held_since_ms = r.i64Or("held_since");
  inc.opening_notified = r.flagOr("opening_notified", true);
  inc.held_total_ms = r.i64Or("held_total");
  if (r.has("escalation"))
    for (auto e : r.arr("escalation")) {
      simdjson::dom::array a, reached;
      std::string_view policy;
      uint64_t next = 0, repeats = 0;
      int64_t started = 0;
      bool active = false;
      if (e.get_array().get(a) || a.size() != 6 || a.at(0).get_string().get(policy) ||
          a.at(1).get_uint64().get(next) || a.at(2).get_uint64().get(repeats) ||
          a.at(3).get_int64().get(started) || a.at(4).get_bool().get(active) ||
          a.at(5).get_array().get(reached) || next > UINT32_MAX || repeats > UINT32_MAX)
        throw std::runtime_error("field \"escalation\" holds a malformed entry");
      EscalationState st;
      st.policy = std::string(policy);
      st.next = static_cast<uint32_t>(next);
      st.repeats = static_cast<uint32_t>(repeats);
      st.started = started;
      st.active = active;
      for (auto t : reached) {
        std::string_view name;
        if (t.get_string().get(name))
          throw std::runtime_error("field \"escalation\" holds a malformed target");
        st.reached.emplace_back(name);
      }
      inc.edit().escalation.push_back(std::move(st));
    }
  return out;
}

void encodeProblem(std::string& out, const Problem& p) {
  JsonWriter w(out);
  w.beginObject();
  w.field("id", p.id).field("signature", p.signature).field("title", p.title);
  w.field("status", static_cast<int>(p.status));
  w.key("incidents").beginArray();
  for (uint64_t i : p.incidents) w.value(i);
  w.endArray();
  w.field("root_cause", p.root_cause)
      .field("workaround", p.workaround)
      .field("known_error", p.known_error);
  w.field("opened", p.opened_ms).field("updated", p.updated_ms).field("resolved", p.resolved_ms);
  w.field("closed", p.closed_ms);
  writeTimeline(w, p.timeline);
  w.endObject();
}

Problem decodeProblem(std::string_view record) {
  thread_local simdjson::dom::parser parser;
  Reader r = parse(parser, record);
  Problem p;
  p.id = r.u64("id");
  p.signature = r.str("signature");
  p.title = r.str("title");
  int64_t status = r.i64("status");
  if (status < 0 || status > static_cast<int>(ProblemStatus::kClosed))
    throw std::runtime_error("field \"status\" is out of range");
  p.status = static_cast<ProblemStatus>(status);
  p.incidents = r.ids("incidents");
  p.root_cause = r.str("root_cause");
  p.workaround = r.str("workaround");
  p.known_error = r.str("known_error");
  p.opened_ms = r.i64("opened");
  p.updated_ms = r.i64("updated");
  p.resolved_ms = r.i64("resolved");
  p.closed_ms = r.i64("closed");
  p.timeline = readTimeline(r);
  return p;
}

// ---- Service level ledgers ----------------------------------------------------------------

void encodeClock(std::string& out, const TaskClock& c) {
  JsonWriter w(out);
  w.beginObject();
  w.field("incident", c.incident)
      .field("target", static_cast<int>(c.target))
      .field("stage", static_cast<int>(c.stage));
  w.field("priority", c.priority)
      .field("start", c.start_ms)
      .field("duration", c.duration_ms)
      .field("stop", c.stop_ms);
  w.field("paused_since", c.paused_since)
      .field("breach", c.breach_ms)
      .field("original_breach", c.original_breach_ms);
  w.field("crossed", c.crossed).field("breached", c.breached);
  w.key("pauses").beginArray();
  for (const auto& p : c.pauses) w.beginArray().value(p.a).value(p.b).endArray();
  w.endArray();
  w.endObject();
}

TaskClock decodeClock(std::string_view record) {
  thread_local simdjson::dom::parser parser;
  Reader r = parse(parser, record);
  TaskClock c;
  c.incident = r.u64("incident");
  int64_t target = r.i64("target"), stage = r.i64("stage");
  if (target < 0 || target > 1) throw std::runtime_error("field \"target\" is out of range");
  if (stage < 0 || stage > static_cast<int>(ClockStage::kCancelled))
    throw std::runtime_error("field \"stage\" is out of range");
  c.target = static_cast<ClockTarget>(target);
  c.stage = static_cast<ClockStage>(stage);
  c.priority = static_cast<int>(r.i64("priority"));
  c.start_ms = r.i64("start");
  c.duration_ms = r.i64("duration");
  c.stop_ms = r.i64("stop");
  c.paused_since = r.i64("paused_since");
  c.breach_ms = r.i64("breach");
  c.original_breach_ms = r.i64("original_breach");
  c.crossed = static_cast<int>(r.i64("crossed"));
  c.breached = r.flag("breached");
  for (auto e : r.arr("pauses")) {
    simdjson::dom::array a;
    int64_t x, y;
    if (e.get_array().get(a) || a.size() != 2 || a.at(0).get_int64().get(x) ||
        a.at(1).get_int64().get(y))
      throw std::runtime_error("field \"pauses\" holds a malformed entry");
    c.pauses.push_back({x, y});
  }
  return c;
}

void encodeHeartbeat(std::string& out, const HeartbeatRuntime& h) {
  JsonWriter w(out);
  w.beginObject();
  w.field("name", h.name).field("period", h.clock.period_ms).field("grace", h.clock.grace_ms);
  w.field("last_success", h.clock.last_success)
      .field("failed_at", h.clock.failed_at)
      .field("paused", h.clock.paused);
  w.field("max_latency", h.max_latency_ms)
      .field("last_latency", h.last_latency_ms)
      .field("created", h.created_ms);
  w.field("reported", static_cast<int>(h.reported));
  w.endObject();
}

HeartbeatRuntime decodeHeartbeat(std::string_view record) {
  thread_local simdjson::dom::parser parser;
  Reader r = parse(parser, record);
  HeartbeatRuntime h;
  h.name = r.str("name");
  h.clock.period_ms = r.i64("period");
  h.clock.grace_ms = r.i64("grace");
  h.clock.last_success = r.i64("last_success");
  h.clock.failed_at = r.i64("failed_at");
  h.clock.paused = r.flag("paused");
  h.max_latency_ms = r.i64("max_latency");
  h.last_latency_ms = r.i64("last_latency");
  h.created_ms = r.i64("created");
  int64_t reported = r.i64("reported");
  if (reported < 0 || reported > static_cast<int>(rules::sla::HeartbeatState::kPaused))
    throw std::runtime_error("field \"reported\" is out of range");
  h.reported = static_cast<rules::sla::HeartbeatState>(reported);
  return h;
}

void encodeSummary(std::string& out, const IncidentSummary& s,
                   const std::vector<std::string>& services) {
  JsonWriter w(out);
  w.beginObject();
  w.field("id", s.id).field("priority", s.priority).field("opened", s.opened_ms);
  w.field("acknowledged", s.acknowledged_ms)
      .field("resolved", s.resolved_ms)
      .field("problem", s.problem);
  w.field("title", s.title);
  writeStrings(w, "services", services);
  w.endObject();
}

std::pair<IncidentSummary, std::vector<std::string>> decodeSummary(std::string_view record) {
  thread_local simdjson::dom::parser parser;
  Reader r = parse(parser, record);
  IncidentSummary s;
  s.id = r.u64("id");
  s.priority = static_cast<int>(r.i64("priority"));
  s.opened_ms = r.i64("opened");
  s.acknowledged_ms = r.i64("acknowledged");
  s.resolved_ms = r.i64("resolved");
  s.problem = r.u64("problem");
  s.title = r.str("title");
  return {std::move(s), r.strings("services")};
}

std::string encodeIds(const std::vector<uint64_t>& ids) {
  std::string out;
  for (uint64_t id : ids) {
    if (!out.empty()) out += ',';
    out += std::to_string(id);
  }
  return out;
}

std::vector<uint64_t> decodeIds(std::string_view text) {
  std::vector<uint64_t> out;
  uint64_t v = 0;
  bool any = false;
  for (char ch : text) {
    if (ch == ',') {
      if (!any) throw std::runtime_error("empty incident id in \"" + std::string(text) + "\"");
      out.push_back(v);
      v = 0;
      any = false;
    } else if (ch >= '0' && ch <= '9') {
      v = v * 10 + static_cast<uint64_t>(ch - '0');
      any = true;
    } else {
      throw std::runtime_error("incident ids \"" + std::string(text) + "\" hold a non-digit");
    }
  }
  if (any)
    out.push_back(v);
  else if (!text.empty())
    throw std::runtime_error("empty incident id in \"" + std::string(text) + "\"");
  return out;
}

std::string encodeWindow(const std::vector<std::pair<int64_t, uint64_t>>& seen) {
  std::vector<uint64_t> flat;
  flat.reserve(seen.size() * 2);
  for (const auto& [at, fp] : seen) {
    flat.push_back(static_cast<uint64_t>(std::max<int64_t>(0, at)));
    flat.push_back(fp);
  }
  return encodeIds(flat);
}

std::vector<std::pair<int64_t, uint64_t>> decodeWindow(std::string_view text) {
  std::vector<uint64_t> flat = decodeIds(text);
  if (flat.size() % 2)
    throw std::runtime_error("window \"" + std::string(text) +
                             "\" has a time without a fingerprint");
  std::vector<std::pair<int64_t, uint64_t>> out;
  for (size_t i = 0; i < flat.size(); i += 2) {
    if (flat[i] > static_cast<uint64_t>(INT64_MAX))
      throw std::runtime_error("window time out of range");
    out.emplace_back(static_cast<int64_t>(flat[i]), flat[i + 1]);
  }
  return out;
}

void slaRows(const Evaluator& ev, Evaluator::Dirty& d, SlaRows& out) {
  const auto& rs = ev.ruleSet();
  auto serviceName = [&](uint32_t s) -> const std::string* {
    return s < rs.services().size() ? &rs.services()[s].name : nullptr;
  };
  for (auto& [s, t] : d.transitions)
    if (const auto* n = serviceName(s))
      out.transitions.push_back({*n, t.at_ms, t.status, encodeIds(t.incidents)});
  for (const auto& c : d.clocks) {
    if (c.agreement >= rs.agreements().size()) continue;
    SlaRows::Clock row{
        c.incident, rs.agreements()[c.agreement].name, static_cast<int>(c.target), {}};
    encodeClock(row.record, c);
    out.clocks.push_back(std::move(row));
  }
  for (const auto& sum : d.summaries) {
    std::vector<std::string> names;
    for (uint32_t s : sum.services)
      if (const auto* n = serviceName(s)) names.push_back(*n);
    SlaRows::Summary row{sum.id, sum.opened_ms, sum.resolved_ms, {}};
    encodeSummary(row.record, sum, names);
    out.summaries.push_back(std::move(row));
  }
  for (const auto& name : d.heartbeats) {
    auto it = ev.heartbeats().find(name);
    if (it == ev.heartbeats().end()) continue;
    std::string rec;
    encodeHeartbeat(rec, it->second);
    out.heartbeats.emplace_back(name, std::move(rec));
  }
  for (const auto& g : d.gaps) out.gaps.emplace_back(g.a, g.b);
  for (const auto& [slo, minute] : d.slo_minutes) {
    auto it = ev.slos().find(slo);
    if (it == ev.slos().end()) continue;
    auto s = it->second.buckets.minute(minute);
    out.slo_minutes.push_back({slo, minute, s.good, s.valid});
  }
  for (auto& [rule, at, value] : d.capacity_samples)
    out.capacity_samples.push_back({rule, at, value});
  for (const auto& rule : d.capacity_states) {
    auto it = ev.capacity().find(rule);
    if (it == ev.capacity().end()) continue;
    const auto& c = it->second;
    std::string rec;
    JsonWriter w(rec);
    w.beginObject()
        .field("raised", c.threshold.raised)
        .field("above_since", c.threshold.above_since);
    w.field("below_since", c.threshold.below_since).field("forecast_firing", c.forecast_firing);
    w.field("last", c.last_ms).field("last_value", c.last_value).endObject();
    out.capacity_states.emplace_back(rule, std::move(rec));
  }
  out.prune_slo = std::move(d.prune_slo);
  out.prune_capacity = std::move(d.prune_capacity);
}

Evaluator::Restored slaRestored(const SlaRows& rows, int64_t last_alive_ms) {
  Evaluator::Restored r;
  auto guard = [](const char* table, size_t i, auto&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(table) + " row " + std::to_string(i + 1) + ": " +
                               e.what());
    }
  };
  for (size_t i = 0; i < rows.transitions.size(); ++i)
    guard("sla_transitions", i, [&] {
      const auto& t = rows.transitions[i];
      if (t.status < kUnknownStatus || t.status > 5)
        throw std::runtime_error("status is out of range");
      r.transitions.push_back(
          {t.service, ServiceTransition{t.at_ms, t.status, decodeIds(t.incidents)}});
    });
  for (size_t i = 0; i < rows.clocks.size(); ++i)
    guard("sla_clocks", i, [&] {
      r.clocks.emplace_back(rows.clocks[i].agreement, decodeClock(rows.clocks[i].record));
    });
  for (size_t i = 0; i < rows.summaries.size(); ++i)
    guard("sla_incidents", i,
          [&] { r.summaries.push_back(decodeSummary(rows.summaries[i].record)); });
  for (size_t i = 0; i < rows.heartbeats.size(); ++i)
    guard("heartbeats", i,
          [&] { r.heartbeats.push_back(decodeHeartbeat(rows.heartbeats[i].second)); });
  for (const auto& [a, b] : rows.gaps)
    if (b > a) r.gaps.push_back({a, b});
  for (const auto& m : rows.slo_minutes)
    r.slo_minutes.emplace_back(m.slo, m.minute, m.good, m.valid);
  for (const auto& c : rows.capacity_samples)
    r.capacity_samples.emplace_back(c.rule, c.at_ms, c.value);
  for (size_t i = 0; i < rows.capacity_states.size(); ++i)
    guard("capacity_state", i, [&] {
      thread_local simdjson::dom::parser parser;
      Reader rd = parse(parser, rows.capacity_states[i].second);
      CapacityRuntime c;
      c.threshold.raised = rd.flag("raised");
      c.threshold.above_since = rd.i64("above_since");
      c.threshold.below_since = rd.i64("below_since");
      c.forecast_firing = rd.flag("forecast_firing");
      c.last_ms = rd.i64("last");
      double v = 0;
      if (rd.at("last_value").get_double().get(v))
        throw std::runtime_error("field \"last_value\" is not a number");
      c.last_value = v;
      r.capacity_states.emplace_back(rows.capacity_states[i].first, std::move(c));
    });
  r.gaps = rules::sla::normalize(std::move(r.gaps));
  r.last_alive_ms = last_alive_ms;
  return r;
}

}  // namespace triaged::engine
