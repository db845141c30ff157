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

TEST_CASE("A segment matches whole: no prefix, no longer name, slashes repeated count once",
          "[router]") {
  Router r;
  r.add({Verb::get, "/api/v1/alerts", RouteGroup::kRead, nullptr});
  r.add({Verb::get, "/api/v1/alertsx/{a}/and/{b}", RouteGroup::kRead, nullptr});
  r.add({Verb::get, "/api/v1/{}", RouteGroup::kRead, nullptr});  // "{}" is a literal segment
  std::vector<std::pair<std::string_view, std::string_view>> params;
  bool mismatch = false;
  auto at = [&](std::string_view path) -> std::string {
    auto* m = r.match(Verb::get, path, params, &mismatch, nullptr);
    return m ? m->pattern : "";
  };
  CHECK(at("/api/v1/alert") == "");
  CHECK(at("/api/v1/alertsy") == "");
  CHECK(at("//api///v1/alerts//") == "/api/v1/alerts");
  CHECK(at("/api/v1/alertsx/1/and/2") == "/api/v1/alertsx/{a}/and/{b}");
  REQUIRE(params.size() == 2);
  CHECK(params[0] == std::pair<std::string_view, std::string_view>{"a", "1"});
  CHECK(params[1] == std::pair<std::string_view, std::string_view>{"b", "2"});
  CHECK(at("/api/v1/alertsx/1/andx/2") == "");
  CHECK(at("/api/v1/alertsx/1/and") == "");
  CHECK(at("/api/v1/{}") == "/api/v1/{}");
  CHECK(at("/api/v1/x") == "");
  CHECK(at("") == "");
  CHECK(at("/") == "");
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

TEST_CASE("A path without parameters is found as the walk in order would find it", "[router]") {
  // Exact paths are looked up rather than walked; the first route in order still wins.
  Router r;
  r.add({Verb::get, "/api/v1/alerts/{fingerprint}", RouteGroup::kRead, nullptr});
  r.add({Verb::get, "/api/v1/alerts/stats", RouteGroup::kAdmin, nullptr});
  r.add({Verb::post, "/x/y", RouteGroup::kIngest, nullptr});
  r.add({Verb::get, "/x/{p}", RouteGroup::kRead, nullptr});
  r.add({Verb::get, "/x/y", RouteGroup::kAdmin, nullptr});
  r.add({Verb::post, "/api/v1/events", RouteGroup::kIngest, nullptr});
  r.add({Verb::get, "/api/v1/events", RouteGroup::kRead, nullptr});
  std::vector<std::pair<std::string_view, std::string_view>> params;
  bool mismatch = false;
  std::string allow;
  // The parameter route was added first: it takes "stats".
  auto* m = r.match(Verb::get, "/api/v1/alerts/stats", params, &mismatch, &allow);
  REQUIRE(m);
  CHECK(m->pattern == "/api/v1/alerts/{fingerprint}");
  REQUIRE(params.size() == 1);
  CHECK(params[0].second == "stats");
  // POST /x/y first; for GET the parameter route comes before the later GET /x/y.
  CHECK(r.match(Verb::post, "/x/y", params, &mismatch, &allow)->group == RouteGroup::kIngest);
  m = r.match(Verb::get, "/x/y", params, &mismatch, &allow);
  REQUIRE(m);
  CHECK(m->pattern == "/x/{p}");
  // One path under two methods; HEAD is GET's; another method is a 405 naming both.
  CHECK(r.match(Verb::post, "/api/v1/events", params, &mismatch, &allow)->group ==
        RouteGroup::kIngest);
  params.emplace_back("stale", "value");
  m = r.match(Verb::head, "/api/v1/events", params, &mismatch, &allow);
  REQUIRE(m);
  CHECK(m->group == RouteGroup::kRead);
  CHECK(params.empty());
  CHECK_FALSE(mismatch);
  CHECK(r.match(Verb::delete_, "/api/v1/events", params, &mismatch, &allow) == nullptr);
  CHECK(mismatch);
  CHECK(allow == "POST, GET");
  // Repeated slashes take the walk, to the same route.
  CHECK(r.match(Verb::get, "//api/v1//events", params, &mismatch, &allow)->group ==
        RouteGroup::kRead);
}
