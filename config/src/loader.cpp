#include "triaged/config/loader.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "notifications.h"
#include "triaged/config/reader.h"
#include "triaged/config/rule_files.h"

namespace triaged::config {
namespace {

// The most of one database this SQLite maps (its build's SQLITE_MAX_MMAP_SIZE): a larger
// state.mmap_bytes would be cut down silently.
uint64_t sqliteMaxMmapBytes() {
  for (int i = 0; const char* o = sqlite3_compileoption_get(i); ++i)
    if (std::string_view(o).rfind("MAX_MMAP_SIZE=", 0) == 0)
      return std::strtoull(o + 14, nullptr, 0);
  return 0x7fff0000;  // SQLite's default on Linux
}

void readServer(MapReader& r, ServerConfig& s) {
  YAML::Node listen_node = r.node()["listen"];
  r.getString("listen", s.listen);
  if (!parseListen(s.listen, s.host, s.port)) {
    r.sink().add(listen_node, r.childPath("listen"),
                 "invalid listen address \"" + s.listen + "\" (use host:port, [v6]:port or :port)");
  }
  r.getUnsigned("io_threads", s.io_threads, 256);
  r.getUnsigned("max_connections", s.max_connections, 1'000'000);
  r.getUnsigned("max_header_bytes", s.max_header_bytes, 1 << 20);
  r.getUnsigned("max_body_bytes", s.max_body_bytes, uint64_t{1} << 32);
  if (s.max_header_bytes < 1024) {
    r.sink().add(r.node()["max_header_bytes"], r.childPath("max_header_bytes"),
                 "must be at least 1024");
  }
  r.getDuration("header_timeout", s.header_timeout, Duration{1});
  r.getDuration("body_timeout", s.body_timeout, Duration{1});
  r.getDuration("idle_timeout", s.idle_timeout, Duration{1});
  r.getDuration("write_timeout", s.write_timeout, Duration{1});
  r.getDuration("handshake_timeout", s.handshake_timeout, Duration{1});
  MapReader tls(r.take("tls"), r.childPath("tls"), r.sink());
  tls.getString("cert_file", s.tls.cert_file);
  tls.getString("key_file", s.tls.key_file);
  tls.getString("client_ca_file", s.tls.client_ca_file);
  tls.getEnum("client_certs", s.tls.client_certs, {"optional", "required"});
  tls.finish();
  if (!s.tls.client_ca_file.empty() && s.tls.cert_file.empty())
    r.sink().add(r.node()["tls"], r.childPath("tls.client_ca_file"),
                 "needs cert_file and key_file (mutual TLS is TLS)");
  if (s.tls.cert_file.empty() != s.tls.key_file.empty()) {
    r.sink().add(r.node()["tls"], r.childPath("tls"), "cert_file and key_file go together");
  }
  auto resolve = [&](std::string& f) {
    if (!f.empty() && std::filesystem::path(f).is_relative())
      f = (r.sink().baseDir() / f).lexically_normal().string();
  };
  resolve(s.tls.cert_file);
  resolve(s.tls.key_file);
  resolve(s.tls.client_ca_file);
  for (const auto* f : {&s.tls.cert_file, &s.tls.key_file, &s.tls.client_ca_file}) {
    if (!f->empty() && !std::filesystem::exists(*f))
      r.sink().add(r.node()["tls"], r.childPath("tls"), "file \"" + *f + "\" does not exist");
  }
  r.finish();
}

// bearer_token / bearer_token_file / bearer_tokens_files of an auth group or a user.
void readTokens(MapReader& r, std::vector<std::string>& tokens) {
  std::string single;
  r.getSecret("bearer_token", single);
  if (!single.empty()) tokens.push_back(single);
  std::vector<std::string> files;
  YAML::Node files_node = r.node()["bearer_tokens_files"];
  r.getStringList("bearer_tokens_files", files);
  for (size_t i = 0; i < files.size(); ++i) {
    // Each file may hold several tokens, one per line, so tokens can be rotated without downtime.
    std::filesystem::path p(files[i]);
    if (p.is_relative()) p = r.sink().baseDir() / p;
    std::string text;
    std::string why;
    if (!readTextFile(p, text, why)) {
      r.sink().add(files_node[i],
                   r.childPath("bearer_tokens_files") + "[" + std::to_string(i) + "]",
                   "cannot read token file \"" + files[i] + "\": " + why);
      continue;
    }
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty() && line[0] != '#') tokens.push_back(line);
    }
  }
}

void readAuthGroup(MapReader& parent, const char* key, AuthGroup& g) {
  MapReader r(parent.take(key), parent.childPath(key), parent.sink());
  readTokens(r, g.bearer_tokens);
  r.getStringList("client_names", g.client_names);
  r.finish();
}

void readUsers(MapReader& auth, AuthConfig& a) {
  YAML::Node list = auth.take("users");
  auto& sink = auth.sink();
  std::set<std::string> names;
  forEachInList(list, "auth.users", sink, [&](const YAML::Node& n, const std::string& path) {
    MapReader r(n, path, sink);
    User u;
    u.file = sink.file();
    u.line = n.Mark().line + 1;
    r.getString("name", u.name, true);
    r.getEnum("role", u.role, {"viewer", "operator", "admin"});
    readTokens(r, u.bearer_tokens);
    r.getStringList("client_names", u.client_names);
    if (!u.name.empty() && !names.insert(u.name).second)
      sink.add(n["name"], path + ".name", "user \"" + u.name + "\" is defined twice");
    if (u.bearer_tokens.empty() && u.client_names.empty())
      sink.add(n, path,
               "has no token (bearer_token, bearer_token_file or bearer_tokens_files) and no "
               "client_names");
    r.finish();
    a.users.push_back(std::move(u));
  });
  // One token, one identity: a token shared by two users (or a user and a group) would make
  // the actor on the timeline a guess.
  std::map<std::string, std::string> owner;
  auto claim = [&](const std::string& token, const std::string& who) {
    auto [it, fresh] = owner.emplace(token, who);
    if (!fresh && it->second != who)
      sink.add(list, "auth.users",
               "a token of " + who + " is also a token of " + it->second +
                   "; each token must name one identity");
  };
  for (const auto& t : a.read.bearer_tokens) claim(t, "auth.read");
  for (const auto& t : a.admin.bearer_tokens) claim(t, "auth.admin");
  for (const auto& t : a.ingest.bearer_tokens) claim(t, "auth.ingest");
  for (const auto& u : a.users)
    for (const auto& t : u.bearer_tokens) claim(t, "user \"" + u.name + "\"");
  // The same for client certificates' names.
  std::map<std::string, std::string> cn_owner;
  auto claimName = [&](const std::string& cn, const std::string& who) {
    auto [it, fresh] = cn_owner.emplace(cn, who);
    if (!fresh && it->second != who)
      sink.add(list, "auth",
               "client name \"" + cn + "\" is given to " + who + " and to " + it->second +
                   "; each must name one identity");
  };
  for (const auto& n : a.read.client_names) claimName(n, "auth.read");
  for (const auto& n : a.admin.client_names) claimName(n, "auth.admin");
  for (const auto& n : a.ingest.client_names) claimName(n, "auth.ingest");
  for (const auto& u : a.users)
    for (const auto& n : u.client_names) claimName(n, "user \"" + u.name + "\"");
}

void readStream(MapReader& r, StreamConfig& s) {
  r.getUnsigned("max_clients", s.max_clients, 100000);
  r.getUnsigned("buffer_events", s.buffer_events, 10'000'000);
  r.getUnsigned("client_buffer_bytes", s.client_buffer_bytes, uint64_t{1} << 34);
  r.getDuration("heartbeat_interval", s.heartbeat_interval, Duration{1000});
  r.getDuration("flush_interval", s.flush_interval);
  r.getDuration("resume_window", s.resume_window);
  if (s.buffer_events < 16)
    r.sink().add(r.node()["buffer_events"], r.childPath("buffer_events"), "must be at least 16");
  if (s.client_buffer_bytes < 65536)
    r.sink().add(r.node()["client_buffer_bytes"], r.childPath("client_buffer_bytes"),
                 "must be at least 65536 (64 KiB)");
  if (s.flush_interval > Duration{1000})
    r.sink().add(r.node()["flush_interval"], r.childPath("flush_interval"),
                 "must be at most 1s (the console's live updates wait this long at most)");
  r.finish();
}

void readConsole(MapReader& r, ConsoleConfig& c) {
  r.getBool("enabled", c.enabled);
  YAML::Node fa = r.node()["frame_ancestors"];
  r.getStringList("frame_ancestors", c.frame_ancestors);
  for (size_t i = 0; i < c.frame_ancestors.size(); ++i) {
    const auto& v = c.frame_ancestors[i];
    // A source expression of CSP: no separators that would end the directive.
    if (v.empty() || v.find_first_of(";, \t\r\n\"") != std::string::npos)
      r.sink().add(fa[i], r.childPath("frame_ancestors") + "[" + std::to_string(i) + "]",
                   "is not a CSP source (e.g. 'self' or https://wall.example.org)");
  }
  r.finish();
}

void readPipeline(MapReader& r, PipelineConfig& p) {
  r.getUnsigned("shards", p.shards, 256);
  r.getUnsigned("queue_batches", p.queue_batches, 1 << 20);
  r.getUnsigned("queue_bytes", p.queue_bytes, uint64_t{1} << 40);
  r.getUnsigned("max_batch_events", p.max_batch_events, 1 << 20);
  r.getDuration("retry_after", p.retry_after, Duration{1000});
  r.getDuration("resolved_retention", p.resolved_retention);
  {
    MapReader f(r.take("flapping"), r.childPath("flapping"), r.sink());
    f.getBool("enabled", p.flapping_enabled);
    f.getDouble("low_percent", p.flapping_low_percent, 0, 100);
    f.getDouble("high_percent", p.flapping_high_percent, 0, 100);
    if (p.flapping_low_percent > p.flapping_high_percent)
      r.sink().add(f.node(), r.childPath("flapping"), "low_percent must not exceed high_percent");
    f.finish();
  }
  if (p.queue_batches == 0)
    r.sink().add(r.node()["queue_batches"], r.childPath("queue_batches"), "must be at least 1");
  if (p.queue_bytes < (1u << 20))
    r.sink().add(r.node()["queue_bytes"], r.childPath("queue_bytes"),
                 "must be at least 1048576 (1 MiB)");
  if (p.max_batch_events == 0)
    r.sink().add(r.node()["max_batch_events"], r.childPath("max_batch_events"),
                 "must be at least 1");
  r.finish();
}

// `header_files`: headers whose values are secrets kept in files (an API key), one value per
// file, trailing whitespace dropped.
void readInputs(MapReader& root, Config& c) {
  YAML::Node list = root.take("inputs");
  std::set<std::string> names;
  forEachInList(list, "inputs", root.sink(), [&](const YAML::Node& n, const std::string& path) {
    if (!n.IsMap()) {
      root.sink().add(n, path, "expected a mapping with name and type");
      return;
    }
    PluginSection s;
    s.file = root.sink().file();
    s.line = n.Mark().line + 1;
    s.index = c.inputs.size();
    s.node = n;
    YAML::Node type = n["type"], name = n["name"];
    if (!type.IsDefined() || !type.IsScalar()) {
      root.sink().add(n, path + ".type", "is required (the input plugin, e.g. native_json)");
    } else {
      s.type = type.Scalar();
    }
    s.name = name.IsDefined() && name.IsScalar() ? name.Scalar() : s.type;
    if (!names.insert(s.name).second) {
      root.sink().add(n, path + ".name", "duplicate input name \"" + s.name + "\"");
    }
    c.inputs.push_back(std::move(s));
  });
}

void readCorrelation(MapReader& r, CorrelationConfig& c) {
  r.getDuration("resolve_hold_down", c.resolve_hold_down);
  r.getDuration("reopen_window", c.reopen_window);
  r.getDuration("change_window", c.change_window);
  r.getDuration("close_after", c.close_after);
  r.getDuration("max_lateness", c.max_lateness);
  r.getStringList("default_group_by", c.default_group_by);
  r.getDuration("default_group_wait", c.default_group_wait);
  r.getDuration("default_group_interval", c.default_group_interval, Duration{1});
  r.getUnsigned("impact_services", c.impact_services, 1'000'000);
  r.getUnsigned("impact_cis", c.impact_cis, 1'000'000);
  r.getUnsigned("problem_incidents", c.problem_incidents, 1'000'000);
  r.getDuration("problem_window", c.problem_window, Duration{1});
  r.getUnsigned("timeline_max_entries", c.timeline_max_entries, 1'000'000);
  r.getUnsigned("timeline_max_bytes", c.timeline_max_bytes, uint64_t{1} << 30);
  if (c.timeline_max_bytes < 4096)
    r.sink().add(r.node()["timeline_max_bytes"], r.childPath("timeline_max_bytes"),
                 "must be at least 4096");
  if (c.problem_incidents < 1)
    r.sink().add(r.node()["problem_incidents"], r.childPath("problem_incidents"),
                 "must be at least 1");
  if (c.timeline_max_entries < 10)
    r.sink().add(r.node()["timeline_max_entries"], r.childPath("timeline_max_entries"),
                 "must be at least 10");
  YAML::Node m = r.take("priority_matrix");
  if (!m.IsDefined() || m.IsNull()) return;
  auto bad = [&] {
    r.sink().add(m, r.childPath("priority_matrix"),
                 "expected 3 rows (impact high, medium, low) of 3 priorities 1..5 (urgency high, "
                 "medium, low)");
  };
  if (!m.IsSequence() || m.size() != 3) return bad();
  int out[3][3];
  for (size_t i = 0; i < 3; ++i) {
    if (!m[i].IsSequence() || m[i].size() != 3) return bad();
    for (size_t j = 0; j < 3; ++j) {
      int v = 0;
      if (!m[i][j].IsScalar() || !YAML::convert<int>::decode(m[i][j], v) || v < 1 || v > 5)
        return bad();
      out[i][j] = v;
    }
  }
  std::copy(&out[0][0], &out[0][0] + 9, &c.priority_matrix[0][0]);
}

}  // namespace

ConfigPtr loadConfigOrThrow(const std::string& path, const SectionValidator& validate);

bool parseListen(const std::string& text, std::string& host, uint16_t& port) {
  std::string h, p;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string::npos) return false;
  }
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), ::isdigit)) return false;
  unsigned long v = std::stoul(p);
  if (v > 65535) return false;
  host = h.empty() ? "0.0.0.0" : h;
  port = static_cast<uint16_t>(v);
  return true;
}

ConfigPtr loadConfig(const std::string& path, const SectionValidator& validate) {
  try {
    return loadConfigOrThrow(path, validate);
  } catch (const YAML::Exception& e) {
    // A shape no check anticipated: still an error with a position, never a crash.
    ConfigError err{path, 0, 0, "", std::string("invalid configuration: ") + e.msg};
    if (!e.mark.is_null()) {
      err.line = e.mark.line + 1;
      err.column = e.mark.column + 1;
    }
    throw ConfigException({err});
  }
}

ConfigPtr loadConfigOrThrow(const std::string& path, const SectionValidator& validate) {
  auto c = std::make_shared<Config>();
  ConfigErrors errors;
  std::string text;
  YAML::Node doc;
  if (!path.empty()) {
    c->source_file = path;
    doc = loadYamlFile(path, errors, &text);
    if (!doc.IsDefined()) throw ConfigException(std::move(errors));
  }
  ErrorSink sink(path, errors);
  MapReader root(doc, "", sink);
  {
    MapReader r(root.take("server"), "server", sink);
    readServer(r, c->server);
  }
  {
    MapReader r(root.take("auth"), "auth", sink);
    readAuthGroup(r, "ingest", c->auth.ingest);
    readAuthGroup(r, "read", c->auth.read);
    readAuthGroup(r, "admin", c->auth.admin);
    readUsers(r, c->auth);
    bool names = !c->auth.ingest.client_names.empty() || !c->auth.read.client_names.empty() ||
                 !c->auth.admin.client_names.empty();
    for (const auto& u : c->auth.users) names = names || !u.client_names.empty();
    if (names && c->server.tls.client_ca_file.empty())
      sink.add(r.node(), "auth",
               "client_names need server.tls.client_ca_file (mutual TLS): without it no client "
               "certificate is asked for, and the names would match nothing");
    r.finish();
  }
  {
    MapReader r(root.take("stream"), "stream", sink);
    readStream(r, c->stream);
  }
  {
    MapReader r(root.take("console"), "console", sink);
    readConsole(r, c->console);
  }
  {
    MapReader r(root.take("state"), "state", sink);
    r.getEnum("backend", c->state.backend, {"sqlite", "postgresql"});
    bool pg = c->state.backend == "postgresql";
    if (r.has("postgresql") && !pg) {
      sink.add(r.node()["postgresql"], "state.postgresql",
               "is read only with backend: postgresql (backend is " + c->state.backend + ")");
      r.take("postgresql");
    }
    if (pg) {
      for (const char* k : {"directory", "cache_bytes", "mmap_bytes"})
        if (r.has(k))
          sink.add(r.node()[k], std::string("state.") + k,
                   "is SQLite's; with backend: postgresql the state is in the server of "
                   "state.postgresql.url (remove this key)");
      if (!r.has("postgresql"))
        sink.add(r.node(), "state.postgresql.url", "is required with backend: postgresql");
      MapReader p(r.take("postgresql"), "state.postgresql", sink);
      p.getString("url", c->state.postgresql.url, true);
      p.getSecret("password", c->state.postgresql.password);
      p.getDuration("connect_timeout", c->state.postgresql.connect_timeout, Duration{1000});
      p.finish();
    }
    r.getString("directory", c->state.directory);
    r.getEnum("durability", c->state.durability, {"sync", "async"});
    r.getDuration("checkpoint_interval", c->state.checkpoint_interval, Duration{100});
    r.getDuration("retention", c->state.retention, Duration{1000});
    r.getDuration("sla_retention", c->state.sla_retention, Duration{1000});
    r.getUnsigned("cache_bytes", c->state.cache_bytes, uint64_t{1} << 40);
    if (c->state.cache_bytes < (1u << 20))
      sink.add(r.node()["cache_bytes"], "state.cache_bytes", "must be at least 1048576 (1 MiB)");
    r.getUnsigned("mmap_bytes", c->state.mmap_bytes, uint64_t{1} << 40);
    if (uint64_t most = sqliteMaxMmapBytes(); c->state.mmap_bytes > most)
      sink.add(r.node()["mmap_bytes"], "state.mmap_bytes",
               "this SQLite maps at most " + std::to_string(most) + " bytes of a database");
    if (c->state.directory.empty()) sink.add(r.node(), "state.directory", "must not be empty");
    r.finish();
  }
  {
    MapReader r(root.take("ha"), "ha", sink);
    auto& h = c->ha;
    r.getBool("enabled", h.enabled);
    r.getString("node", h.node);
    r.getString("advertise_url", h.advertise_url);
    r.getDuration("lease", h.lease, Duration{2000});
    r.getDuration("renew_interval", h.renew_interval, Duration{100});
    if (h.enabled) {
      if (c->state.backend != "postgresql")
        sink.add(r.node()["enabled"], "ha.enabled",
                 "needs state.backend: postgresql (the nodes share the database and its lease)");
      if (h.advertise_url.empty())
        sink.add(r.node(), "ha.advertise_url",
                 "is required with ha.enabled: where clients reach this node (standbys send "
                 "them to the leader's)");
      if (h.renew_interval * 2 >= h.lease)
        sink.add(r.node()["renew_interval"], "ha.renew_interval",
                 "must be less than half of ha.lease (a renewal may be late once)");
      if (h.node.empty()) {
        char host[256] = {};
        gethostname(host, sizeof host - 1);
        h.node = host;
      }
    }
    r.finish();
  }
  {
    MapReader r(root.take("logging"), "logging", sink);
    r.getEnum("level", c->logging.level,
              {"trace", "debug", "info", "warn", "error", "critical", "off"});
    r.getEnum("format", c->logging.format, {"text", "json"});
    r.finish();
  }
  {
    MapReader r(root.take("shutdown"), "shutdown", sink);
    r.getDuration("drain_timeout", c->shutdown.drain_timeout);
    r.finish();
  }
  {
    MapReader r(root.take("pipeline"), "pipeline", sink);
    readPipeline(r, c->pipeline);
  }
  {
    MapReader r(root.take("correlation"), "correlation", sink);
    readCorrelation(r, c->correlation);
    r.finish();
  }
  {
    MapReader r(root.take("alertmanager_api"), "alertmanager_api", sink);
    YAML::Node labels = r.node()["labels"];
    r.getStringMap("labels", c->alertmanager_api.labels);
    static const char* kFields[] = {"source",  "resource", "check",
                                    "service", "severity", "summary"};
    for (const auto& [name, field] : c->alertmanager_api.labels) {
      bool label_ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
      for (char ch : name)
        label_ok = label_ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
      if (!label_ok)
        sink.add(labels[name], "alertmanager_api.labels." + name,
                 "is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)");
      if (std::find(std::begin(kFields), std::end(kFields), field) == std::end(kFields))
        sink.add(
            labels[name], "alertmanager_api.labels." + name,
            "must name a field: source, resource, check, service, severity or summary (got \"" +
                field + "\")");
    }
    r.finish();
  }
  YAML::Node rf_node = root.node()["rule_files"];
  root.getStringList("rule_files", c->rule_files);
  readInputs(root, *c);
  readNotifications(root, *c);
  root.finish();

  Sha256 hash;
  hash.update(text);
  resolveRuleFiles(c->rule_files, rf_node, sink, hash, c->rule_files_resolved);
  c->hash = hash.hex();

  if (c->server.io_threads == 0)
    c->server.io_threads = std::max(1u, std::thread::hardware_concurrency());
  if (c->pipeline.shards == 0)
    c->pipeline.shards = std::max(1u, std::thread::hardware_concurrency());

  if (validate) validate(*c, errors);  // plugins report too, so one run lists every error
  if (!errors.empty()) throw ConfigException(std::move(errors));
  return c;
}

}  // namespace triaged::config
