// The service level API: services and their status, SLA figures per agreement and period,
// service reports (JSON, CSV, self-contained HTML), heartbeats and their pings.
#pragma once

#include <string>
#include <vector>

#include "correlate/correlator_stage.h"
#include "evaluate/evaluator.h"
#include "triaged/api/http.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

void addSlaRoutes(api::Router& router, CorrelatorStage& stage);

// Resolves "current" (or ""), "previous" or a period label for an agreement; "" on success,
// else an error naming the parameter.
std::string resolvePeriod(const rules::RuleSet& rs, uint32_t agreement, const std::string& label,
                          int64_t now, rules::sla::Period& out);
void writeReportJson(api::JsonWriter& w, const Evaluator::Report& r);
std::string reportsCsv(const std::vector<Evaluator::Report>& reports);
std::string reportsHtml(const std::vector<Evaluator::Report>& reports, int64_t generated_ms);

// The service report of every agreement (of one service, when given) for a period label, as
// the API and `triaged report` give it: status 200 with the body, or 400 (format, period) or
// 404 (service) with the error in the body.
struct RenderedReport {
  int status = 200;
  std::string body, content_type;
};
// `changes`: the changes to count in each report (none when null).
RenderedReport renderReports(const Evaluator& ev, const std::string& period,
                             const std::string& service, const std::string& format, int64_t now_ms,
                             const std::map<std::string, ChangeRecord>* changes = nullptr);

}  // namespace triaged::engine
