// The JSON object body of a REST change request, read field by field with errors that name
// the field; a time field of an answer; and the HTTP status of a correlator operation's error.
// Internal to engine/src/rest.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "triaged/api/http.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"

namespace triaged::engine {

// A small JSON object body: string fields by name. Errors name the field.
struct Body {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string error;

  bool parse(const api::HttpRequest& req) {
    std::string_view text = req.body ? std::string_view(*req.body) : std::string_view();
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) text = "{}";
    auto r = parser.parse(text.data(), text.size());
    if (r.error()) {
      error = std::string("body is not valid JSON: ") + simdjson::error_message(r.error());
      return false;
    }
    root = r.value();
    if (!root.is_object()) {
      error = "body must be a JSON object";
      return false;
    }
    return true;
  }
  // Returns false (and sets error) when present but not a string.
  bool str(const char* key, std::string& out, bool required = false) {
    auto f = root[key];
    if (f.error() == simdjson::NO_SUCH_FIELD) {
      if (required) error = std::string("field \"") + key + "\" is required";
      return !required;
    }
    std::string_view v;
    if (f.get_string().get(v)) {
      error = std::string("field \"") + key + "\" must be a string";
      return false;
    }
    out = std::string(v);
    return true;
  }
  bool integer(const char* key, int64_t& out, bool required) {
    auto f = root[key];
    if (f.error() == simdjson::NO_SUCH_FIELD) {
      if (required) error = std::string("field \"") + key + "\" is required";
      return !required;
    }
    if (f.get_int64().get(out)) {
      error = std::string("field \"") + key + "\" must be an integer";
      return false;
    }
    return true;
  }
};

// A time field: RFC 3339, or null when unset (0) or unbounded (INT64_MAX).
inline void writeTime(api::JsonWriter& w, const char* key, int64_t ms) {
  if (ms && ms != INT64_MAX)
    w.field(key, api::Rfc3339Ms(ms).view());
  else
    w.key(key).null();
}

inline api::HttpResponse opError(const std::string& err) {
  unsigned status = err.rfind("no such", 0) == 0            ? 404
                    : err.find(" is ") != std::string::npos ? 409
                                                            : 400;
  return api::HttpResponse::error(status, err);
}

}  // namespace triaged::engine
