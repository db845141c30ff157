#include "notify/curl_transfer.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include "common/signature.h"

namespace triaged::engine {
namespace {

size_t collectAnswer(char* p, size_t size, size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  // Enough for a ServiceNow record (the create's answer carries the whole incident).
  if (s->size() < 65536) s->append(p, std::min(size * n, 65536 - s->size()));
  return size * n;
}

size_t readMessage(char* buf, size_t size, size_t n, void* user) {
  auto* f = static_cast<CurlTransfer*>(user);
  size_t k = std::min(size * n, f->body.size() - f->read_at);
  std::memcpy(buf, f->body.data() + f->read_at, k);
  f->read_at += k;
  return k;
}

// The Location header of an answer (the last one, after redirects), trimmed.
size_t locationHeader(char* p, size_t size, size_t n, void* user) {
  std::string_view line(p, size * n);
  constexpr std::string_view kName = "location:";
  if (line.size() > kName.size() &&
      std::equal(kName.begin(), kName.end(), line.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    line.remove_prefix(kName.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' '))
      line.remove_suffix(1);
    static_cast<std::string*>(user)->assign(line.substr(0, 2048));
  }
  return size * n;
}

}  // namespace

void CurlTransfer::prepare(api::OutputRequest& req, const config::NotificationTarget& c,
                           uint64_t id, const std::string& event, int64_t now_ms) {
  body = std::move(req.body);
  auto add = [&](const std::string& h) { headers = curl_slist_append(headers, h.c_str()); };
  add("Content-Type: " + req.content_type);
  add("User-Agent: triaged");
  add("Idempotency-Key: triaged-" + std::to_string(id));
  add("X-Triaged-Event: " + event);
  add("Expect:");
  for (const auto& [k, v] : c.headers) add(k + ": " + v);
  for (const auto& [k, v] : req.headers) add(k + ": " + v);
  if (!c.bearer_token.empty()) add("Authorization: Bearer " + c.bearer_token);
  if (!c.hmac_secret.empty())
    add("X-Triaged-Signature: " + signatureOf(c.hmac_secret, now_ms / 1000, body));
  CURL* h = easy;
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  if (!c.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, c.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, c.password.c_str());
  }
  if (!c.proxy.empty()) curl_easy_setopt(h, CURLOPT_PROXY, c.proxy.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  if (!req.mail_to.empty()) {
    // SMTP: the envelope, then the message read from the body.
    mail = true;
    for (const auto& r : req.mail_to) rcpt = curl_slist_append(rcpt, ("<" + r + ">").c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, ("<" + req.mail_from + ">").c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &readMessage);
    curl_easy_setopt(h, CURLOPT_READDATA, this);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     req.starttls == 2   ? static_cast<long>(CURLUSESSL_ALL)
                     : req.starttls == 1 ? static_cast<long>(CURLUSESSL_TRY)
                                         : static_cast<long>(CURLUSESSL_NONE));
  } else if (req.method == "GET") {  // a login (ticket sessions)
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, nullptr);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  } else {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method != "POST" ? req.method.c_str() : nullptr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  }
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(c.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(c.timeout.count(), 10000)));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &collectAnswer);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  if (req.creates) {  // a tool may answer a creation with the new ticket's Location
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &locationHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &location);
  } else {  // (a reused handle: no stale pointer to an earlier flight's header)
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, nullptr);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, nullptr);
  }
  if (c.tls_insecure_skip_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

void CurlTransfer::freeLists() {
  curl_slist_free_all(headers);
  headers = nullptr;
  curl_slist_free_all(rcpt);
  rcpt = nullptr;
}

}  // namespace triaged::engine
