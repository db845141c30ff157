// The X-Triaged-Signature scheme: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
// Outbound notifications carry it (targets' hmac_secret); ticketing tools calling back may
// sign with it instead of sending a token (targets' callback_hmac_secret).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace triaged::engine {

std::string signatureOf(std::string_view secret, int64_t unix_seconds, std::string_view body);
// Whether `header` signs `body` with `secret`, made within `tolerance_s` of now_s (a replayed
// old request fails). Compared in constant time.
bool signatureValid(std::string_view secret, std::string_view header, std::string_view body,
                    int64_t now_s, int64_t tolerance_s = 300);

}  // namespace triaged::engine
