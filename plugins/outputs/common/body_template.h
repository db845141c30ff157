// Body templates of the generic webhook and the ticket target: JSON text with {{path}}
// placeholders, where a path names a field of the event JSON by keys and array indexes
// ("incident.title", "incident.services.0", "event"). A placeholder outside a JSON string becomes
// the field's JSON value (null when absent); inside a string literal it becomes the field's text,
// escaped for that string ("" when absent). So a template that is valid JSON stays valid JSON
// whatever the event holds; compile() checks that once, at configuration time.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

namespace triaged::plugins::outputs {

class BodyTemplate {
 public:
  // Compiles `text`; on error returns false with *error naming the offset and what is wrong.
  bool compile(std::string_view text, std::string* error);
  // Compiles a URL path ("/issues/{{ticket.id}}.json"): a placeholder becomes the field's
  // text, percent-encoded ("" when absent); no JSON check.
  bool compilePath(std::string_view text, std::string* error);
  // Renders the template for an event (its parsed JSON; nullptr: every field absent).
  std::string render(const simdjson::dom::element* event) const;

 private:
  struct Part {
    std::string literal;            // text, or
    std::vector<std::string> path;  // a placeholder
    bool in_string = false;         // inside a JSON string literal of the template
  };
  bool parse(std::string_view text, std::string* error);
  std::vector<Part> parts_;
  bool path_ = false;
};

}  // namespace triaged::plugins::outputs
