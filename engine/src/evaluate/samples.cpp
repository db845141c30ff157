#include "evaluate/samples.h"

#include <simdjson.h>

#include <cmath>

#include "triaged/api/ingest.h"

namespace triaged::engine {

namespace {

bool validMetricName(std::string_view n) {
  if (n.empty() || n.size() > 200) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::vector<Sample> parseSamples(std::string_view body, int64_t now,
                                 std::vector<std::string>& errors) {
  std::vector<Sample> out;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root)) {
    errors.push_back(std::string("body: not valid JSON: ") + simdjson::error_message(err));
    return {};
  }
  std::vector<simdjson::dom::element> items;
  simdjson::dom::array arr;
  if (!root.get_array().get(arr)) {
    for (auto e : arr) items.push_back(e);
  } else if (root.is_object()) {
    items.push_back(root);
  } else {
    errors.push_back("body: expected an array of samples or one sample object");
    return {};
  }
  if (items.size() > kMaxSamplesPerRequest) {
    errors.push_back("body: " + std::to_string(items.size()) + " samples, more than " +
                     std::to_string(kMaxSamplesPerRequest) + " in one request");
    return {};
  }
  for (size_t i = 0; i < items.size() && errors.size() < 20; ++i) {
    std::string at = "[" + std::to_string(i) + "]";
    simdjson::dom::object obj;
    if (items[i].get_object().get(obj)) {
      errors.push_back(at + ": expected an object");
      continue;
    }
    Sample s;
    s.at_ms = now;
    bool has_metric = false, has_value = false, ok = true;
    for (auto [key, v] : obj) {
      if (key == "metric") {
        std::string_view m;
        if (v.get_string().get(m) || !validMetricName(m)) {
          errors.push_back(at + ".metric: expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
          ok = false;
        } else {
          s.metric = std::string(m);
          has_metric = true;
        }
      } else if (key == "value") {
        double x;
        if (v.get_double().get(x) || !std::isfinite(x)) {
          errors.push_back(at + ".value: expected a finite number");
          ok = false;
        } else {
          s.value = x;
          has_value = true;
        }
      } else if (key == "timestamp") {
        std::string_view t;
        std::optional<int64_t> ms;
        if (!v.get_string().get(t)) ms = api::parseRfc3339(t);
        if (!ms) {
          errors.push_back(at + ".timestamp: expected an RFC 3339 timestamp");
          ok = false;
        } else {
          s.at_ms = *ms;
        }
      } else if (key == "labels") {
        simdjson::dom::object labels;
        if (v.get_object().get(labels)) {
          errors.push_back(at + ".labels: expected an object of strings");
          ok = false;
          continue;
        }
        for (auto [k, lv] : labels) {
          std::string_view text;
          if (lv.get_string().get(text) || k.empty() || k.size() > 200 || text.size() > 4096) {
            errors.push_back(at + ".labels." + std::string(k.substr(0, 200)) +
                             ": expected a string");
            ok = false;
            break;
          }
          s.labels.emplace_back(std::string(k), std::string(text));
        }
        if (s.labels.size() > 64) {
          errors.push_back(at + ".labels: more than 64 labels");
          ok = false;
        }
      } else {
        errors.push_back(at + "." + std::string(key.substr(0, 200)) + ": unknown field");
        ok = false;
      }
    }
    if (!has_metric && ok) errors.push_back(at + ".metric: is required");
    if (!has_value && ok) errors.push_back(at + ".value: is required");
    if (ok && has_metric && has_value) out.push_back(std::move(s));
  }
  if (!errors.empty()) return {};
  return out;
}

}  // namespace triaged::engine
