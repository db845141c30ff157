// The records people and tools make through the API, as the store keeps them: silences,
// maintenance windows and changes.
#include <simdjson.h>

#include <stdexcept>

#include "store/record_reader.h"
#include "store/state_codec.h"
#include "triaged/rules/matcher.h"

namespace triaged::engine {

using codec::JsonWriter;
using codec::parse;
using codec::Reader;
using codec::writeStrings;

void encodeSilence(std::string& out, const Silence& s) {
  std::string matchers = "{";
  for (size_t i = 0; i < s.matchers.size(); ++i) {
    if (i) matchers += ',';
    matchers += s.matchers[i]->str();
  }
  matchers += '}';
  JsonWriter w(out);
  w.beginObject();
  w.field("id", s.id)
      .field("matchers", matchers)
      .field("starts", s.starts_ms)
      .field("ends", s.ends_ms);
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

void encodeMaintenance(std::string& out, const MaintenanceRecord& m) {
  JsonWriter w(out);
  w.beginObject();
  w.field("id", m.id).field("spec", m.spec).field("created_by", m.created_by);
  w.field("comment", m.comment).field("created", m.created_ms).field("updated", m.updated_ms);
  w.field("ended", m.ended_ms);
  w.key("cis").beginArray();
  for (const auto& c : m.cis) w.value(c);
  w.endArray();
  w.key("services").beginArray();
  for (const auto& s : m.services) w.value(s);
  w.endArray();
  w.endObject();
}

void encodeChange(std::string& out, const ChangeRecord& c) {
  JsonWriter w(out);
  w.beginObject();
  w.field("id", c.id).field("summary", c.summary).field("status", c.status).field("url", c.url);
  writeStrings(w, "cis", c.cis);
  writeStrings(w, "services", c.services);
  w.field("planned_start", c.planned_start).field("planned_end", c.planned_end);
  w.field("actual_start", c.actual_start).field("actual_end", c.actual_end);
  w.field("created", c.created_ms).field("updated", c.updated_ms);
  w.key("incidents").beginArray();
  for (uint64_t i : c.incidents) w.value(i);
  w.endArray();
  w.endObject();
}

ChangeRecord decodeChange(std::string_view record) {
  thread_local simdjson::dom::parser parser;
  Reader r = parse(parser, record);
  ChangeRecord c;
  c.id = r.str("id");
  c.summary = r.str("summary");
  c.status = r.str("status");
  c.url = r.str("url");
  c.cis = r.strings("cis");
  c.services = r.strings("services");
  c.planned_start = r.i64("planned_start");
  c.planned_end = r.i64("planned_end");
  c.actual_start = r.i64("actual_start");
  c.actual_end = r.i64("actual_end");
  c.created_ms = r.i64("created");
  c.updated_ms = r.i64("updated");
  c.incidents = r.ids("incidents");
  if (c.id.empty()) throw std::runtime_error("field \"id\" is empty");
  return c;
}

MaintenanceRecord decodeMaintenance(std::string_view record) {
  thread_local simdjson::dom::parser parser;
  Reader r = parse(parser, record);
  MaintenanceRecord m;
  m.id = r.str("id");
  m.spec = r.str("spec");
  m.created_by = r.str("created_by");
  m.comment = r.str("comment");
  m.created_ms = r.i64("created");
  m.updated_ms = r.i64("updated");
  m.ended_ms = r.i64("ended");
  m.cis = r.strings("cis");
  m.services = r.strings("services");
  if (m.id.empty()) throw std::runtime_error("field \"id\" is empty");
  return m;
}

}  // namespace triaged::engine
