// libFuzzer harness for the small parsers: Prometheus-style label matchers, RFC 3339
// timestamps, and syslog messages (RFC 5424 / 3164).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "inputs/syslog/syslog_parser.h"
#include "triaged/api/ingest.h"
#include "triaged/rules/matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  triaged::rules::Matchers m;
  std::string err;
  bool ok = triaged::rules::parseMatchers(text, m, &err);
  if (!ok && err.empty()) std::abort();
  for (const auto& x : m) {
    // A matcher prints back to something that parses to the same matcher.
    triaged::rules::Matchers again;
    if (!triaged::rules::parseMatchers(x->str(), again, &err) || again.size() != 1 ||
        again[0]->value() != x->value() || again[0]->op() != x->op())
      std::abort();
    (void)x->matches(text);
  }
  if (auto ms = triaged::api::parseRfc3339(text)) {
    if (*ms > 253402300800000LL) std::abort();  // after 9999-12-31
  }
  std::string serr;
  if (auto m = triaged::plugins::parseSyslog(text, 1'767'261'600'000, &serr)) {
    if (m->facility > 23 || m->severity > 7) std::abort();
    if (m->message.size() > text.size()) std::abort();
  } else if (serr.empty()) {
    std::abort();
  }
  return 0;
}
