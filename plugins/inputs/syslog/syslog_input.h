// Input `syslog`: RFC 5424 and RFC 3164 messages over UDP and TCP (newline or octet-counted
// framing, RFC 6587), turned into events by extraction rules (RE2). Lines no rule matches are
// counted (rejected{reason="no_rule"}) and dropped. UDP has no back-pressure: when the
// pipeline is full, datagrams are dropped and counted (reason "busy"); TCP stops reading.
#pragma once

#include "triaged/api/plugin.h"

namespace triaged::plugins {

api::InputPlugin syslogPlugin();

}  // namespace triaged::plugins
