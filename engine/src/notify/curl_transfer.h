// One delivery request on the wire: a libcurl easy handle set up from an output plugin's
// request and its target's settings (headers, authentication, signature, method or SMTP
// envelope, timeouts, TLS), and the buffers libcurl fills with the answer. The notifier
// (notifier.cpp) decides what is sent when and what an answer means; this only puts one
// request on the wire.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <string>

#include "triaged/api/output.h"
#include "triaged/config/config.h"

namespace triaged::engine {

struct CurlTransfer {
  CURL* easy = nullptr;  // set by the caller (a new or pooled handle) before prepare()
  curl_slist* headers = nullptr;
  curl_slist* rcpt = nullptr;
  std::string body;      // what is sent: the request body, or the whole mail message
  std::string response;  // the answer's body (its first 64 KiB)
  std::string location;  // the answer's Location header, when the request creates a ticket
  bool mail = false;     // SMTP: success is the server's acceptance, not a 2xx
  size_t read_at = 0;    // what of the message SMTP has read
  char error[CURL_ERROR_SIZE] = {};

  // Sets `easy` up to send `req` (its body moved into `body`) for outbox entry `id` of
  // `event` to target `c`; the signature, if the target has a secret, is of `now_ms`.
  void prepare(api::OutputRequest& req, const config::NotificationTarget& c, uint64_t id,
               const std::string& event, int64_t now_ms);
  // Frees the header and recipient lists (the handle is the caller's).
  void freeLists();
};

}  // namespace triaged::engine
