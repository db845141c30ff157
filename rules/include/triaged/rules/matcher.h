// Label matchers in Prometheus syntax: name="v", name!="v", name=~"re", name!~"re", alone or
// as a selector {a="x", b=~"y.*"}. Regexes are RE2, fully anchored as in Prometheus.
// Immutable after parsing; safe to share across threads.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace triaged::rules {

enum class MatchOp { kEqual, kNotEqual, kRegex, kNotRegex };

class Matcher {
 public:
  // Returns nullptr and sets *error on failure.
  static std::unique_ptr<Matcher> create(std::string name, MatchOp op, std::string value,
                                         std::string* error);
  const std::string& name() const { return name_; }
  MatchOp op() const { return op_; }
  const std::string& value() const { return value_; }
  // `v` is the label's value; an absent label matches as "" (Prometheus semantics).
  bool matches(std::string_view v) const;
  std::string str() const;

 private:
  Matcher() = default;
  std::string name_;
  MatchOp op_ = MatchOp::kEqual;
  std::string value_;
  std::unique_ptr<RE2> re_;
};

using Matchers = std::vector<std::unique_ptr<Matcher>>;

// Parses `{a="x",b!~"y"}` or a bare list `a="x", b!~"y"`. On error returns false and sets
// *error with the character offset and what was expected.
bool parseMatchers(std::string_view text, Matchers& out, std::string* error);

}  // namespace triaged::rules
