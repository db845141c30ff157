#pragma once

#include <string>

#include "triaged/api/http.h"

namespace triaged::engine {

// The status line and headers of an answer, written by hand into `out` (appended; a session
// reuses one string): Beast's response object allocated every header field and went through
// its generic serializer for every request, a tenth of a small request's cost.
//
// As Beast's set(), keep_alive() and prepare_payload() did: the handler's headers in order, a
// later one replacing an earlier one of the same name (case-insensitive); Content-Type from the
// response unless a header sets it; the default Content-Security-Policy unless a header sets
// one; X-Content-Type-Options: nosniff always; Content-Length of `body_size` except for 1xx,
// 204 and 304; "Connection: close" for HTTP/1.1 when not kept alive, "Connection: keep-alive"
// for HTTP/1.0 when kept alive. `version` is 10 or 11.
void appendResponseHead(std::string& out, unsigned version, const api::HttpResponse& r,
                        bool keep_alive, size_t body_size);

// The head of an open-ended response (Server-Sent Events): no length, not cached, closed at
// the end, not buffered by a proxy.
void appendStreamHead(std::string& out, const api::HttpResponse& r);

}  // namespace triaged::engine
