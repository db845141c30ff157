// The read API over the dedup shards: GET /api/v1/alerts (filters, label matchers, cursor
// pagination) and GET /api/v1/alerts/{fingerprint}. Queries run on the shard threads (each scans
// its own table), so they see every event acknowledged before them.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <functional>
#include <memory>
#include <vector>

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
// The same into a buffer, without allocating: `w.field("alert", FingerprintHex(fp).view())`.
struct FingerprintHex {
  explicit FingerprintHex(uint64_t fp);
  std::string_view view() const { return {buf, sizeof buf}; }
  char buf[16];
};

// Event counts of alerts by fingerprint (an alert the shards no longer hold is absent).
using AlertCounts = absl::flat_hash_map<uint64_t, uint64_t>;
// Asks the shards that own the fingerprints for their counts; `done` runs once, on the last
// shard's thread to answer (at once, on the caller's, for an empty list).
void alertCounts(Pipeline& pipeline, std::vector<uint64_t> fingerprints,
                 std::function<void(std::shared_ptr<AlertCounts>)> done);
bool parseFingerprintHex(std::string_view s, uint64_t& out);

}  // namespace triaged::engine
