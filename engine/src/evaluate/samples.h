// Metric samples posted to /api/v1/samples: SLO event counts and capacity measurements.
//   [{"metric": "disk_used_ratio", "labels": {"host": "db1"}, "value": 0.91,
//     "timestamp": "2026-11-21T10:00:00Z"}, ...]   (or one object; timestamp defaults to now)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "evaluate/evaluator.h"

namespace triaged::engine {

constexpr size_t kMaxSamplesPerRequest = 10'000;

// Parses the body; on any error fills `errors` (each naming the index and field) and returns
// no samples: a request is taken whole or not at all.
std::vector<Sample> parseSamples(std::string_view body, int64_t now_ms,
                                 std::vector<std::string>& errors);

}  // namespace triaged::engine
