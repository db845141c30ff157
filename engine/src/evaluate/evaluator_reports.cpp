// The evaluator, part: availability inputs and the period reports of agreements.
#include <algorithm>

#include "correlate/correlator.h"
#include "correlate/incident_facts.h"
#include "evaluate/evaluator.h"

namespace triaged::engine {

namespace sla = rules::sla;

// ---- Reports ---------------------------------------------------------------------------------

sla::AvailabilityInput Evaluator::availabilityInput(uint32_t a, int64_t start, int64_t end,
                                                    int64_t now) const {
  const auto& ag = rules_->agreements()[a];
  const auto& cal = rules_->calendars()[ag.calendar];
  const auto& svc = rules_->services()[ag.service];
  const auto& tl = services_[ag.service].timeline;
  sla::AvailabilityInput in;
  int64_t from = std::max(start, ag.effective_ms);
  in.agreed_all = cal.agreed(from, end);
  in.now = now;
  in.slo_ppb = ag.slo_ppb ? ag.slo_ppb : sla::kPpb;
  in.weights = ag.weights;
  in.unknown = ag.unknown;
  // From the transition in force at `start` (the timeline is in time order).
  size_t first = static_cast<size_t>(
      std::upper_bound(tl.begin(), tl.end(), start,
                       [](int64_t t, const ServiceTransition& x) { return t < x.at_ms; }) -
      tl.begin());
  for (size_t i = first ? first - 1 : 0; i < tl.size() && tl[i].at_ms < now; ++i) {
    int64_t a0 = tl[i].at_ms, b0 = i + 1 < tl.size() ? tl[i + 1].at_ms : now;
    a0 = std::max(a0, start);
    b0 = std::min(b0, now);
    if (b0 <= a0) continue;
    sla::State st =
        tl[i].status == kUnknownStatus ? sla::State::kUnknown : ag.stateOf(tl[i].status);
    // Engine gaps are UNKNOWN whatever the last state was.
    for (const auto& piece : sla::subtract({{a0, b0}}, gaps_))
      in.timeline.push_back({piece.a, piece.b, st, tl[i].incidents});
  }
  std::sort(in.timeline.begin(), in.timeline.end(),
            [](const auto& x, const auto& y) { return x.a < y.a; });
  // Approved maintenance (windows with a change id covering the service) is excluded time.
  for (const auto& w : rules_->maintenance()) {
    if (w.change_id.empty()) continue;
    bool covers = std::find(w.services.begin(), w.services.end(), ag.service) != w.services.end();
    for (uint32_t ci : svc.cis) covers |= std::find(w.cis.begin(), w.cis.end(), ci) != w.cis.end();
    if (!covers) continue;
    for (const auto& [s, e] : w.schedule.occurrences(start, end))
      in.excluded.push_back({s, e, "maintenance", w.change_id});
  }
  return in;
}

sla::Availability Evaluator::window(uint32_t a, int64_t from, int64_t to) const {
  return sla::availability(availabilityInput(a, from, to, to));
}

sla::Availability Evaluator::periodAvailability(uint32_t a, const sla::Period& p,
                                                int64_t now) const {
  return sla::availability(availabilityInput(a, p.start, p.end, std::min(now, p.end)));
}

Evaluator::Report Evaluator::report(uint32_t a, const sla::Period& p, int64_t now) const {
  return report(a, p, now, nullptr);
}

std::vector<Evaluator::Report> Evaluator::reports(
    const std::vector<std::pair<uint32_t, sla::Period>>& wanted, int64_t now) const {
  ReportIndex index;
  index.by_service.resize(services_.size());
  index.by_agreement.resize(rules_->agreements().size());
  for (const auto& [id, s] : summaries_)
    for (uint32_t svc : s.services)
      if (svc < index.by_service.size()) index.by_service[svc].push_back(&s);
  for (const auto& [key, c] : clocks_)
    if (c.agreement < index.by_agreement.size()) index.by_agreement[c.agreement].push_back(&c);
  std::vector<Report> out;
  out.reserve(wanted.size());
  for (const auto& [a, p] : wanted) out.push_back(report(a, p, now, &index));
  return out;
}

Evaluator::Report Evaluator::report(uint32_t a, const sla::Period& p, int64_t now,
                                    const ReportIndex* index) const {
  const auto& ag = rules_->agreements()[a];
  const auto& cal = rules_->calendars()[ag.calendar];
  const auto& svc = rules_->services()[ag.service];
  Report r;
  r.agreement = ag.name;
  r.service = svc.name;
  r.type = rules::agreementTypeName(ag.type);
  r.counterparty = ag.counterparty;
  r.period = p.label;
  r.target_text = ag.target_text;
  r.calendar = cal.name;
  r.period_start = p.start;
  r.period_end = p.end;
  r.slo_ppb = ag.slo_ppb;
  r.weights = ag.weights;
  r.final = now >= p.end;
  r.evaluated_to = std::min(now, p.end);
  sla::AvailabilityInput in = availabilityInput(a, p.start, p.end, r.evaluated_to);
  r.availability = sla::availability(in);
  r.met = true;  // no target, or nothing measured yet
  // Exact comparison: (measured - D) / measured >= slo  <=>  (measured - D) * 1e9 >= slo *
  // measured.
  if (ag.slo_ppb && r.availability.measured_ms > 0) {
    double lhs =
        (static_cast<double>(r.availability.measured_ms) - r.availability.downtime_net_ms) *
        sla::kPpb;
    double rhs = static_cast<double>(ag.slo_ppb) * static_cast<double>(r.availability.measured_ms);
    r.met = lhs >= rhs;
  }
  r.reliability =
      sla::reliability(in.timeline, sla::clip(in.agreed_all, p.start, r.evaluated_to), ag.weights);
  // Incidents of the service opened in the period.
  std::vector<double> ack, res;
  std::map<uint64_t, size_t> problems;
  std::vector<const IncidentSummary*> candidates;
  if (index) {
    candidates = index->by_service[ag.service];
  } else {
    for (const auto& [id, s] : summaries_) candidates.push_back(&s);
  }
  for (const IncidentSummary* sp : candidates) {
    const auto& s = *sp;
    uint64_t id = s.id;
    if (s.opened_ms < p.start || s.opened_ms >= p.end) continue;
    if (std::find(s.services.begin(), s.services.end(), ag.service) == s.services.end()) continue;
    r.incident_ids.push_back(id);
    if (s.priority >= 1 && s.priority <= 5) ++r.by_priority[s.priority - 1];
    if (s.acknowledged_ms)
      ack.push_back(static_cast<double>(s.acknowledged_ms - s.opened_ms));
    else
      ++r.unacknowledged;
    if (s.resolved_ms) res.push_back(static_cast<double>(s.resolved_ms - s.opened_ms));
    if (s.problem) ++problems[s.problem];
  }
  std::sort(r.incident_ids.begin(), r.incident_ids.end());
  r.incidents = r.incident_ids.size();
  r.ack_ms = sla::distribution(ack);
  r.resolve_ms = sla::distribution(res);
  for (const auto& [id, n] : problems) r.problems.emplace_back(id, n);
  std::stable_sort(r.problems.begin(), r.problems.end(),
                   [](const auto& x, const auto& y) { return x.second > y.second; });
  if (r.problems.size() > 10) r.problems.resize(10);
  std::vector<const TaskClock*> clocks;
  if (index) {
    clocks = index->by_agreement[a];
  } else {
    for (const auto& [key, c] : clocks_) clocks.push_back(&c);
  }
  for (const TaskClock* cp : clocks) {
    const auto& c = *cp;
    if (c.agreement != a || c.start_ms < p.start || c.start_ms >= p.end) continue;
    auto& comp = c.target == ClockTarget::kResponse ? r.response : r.resolution;
    if (c.stage == ClockStage::kCompleted)
      ++(c.breached ? comp.breached : comp.met);
    else if (c.breached)
      ++comp.breached;
    else
      ++comp.in_progress;
  }
  return r;
}

}  // namespace triaged::engine
