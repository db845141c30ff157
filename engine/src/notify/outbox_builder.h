// What the notification targets are told of a correlator round: each incident, problem and
// SLA event that a target's filter accepts becomes an outbox entry, stored in the same unit
// (transaction) as the change it reports, and delivered later by the notifier.
// Owned by the correlator stage and used on its thread only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "correlate/correlator.h"
#include "evaluate/evaluator.h"
#include "notify/notification_filter.h"
#include "store/store_writer.h"
#include "triaged/config/config.h"

namespace triaged::engine {

class OutboxBuilder {
 public:
  void setTargets(std::vector<config::NotificationTarget> targets);
  // Appends the entries for a round's correlator and SLA events to `out`.
  void build(const Correlator& c, const std::vector<CorrelatorEvent>& events,
             const std::vector<SlaEvent>& sla, std::vector<OutboxEntry>& out) const;

 private:
  std::vector<std::pair<config::NotificationTarget, NotificationFilter>> targets_;
};

}  // namespace triaged::engine
