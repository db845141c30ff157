// What every input shares: its common config keys (limits, severity mapping, resolve timeout,
// fingerprint key), the builder that validates and finishes events into a batch, error
// reporting (index, line, field, reason), timestamps, and the HTTP answers for rejections.
// An IngestOptions is immutable after parsing; a BatchBuilder belongs to one thread.
#pragma once

#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "triaged/api/event.h"
#include "triaged/api/http.h"
#include "triaged/api/metrics_hub.h"
#include "triaged/config/reader.h"

namespace triaged::api {

struct FingerprintOptions {
  bool source = true, resource = true, check = true;
  bool all_labels = true;                  // false: only `labels`
  std::vector<std::string> labels;         // when all_labels is false
  std::vector<std::string> ignore_labels;  // volatile labels left out of the key
};

struct IngestOptions {
  std::string name;  // the input's name; the default `source`
  int64_t resolve_timeout_ms = 5 * 60 * 1000;
  Severity default_severity = Severity::kWarning;
  std::vector<std::pair<std::string, Severity>> severity_map;  // input's own names → canonical
  uint64_t max_event_bytes = 64 * 1024;
  uint64_t max_labels = 64;
  uint64_t max_label_name_bytes = 256;
  uint64_t max_label_value_bytes = 4096;
  uint64_t max_batch_events = 100000;  // events in one HTTP request
  FingerprintOptions fingerprint;
  std::vector<std::string> bearer_tokens;  // overrides auth.ingest for this input when set

  // Reads the common keys from an input's section; the plugin reads its own keys first.
  // `severity_defaults` is the input's own scale, extended/overridden by `severity_map:`.
  void read(config::MapReader& r,
            const std::vector<std::pair<std::string, Severity>>& severity_defaults);
  bool mapSeverity(std::string_view name, Severity& out) const;
};

// One decode problem. `index` is the event's position in a batch (-1 if not applicable),
// `line` its line in NDJSON (0 if not applicable).
struct DecodeError {
  int64_t index = -1;
  int64_t line = 0;
  std::string field;
  std::string reason;
};

// Rejection reasons counted per input; stable label values of rejected{reason}.
enum class Reject : uint8_t {
  kInvalidJson,
  kMissingField,
  kWrongType,
  kUnknownField,
  kInvalidValue,
  kTooLarge,
  kTooManyLabels,
  kBatchInvalid,
  kBusy,
  kDraining,
  kUnauthorized,
  kUnavailable,
  kNoRule,
  kCount
};
const char* rejectName(Reject r);

// Per-input counters, each a per-thread slot summed at scrape time:
// triaged_input_events_received_total{input}, _accepted_total{input},
// _rejected_total{input,reason}.
class InputMetrics {
 public:
  InputMetrics(MetricsHub& hub, const std::string& input, size_t writers);
  ~InputMetrics();
  void received(uint64_t n);
  void accepted(uint64_t n);
  void rejected(Reject r, uint64_t n = 1);
  // Time spent decoding one request body or stream chunk (triaged_input_decode_seconds{input}).
  void decoded(double seconds);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Index of the calling I/O thread (0 on other threads), for per-thread metric slots.
size_t ioThreadIndex();
void setIoThreadIndex(size_t i);

// Builds events into a batch, validating each against the input's limits. Usage per event:
// begin(); set fields; addLabel()/addAnnotation() in any order; finish() → false if the event
// was invalid (its first error recorded) and it is dropped from the batch.
class BatchBuilder {
 public:
  // The batch it builds into is one the pipeline is done with when there is one (batch_pool.h).
  BatchBuilder(const IngestOptions& opts, int64_t now_ms, size_t max_errors = 10);
  ~BatchBuilder();  // gives back the batch it holds (events not taken are dropped)
  BatchBuilder(const BatchBuilder&) = delete;
  BatchBuilder& operator=(const BatchBuilder&) = delete;

  Event& begin(int64_t index, int64_t line = 0);
  // Copies into the batch arena.
  std::string_view keep(std::string_view s) { return batch_->arena.copy(s); }
  // The events' text will be copied from a document of about n bytes (see Arena::expect).
  void expectText(size_t n) { batch_->arena.expect(n); }
  // Copy name and value into the batch.
  void addLabel(std::string_view name, std::string_view value);
  void addAnnotation(std::string_view name, std::string_view value);
  // The current event's labels and annotations so far, in the order added (finish() sorts
  // them); valid until the next add or begin().
  std::span<const Label> labelsSoFar() const { return scratch_labels_; }
  std::span<const Label> annotationsSoFar() const { return scratch_annotations_; }
  void error(std::string field, std::string reason, Reject kind);
  bool failed() const { return current_failed_; }
  // Validates, sorts labels, fills defaults, fingerprint and content hash. An event keyed by
  // the default key is hashed with the three finished after it, four chains at a time
  // (events() and take() hash what is left).
  bool finish();

  size_t size() const { return batch_->events.size(); }
  // The event begun last, while it is decoded.
  Event& current() { return batch_->events.back(); }
  // The events so far, every finished one with its fingerprint and content hash.
  std::vector<Event>& events() {
    hashPending();
    return batch_->events;
  }
  // Forgets events and errors recorded after a mark (to decode a buffer again another way).
  struct Mark {
    size_t events, labels, errors_listed;
    uint64_t errors;
    std::array<uint64_t, static_cast<size_t>(Reject::kCount)> rejects;
  };
  Mark mark() const;
  void rollback(const Mark& m);
  const std::vector<DecodeError>& errors() const { return errors_; }
  uint64_t errorCount() const { return error_count_; }
  std::array<uint64_t, static_cast<size_t>(Reject::kCount)>& rejectCounts() {
    return reject_counts_;
  }
  std::unique_ptr<EventBatch> take();
  const IngestOptions& options() const { return opts_; }
  int64_t now() const { return now_ms_; }

 private:
  const IngestOptions& opts_;
  int64_t now_ms_;
  size_t max_errors_;
  std::unique_ptr<EventBatch> batch_;
  std::vector<DecodeError> errors_;
  uint64_t error_count_ = 0;
  std::array<uint64_t, static_cast<size_t>(Reject::kCount)> reject_counts_{};
  int64_t index_ = 0, line_ = 0;
  bool current_failed_ = false;
  // The current event's labels and annotations, in any order; finish() lays them out.
  std::vector<Label> scratch_labels_, scratch_annotations_;
  // Finished events keyed by the default key, not hashed yet: hashed four at a time.
  std::array<uint32_t, 4> unhashed_{};
  size_t unhashed_count_ = 0;
  void hashPending();
};

// Fingerprint of an event (labels must already be sorted by name), and its content hash.
uint64_t fingerprintOf(const EventBatch& b, const Event& e, const FingerprintOptions& o);
uint64_t contentHashOf(const EventBatch& b, const Event& e);
// The same, extending `identity`: a hash over source, resource, check and every label.
uint64_t contentHashOf(const EventBatch& b, const Event& e, uint64_t identity);

// RFC 3339 ("2026-01-01T10:00:00Z", fractions, offsets, "+0000" as PagerDuty writes it) to
// epoch ms. Years before 1 or after 9999, bad fields: nullopt.
std::optional<int64_t> parseRfc3339(std::string_view s);
std::string formatRfc3339Ms(int64_t ms);
// The same into a buffer, without allocating (the hot paths: stream events, timelines):
// `JsonWriter::field("at", Rfc3339Ms(ms).view())`.
struct Rfc3339Ms {
  explicit Rfc3339Ms(int64_t ms);
  std::string_view view() const { return {buf, len}; }
  char buf[40];
  size_t len;
};

// HTTP answers shared by the inputs.
HttpResponse badRequest(std::string_view message, const std::vector<DecodeError>& errors,
                        uint64_t total_errors);
HttpResponse busyResponse(int retry_after_seconds);
HttpResponse drainingResponse(int retry_after_seconds);
// 503: the state store cannot commit now.
HttpResponse unavailableResponse(int retry_after_seconds);
// A refused submit's reason and answer (busy, draining, unavailable).
Reject refusalReason(SubmitStatus st);
HttpResponse refusalResponse(SubmitStatus st, int retry_after_seconds);
// Checks a per-input token list (if any) against the Authorization header.
bool inputAuthorized(const IngestOptions& o, const HttpRequest& req);
// The same from the Authorization header alone (at the headers, before the body).
bool inputAuthorized(const IngestOptions& o, std::string_view authorization);

}  // namespace triaged::api
