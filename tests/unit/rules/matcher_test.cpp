#include "triaged/rules/matcher.h"

#include <catch2/catch.hpp>

using namespace triaged::rules;

TEST_CASE("Matchers parse every Prometheus operator", "[rules]") {
  Matchers m;
  std::string err;
  REQUIRE(parseMatchers(R"({a="x", b!="y", c=~"we.*", d!~"z|w"})", m, &err));
  REQUIRE(m.size() == 4);
  CHECK(m[0]->op() == MatchOp::kEqual);
  CHECK(m[1]->op() == MatchOp::kNotEqual);
  CHECK(m[2]->op() == MatchOp::kRegex);
  CHECK(m[3]->op() == MatchOp::kNotRegex);
  CHECK(m[2]->matches("web"));
  CHECK_FALSE(m[2]->matches("aweb"));  // anchored
  CHECK(m[3]->matches("zz"));
  CHECK_FALSE(m[3]->matches("w"));
}

TEST_CASE("A bare matcher list without braces parses too", "[rules]") {
  Matchers m;
  std::string err;
  REQUIRE(parseMatchers(R"(severity="critical",team=~'ops')", m, &err));
  CHECK(m.size() == 2);
  CHECK(m[1]->value() == "ops");
}

TEST_CASE("Escapes in matcher values are decoded", "[rules]") {
  Matchers m;
  std::string err;
  REQUIRE(parseMatchers(R"({a="say \"hi\"\n"})", m, &err));
  CHECK(m[0]->value() == "say \"hi\"\n");
  CHECK(m[0]->str() == R"(a="say \"hi\"\n")");
}

TEST_CASE("Bad matchers name what is wrong and where", "[rules]") {
  struct Case {
    const char* text;
    const char* expect;
  };
  for (auto c :
       {Case{"{a=}", "expected a quoted value"}, Case{"{a~\"x\"}", "expected one of"},
        Case{"{a=\"x\"", "expected }"}, Case{"{a=\"x}", "unterminated"},
        Case{"{a=~\"(\"}", "invalid regular expression"}, Case{"{=\"x\"}", "expected a label name"},
        Case{"{a=\"x\"} junk", "unexpected text"}}) {
    Matchers m;
    std::string err;
    INFO(c.text);
    CHECK_FALSE(parseMatchers(c.text, m, &err));
    CHECK(err.find(c.expect) != std::string::npos);
    CHECK(err.find("at character") == 0);
    CHECK(m.empty());
  }
}
