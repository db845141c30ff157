// The read API over the dedup shards: GET /api/v1/alerts (filters, label matchers, cursor
// pagination) and GET /api/v1/alerts/{fingerprint}. Queries run on the shard threads (each scans
// its own table), so they see every event acknowledged before them.
#pragma once

#include "dedup/alert_table.h"
#include "pipeline/pipeline.h"
#include "triaged/api/http.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

void addAlertRoutes(api::Router& router, Pipeline& pipeline);

// {"fingerprint": "...", "source": ..., "labels": {...}, ...}
void writeAlertJson(std::string& out, uint64_t fingerprint, const Alert& a);
// "labels": {...} of an alert, into an open object.
void writeLabelsJson(api::JsonWriter& w, const AlertStrings& v);
std::string fingerprintHex(uint64_t fp);
bool parseFingerprintHex(std::string_view s, uint64_t& out);

}  // namespace triaged::engine
