#include "triaged/config/units.h"

#include <array>
#include <cstdint>
#include <limits>

namespace triaged::config {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};
// Ordered largest first; parsing requires units to appear in this order, each at most once.
constexpr std::array<Unit, 6> kUnits{{{"w", 7 * 86'400'000LL},
                                      {"d", 86'400'000LL},
                                      {"h", 3'600'000LL},
                                      {"m", 60'000LL},
                                      {"s", 1'000LL},
                                      {"ms", 1LL}}};

}  // namespace

std::optional<Duration> parseDuration(std::string_view text) {
  if (text == "0") return Duration{0};
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t next_unit = 0;  // index into kUnits of the smallest unit still allowed
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    size_t start = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z'))) ++i;
    std::string_view unit = text.substr(start, i - start);
    bool found = false;
    for (size_t u = next_unit; u < kUnits.size(); ++u) {
      if (kUnits[u].name == unit) {
        if (n > std::numeric_limits<int64_t>::max() / kUnits[u].ms) return std::nullopt;
        int64_t add = n * kUnits[u].ms;
        if (total > std::numeric_limits<int64_t>::max() - add) return std::nullopt;
        total += add;
        next_unit = u + 1;
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
  }
  return Duration{total};
}

std::string formatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  for (const auto& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.name;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace triaged::config
