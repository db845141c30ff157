// Parsing of durations ("1h30m", "500ms") and formatting them back. Pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace triaged::config {

using Duration = std::chrono::milliseconds;

// Prometheus-style durations: one or more <integer><unit> with units ms, s, m, h, d, w,
// largest first ("1h30m"), or "0". Returns nullopt for anything else, including overflow.
std::optional<Duration> parseDuration(std::string_view text);

// The shortest form parseDuration accepts back ("90s" -> "1m30s").
std::string formatDuration(Duration d);

}  // namespace triaged::config
