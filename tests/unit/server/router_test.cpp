#include <catch2/catch.hpp>

#include "triaged/api/http.h"

using namespace triaged::api;

TEST_CASE("Routes match by segment and capture parameters", "[router]") {
  Router r;
  r.add({Verb::get, "/api/v1/alerts", RouteGroup::kRead, nullptr});
  r.add({Verb::get, "/api/v1/alerts/{fingerprint}", RouteGroup::kRead, nullptr});
  r.add({Verb::post, "/api/v1/alerts/{fingerprint}", RouteGroup::kAdmin, nullptr});
  std::vector<std::pair<std::string_view, std::string_view>> params;
  bool mismatch = false;
  std::string allow;
  auto* m = r.match(Verb::get, "/api/v1/alerts/abc", params, &mismatch, &allow);
  REQUIRE(m);
  CHECK(m->pattern == "/api/v1/alerts/{fingerprint}");
  REQUIRE(params.size() == 1);
  CHECK(params[0].second == "abc");
  CHECK(r.match(Verb::post, "/api/v1/alerts/abc", params, &mismatch, &allow)->group ==
        RouteGroup::kAdmin);
  CHECK(r.match(Verb::get, "/api/v1/alerts/", params, &mismatch, &allow)->pattern ==
        "/api/v1/alerts");
  CHECK(r.match(Verb::get, "/api/v1/alerts/a/b", params, &mismatch, &allow) == nullptr);
  CHECK_FALSE(mismatch);
  CHECK(r.match(Verb::delete_, "/api/v1/alerts", params, &mismatch, &allow) == nullptr);
  CHECK(mismatch);
  CHECK(allow == "GET");
}

TEST_CASE("Query parameters are percent-decoded and may repeat", "[router]") {
  HttpRequest q;
  q.query = "filter=a%3D%22b%22&filter=c&x=1+2&empty=";
  std::string v;
  CHECK(q.queryParam("x", v));
  CHECK(v == "1 2");
  CHECK(q.queryParam("empty", v));
  CHECK(v.empty());
  CHECK_FALSE(q.queryParam("missing", v));
  CHECK(q.queryParams("filter") == std::vector<std::string>{"a=\"b\"", "c"});
  CHECK(percentDecode("%zz%4") == "%zz%4");
}
