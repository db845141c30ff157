#include "triaged/rules/matcher.h"

namespace triaged::rules {

std::unique_ptr<Matcher> Matcher::create(std::string name, MatchOp op, std::string value,
                                         std::string* error) {
  std::unique_ptr<Matcher> m(new Matcher());
  m->name_ = std::move(name);
  m->op_ = op;
  m->value_ = std::move(value);
  if (op == MatchOp::kRegex || op == MatchOp::kNotRegex) {
    RE2::Options o;
    o.set_log_errors(false);
    o.set_dot_nl(true);  // Prometheus matches "." against newlines too
    m->re_ = std::make_unique<RE2>("^(?:" + m->value_ + ")$", o);
    if (!m->re_->ok()) {
      if (error) *error = "invalid regular expression \"" + m->value_ + "\": " + m->re_->error();
      return nullptr;
    }
  }
  return m;
}

bool Matcher::matches(std::string_view v) const {
  switch (op_) {
    case MatchOp::kEqual:
      return v == value_;
    case MatchOp::kNotEqual:
      return v != value_;
    case MatchOp::kRegex:
      return RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
    case MatchOp::kNotRegex:
      return !RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
  }
  return false;
}

std::string Matcher::str() const {
  static const char* kOps[] = {"=", "!=", "=~", "!~"};
  std::string out = name_ + kOps[static_cast<int>(op_)] + "\"";
  for (char c : value_) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

bool parseMatchers(std::string_view text, Matchers& out, std::string* error) {
  size_t i = 0;
  auto fail = [&](const std::string& what) {
    if (error) *error = "at character " + std::to_string(i + 1) + ": " + what;
    return false;
  };
  auto skip = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
  };
  skip();
  bool braces = i < text.size() && text[i] == '{';
  if (braces) ++i;
  Matchers result;
  while (true) {
    skip();
    if (i >= text.size() || (braces && text[i] == '}')) break;
    size_t start = i;
    auto is_name = [](char c, bool first) {
      return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (!first && c >= '0' && c <= '9');
    };
    while (i < text.size() && is_name(text[i], i == start)) ++i;
    if (i == start) return fail("expected a label name");
    std::string name(text.substr(start, i - start));
    skip();
    MatchOp op;
    if (text.substr(i, 2) == "=~")
      op = MatchOp::kRegex, i += 2;
    else if (text.substr(i, 2) == "!~")
      op = MatchOp::kNotRegex, i += 2;
    else if (text.substr(i, 2) == "!=")
      op = MatchOp::kNotEqual, i += 2;
    else if (text.substr(i, 1) == "=")
      op = MatchOp::kEqual, i += 1;
    else
      return fail("expected one of =, !=, =~, !~ after \"" + name + "\"");
    skip();
    if (i >= text.size() || (text[i] != '"' && text[i] != '\'' && text[i] != '`'))
      return fail("expected a quoted value for \"" + name + "\"");
    char q = text[i++];
    std::string value;
    bool closed = false;
    while (i < text.size()) {
      char c = text[i++];
      if (c == q) {
        closed = true;
        break;
      }
      if (c == '\\' && q != '`' && i < text.size()) {
        char e = text[i++];
        switch (e) {
          case 'n':
            value.push_back('\n');
            break;
          case 't':
            value.push_back('\t');
            break;
          default:
            value.push_back(e);
        }
        continue;
      }
      value.push_back(c);
    }
    if (!closed) return fail("unterminated string for \"" + name + "\"");
    std::string err;
    auto m = Matcher::create(std::move(name), op, std::move(value), &err);
    if (!m) return fail(err);
    result.push_back(std::move(m));
    skip();
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    if (i >= text.size() || (braces && text[i] == '}')) break;
    return fail("expected , or the end of the selector");
  }
  if (braces) {
    if (i >= text.size() || text[i] != '}') return fail("expected }");
    ++i;
  }
  skip();
  if (i != text.size()) return fail("unexpected text after the selector");
  for (auto& m : result) out.push_back(std::move(m));
  return true;
}

}  // namespace triaged::rules
