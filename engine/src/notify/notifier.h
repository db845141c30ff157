// The notifier: delivers outbox entries (written in the same transaction as the change that
// caused them) to their targets over HTTP with libcurl multi, on one thread. Each target's
// type is an output plugin (plugins/outputs/) that turns an entry into a request; the
// notifier owns delivery. Per target, up to `concurrency` requests in flight, in outbox order,
// never two of one subject (incident, problem) at once nor one ahead of an earlier one of its
// subject: the events of an incident arrive in the order they happened. A failure pauses the
// target with exponential backoff and jitter (honouring Retry-After), a circuit breaker probes
// a target that keeps failing, and an entry older than the target's max_age is dead-lettered
// (kept, listed, redeliverable). Delivered entries are deleted from the outbox. At-least-once:
// every request carries an Idempotency-Key stable across retries and restarts.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/clock.h"
#include "notify/delivery_log.h"
#include "store/store_writer.h"
#include "triaged/api/metrics_hub.h"
#include "triaged/api/plugin.h"
#include "triaged/config/config.h"

namespace triaged::engine {

class Notifier {
 public:
  // Each target's type names an output plugin of `plugins` (checked at load).
  Notifier(std::vector<config::NotificationTarget> targets, const api::PluginRegistry& plugins,
           StoreWriter& store, const Clock& clock, api::MetricsHub& hub);
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
  // Runs fn on the notifier thread with what was sent for an incident: recent outcomes, then
  // what is pending, then its dead letters, in outbox order.
  void deliveries(uint64_t incident,
                  std::function<void(const std::vector<DeliveryLog::Record>&)> fn);

  // The X-Triaged-Signature value for a body at a time: "t=<unix seconds>,v1=<hex HMAC-SHA256
  // of "<t>.<body>" with the secret>".
  static std::string signature(const std::string& secret, int64_t unix_seconds,
                               const std::string& body);
  // Tickets already linked to incidents (at start-up: from the stored incidents), by target
  // name (the ticket's `system`) and incident id.
  void knownTickets(std::vector<std::tuple<std::string, uint64_t, std::string>> tickets);
  // Called on the notifier thread when a tool answered a create with a ticket id.
  void onTicket(std::function<void(const std::string& system, uint64_t incident, std::string id,
                                   std::string url)>
                    f);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace triaged::engine
