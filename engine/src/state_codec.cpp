#include "triaged/engine/state_codec.h"

#include <simdjson.h>

#include <mutex>
#include <set>
#include <stdexcept>

#include "triaged/api/json_writer.h"

namespace triaged::engine {

namespace {

using api::JsonWriter;
using simdjson::dom::element;

void writeTimeline(JsonWriter& w, const std::vector<TimelineEntry>& t) {
  w.key("timeline").beginArray();
  for (const auto& e : t) {
    w.beginArray().value(e.at_ms).value(e.actor).value(e.action).value(e.detail).value(e.alert).endArray();
  }
  w.endArray();
}

void writeStrings(JsonWriter& w, const char* key, const std::vector<std::string>& v) {
  w.key(key).beginArray();
  for (const auto& s : v) w.value(s);
  w.endArray();
}

// Field access that names what is wrong.
struct Reader {
  element root;
  element at(const char* key) const {
    element e;
    if (root[key].get(e)) throw std::runtime_error(std::string("field \"") + key + "\" is missing");
    return e;
  }
  std::string str(const char* key) const {
    std::string_view v;
    if (at(key).get_string().get(v)) throw std::runtime_error(std::string("field \"") + key + "\" is not a string");
    return std::string(v);
  }
  int64_t i64(const char* key) const {
    int64_t v;
    if (at(key).get_int64().get(v)) throw std::runtime_error(std::string("field \"") + key + "\" is not an integer");
    return v;
  }
  uint64_t u64(const char* key) const {
    uint64_t v;
    if (at(key).get_uint64().get(v)) throw std::runtime_error(std::string("field \"") + key + "\" is not an integer");
    return v;
  }
  bool flag(const char* key) const {
    bool v;
    if (at(key).get_bool().get(v)) throw std::runtime_error(std::string("field \"") + key + "\" is not a boolean");
    return v;
  }
  simdjson::dom::array arr(const char* key) const {
    simdjson::dom::array a;
    if (at(key).get_array().get(a)) throw std::runtime_error(std::string("field \"") + key + "\" is not an array");
    return a;
  }
  std::vector<std::string> strings(const char* key) const {
    std::vector<std::string> out;
    for (auto e : arr(key)) {
      std::string_view v;
      if (e.get_string().get(v)) throw std::runtime_error(std::string("field \"") + key + "\" holds a non-string");
      out.emplace_back(v);
    }
    return out;
  }
};

Reader parse(simdjson::dom::parser& p, std::string_view record) {
  element root;
  if (p.parse(record.data(), record.size()).get(root) || !root.is_object())
    throw std::runtime_error("record is not a JSON object");
  return Reader{root};
}

std::vector<TimelineEntry> readTimeline(const Reader& r) {
  std::vector<TimelineEntry> out;
  for (auto e : r.arr("timeline")) {
    simdjson::dom::array a;
    int64_t at;
    std::string_view actor, action, detail;
    uint64_t alert;
    if (e.get_array().get(a) || a.size() != 5 || a.at(0).get_int64().get(at) || a.at(1).get_string().get(actor) ||
        a.at(2).get_string().get(action) || a.at(3).get_string().get(detail) || a.at(4).get_uint64().get(alert))
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

void incidentRows(const Correlator& c, const Incident& inc, size_t alerts_from, size_t timeline_from,
                  std::vector<MemberRow>& alerts, std::vector<TimelineRow>& timeline) {
  for (size_t i = alerts_from; i < inc.alerts.size(); ++i) {
    uint64_t fp = inc.alerts[i];
    const CorrAlert* a = c.alert(fp);
    AlertRole role = fp == inc.root_cause ? AlertRole::kRootCause
                     : a && a->incident == inc.id ? a->role
                                                  : AlertRole::kMember;
    alerts.push_back({static_cast<uint32_t>(i), fp, static_cast<int>(role)});
  }
  for (size_t i = timeline_from; i < inc.timeline.size(); ++i) {
    const auto& e = inc.timeline[i];
    timeline.push_back({static_cast<uint32_t>(i), e.at_ms, e.actor, e.action, e.detail, e.alert});
  }
}

void encodeIncident(std::string& out, const Incident& inc) {
  JsonWriter w(out);
  w.beginObject();
  w.field("id", inc.id).field("title", inc.title).field("service", inc.service).field("category", inc.category);
  w.field("rule", inc.rule).field("group_key", inc.group_key).field("signature", inc.signature);
  w.field("status", static_cast<int>(inc.status)).field("priority", inc.priority).field("impact", inc.impact);
  w.field("urgency", inc.urgency).field("priority_fixed", inc.priority_fixed);
  w.field("opened", inc.opened_ms).field("acknowledged", inc.acknowledged_ms).field("resolved", inc.resolved_ms);
  w.field("closed", inc.closed_ms).field("updated", inc.updated_ms).field("assignee", inc.assignee);
  w.field("root_cause", inc.root_cause).field("merged_into", inc.merged_into).field("problem", inc.problem);
  w.field("known_error", inc.known_error).field("workaround", inc.workaround);
  w.key("tickets").beginArray();
  for (const auto& t : inc.tickets) w.beginArray().value(t.system).value(t.id).value(t.url).endArray();
  w.endArray();
  writeStrings(w, "cis", inc.cis);
  writeStrings(w, "services", inc.services);
  w.field("cis_truncated", inc.cis_truncated).field("services_truncated", inc.services_truncated);
  w.field("interval", inc.interval_ms).field("group_hash", inc.group_hash);
  w.field("threshold_group", inc.threshold_group).field("max_severity", inc.max_severity);
  w.field("criticality", inc.criticality);
  w.field("timeline_dropped", inc.timeline_dropped).field("announced", inc.announced_ms);
  w.field("update_pending", inc.update_pending).field("suppressed_any", inc.suppressed_any);
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
  inc.service = r.str("service");
  inc.category = r.str("category");
  inc.rule = r.str("rule");
  inc.group_key = r.str("group_key");
  inc.signature = r.str("signature");
  int64_t status = r.i64("status");
  if (status < 0 || status > static_cast<int>(IncidentStatus::kMerged))
    throw std::runtime_error("field \"status\" is out of range");
  inc.status = static_cast<IncidentStatus>(status);
  inc.priority = static_cast<int>(r.i64("priority"));
  inc.impact = static_cast<int>(r.i64("impact"));
  inc.urgency = static_cast<int>(r.i64("urgency"));
  inc.priority_fixed = r.flag("priority_fixed");
  inc.opened_ms = r.i64("opened");
  inc.acknowledged_ms = r.i64("acknowledged");
  inc.resolved_ms = r.i64("resolved");
  inc.closed_ms = r.i64("closed");
  inc.updated_ms = r.i64("updated");
  inc.assignee = r.str("assignee");
  for (size_t i = 0; i < alerts.size(); ++i) {
    const auto& m = alerts[i];
    if (m.seq != i) throw std::runtime_error("alert rows: row " + std::to_string(i) + " is missing");
    if (m.role < 0 || m.role > static_cast<int>(AlertRole::kSymptom))
      throw std::runtime_error("alert rows: role of row " + std::to_string(i) + " is out of range");
    inc.alerts.push_back(m.fingerprint);
    out.roles.push_back(static_cast<AlertRole>(m.role));
  }
  inc.root_cause = r.u64("root_cause");
  inc.merged_into = r.u64("merged_into");
  inc.problem = r.u64("problem");
  inc.known_error = r.str("known_error");
  inc.workaround = r.str("workaround");
  for (auto e : r.arr("tickets")) {
    simdjson::dom::array a;
    std::string_view sys, id, url;
    if (e.get_array().get(a) || a.size() != 3 || a.at(0).get_string().get(sys) || a.at(1).get_string().get(id) ||
        a.at(2).get_string().get(url))
      throw std::runtime_error("field \"tickets\" holds a malformed entry");
    inc.tickets.push_back({std::string(sys), std::string(id), std::string(url)});
  }
  inc.cis = r.strings("cis");
  inc.services = r.strings("services");
  inc.cis_truncated = r.flag("cis_truncated");
  inc.services_truncated = r.flag("services_truncated");
  inc.interval_ms = r.i64("interval");
  inc.group_hash = r.u64("group_hash");
  inc.threshold_group = r.flag("threshold_group");
  inc.max_severity = static_cast<int>(r.i64("max_severity"));
  inc.criticality = static_cast<int>(r.i64("criticality"));
  for (size_t i = 0; i < timeline.size(); ++i) {
    const auto& t = timeline[i];
    if (t.seq != i) throw std::runtime_error("timeline rows: row " + std::to_string(i) + " is missing");
    inc.timeline.push_back({t.at_ms, t.actor, internAction(t.action), t.detail, t.alert});
  }
  inc.stored_alerts = static_cast<uint32_t>(inc.alerts.size());
  inc.stored_timeline = static_cast<uint32_t>(inc.timeline.size());
  inc.timeline_dropped = r.u64("timeline_dropped");
  inc.announced_ms = r.i64("announced");
  inc.update_pending = r.flag("update_pending");
  inc.suppressed_any = r.flag("suppressed_any");
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
  w.field("root_cause", p.root_cause).field("workaround", p.workaround).field("known_error", p.known_error);
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
  for (auto e : r.arr("incidents")) {
    uint64_t id;
    if (e.get_uint64().get(id)) throw std::runtime_error("field \"incidents\" holds a non-integer");
    p.incidents.push_back(id);
  }
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

void encodeSilence(std::string& out, const Silence& s) {
  std::string matchers = "{";
  for (size_t i = 0; i < s.matchers.size(); ++i) {
    if (i) matchers += ',';
    matchers += s.matchers[i]->str();
  }
  matchers += '}';
  JsonWriter w(out);
  w.beginObject();
  w.field("id", s.id).field("matchers", matchers).field("starts", s.starts_ms).field("ends", s.ends_ms);
  w.field("updated", s.updated_ms).field("created_by", s.created_by).field("comment", s.comment);
  w.field("change_id", s.change_id).field("expired_by_delete", s.expired_by_delete);
  w.endObject();
}

Silence decodeSilence(std::string_view record) {
  thread_local simdjson::dom::parser parser;
  Reader r = parse(parser, record);
  Silence s;
  s.id = r.str("id");
  std::string err;
  if (!rules::parseMatchers(r.str("matchers"), s.matchers, &err))
    throw std::runtime_error("field \"matchers\": " + err);
  s.starts_ms = r.i64("starts");
  s.ends_ms = r.i64("ends");
  s.updated_ms = r.i64("updated");
  s.created_by = r.str("created_by");
  s.comment = r.str("comment");
  s.change_id = r.str("change_id");
  s.expired_by_delete = r.flag("expired_by_delete");
  return s;
}

}  // namespace triaged::engine
