// Syslog messages (RFC 5424 and RFC 3164) and the extraction rules that turn matching lines
// into events. Pure functions and immutable compiled rules; safe to share across threads.
#pragma once

#include <re2/re2.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "triaged/api/event.h"
#include "triaged/api/ingest.h"
#include "triaged/config/reader.h"

namespace triaged::plugins {

struct SyslogMessage {
  int facility = 1;     // user
  int severity = 5;     // notice
  int64_t time_ms = 0;  // 0: none in the message
  std::string_view hostname, app, procid, msgid, message;
  bool rfc5424 = false;
};

// Parses one message (without framing). Returns nullopt with *error set when the priority is
// missing or malformed; everything after it is lenient, as real senders are.
std::optional<SyslogMessage> parseSyslog(std::string_view line, int64_t now_ms, std::string* error);

// Syslog severity (0 emergency .. 7 debug) to the canonical scale.
api::Severity syslogSeverity(int s);

// One extraction rule: when `match` (RE2, searched in the message) matches and the optional
// `app` and `hostname` regexes match, an event is made. Named groups become labels; `check`,
// `resource`, `summary` may use $name / ${name} of a group or of hostname, app, message.
struct SyslogRule {
  std::string name;
  std::unique_ptr<RE2> match, app, hostname;
  std::string check, resource = "${hostname}", summary = "${message}", service;
  std::optional<api::Severity> severity;  // default: from the syslog severity
  api::Status status = api::Status::kFiring;
  std::vector<std::pair<std::string, std::string>> labels;  // extra fixed labels (templated)
};

// Reads `rules:` of a syslog input; appends errors (bad regexes with RE2's reason).
std::vector<std::shared_ptr<const SyslogRule>> readSyslogRules(config::MapReader& r);

// Applies the first matching rule; returns false when none matches. The builder's current
// event (from begin()) is filled.
bool applySyslogRules(const std::vector<std::shared_ptr<const SyslogRule>>& rules,
                      const SyslogMessage& m, api::BatchBuilder& b);

// A TCP syslog stream's framing (RFC 6587): octet counting ("LEN SP MSG", RFC 5425) or
// newline-delimited messages. Calls `message` for each complete message of `buf` and returns
// how many bytes it consumed; the rest is an incomplete frame that the next read completes. A
// malformed length, or a frame or line over `max_bytes`, drops the rest of the buffer
// (`dropped` says why; kNone otherwise).
enum class FrameDrop { kNone, kInvalid, kTooLarge };
size_t splitSyslogFrames(std::string_view buf, uint64_t max_bytes,
                         const std::function<void(std::string_view)>& message, FrameDrop* dropped);

}  // namespace triaged::plugins
