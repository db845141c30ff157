#include "native_decoder.h"

#include <cstring>

namespace triaged::plugins {

using api::Reject;
namespace od = simdjson::ondemand;

const std::vector<std::pair<std::string, api::Severity>>& nativeSeverities() {
  using S = api::Severity;
  static const std::vector<std::pair<std::string, S>> kMap = {
      {"critical", S::kCritical}, {"major", S::kMajor},        {"minor", S::kMinor},
      {"warning", S::kWarning},   {"info", S::kInfo},          {"ok", S::kOk},
      {"crit", S::kCritical},     {"error", S::kMajor},        {"err", S::kMajor},
      {"high", S::kMajor},        {"medium", S::kMinor},       {"low", S::kWarning},
      {"warn", S::kWarning},      {"informational", S::kInfo}, {"notice", S::kInfo},
      {"debug", S::kInfo},        {"normal", S::kOk},          {"clear", S::kOk},
      {"cleared", S::kOk},
  };
  return kMap;
}

// Read in place when there is no escape (nearly always): simdjson's get_string() and
// unescaped_key() first copy every string into the parser's buffer, and the batch copies it
// again. The document's strings were validated (closed, UTF-8, no raw control characters)
// when it was indexed, before any of this runs.
simdjson::error_code keyInPlace(simdjson::simdjson_result<od::field>& f, std::string_view& out) {
  if (f.error()) return f.error();
  const char* p = f.value_unsafe().key().raw();
  for (const char* q = p;; ++q) {
    if (*q == '"') {
      out = {p, static_cast<size_t>(q - p)};
      return simdjson::SUCCESS;
    }
    if (*q == '\\') return f.value_unsafe().unescaped_key().get(out);
  }
}

simdjson::error_code stringInPlace(od::value& v, std::string_view& out) {
  std::string_view t = v.raw_json_token();  // the opening quote to the closing one, then spaces
  if (t.empty() || t.front() != '"') return v.get_string().get(out);  // its type error
  while (t.back() != '"') t.remove_suffix(1);
  t = t.substr(1, t.size() - 2);
  if (std::memchr(t.data(), '\\', t.size())) return v.get_string().get(out);
  od::raw_json_string consumed;  // moves past the string, which is known to be one
  if (auto ec = v.get_raw_json_string().get(consumed)) return ec;
  out = t;
  return simdjson::SUCCESS;
}

namespace {

od::parser& threadParser() {
  thread_local od::parser p;
  return p;
}

bool getString(od::value& v, api::BatchBuilder& b, const char* field, std::string_view& out) {
  std::string_view s;
  if (stringInPlace(v, s)) {
    b.error(field, "expected a string", Reject::kWrongType);
    return false;
  }
  out = b.keep(s);
  return true;
}

}  // namespace

bool decodeStringMap(od::value v, api::BatchBuilder& b, const char* field, bool labels) {
  od::object obj;
  if (v.get_object().get(obj)) {
    b.error(field, "expected an object of strings", Reject::kWrongType);
    return false;
  }
  for (auto f : obj) {
    std::string_view key, value;
    if (keyInPlace(f, key)) {
      b.error(field, "invalid key", Reject::kInvalidJson);
      return false;
    }
    if (stringInPlace(f.value_unsafe().value(), value)) {
      b.error(std::string(field) + "." + std::string(key), "expected a string", Reject::kWrongType);
      return false;
    }
    if (labels)
      b.addLabel(key, value);
    else
      b.addAnnotation(key, value);
  }
  return true;
}

bool decodeNativeObject(od::object obj, api::BatchBuilder& b) {
  api::Event& e = b.current();
  for (auto f : obj) {
    std::string_view key;
    if (keyInPlace(f, key)) {
      b.error("", "invalid JSON object key", Reject::kInvalidJson);
      return false;
    }
    // Used in place, not copied out with get(): GCC copies an ondemand value just built with
    // one 16-byte load of two smaller stores, which stalls store forwarding.
    od::value& v = f.value_unsafe().value();
    bool ok = true;
    if (key == "resource")
      ok = getString(v, b, "resource", e.resource);
    else if (key == "check")
      ok = getString(v, b, "check", e.check);
    else if (key == "source")
      ok = getString(v, b, "source", e.source);
    else if (key == "severity") {
      std::string_view s;
      if (stringInPlace(v, s)) {
        b.error("severity", "expected a string", Reject::kWrongType);
        return false;
      }
      if (!b.options().mapSeverity(s, e.severity)) {
        b.error("severity",
                "unknown severity \"" + std::string(s.substr(0, 64)) +
                    "\" (expected critical, major, minor, warning, info or ok)",
                Reject::kInvalidValue);
        return false;
      }
    } else if (key == "status") {
      std::string_view s;
      if (stringInPlace(v, s)) {
        b.error("status", "expected a string", Reject::kWrongType);
        return false;
      }
      if (s == "firing")
        e.status = api::Status::kFiring;
      else if (s == "resolved")
        e.status = api::Status::kResolved;
      else {
        b.error("status",
                "expected firing or resolved, got \"" + std::string(s.substr(0, 64)) + "\"",
                Reject::kInvalidValue);
        return false;
      }
    } else if (key == "service")
      ok = getString(v, b, "service", e.service);
    else if (key == "summary")
      ok = getString(v, b, "summary", e.summary);
    else if (key == "description")
      ok = getString(v, b, "description", e.description);
    else if (key == "dedup_key")
      ok = getString(v, b, "dedup_key", e.dedup_key);
    else if (key == "labels")
      ok = decodeStringMap(v, b, "labels", true);
    else if (key == "annotations")
      ok = decodeStringMap(v, b, "annotations", false);
    else if (key == "value") {
      double d;
      if (v.get_double().get(d)) {
        b.error("value", "expected a number", Reject::kWrongType);
        return false;
      }
      e.value = d;
      e.has_value = true;
    } else if (key == "timestamp") {
      od::json_type t;
      if (v.type().get(t)) {
        b.error("timestamp", "invalid JSON value", Reject::kInvalidJson);
        return false;
      }
      if (t == od::json_type::number) {
        int64_t ms;
        if (v.get_int64().get(ms) || ms < 0) {
          b.error("timestamp",
                  "expected epoch milliseconds (a non-negative integer) or an RFC 3339 string",
                  Reject::kInvalidValue);
          return false;
        }
        e.event_time_ms = ms;
      } else if (t == od::json_type::string) {
        std::string_view s;
        if (v.get_string().get(s)) s = {};
        auto ms = api::parseRfc3339(s);
        if (!ms) {
          b.error("timestamp", "invalid RFC 3339 time \"" + std::string(s.substr(0, 64)) + "\"",
                  Reject::kInvalidValue);
          return false;
        }
        e.event_time_ms = *ms;
      } else {
        b.error("timestamp", "expected an RFC 3339 string or epoch milliseconds",
                Reject::kWrongType);
        return false;
      }
    } else {
      b.error(std::string(key.substr(0, 128)), "unknown field", Reject::kUnknownField);
      return false;
    }
    if (!ok) return false;
  }
  return true;
}

namespace {

std::string jsonError(simdjson::error_code ec) {
  return std::string("invalid JSON: ") + simdjson::error_message(ec);
}

// Decodes one document that must be an object.
void decodeDocument(od::document& doc, api::BatchBuilder& b) {
  od::object obj;
  auto ec = doc.get_object().get(obj);
  if (ec) {
    b.error("", ec == simdjson::INCORRECT_TYPE ? "expected a JSON object" : jsonError(ec),
            ec == simdjson::INCORRECT_TYPE ? Reject::kWrongType : Reject::kInvalidJson);
  } else if (decodeNativeObject(obj, b)) {
    // After the whole object the document must be at its end: `{...} junk` is an error.
    const char* rest = nullptr;
    if (!doc.current_location().get(rest))
      b.error("", "unexpected content after the event object", Reject::kInvalidJson);
  }
}

}  // namespace

bool decodeNativeJson(const char* data, size_t len, size_t capacity, api::BatchBuilder& b) {
  b.expectText(len);
  od::document doc;
  auto& parser = threadParser();
  auto ec = parser.iterate(simdjson::padded_string_view(data, len, capacity)).get(doc);
  if (ec) {
    b.begin(0);
    b.error("", jsonError(ec), Reject::kInvalidJson);
    b.finish();
    return false;
  }
  od::json_type t;
  if (doc.type().get(t)) {
    b.begin(0);
    b.error("", "invalid JSON", Reject::kInvalidJson);
    b.finish();
    return false;
  }
  if (t == od::json_type::object) {
    b.begin(0);
    decodeDocument(doc, b);
    b.finish();
    return true;
  }
  if (t != od::json_type::array) {
    b.begin(0);
    b.error("", "expected an event object or an array of them", Reject::kWrongType);
    b.finish();
    return false;
  }
  od::array arr;
  if (auto ec = doc.get_array().get(arr)) {
    b.begin(0);
    b.error("", jsonError(ec), Reject::kInvalidJson);
    b.finish();
    return false;
  }
  int64_t index = 0;
  for (auto item : arr) {
    b.begin(index++);
    od::object obj;
    od::value val;
    if (auto ec = item.get(val)) {
      b.error("", jsonError(ec), Reject::kInvalidJson);
      b.finish();
      return false;
    }
    auto e2 = val.get_object().get(obj);
    if (e2) {
      b.error("", e2 == simdjson::INCORRECT_TYPE ? "expected a JSON object" : jsonError(e2),
              e2 == simdjson::INCORRECT_TYPE ? Reject::kWrongType : Reject::kInvalidJson);
      b.finish();
      if (e2 != simdjson::INCORRECT_TYPE) return false;  // the array itself is broken
      continue;
    }
    decodeNativeObject(obj, b);
    b.finish();
  }
  return true;
}

size_t decodeNdjson(const char* data, size_t len, size_t capacity, api::BatchBuilder& b,
                    int64_t first_line) {
  b.expectText(len);
  auto& parser = threadParser();
  const uint64_t max_event = b.options().max_event_bytes;
  size_t lines = 0;
  int64_t index = 0;
  // One simdjson iterate() per line. iterate_many() over the whole buffer would save a little
  // set-up per document, but in simdjson 3.0 it dereferences a null parser when a document in
  // the stream is truncated (found by the NDJSON tests under UBSan), and a syntax error ends
  // the stream; per-line parsing isolates every bad line and costs about the same (see
  // bench/RESULTS.md).
  int64_t line = first_line;
  const char* p = data;
  const char* end = data + len;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    size_t n = static_cast<size_t>(line_end - p);
    bool blank = true;
    for (size_t i = 0; i < n && blank; ++i) blank = p[i] == ' ' || p[i] == '\t' || p[i] == '\r';
    if (!blank) {
      ++lines;
      b.begin(index++, line);
      if (n > max_event) {
        b.error("", "event larger than " + std::to_string(max_event) + " bytes", Reject::kTooLarge);
      } else {
        od::document doc;
        auto ec = parser
                      .iterate(simdjson::padded_string_view(
                          p, n, static_cast<size_t>(data + capacity - p)))
                      .get(doc);
        if (ec)
          b.error("", jsonError(ec), Reject::kInvalidJson);
        else
          decodeDocument(doc, b);
      }
      b.finish();
    }
    ++line;
    p = line_end + 1;
  }
  (void)lines;
  return static_cast<size_t>(line - first_line);
}

}  // namespace triaged::plugins
