// What the notification targets are told of a correlator round: each incident, problem and
// SLA event that a target's filter accepts becomes an outbox entry, stored in the same unit
// (transaction) as the change it reports, and delivered later by the notifier. A target that
// notification policies reach (notify/escalation.h) hears of an incident only once a policy
// has reached it for that incident: from its escalation step on (incident.escalated), then of
// the incident's later events that the policy passes. Its own filter applies to all of it.
// Owned by the correlator stage and used on its thread only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "correlate/correlator.h"
#include "evaluate/evaluator.h"
#include "notify/escalation.h"
#include "notify/notification_filter.h"
#include "store/store_writer.h"
#include "triaged/config/config.h"

namespace triaged::engine {

class OutboxBuilder {
 public:
  void setTargets(std::vector<config::NotificationTarget> targets);
  // Appends the entries for a round's correlator and SLA events to `out`.
  // `fired`: the escalation steps notified in the round.
  void build(const Correlator& c, const std::vector<CorrelatorEvent>& events,
             const std::vector<SlaEvent>& sla, Escalator& escalator,
             const std::vector<Escalator::Fired>& fired, std::vector<OutboxEntry>& out) const;

 private:
  using Target = std::pair<config::NotificationTarget, NotificationFilter>;
  const Target* find(const std::string& name) const;
  std::vector<Target> targets_;
  mutable std::vector<const std::string*> reached_;
};

}  // namespace triaged::engine
