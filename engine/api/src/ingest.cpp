#include "triaged/api/ingest.h"

// Inlined: most inputs are a few bytes, where a library call costs more than the hash.
#define XXH_INLINE_ALL
#include <prometheus/histogram.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>

#include "common/metrics.h"
#include "server/http_server.h"
#include "triaged/api/json_writer.h"
#include "triaged/config/loader.h"

namespace triaged::api {

// ---------------------------------------------------------------------------------------------
// Options

void IngestOptions::read(config::MapReader& r,
                         const std::vector<std::pair<std::string, Severity>>& severity_defaults) {
  config::Duration rt{resolve_timeout_ms};
  r.getDuration("resolve_timeout", rt);
  resolve_timeout_ms = rt.count();
  std::string def = severityName(default_severity);
  r.getEnum("default_severity", def, {"critical", "major", "minor", "warning", "info", "ok"});
  parseSeverity(def, default_severity);
  severity_map = severity_defaults;
  std::vector<std::pair<std::string, std::string>> custom;
  YAML::Node map_node = r.node()["severity_map"];
  r.getStringMap("severity_map", custom);
  for (const auto& [from, to] : custom) {
    Severity s;
    if (!parseSeverity(to, s)) {
      r.sink().add(map_node[from], r.childPath("severity_map." + from),
                   "expected one of critical, major, minor, warning, info, ok, got \"" + to + "\"");
      continue;
    }
    std::string key = from;
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    severity_map.insert(severity_map.begin(), {key, s});  // custom entries win
  }
  r.getUnsigned("max_event_bytes", max_event_bytes, 16 * 1024 * 1024);
  r.getUnsigned("max_labels", max_labels, 1024);
  r.getUnsigned("max_label_name_bytes", max_label_name_bytes, 65535);
  r.getUnsigned("max_label_value_bytes", max_label_value_bytes, 1024 * 1024);
  r.getUnsigned("max_batch_events", max_batch_events, 10'000'000);
  config::MapReader fp(r.take("fingerprint"), r.childPath("fingerprint"), r.sink());
  std::vector<std::string> fields = {"source", "resource", "check"};
  YAML::Node fields_node = fp.node()["fields"];
  fp.getStringList("fields", fields);
  fingerprint.source = fingerprint.resource = fingerprint.check = false;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i] == "source")
      fingerprint.source = true;
    else if (fields[i] == "resource")
      fingerprint.resource = true;
    else if (fields[i] == "check")
      fingerprint.check = true;
    else
      r.sink().add(fields_node[i], fp.childPath("fields[" + std::to_string(i) + "]"),
                   "expected source, resource or check, got \"" + fields[i] + "\"");
  }
  if (fp.has("labels")) {
    fingerprint.all_labels = false;
    fp.getStringList("labels", fingerprint.labels);
  }
  fp.getStringList("ignore_labels", fingerprint.ignore_labels);
  fp.finish();
  std::string token;
  r.getSecret("bearer_token", token);
  if (!token.empty()) bearer_tokens.push_back(config::sha256Hex(token));
}

bool IngestOptions::mapSeverity(std::string_view n, Severity& out) const {
  // Keys are lowercase (see read()); fold the input once, on the stack.
  char buf[32];
  if (n.size() > sizeof buf) return false;
  for (size_t i = 0; i < n.size(); ++i)
    buf[i] = (n[i] >= 'A' && n[i] <= 'Z') ? static_cast<char>(n[i] + 32) : n[i];
  std::string_view folded(buf, n.size());
  for (const auto& [name, s] : severity_map) {
    if (name == folded) {
      out = s;
      return true;
    }
  }
  return false;
}

const char* rejectName(Reject r) {
  switch (r) {
    case Reject::kInvalidJson:
      return "invalid_json";
    case Reject::kMissingField:
      return "missing_field";
    case Reject::kWrongType:
      return "wrong_type";
    case Reject::kUnknownField:
      return "unknown_field";
    case Reject::kInvalidValue:
      return "invalid_value";
    case Reject::kTooLarge:
      return "too_large";
    case Reject::kTooManyLabels:
      return "too_many_labels";
    case Reject::kBatchInvalid:
      return "batch_invalid";
    case Reject::kBusy:
      return "busy";
    case Reject::kDraining:
      return "draining";
    case Reject::kUnauthorized:
      return "unauthorized";
    case Reject::kNoRule:
      return "no_rule";
    case Reject::kCount:
      break;
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Metrics

namespace {
thread_local size_t t_io_index = 0;
}
size_t ioThreadIndex() { return t_io_index; }
void setIoThreadIndex(size_t i) { t_io_index = i; }

struct InputMetrics::Impl {
  std::shared_ptr<engine::HotCounterFamily> received, accepted, rejected;
  MetricsHub* hub;
  prometheus::Family<prometheus::Histogram>* decode_family = nullptr;
  prometheus::Histogram* decode = nullptr;
};

InputMetrics::InputMetrics(MetricsHub& hub, const std::string& input, size_t writers)
    : impl_(std::make_unique<Impl>()) {
  // Shared families per name would need cross-input coordination; one collectable per input
  // with the same metric name is merged by the serializer into one family per name.
  using Series = std::vector<std::vector<std::pair<std::string, std::string>>>;
  impl_->received = std::make_shared<engine::HotCounterFamily>(
      "triaged_input_events_received_total", "Events received by an input, valid or not.",
      Series{{{"input", input}}}, writers);
  impl_->accepted = std::make_shared<engine::HotCounterFamily>(
      "triaged_input_events_accepted_total", "Events accepted into the pipeline.",
      Series{{{"input", input}}}, writers);
  Series reasons;
  for (size_t i = 0; i < static_cast<size_t>(Reject::kCount); ++i)
    reasons.push_back({{"input", input}, {"reason", rejectName(static_cast<Reject>(i))}});
  impl_->rejected = std::make_shared<engine::HotCounterFamily>(
      "triaged_input_events_rejected_total", "Events rejected by an input, by reason.", reasons,
      writers);
  impl_->hub = &hub;
  // One family shared by every input; each input adds its own series.
  impl_->decode_family = &prometheus::BuildHistogram()
                              .Name("triaged_input_decode_seconds")
                              .Help("Time to decode one request body or stream chunk, per input.")
                              .Register(hub.registry());
  impl_->decode = &impl_->decode_family->Add(
      {{"input", input}},
      prometheus::Histogram::BucketBoundaries{0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                              0.0025, 0.005, 0.01, 0.025, 0.05, 0.1});
  hub.add(impl_->received);
  hub.add(impl_->accepted);
  hub.add(impl_->rejected);
}

InputMetrics::~InputMetrics() {
  impl_->hub->remove(impl_->received);
  impl_->hub->remove(impl_->accepted);
  impl_->hub->remove(impl_->rejected);
  impl_->decode_family->Remove(impl_->decode);
}

void InputMetrics::decoded(double seconds) { impl_->decode->Observe(seconds); }

void InputMetrics::received(uint64_t n) { impl_->received->add(ioThreadIndex(), 0, n); }
void InputMetrics::accepted(uint64_t n) { impl_->accepted->add(ioThreadIndex(), 0, n); }
void InputMetrics::rejected(Reject r, uint64_t n) {
  impl_->rejected->add(ioThreadIndex(), static_cast<size_t>(r), n);
}

// ---------------------------------------------------------------------------------------------
// Builder

BatchBuilder::BatchBuilder(const IngestOptions& opts, int64_t now_ms, size_t max_errors)
    : opts_(opts),
      now_ms_(now_ms),
      max_errors_(max_errors),
      batch_(std::make_unique<EventBatch>()) {
  batch_->input = opts.name;
}

Event& BatchBuilder::begin(int64_t index, int64_t line) {
  index_ = index;
  line_ = line;
  current_failed_ = false;
  scratch_labels_.clear();
  scratch_annotations_.clear();
  auto& e = batch_->events.emplace_back();
  e.severity = opts_.default_severity;
  return e;
}

Label BatchBuilder::addLabel(std::string_view name, std::string_view value) {
  return scratch_labels_.emplace_back(Label{keep(name), keep(value)});
}

Label BatchBuilder::addAnnotation(std::string_view name, std::string_view value) {
  return scratch_annotations_.emplace_back(Label{keep(name), keep(value)});
}

void BatchBuilder::error(std::string field, std::string reason, Reject kind) {
  if (current_failed_) return;  // one error per event: the first
  current_failed_ = true;
  ++error_count_;
  ++reject_counts_[static_cast<size_t>(kind)];
  if (errors_.size() < max_errors_)
    errors_.push_back({index_, line_, std::move(field), std::move(reason)});
}

namespace {

void sortByName(Label* l, size_t n) {
  std::sort(l, l + n, [](const Label& a, const Label& b) { return a.name < b.name; });
}

bool checkLabels(BatchBuilder& b, const Label* l, size_t n, const IngestOptions& o,
                 const char* what) {
  for (size_t i = 0; i < n; ++i) {
    if (l[i].name.empty()) {
      b.error(what, "empty name", Reject::kInvalidValue);
      return false;
    }
    if (l[i].name.size() > o.max_label_name_bytes) {
      b.error(std::string(what) + "." + std::string(l[i].name.substr(0, 64)),
              "name longer than " + std::to_string(o.max_label_name_bytes) + " bytes",
              Reject::kTooLarge);
      return false;
    }
    if (l[i].value.size() > o.max_label_value_bytes) {
      b.error(std::string(what) + "." + std::string(l[i].name),
              "value longer than " + std::to_string(o.max_label_value_bytes) + " bytes",
              Reject::kTooLarge);
      return false;
    }
    if (i > 0 && l[i].name == l[i - 1].name) {
      b.error(std::string(what) + "." + std::string(l[i].name), "duplicate name",
              Reject::kInvalidValue);
      return false;
    }
  }
  return true;
}

}  // namespace

bool BatchBuilder::finish() {
  auto& b = *batch_;
  auto& e = b.events.back();
  if (!current_failed_) {
    if (e.resource.empty())
      error("resource", "is required", Reject::kMissingField);
    else if (e.check.empty())
      error("check", "is required", Reject::kMissingField);
  }
  if (!current_failed_ && scratch_labels_.size() + scratch_annotations_.size() > opts_.max_labels) {
    error("labels", "more than " + std::to_string(opts_.max_labels) + " labels and annotations",
          Reject::kTooManyLabels);
  }
  if (!current_failed_) {
    sortByName(scratch_labels_.data(), scratch_labels_.size());
    sortByName(scratch_annotations_.data(), scratch_annotations_.size());
    if (checkLabels(*this, scratch_labels_.data(), scratch_labels_.size(), opts_, "labels"))
      checkLabels(*this, scratch_annotations_.data(), scratch_annotations_.size(), opts_,
                  "annotations");
  }
  if (current_failed_) {
    b.events.pop_back();
    return false;
  }
  e.labels_begin = static_cast<uint32_t>(b.labels.size());
  e.labels_count = static_cast<uint32_t>(scratch_labels_.size());
  b.labels.insert(b.labels.end(), scratch_labels_.begin(), scratch_labels_.end());
  e.annotations_begin = static_cast<uint32_t>(b.labels.size());
  e.annotations_count = static_cast<uint32_t>(scratch_annotations_.size());
  b.labels.insert(b.labels.end(), scratch_annotations_.begin(), scratch_annotations_.end());
  if (e.source.empty()) e.source = keep(opts_.name);  // the options may be swapped by a reload
  e.receive_time_ms = now_ms_;
  if (e.event_time_ms == 0) e.event_time_ms = now_ms_;
  if (e.status == Status::kFiring && e.ends_at_ms == 0 && opts_.resolve_timeout_ms > 0)
    e.ends_at_ms = now_ms_ + opts_.resolve_timeout_ms;
  e.fingerprint = fingerprintOf(b, e, opts_.fingerprint);
  // With the default key the fingerprint already covers source, resource, check and every
  // label: the content hash extends it instead of hashing them again.
  const auto& fo = opts_.fingerprint;
  bool full_key = e.dedup_key.empty() && fo.source && fo.resource && fo.check && fo.all_labels &&
                  fo.ignore_labels.empty();
  e.content_hash = full_key ? contentHashOf(b, e, e.fingerprint) : contentHashOf(b, e);
  return true;
}

BatchBuilder::Mark BatchBuilder::mark() const {
  return {batch_->events.size(), batch_->labels.size(), errors_.size(), error_count_,
          reject_counts_};
}

void BatchBuilder::rollback(const Mark& m) {
  batch_->events.resize(m.events);
  batch_->labels.resize(m.labels);
  errors_.resize(m.errors_listed);
  error_count_ = m.errors;
  reject_counts_ = m.rejects;
}

std::unique_ptr<EventBatch> BatchBuilder::take() {
  auto out = std::move(batch_);
  batch_ = std::make_unique<EventBatch>();
  batch_->input = opts_.name;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hashing

namespace {

// Hashes are chained: each string is hashed with the running hash (and its length) as the seed.
// No buffer is assembled and every string is read once; the length in the seed keeps
// ("ab","c") and ("a","bc") apart.
inline uint64_t chain(uint64_t h, std::string_view s) {
  return XXH3_64bits_withSeed(s.data(), s.size(), h ^ (s.size() * 0x9E3779B97F4A7C15ULL));
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

}  // namespace

uint64_t fingerprintOf(const EventBatch& b, const Event& e, const FingerprintOptions& o) {
  if (!e.dedup_key.empty()) {
    // An explicit key (PagerDuty dedup_key, Alertmanager fingerprint) wins; scoped by source
    // so that two inputs never collide.
    return chain(chain(0x01, e.source), e.dedup_key);
  }
  uint64_t h = 0x02;
  h = chain(h, o.source ? e.source : std::string_view{});
  h = chain(h, o.resource ? e.resource : std::string_view{});
  h = chain(h, o.check ? e.check : std::string_view{});
  const Label* l = b.labelsOf(e);
  const bool filter = !o.all_labels || !o.ignore_labels.empty();
  for (uint32_t i = 0; i < e.labels_count; ++i) {  // sorted by name: order-independent
    if (filter &&
        (o.all_labels ? contains(o.ignore_labels, l[i].name) : !contains(o.labels, l[i].name)))
      continue;
    h = chain(chain(h, l[i].name), l[i].value);
  }
  return h;
}

uint64_t contentHashOf(const EventBatch& b, const Event& e) {
  static const FingerprintOptions kEverything;
  return contentHashOf(b, e, fingerprintOf(b, e, kEverything));
}

uint64_t contentHashOf(const EventBatch& b, const Event& e, uint64_t identity) {
  uint64_t h = identity;
  for (auto s : {e.service, e.summary, e.description, e.dedup_key}) h = chain(h, s);
  const Label* a = b.annotationsOf(e);
  for (uint32_t i = 0; i < e.annotations_count; ++i) h = chain(chain(h, a[i].name), a[i].value);
  return h;
}

// ---------------------------------------------------------------------------------------------
// Time

namespace {

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::optional<int64_t> parseRfc3339(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, se))
    return std::nullopt;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap)) return std::nullopt;
  size_t i = 19;
  int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    int scale = 100;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ms += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  int64_t offset_min = 0;
  if (i >= s.size()) return std::nullopt;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh, om;
    int sign = s[i] == '-' ? -1 : 1;
    if (!digits(s, i + 1, 2, oh)) return std::nullopt;
    size_t p = i + 3;
    if (p < s.size() && s[p] == ':') ++p;
    if (!digits(s, p, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_min = sign * (oh * 60 + om);
    i = p + 2;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  int64_t days = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + std::min(se, 59) - offset_min * 60;
  return secs * 1000 + ms;
}

std::string formatRfc3339Ms(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int64_t rem = ms - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t sod = secs - days * 86400;
  // civil_from_days
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                static_cast<long long>(rem));
  return buf;
}

// ---------------------------------------------------------------------------------------------
// HTTP answers

HttpResponse badRequest(std::string_view message, const std::vector<DecodeError>& errors,
                        uint64_t total) {
  std::string detail;
  JsonWriter w(detail);
  w.beginObject().field("errors_total", total).key("errors").beginArray();
  for (const auto& e : errors) {
    w.beginObject();
    if (e.index >= 0) w.field("index", e.index);
    if (e.line > 0) w.field("line", e.line);
    w.field("field", e.field).field("reason", e.reason).endObject();
  }
  w.endArray().endObject();
  return HttpResponse::error(400, message, detail);
}

HttpResponse busyResponse(int retry_after) {
  auto r = HttpResponse::error(429, "pipeline busy", "\"queues are full; retry later\"");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return r;
}

HttpResponse drainingResponse(int retry_after) {
  auto r = HttpResponse::error(503, "shutting down",
                               "\"triaged is draining; retry on another instance or later\"");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return r;
}

bool inputAuthorized(const IngestOptions& o, const HttpRequest& req) {
  if (o.bearer_tokens.empty()) return true;
  return engine::checkBearer(req.header("Authorization"), o.bearer_tokens);
}

}  // namespace triaged::api
