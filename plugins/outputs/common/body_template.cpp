#include "outputs/common/body_template.h"

#include <cctype>
#include <cstdlib>

#include "triaged/api/http.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins::outputs {

namespace {

bool lookup(simdjson::dom::element e, const std::vector<std::string>& path,
            simdjson::dom::element& out) {
  for (const auto& key : path) {
    if (e.is_array()) {
      char* end = nullptr;
      unsigned long i = std::strtoul(key.c_str(), &end, 10);
      if (key.empty() || *end != '\0' || e.at(i).get(e)) return false;
    } else if (e.is_object()) {
      if (e.at_key(key).get(e)) return false;
    } else {
      return false;
    }
  }
  out = e;
  return true;
}

// A JSON string's content (the escaped characters between the quotes).
std::string escapedText(std::string_view s) {
  std::string quoted;
  api::JsonWriter(quoted).value(s);
  return quoted.substr(1, quoted.size() - 2);
}

}  // namespace

bool BodyTemplate::compilePath(std::string_view text, std::string* error) {
  path_ = true;
  return parse(text, error);
}

bool BodyTemplate::compile(std::string_view text, std::string* error) {
  path_ = false;
  if (!parse(text, error)) return false;
  // Valid JSON whatever the event holds: check with every placeholder absent.
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string sample = render(nullptr);
  if (auto err = parser.parse(sample).get(root)) {
    *error = std::string("is not valid JSON with its placeholders filled: ") +
             simdjson::error_message(err);
    return false;
  }
  return true;
}

bool BodyTemplate::parse(std::string_view text, std::string* error) {
  parts_.clear();
  bool in_string = false;
  std::string literal;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "{{") == 0) {
      size_t close = text.find("}}", i + 2);
      if (close == std::string_view::npos) {
        *error = "offset " + std::to_string(i) + ": \"{{\" without a closing \"}}\"";
        return false;
      }
      std::string_view inner = text.substr(i + 2, close - i - 2);
      while (!inner.empty() && std::isspace(static_cast<unsigned char>(inner.front())))
        inner.remove_prefix(1);
      while (!inner.empty() && std::isspace(static_cast<unsigned char>(inner.back())))
        inner.remove_suffix(1);
      Part p;
      p.in_string = in_string;
      size_t start = 0;
      while (start <= inner.size()) {
        size_t dot = inner.find('.', start);
        if (dot == std::string_view::npos) dot = inner.size();
        std::string key(inner.substr(start, dot - start));
        bool ok = !key.empty();
        for (char c : key)
          ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        if (!ok) {
          *error =
              "offset " + std::to_string(i) + ": \"{{" + std::string(inner) +
              "}}\" is not a field path (keys and indexes joined by dots, e.g. incident.title)";
          return false;
        }
        p.path.push_back(std::move(key));
        start = dot + 1;
      }
      if (!literal.empty()) parts_.push_back({std::move(literal), {}, false});
      literal.clear();
      parts_.push_back(std::move(p));
      i = close + 2;
      continue;
    }
    char c = text[i];
    if (c == '"') in_string = !in_string;
    literal += c;
    if (c == '\\' && in_string && i + 1 < text.size()) literal += text[++i];
    ++i;
  }
  if (!literal.empty()) parts_.push_back({std::move(literal), {}, false});
  return true;
}

std::string BodyTemplate::render(const simdjson::dom::element* event) const {
  std::string out;
  for (const auto& p : parts_) {
    if (p.path.empty()) {
      out += p.literal;
      continue;
    }
    simdjson::dom::element v;
    bool found = event && lookup(*event, p.path, v);
    if (path_) {
      if (found && !v.is_null()) {
        std::string_view s;
        out += api::percentEncode(!v.get_string().get(s) ? std::string(s) : simdjson::minify(v));
      }
      continue;
    }
    if (!p.in_string) {
      out += found ? simdjson::minify(v) : std::string("null");
      continue;
    }
    if (!found || v.is_null()) continue;
    std::string_view s;
    if (!v.get_string().get(s))
      out += escapedText(s);
    else
      out += escapedText(simdjson::minify(v));
  }
  return out;
}

}  // namespace triaged::plugins::outputs
