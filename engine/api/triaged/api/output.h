// The output plugin API: what a notification target type (webhook, pagerduty, slack,
// servicenow, jira) implements. The notifier owns delivery (outbox order per incident,
// concurrency, rate limit, retries, circuit breaker, signatures, auth); a plugin only turns
// one outbox entry into one HTTP request and reads the tool's answer.
// An Output is created once per target and used on the notifier thread only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "triaged/config/config.h"

namespace triaged::api {

// One outbox entry as a plugin sees it.
struct Notification {
  uint64_t id = 0;           // the outbox id (the Idempotency-Key is derived from it)
  std::string_view event;    // "incident.opened", "sla.breach", ...
  std::string_view subject;  // "incident 12", "problem 3", "heartbeat backup"
  std::string_view body;     // the neutral event JSON (docs/api.md, "Notification bodies")
  uint64_t incident = 0;     // the incident of an "incident N" subject, else 0
};

struct OutputRequest {
  std::string method = "POST", url, body;
  std::string content_type = "application/json";
  bool creates = false;  // the answer carries a new ticket's id (see Output::ticket)
  // A login: its answer goes to Output::session, then the same entry is asked for again (the
  // tool's session token in a header of the later requests).
  bool session = false;
  std::vector<std::pair<std::string, std::string>> headers;  // the type's own, beside the target's
  // Mail (an smtp:// or smtps:// url): the envelope; `body` is then the whole message.
  std::string mail_from;
  std::vector<std::string> mail_to;
  int starttls = 1;  // 0 off, 1 when offered, 2 required
};

struct OutputTicket {
  std::string id, url;  // empty id: none found
};

class Output {
 public:
  virtual ~Output() = default;
  // The request for an entry; `ticket` is the id this target already has for the entry's
  // incident ("" none). nullopt: the type has nothing to send for this event (done, counted
  // as skipped).
  virtual std::optional<OutputRequest> request(const Notification& n,
                                               const std::string& ticket) = 0;
  // The ticket in the answer to a request that `creates`: its body, and its Location header
  // ("" when none).
  virtual OutputTicket ticket(std::string_view /*response*/, std::string_view /*location*/) {
    return {};
  }
  // An answer that retrying cannot change: the entry is dead-lettered at once.
  virtual bool refused(long /*status*/) const { return false; }
  // The answer to a `session` request; false when it holds no session (then retried as a
  // failure).
  virtual bool session(std::string_view /*response*/) { return false; }
  // A request was answered 401: a session the type holds has ended.
  virtual void unauthorized() {}
};

struct OutputPlugin {
  std::string type;         // `type:` of a notification target
  std::string description;  // one line, for docs
  std::string default_url;  // used when a target sets no url ("" = url required)
  // Checks the type's own keys of a target; each problem as (key, message).
  std::function<void(const config::NotificationTarget&,
                     std::vector<std::pair<std::string, std::string>>&)>
      validate;
  // Builds the output of a validated target.
  std::function<std::unique_ptr<Output>(const config::NotificationTarget&)> create;
};

}  // namespace triaged::api
