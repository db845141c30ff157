// Small helpers of the SLA REST handlers and the report formats (internal to rest/).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "evaluate/evaluator.h"
#include "triaged/api/json_writer.h"
#include "triaged/rules/facts.h"
#include "triaged/rules/sla.h"

namespace triaged::engine::report {

using api::JsonWriter;
namespace sla = rules::sla;

inline std::string statusText(int status) {
  if (status == kUnknownStatus) return "unknown";
  if (status < 0) return "ok";
  return status == 0 ? "not_classified" : rules::severityText(std::min(status, 5));
}

inline std::string num(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

inline std::string percent(double ratio, int decimals = 4) { return num(ratio * 100, decimals); }

inline void optionalRatio(JsonWriter& w, const char* key, const std::optional<double>& v) {
  w.key(key);
  if (v)
    w.value(*v);
  else
    w.null();
}

inline void distributionJson(JsonWriter& w, const char* key, const sla::Distribution& d) {
  w.key(key).beginObject().field("count", static_cast<uint64_t>(d.n));
  if (d.n)
    w.field("mean_seconds", d.mean / 1000)
        .field("median_seconds", d.median / 1000)
        .field("p90_seconds", d.p90 / 1000);
  w.endObject();
}

}  // namespace triaged::engine::report
