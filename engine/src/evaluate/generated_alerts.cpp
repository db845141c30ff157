#include "evaluate/generated_alerts.h"

#include <algorithm>

#include "triaged/api/ingest.h"

namespace triaged::engine {

std::unique_ptr<api::EventBatch> generatedAlertBatch(const std::vector<GeneratedAlert>& alerts,
                                                     int64_t now_ms) {
  api::IngestOptions opts;
  opts.name = "evaluator";
  opts.resolve_timeout_ms = 0;
  api::BatchBuilder b(opts, now_ms);
  for (size_t i = 0; i < alerts.size(); ++i) {
    const auto& a = alerts[i];
    auto& e = b.begin(static_cast<int64_t>(i));
    e.source = b.keep("triaged");
    e.resource = b.keep(a.name);
    e.check = b.keep(a.check);
    e.service = b.keep(a.service);
    e.severity = static_cast<api::Severity>(std::clamp(a.severity, 1, 5));
    e.status = a.firing ? api::Status::kFiring : api::Status::kResolved;
    e.event_time_ms = a.at_ms;
    std::string summary =
        !a.summary.empty()
            ? a.summary
            : "Heartbeat " + a.name +
                  (a.firing ? " is down: no ping within its period and grace" : " is up");
    e.summary = b.keep(summary);
    if (a.check == "heartbeat") b.addLabel("heartbeat", a.name);
    for (const auto& [k, v] : a.labels) b.addLabel(k, v);
    if (!b.finish()) return nullptr;
  }
  return b.take();
}

}  // namespace triaged::engine
