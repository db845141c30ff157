#include "rest/alertmanager_api.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "correlate/correlation_json.h"
#include "notify/notification_filter.h"
#include "rest/alerts_api.h"
#include "rest/json_body.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"
#include "triaged/build_info.h"
#include "triaged/rules/facts.h"
#include "triaged/rules/matcher.h"

namespace triaged::engine {

using api::HttpRequest;
using api::HttpResponse;
using api::JsonWriter;
using api::Responder;
using api::RouteGroup;
using api::Verb;

struct AlertmanagerApi::State {
  Settings settings;
  std::vector<std::pair<std::string, NotificationFilter>> receivers;
};

namespace {

using State = AlertmanagerApi::State;

// The receiver of what no target takes: the incident is kept in triaged only.
constexpr const char* kLocalReceiver = "triaged";

// An alert's labels as an Alertmanager client sees them: its own, then each mapped field the
// alert has no label of that name for (and that is not empty). Sorted by name.
using LabelSet = std::vector<std::pair<std::string, std::string>>;

LabelSet alertLabels(const CorrAlert& a, AlertStrings v, const AlertmanagerApi::Settings& s) {
  LabelSet out;
  v.forEachLabel(
      [&](const api::Label& l) { out.emplace_back(std::string(l.name), std::string(l.value)); });
  for (const auto& [name, field] : s.labels) {
    std::string_view unused;
    if (v.findLabel(name, unused)) continue;
    std::string value = field == "severity"   ? api::severityName(a.severity)
                        : field == "source"   ? std::string(v.field(AlertStrings::kSource))
                        : field == "resource" ? std::string(v.field(AlertStrings::kResource))
                        : field == "check"    ? std::string(v.field(AlertStrings::kCheck))
                        : field == "service"  ? std::string(v.field(AlertStrings::kService))
                                              : std::string(v.field(AlertStrings::kSummary));
    if (!value.empty()) out.emplace_back(name, std::move(value));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end(),
                        [](const auto& x, const auto& y) { return x.first == y.first; }),
            out.end());
  return out;
}

class LabelFacts final : public rules::Facts {
 public:
  explicit LabelFacts(const LabelSet& l) : l_(l) {}
  std::string_view get(std::string_view name) const override {
    auto it = std::lower_bound(l_.begin(), l_.end(), name,
                               [](const auto& p, std::string_view n) { return p.first < n; });
    return it != l_.end() && it->first == name ? std::string_view(it->second) : std::string_view();
  }

 private:
  const LabelSet& l_;
};

// Alertmanager's `filter` parameters: one matcher each (`name="v"`, `name=~"re"`, ...; an
// unquoted value is taken as written). Errors name the parameter.
bool parseFilters(const HttpRequest& req, rules::Matchers& out, std::string* error) {
  auto filters = req.queryParams("filter");
  for (size_t i = 0; i < filters.size(); ++i) {
    std::string f = filters[i];
    std::string err;
    rules::Matchers one;
    bool ok = rules::parseMatchers(f, one, &err);
    if (!ok && f.find('"') == std::string::npos) {  // name=value: quote the value
      size_t op = f.find_first_of("=!");
      size_t value = f.find_first_not_of("=!~", op);
      if (op != std::string::npos && op > 0) {
        std::string quoted = f.substr(0, value == std::string::npos ? f.size() : value) + '"';
        if (value != std::string::npos)
          for (char ch : f.substr(value)) {
            if (ch == '\\' || ch == '"') quoted += '\\';
            quoted += ch;
          }
        quoted += '"';
        one.clear();
        ok = rules::parseMatchers(quoted, one, &err);
      }
    }
    if (!ok || one.size() != 1) {
      *error = "filter[" + std::to_string(i) + "] \"" + f +
               "\": " + (ok ? std::string("one matcher per filter") : err);
      return false;
    }
    out.push_back(std::move(one.front()));
  }
  return true;
}

bool boolParam(const HttpRequest& req, const char* name, bool& out, std::string* error) {
  std::string v;
  if (!req.queryParam(name, v)) return true;
  if (v == "true" || v == "1") {
    out = true;
  } else if (v == "false" || v == "0") {
    out = false;
  } else {
    *error = std::string("query parameter \"") + name + "\" must be true or false";
    return false;
  }
  return true;
}

// What GET /api/v2/alerts and /alerts/groups select.
struct AlertQuery {
  rules::Matchers filter;
  bool active = true, silenced = true, inhibited = true, unprocessed = true;
  std::unique_ptr<RE2> receiver;

  bool parse(const HttpRequest& req, std::string* error) {
    if (!parseFilters(req, filter, error) || !boolParam(req, "active", active, error) ||
        !boolParam(req, "silenced", silenced, error) ||
        !boolParam(req, "inhibited", inhibited, error) ||
        !boolParam(req, "unprocessed", unprocessed, error))
      return false;
    std::string r;
    if (req.queryParam("receiver", r)) {
      RE2::Options o;
      o.set_log_errors(false);
      receiver = std::make_unique<RE2>("^(?:" + r + ")$", o);
      if (!receiver->ok()) {
        *error =
            "query parameter \"receiver\" is not a valid regular expression: " + receiver->error();
        return false;
      }
    }
    return true;
  }
  // Alertmanager's selection; an alert a maintenance window holds counts as silenced.
  bool takes(const CorrAlert& a, const LabelSet& labels) const {
    const SuppressionReasons* why = a.why.get();
    if (!active && !why) return false;
    if (why && !silenced && (!why->silences.empty() || !why->maintenance.empty())) return false;
    if (why && !inhibited && !why->inhibited_by.empty()) return false;
    LabelFacts f(labels);
    for (const auto& m : filter)
      if (!m->matches(f.get(m->name()))) return false;
    return true;
  }
  bool takesReceiver(const std::string& name) const {
    return !receiver || RE2::FullMatch(name, *receiver);
  }
};

std::vector<std::string> receiversOf(const State& st, const Correlator& c, const CorrAlert& a) {
  std::vector<std::string> out;
  const Incident* inc = a.incident ? c.incident(a.incident) : nullptr;
  if (inc)
    for (const auto& [name, filter] : st.receivers)
      if (filter.accepts("incident.opened", inc)) out.push_back(name);
  if (out.empty()) out.push_back(kLocalReceiver);
  return out;
}

void writeGettableAlert(JsonWriter& w, const CorrAlert& a, AlertStrings v, const LabelSet& labels,
                        const std::vector<std::string>& receivers) {
  w.beginObject();
  w.key("labels").beginObject();
  for (const auto& [k, val] : labels) w.field(k, val);
  w.endObject();
  w.key("annotations").beginObject();
  std::string_view generator;
  bool summary_seen = false;
  v.forEachAnnotation([&](const api::Label& an) {
    if (an.name == "generator_url") {
      generator = an.value;
      return;
    }
    summary_seen = summary_seen || an.name == "summary";
    w.field(an.name, an.value);
  });
  if (auto s = v.field(AlertStrings::kSummary); !s.empty() && !summary_seen) w.field("summary", s);
  w.endObject();
  if (!generator.empty()) w.field("generatorURL", generator);
  w.field("fingerprint", fingerprintHex(a.fingerprint));
  w.field("startsAt", api::formatRfc3339Ms(a.first_seen_ms));
  w.field("updatedAt", api::formatRfc3339Ms(a.changed_ms ? a.changed_ms : a.first_seen_ms));
  // When it will resolve is the source's to say (a resolution or the input's timeout).
  w.field("endsAt", "0001-01-01T00:00:00.000Z");
  w.key("receivers").beginArray();
  for (const auto& r : receivers) w.beginObject().field("name", r).endObject();
  w.endArray();
  w.key("status").beginObject();
  w.field("state", a.why ? "suppressed" : "active");
  w.key("silencedBy").beginArray();
  if (a.why)
    for (const auto& id : a.why->silences) w.value(id);
  w.endArray();
  w.key("inhibitedBy").beginArray();
  if (a.why)
    for (uint64_t src : a.why->inhibited_by) w.value(fingerprintHex(src));
  w.endArray();
  w.endObject();
  w.endObject();
}

// The firing alerts a query selects, each written once as a GettableAlert and handed to fn
// with its receivers, in arrival order.
template <class F>
void forEachSelected(const Correlator& c, const State& st, const AlertQuery& q, F&& fn) {
  c.forEachAlert([&](const CorrAlert& a) {
    if (a.status != api::Status::kFiring) return;
    StringsCopy copy(a.strings);
    AlertStrings v(copy.data());
    LabelSet labels = alertLabels(a, v, st.settings);
    if (!q.takes(a, labels)) return;
    auto receivers = receiversOf(st, c, a);
    std::string one;
    JsonWriter w(one);
    writeGettableAlert(w, a, v, labels, receivers);
    fn(a, std::move(one), receivers);
  });
}

// A group's labels: its incident's group key ("name=value,...") as labels, and `incident`.
LabelSet groupLabels(const Incident* inc) {
  LabelSet out;
  if (!inc) return out;
  size_t start = 0;
  const std::string& k = inc->group_key;
  while (start < k.size()) {
    size_t comma = k.find(',', start);
    if (comma == std::string::npos) comma = k.size();
    std::string part = k.substr(start, comma - start);
    size_t eq = part.find('=');
    if (eq != std::string::npos && eq > 0 && !part.substr(eq + 1).empty())
      out.emplace_back(part.substr(0, eq), part.substr(eq + 1));
    start = comma + 1;
  }
  out.emplace_back("incident", std::to_string(inc->id));
  std::sort(out.begin(), out.end());
  return out;
}

// Alertmanager's silence filter: a silence matches when every filter matcher matches the
// label set made of the silence's equality matchers (name="value").
bool silenceMatches(const Silence& s, const rules::Matchers& filter) {
  LabelSet eq;
  for (const auto& m : s.matchers)
    if (m->op() == rules::MatchOp::kEqual) eq.emplace_back(m->name(), m->value());
  std::sort(eq.begin(), eq.end());
  LabelFacts f(eq);
  for (const auto& m : filter)
    if (!m->matches(f.get(m->name()))) return false;
  return true;
}

// Alertmanager v2 PostableSilence: {"id"?, "matchers": [{"name","value","isRegex","isEqual"}],
// "startsAt", "endsAt", "createdBy", "comment"}; "changeId" is ours.
bool readSilence(Body& b, Silence& s) {
  simdjson::dom::array ms;
  if (b.root["matchers"].get_array().get(ms) || ms.size() == 0) {
    b.error = "field \"matchers\" must be a non-empty array";
    return false;
  }
  size_t i = 0;
  for (auto m : ms) {
    std::string where = "matchers[" + std::to_string(i++) + "]";
    std::string_view name, value;
    bool regex = false, equal = true;
    if (m["name"].get_string().get(name) || m["value"].get_string().get(value)) {
      b.error = where + ": name and value must be strings";
      return false;
    }
    bool label = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char ch : name)
      label = label && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    if (!label) {
      b.error = where + ".name \"" + std::string(name) +
                "\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)";
      return false;
    }
    if (m["isRegex"].error() != simdjson::NO_SUCH_FIELD && m["isRegex"].get_bool().get(regex)) {
      b.error = where + ".isRegex must be a boolean";
      return false;
    }
    if (m["isEqual"].error() != simdjson::NO_SUCH_FIELD && m["isEqual"].get_bool().get(equal)) {
      b.error = where + ".isEqual must be a boolean";
      return false;
    }
    auto op = regex ? (equal ? rules::MatchOp::kRegex : rules::MatchOp::kNotRegex)
                    : (equal ? rules::MatchOp::kEqual : rules::MatchOp::kNotEqual);
    std::string err;
    auto matcher = rules::Matcher::create(std::string(name), op, std::string(value), &err);
    if (!matcher) {
      b.error = where + ": " + err;
      return false;
    }
    s.matchers.push_back(std::move(matcher));
  }
  std::string starts, ends;
  if (!b.str("startsAt", starts, true) || !b.str("endsAt", ends, true)) return false;
  auto st = api::parseRfc3339(starts), en = api::parseRfc3339(ends);
  if (!st) {
    b.error = "field \"startsAt\" is not an RFC 3339 time";
    return false;
  }
  if (!en) {
    b.error = "field \"endsAt\" is not an RFC 3339 time";
    return false;
  }
  s.starts_ms = *st;
  s.ends_ms = *en;
  return b.str("id", s.id) && b.str("createdBy", s.created_by) && b.str("comment", s.comment) &&
         b.str("changeId", s.change_id);
}

void addSilenceRoutes(api::Router& router, CorrelatorStage& stage) {
  router.add({Verb::get, "/api/v2/silences", RouteGroup::kRead,
              [&stage](const HttpRequest& req, Responder r) {
                auto filter = std::make_shared<rules::Matchers>();
                std::string err;
                if (!parseFilters(req, *filter, &err)) return r(HttpResponse::error(400, err));
                stage.run([r, filter](Correlator& c, int64_t now) {
                  std::string out = "[";
                  bool first = true;
                  for (const auto& [id, s] : c.silences()) {
                    if (!silenceMatches(s, *filter)) continue;
                    if (!first) out += ',';
                    first = false;
                    writeSilenceJson(out, s, now);
                  }
                  out += "]\n";
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
  router.add({Verb::post, "/api/v2/silences", RouteGroup::kOperate,
              [&stage](const HttpRequest& req, Responder r) {
                auto body = std::make_shared<Body>();
                auto s = std::make_shared<Silence>();
                if (!body->parse(req) || !readSilence(*body, *s))
                  return r(HttpResponse::error(400, body->error));
                // A named user is the author, whatever createdBy says (the audit trail).
                if (!req.user.empty()) s->created_by = req.user;
                stage.run([s, r, &stage](Correlator& c, int64_t now) {
                  std::string id;
                  std::string err = c.putSilence(std::move(*s), now, &id);
                  if (!err.empty()) return r(opError(err));
                  auto out = std::make_shared<std::string>("{\"silenceID\":");
                  api::appendJsonString(*out, id);
                  *out += "}\n";
                  stage.whenDurable([r, out] { r(HttpResponse::json(200, std::move(*out))); });
                });
              }});
  router.add({Verb::get, "/api/v2/silence/{id}", RouteGroup::kRead,
              [&stage](const HttpRequest& req, Responder r) {
                std::string id(req.param("id"));
                stage.run([id, r](Correlator& c, int64_t now) {
                  auto it = c.silences().find(id);
                  if (it == c.silences().end())
                    return r(HttpResponse::error(404, "no such silence"));
                  std::string out;
                  writeSilenceJson(out, it->second, now);
                  r(HttpResponse::json(200, std::move(out)));
                });
              }});
  router.add({Verb::delete_, "/api/v2/silence/{id}", RouteGroup::kOperate,
              [&stage](const HttpRequest& req, Responder r) {
                std::string id(req.param("id"));
                stage.run([id, r, &stage](Correlator& c, int64_t now) {
                  std::string err = c.expireSilence(id, now);
                  if (!err.empty()) return r(opError(err));
                  stage.whenDurable([r] { r(HttpResponse::json(200, "{}\n")); });
                });
              }});
}

}  // namespace

void AlertmanagerApi::configure(Settings s) {
  auto st = std::make_shared<State>();
  for (const auto& t : s.targets) st->receivers.emplace_back(t.name, NotificationFilter(t));
  st->settings = std::move(s);
  std::lock_guard lock(mu_);
  state_ = std::move(st);
}

std::shared_ptr<const AlertmanagerApi::State> AlertmanagerApi::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::shared_ptr<const AlertmanagerApi::Settings> AlertmanagerApi::settings() const {
  auto st = state();
  return std::shared_ptr<const Settings>(st, &st->settings);
}

std::string AlertmanagerApi::redact(const std::string& yaml) {
  static const RE2 secret_key(
      R"((?i)^(\s*(?:-\s+)?)([A-Za-z0-9_]*(?:token|secret|password|passwd|api_key|routing_key|private_key|credentials|authorization)[A-Za-z0-9_]*)(\s*:\s*)(.*)$)");
  std::string out;
  size_t start = 0;
  int secret_indent = -1;  // the indentation of a secret key whose value is a block below it
  while (start < yaml.size()) {
    size_t nl = yaml.find('\n', start);
    if (nl == std::string::npos) nl = yaml.size();
    std::string line = yaml.substr(start, nl - start);
    start = nl + 1;
    int indent = static_cast<int>(line.find_first_not_of(' '));
    bool blank = indent < 0 || line[indent] == '#';
    if (secret_indent >= 0 && !blank && indent > secret_indent) {
      out += line.substr(0, indent) + (line[indent] == '-' ? "- <secret>" : "<secret>") + "\n";
      continue;
    }
    if (!blank) secret_indent = -1;
    std::string lead, key, sep, value;
    if (RE2::FullMatch(line, secret_key, &lead, &key, &sep, &value)) {
      std::string v = value.substr(0, value.find(" #"));
      v.erase(v.find_last_not_of(" \t\r") + 1);
      if (key.size() > 5 && key.compare(key.size() - 5, 5, "_file") == 0) {
        out += line + "\n";  // a path to a secret is not one
      } else if (v.empty() || v == "|" || v == ">" || v == "|-" || v == ">-") {
        out += lead + key + sep + v + "\n";
        secret_indent = indent;
      } else {
        out += lead + key + sep + (v.front() == '[' ? "[<secret>]" : "<secret>") + "\n";
      }
      continue;
    }
    // An inline mapping that carries an Authorization header: the whole value.
    static const RE2 inline_auth(R"((?i)^(\s*(?:-\s+)?[A-Za-z0-9_-]+\s*:\s*)\{.*authorization.*$)");
    std::string head;
    if (RE2::FullMatch(line, inline_auth, &head)) {
      out += head + "<secret>\n";
      continue;
    }
    out += line + "\n";
  }
  return out;
}

bool AlertmanagerApi::parseSilence(std::string_view json, Silence& out, std::string& error) {
  std::string text(json);
  api::HttpRequest req;
  req.body = &text;
  Body b;
  bool ok = b.parse(req) && readSilence(b, out);
  error = b.error;
  return ok;
}

void AlertmanagerApi::addRoutes(api::Router& router) {
  addSilenceRoutes(router, stage_);
  auto& stage = stage_;
  // The reads of alerts: the query parsed (400 when it is not), then `answer(c, state,
  // query)` on the correlator thread gives the body.
  auto selected = [this, &stage](auto answer) {
    return [this, &stage, answer](const HttpRequest& req, Responder r) {
      auto q = std::make_shared<AlertQuery>();
      std::string err;
      if (!q->parse(req, &err)) return r(HttpResponse::error(400, err));
      auto st = state();
      stage.run([r, q, st, answer](Correlator& c, int64_t) {
        r(HttpResponse::json(200, answer(c, *st, *q)));
      });
    };
  };
  router.add({Verb::get, "/api/v2/alerts", RouteGroup::kRead,
              selected([](Correlator& c, const State& st, const AlertQuery& q) {
                // Sorted by fingerprint, as Alertmanager answers.
                std::map<std::string, std::string> rows;
                forEachSelected(c, st, q,
                                [&](const CorrAlert& a, std::string one,
                                    const std::vector<std::string>& receivers) {
                                  if (q.receiver && std::none_of(receivers.begin(), receivers.end(),
                                                                 [&](const std::string& n) {
                                                                   return q.takesReceiver(n);
                                                                 }))
                                    return;
                                  rows.emplace(fingerprintHex(a.fingerprint), std::move(one));
                                });
                std::string out = "[";
                for (const auto& [fp, one] : rows) {
                  if (out.size() > 1) out += ',';
                  out += one;
                }
                out += "]\n";
                return out;
              })});
  router.add(
      {Verb::get, "/api/v2/alerts/groups", RouteGroup::kRead,
       selected([](Correlator& c, const State& st, const AlertQuery& q) {
         // One group per incident and receiver (alerts in no incident yet: one group with
         // no labels), in incident order.
         struct Group {
           LabelSet labels;
           std::string receiver;
           std::vector<std::string> alerts;
         };
         std::map<std::pair<uint64_t, std::string>, Group> groups;
         forEachSelected(
             c, st, q,
             [&](const CorrAlert& a, std::string one, const std::vector<std::string>& receivers) {
               const Incident* inc = a.incident ? c.incident(a.incident) : nullptr;
               for (const auto& name : receivers) {
                 if (!q.takesReceiver(name)) continue;
                 auto& g = groups[{inc ? inc->id : 0, name}];
                 if (g.receiver.empty()) {
                   g.receiver = name;
                   g.labels = groupLabels(inc);
                 }
                 g.alerts.push_back(one);  // written once, listed in each receiver's group
               }
             });
         std::string out = "[";
         for (const auto& [key, g] : groups) {
           if (out.size() > 1) out += ',';
           JsonWriter w(out);
           w.beginObject();
           w.key("labels").beginObject();
           for (const auto& [k, v] : g.labels) w.field(k, v);
           w.endObject();
           w.key("receiver").beginObject().field("name", g.receiver).endObject();
           w.key("alerts").beginArray();
           for (const auto& a : g.alerts) w.raw(a);
           w.endArray();
           w.endObject();
         }
         out += "]\n";
         return out;
       })});
  router.add(
      {Verb::get, "/api/v2/receivers", RouteGroup::kRead, [this](const HttpRequest&, Responder r) {
         auto s = settings();
         std::string out;
         JsonWriter w(out);
         w.beginArray();
         for (const auto& t : s->targets) w.beginObject().field("name", t.name).endObject();
         w.beginObject().field("name", kLocalReceiver).endObject();
         w.endArray();
         out += "\n";
         r(HttpResponse::json(200, std::move(out)));
       }});
  router.add(
      {Verb::get, "/api/v2/status", RouteGroup::kRead, [this](const HttpRequest&, Responder r) {
         auto s = settings();
         std::string out;
         JsonWriter w(out);
         w.beginObject();
         // One node: a cluster of one, always ready (HA is a shared database, not gossip).
         w.key("cluster")
             .beginObject()
             .field("name", "triaged")
             .field("status", "ready")
             .key("peers")
             .beginArray()
             .endArray()
             .endObject();
         w.key("versionInfo")
             .beginObject()
             .field("version", build::kVersion)
             .field("revision", build::kGitCommit)
             .field("branch", "")
             .field("buildUser", "")
             .field("buildDate", "")
             .field("goVersion", "none (triaged is C++)")
             .endObject();
         w.key("config").beginObject().field("original", s->config_text).endObject();
         w.field("uptime", api::formatRfc3339Ms(started_));
         w.endObject();
         out += "\n";
         r(HttpResponse::json(200, std::move(out)));
       }});
}

}  // namespace triaged::engine
