// The HTTP server's settings snapshot and who a request is: bearer tokens, users and roles.
#include <openssl/crypto.h>

#include <boost/asio/ssl/context.hpp>

#include "server/http_server.h"
#include "triaged/config/hash.h"

namespace triaged::engine {

namespace asio = boost::asio;

std::shared_ptr<const HttpSettings> HttpSettings::fromConfig(const config::Config& c) {
  auto s = std::make_shared<HttpSettings>();
  s->server = c.server;
  for (const auto& t : c.auth.ingest.bearer_tokens)
    s->ingest_digests.push_back(config::sha256Hex(t));
  auto add = [&](const std::vector<std::string>& tokens, const std::string& user, int level) {
    for (const auto& t : tokens) s->credentials.push_back({config::sha256Hex(t), user, level});
  };
  add(c.auth.read.bearer_tokens, "", 1);
  add(c.auth.admin.bearer_tokens, "", 3);
  for (const auto& u : c.auth.users)
    add(u.bearer_tokens, u.name, u.role == "admin" ? 3 : u.role == "operator" ? 2 : 1);
  auto names = [&](const std::vector<std::string>& cns, const std::string& user, int level) {
    for (const auto& cn : cns) s->cert_credentials.push_back({cn, {"", user, level}});
  };
  names(c.auth.read.client_names, "", 1);
  names(c.auth.admin.client_names, "", 3);
  for (const auto& u : c.auth.users)
    names(u.client_names, u.name, u.role == "admin" ? 3 : u.role == "operator" ? 2 : 1);
  s->cert_ingest = c.auth.ingest.client_names;
  for (const auto& t : c.notification_targets)
    if (!t.callback_token.empty())
      s->callback_digests.emplace_back(t.name, config::sha256Hex(t.callback_token));
  for (const auto& t : c.notification_targets)
    if (!t.callback_hmac_secret.empty())
      s->callback_secrets.emplace_back(t.name, t.callback_hmac_secret);
  bool users = !c.auth.users.empty();
  s->open[static_cast<int>(api::RouteGroup::kIngest)] = !c.auth.ingest.required();
  s->open[static_cast<int>(api::RouteGroup::kRead)] = !c.auth.read.required() && !users;
  bool admin_open = !c.auth.admin.required() && !users;
  s->open[static_cast<int>(api::RouteGroup::kOperate)] = admin_open;
  s->open[static_cast<int>(api::RouteGroup::kAdmin)] = admin_open;
  if (c.server.tls.enabled()) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    // Throws boost::system::system_error with OpenSSL's reason on a bad file: a config error.
    ctx->use_certificate_chain_file(c.server.tls.cert_file);
    ctx->use_private_key_file(c.server.tls.key_file, asio::ssl::context::pem);
    if (!c.server.tls.client_ca_file.empty()) {
      ctx->load_verify_file(c.server.tls.client_ca_file);
      ctx->set_verify_mode(c.server.tls.client_certs == "required"
                               ? asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert
                               : asio::ssl::verify_peer);
    }
    s->tls = std::move(ctx);
  }
  return s;
}

namespace {

// The token of a "Bearer <token>" header, or false.
bool bearerToken(std::string_view header, std::string_view& token) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return true;
}

bool sameDigest(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

const char* roleName(int level) {
  static const char* kNames[] = {"", "viewer", "operator", "admin"};
  return level >= 0 && level <= 3 ? kNames[level] : "";
}

int routeLevel(api::RouteGroup g) {
  switch (g) {
    case api::RouteGroup::kRead:
      return 1;
    case api::RouteGroup::kOperate:
      return 2;
    case api::RouteGroup::kAdmin:
      return 3;
    default:
      return 0;
  }
}

const Credential* HttpSettings::identify(std::string_view authorization) const {
  std::string_view token;
  if (credentials.empty() || !bearerToken(authorization, token)) return nullptr;
  // Compare fixed-size digests so neither the token's length nor its content leaks in timing;
  // every configured token is compared, with no early exit.
  std::string presented = config::sha256Hex(std::string(token));
  const Credential* found = nullptr;
  for (const auto& c : credentials)
    if (sameDigest(c.digest, presented)) found = &c;
  return found;
}

bool HttpSettings::callbackOf(std::string_view system, std::string_view authorization) const {
  std::string_view token;
  if (callback_digests.empty() || !bearerToken(authorization, token)) return false;
  std::string presented = config::sha256Hex(std::string(token));
  int match = 0;
  for (const auto& [name, digest] : callback_digests)
    match |= static_cast<int>(name == system) & static_cast<int>(sameDigest(digest, presented));
  return match != 0;
}

int HttpSettings::openLevel() const {
  if (open[static_cast<int>(api::RouteGroup::kAdmin)]) return 3;
  if (open[static_cast<int>(api::RouteGroup::kRead)]) return 1;
  return 0;
}

bool checkBearer(std::string_view header, const std::vector<std::string>& digests) {
  if (digests.empty()) return true;
  std::string_view token;
  if (!bearerToken(header, token)) return false;
  std::string presented = config::sha256Hex(std::string(token));
  int match = 0;
  for (const auto& d : digests) match |= sameDigest(d, presented);
  return match != 0;
}

}  // namespace triaged::engine
