// The notifier: delivers outbox entries (written in the same transaction as the change that
// caused them) to their targets over HTTP with libcurl multi, on one thread. Per target, one
// request at a time in outbox order, so events of an incident arrive in the order they
// happened; a failure is retried with exponential backoff and jitter (honouring Retry-After)
// until the entry is older than the target's max_age, then it is dead-lettered (kept, listed,
// redeliverable). Delivered entries are deleted from the outbox. At-least-once: every request
// carries an Idempotency-Key stable across retries and restarts.
#pragma once

#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "triaged/api/metrics_hub.h"
#include "triaged/config/config.h"
#include "triaged/engine/clock.h"
#include "triaged/engine/store_writer.h"

namespace triaged::engine {

class Notifier {
 public:
  Notifier(std::vector<config::NotificationTarget> targets, StoreWriter& store, const Clock& clock,
           api::MetricsHub& hub);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void start();
  // Stops after the requests in flight finish or time out; undelivered entries stay in the
  // outbox for the next start.
  void stop();
  // Committed entries (from the store writer), or loaded at start-up (pending and dead).
  void enqueue(std::vector<OutboxEntry> entries);
  // Runs fn on the notifier thread with the dead letters.
  void deadLetters(std::function<void(const std::vector<OutboxEntry>&)> fn);
  // Queues a dead letter for delivery again; done(false) when there is no such dead letter.
  void redeliver(uint64_t id, std::function<void(bool)> done);
  // Per target: pending entries and the age of the oldest, in ms (on the notifier thread).
  struct TargetState {
    std::string name;
    size_t pending = 0, dead = 0;
    int64_t oldest_age_ms = 0;
  };
  void targets(std::function<void(const std::vector<TargetState>&)> fn);

  // Whether target t takes an event of this type about an incident of this priority (0 for
  // problems, which every target's priority filter lets through).
  static bool accepts(const config::NotificationTarget& t, const std::string& event, int priority);
  // The X-Triaged-Signature value for a body at a time: "t=<unix seconds>,v1=<hex HMAC-SHA256
  // of "<t>.<body>" with the secret>".
  static std::string signature(const std::string& secret, int64_t unix_seconds, const std::string& body);
  // The request body for a target's type (webhook: the entry's JSON; pagerduty: an Events v2
  // event; slack: an incoming-webhook message); nullopt when the type has nothing to send for
  // this event (PagerDuty takes incidents only): the entry is then done without a request.
  static std::optional<std::string> formatBody(const config::NotificationTarget& t, const OutboxEntry& e);
  // One HTTP request for an entry. Ticketing tools (servicenow, jira) create a ticket for an
  // incident's first event and update it afterwards, with the ticket id remembered per target.
  struct Request {
    std::string method = "POST", url, body;
    bool creates = false;  // the answer carries the new ticket's id
  };
  // `ticket`: the ticket id this target already has for the entry's incident ("" none).
  static std::optional<Request> buildRequest(const config::NotificationTarget& t, const OutboxEntry& e,
                                             const std::string& ticket);
  // The ticket id (and a link) in a create's answer; empty id when there is none.
  static std::pair<std::string, std::string> ticketOf(const config::NotificationTarget& t, const std::string& response);
  // Tickets already linked to incidents (at start-up: from the stored incidents), by target
  // name (the ticket's `system`) and incident id.
  void knownTickets(std::vector<std::tuple<std::string, uint64_t, std::string>> tickets);
  // Called on the notifier thread when a tool answered a create with a ticket id.
  void onTicket(std::function<void(const std::string& system, uint64_t incident, std::string id, std::string url)> f);
  // An answer that retrying cannot change (dead-lettered at once).
  static bool permanentFailure(const config::NotificationTarget& t, long status);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace triaged::engine
