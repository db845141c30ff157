#include "common/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace triaged::engine {

std::string signatureOf(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  std::string t = std::to_string(unix_seconds);
  std::string msg = t + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  static const char* hex = "0123456789abcdef";
  std::string out = "t=" + t + ",v1=";
  for (unsigned i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

bool signatureValid(std::string_view secret, std::string_view header, std::string_view body,
                    int64_t now_s, int64_t tolerance_s) {
  if (header.rfind("t=", 0) != 0) return false;
  auto comma = header.find(",v1=");
  if (comma == std::string_view::npos) return false;
  int64_t t = 0;
  auto digits = header.substr(2, comma - 2);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;
  if (t < now_s - tolerance_s || t > now_s + tolerance_s) return false;
  std::string want = signatureOf(secret, t, body);
  return want.size() == header.size() &&
         CRYPTO_memcmp(want.data(), header.data(), want.size()) == 0;
}

}  // namespace triaged::engine
