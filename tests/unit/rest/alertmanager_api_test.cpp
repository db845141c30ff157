// The Alertmanager API's redaction of the configuration it shows (GET /api/v2/status,
// `amtool config show`): secrets never leave the daemon; everything else is shown as written.
#include "rest/alertmanager_api.h"

#include <catch2/catch.hpp>

using triaged::engine::AlertmanagerApi;

TEST_CASE("The configuration shown through the Alertmanager API hides every secret",
          "[alertmanager_api]") {
  const std::string in = R"(server:
  listen: 127.0.0.1:9470
auth:
  admin:
    bearer_token: s3cret-admin   # rotated monthly
    bearer_token_file: /etc/triaged/admin.token
  ingest:
    bearer_tokens_files: [/etc/triaged/ingest.tokens]
notifications:
  targets:
    - name: pd
      routing_key: R0UT1NG
      hmac_secret: |
        multi-line
        secret
      url: https://example/hook
    - name: jira
      password: "p@ss"
      api_key: [k1, k2]
      tokens:
        - one
        - two
      headers: {X-Team: noc}
    - name: gitlab
      headers: {Authorization: Bearer glpat-123}
      extra_headers:
        Authorization: Basic dXNlcjpwYXNz
)";
  std::string out = AlertmanagerApi::redact(in);
  for (const char* secret : {"s3cret-admin", "R0UT1NG", "multi-line", "secret\n", "p@ss", "k1",
                             "one", "two", "glpat-123", "dXNlcjpwYXNz"})
    CHECK(out.find(secret) == std::string::npos);
  CHECK(out.find("bearer_token: <secret>") != std::string::npos);
  CHECK(out.find("bearer_token_file: /etc/triaged/admin.token") != std::string::npos);
  CHECK(out.find("routing_key: <secret>") != std::string::npos);
  CHECK(out.find("api_key: [<secret>]") != std::string::npos);
  CHECK(out.find("- <secret>") != std::string::npos);
  CHECK(out.find("url: https://example/hook") != std::string::npos);
  CHECK(out.find("headers: {X-Team: noc}") != std::string::npos);
  CHECK(out.find("listen: 127.0.0.1:9470") != std::string::npos);
}
