// Decodes triaged's native JSON event form (one object, an array, or NDJSON) into a batch.
// Used by the HTTP input (POST /api/v1/events) and the NDJSON-over-TCP input. Stateless
// apart from one simdjson parser per thread.
#pragma once

#include <simdjson.h>

#include <string_view>

#include "triaged/api/ingest.h"

namespace triaged::plugins {

// An object of strings into the current event's labels or annotations (read back with
// BatchBuilder::labelsSoFar). Errors name `field` (and the key). Shared by every JSON input.
bool decodeStringMap(simdjson::ondemand::value v, api::BatchBuilder& b, const char* field,
                     bool labels);

// A field's key and a string value, read in place when they have no escapes (else unescaped by
// simdjson into its buffer). A value that is not a string gives simdjson's type error. The
// views live as long as the input (or the parser's buffer).
simdjson::error_code keyInPlace(simdjson::simdjson_result<simdjson::ondemand::field>& f,
                                std::string_view& out);
simdjson::error_code stringInPlace(simdjson::ondemand::value& v, std::string_view& out);

// One event object. Returns false (error recorded in the builder) if it is invalid.
bool decodeNativeObject(simdjson::ondemand::object obj, api::BatchBuilder& b);

// A JSON body: an object or an array of objects. `data` must have SIMDJSON_PADDING readable
// bytes after `len`. Returns false on a JSON syntax error (recorded in the builder).
bool decodeNativeJson(const char* data, size_t len, size_t capacity, api::BatchBuilder& b);

// NDJSON: one object per line; blank lines are skipped. `first_line` numbers the lines in
// errors. Syntax errors are recorded per line; the other lines still decode. Returns the number
// of lines seen, blank ones included (the newlines consumed, plus one for a last line without
// its newline). `data` must have SIMDJSON_PADDING readable bytes after `len`.
size_t decodeNdjson(const char* data, size_t len, size_t capacity, api::BatchBuilder& b,
                    int64_t first_line = 1);

// Shared by every input: the native severity names and common aliases.
const std::vector<std::pair<std::string, api::Severity>>& nativeSeverities();

}  // namespace triaged::plugins
