// Reading an input's section: the keys every input has (name, type, the IngestOptions keys)
// plus the plugin's own, all strict, all errors reported with file:line and key path.
#pragma once

#include <functional>

#include "triaged/api/ingest.h"
#include "triaged/config/config.h"
#include "triaged/config/reader.h"

namespace triaged::plugins {

// Reads `section` into `ingest` and, through `own`, the plugin's keys. Appends every error.
inline void readInputSection(const config::PluginSection& section, config::ConfigErrors& errors,
                             api::IngestOptions& ingest,
                             const std::vector<std::pair<std::string, api::Severity>>& severities,
                             const std::function<void(config::MapReader&)>& own) {
  config::ErrorSink sink(section.file, errors);
  config::MapReader r(section.node, section.path(), sink);
  r.take("type");
  std::string name;
  r.getString("name", name);
  if (own) own(r);
  ingest.read(r, severities);
  ingest.name = section.name;
  r.finish();
}

// Stream inputs (ndjson_tcp, syslog) have no request that could carry a token: a bearer_token
// there would look like protection and do nothing, so it is refused, naming the key.
inline void refuseBearerToken(const config::PluginSection& s, config::ConfigErrors& errors,
                              const char* instead) {
  for (const char* key : {"bearer_token", "bearer_token_file"}) {
    YAML::Node n = s.node[key];
    if (!n.IsDefined()) continue;
    bool mark = !n.Mark().is_null();
    errors.push_back({s.file, mark ? n.Mark().line + 1 : s.line, mark ? n.Mark().column + 1 : 0,
                      s.path() + "." + key,
                      std::string("is not supported by this input: a stream carries no "
                                  "Authorization header, so a token would protect nothing; ") +
                          instead});
  }
}

// Parses a section known to be valid (after validation); throws on a surprise.
template <class Config>
Config parseValid(const config::PluginSection& section,
                  const std::function<void(const config::PluginSection&, config::ConfigErrors&,
                                           Config&)>& parse) {
  Config c;
  config::ConfigErrors errors;
  parse(section, errors, c);
  if (!errors.empty()) throw config::ConfigException(std::move(errors));
  return c;
}

}  // namespace triaged::plugins
