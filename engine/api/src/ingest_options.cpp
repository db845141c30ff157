// The plugin API's ingest helpers (triaged/api/ingest.h), part: An input's common settings
// (IngestOptions) read from its section; rejection reasons.
#include "triaged/api/ingest.h"
#include "triaged/config/hash.h"

namespace triaged::api {

void IngestOptions::read(config::MapReader& r,
                         const std::vector<std::pair<std::string, Severity>>& severity_defaults) {
  config::Duration rt{resolve_timeout_ms};
  r.getDuration("resolve_timeout", rt);
  resolve_timeout_ms = rt.count();
  std::string def = severityName(default_severity);
  r.getEnum("default_severity", def, {"critical", "major", "minor", "warning", "info", "ok"});
  parseSeverity(def, default_severity);
  severity_map = severity_defaults;
  std::vector<std::pair<std::string, std::string>> custom;
  YAML::Node map_node = r.node()["severity_map"];
  r.getStringMap("severity_map", custom);
  for (const auto& [from, to] : custom) {
    Severity s;
    if (!parseSeverity(to, s)) {
      r.sink().add(map_node[from], r.childPath("severity_map." + from),
                   "expected one of critical, major, minor, warning, info, ok, got \"" + to + "\"");
      continue;
    }
    std::string key = from;
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    severity_map.insert(severity_map.begin(), {key, s});  // custom entries win
  }
  r.getUnsigned("max_event_bytes", max_event_bytes, 16 * 1024 * 1024);
  r.getUnsigned("max_labels", max_labels, 1024);
  r.getUnsigned("max_label_name_bytes", max_label_name_bytes, 65535);
  r.getUnsigned("max_label_value_bytes", max_label_value_bytes, 1024 * 1024);
  r.getUnsigned("max_batch_events", max_batch_events, 10'000'000);
  config::MapReader fp(r.take("fingerprint"), r.childPath("fingerprint"), r.sink());
  std::vector<std::string> fields = {"source", "resource", "check"};
  YAML::Node fields_node = fp.node()["fields"];
  fp.getStringList("fields", fields);
  fingerprint.source = fingerprint.resource = fingerprint.check = false;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i] == "source")
      fingerprint.source = true;
    else if (fields[i] == "resource")
      fingerprint.resource = true;
    else if (fields[i] == "check")
      fingerprint.check = true;
    else
      r.sink().add(fields_node[i], fp.childPath("fields[" + std::to_string(i) + "]"),
                   "expected source, resource or check, got \"" + fields[i] + "\"");
  }
  if (fp.has("labels")) {
    fingerprint.all_labels = false;
    fp.getStringList("labels", fingerprint.labels);
  }
  fp.getStringList("ignore_labels", fingerprint.ignore_labels);
  fp.finish();
  std::string token;
  r.getSecret("bearer_token", token);
  if (!token.empty()) bearer_tokens.push_back(config::sha256Hex(token));
}

bool IngestOptions::mapSeverity(std::string_view n, Severity& out) const {
  // Keys are lowercase (see read()); fold the input once, on the stack.
  char buf[32];
  if (n.size() > sizeof buf) return false;
  for (size_t i = 0; i < n.size(); ++i)
    buf[i] = (n[i] >= 'A' && n[i] <= 'Z') ? static_cast<char>(n[i] + 32) : n[i];
  std::string_view folded(buf, n.size());
  for (const auto& [name, s] : severity_map) {
    if (name == folded) {
      out = s;
      return true;
    }
  }
  return false;
}

const char* rejectName(Reject r) {
  switch (r) {
    case Reject::kInvalidJson:
      return "invalid_json";
    case Reject::kMissingField:
      return "missing_field";
    case Reject::kWrongType:
      return "wrong_type";
    case Reject::kUnknownField:
      return "unknown_field";
    case Reject::kInvalidValue:
      return "invalid_value";
    case Reject::kTooLarge:
      return "too_large";
    case Reject::kTooManyLabels:
      return "too_many_labels";
    case Reject::kBatchInvalid:
      return "batch_invalid";
    case Reject::kBusy:
      return "busy";
    case Reject::kDraining:
      return "draining";
    case Reject::kUnauthorized:
      return "unauthorized";
    case Reject::kUnavailable:
      return "store_unavailable";
    case Reject::kNoRule:
      return "no_rule";
    case Reject::kCount:
      break;
  }
  return "unknown";
}

}  // namespace triaged::api
