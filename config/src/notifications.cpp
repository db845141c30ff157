// The notifications section: targets (with their header files and ticket actions) and
// escalation policies.
#include "notifications.h"

#include <set>
#include <string>

#include "triaged/config/reader.h"

namespace triaged::config {
namespace {

void readHeaderFiles(MapReader& t, NotificationTarget& x) {
  std::vector<std::pair<std::string, std::string>> files;
  YAML::Node node = t.node()["header_files"];
  t.getStringMap("header_files", files);
  for (const auto& [name, file] : files) {
    std::filesystem::path p(file);
    if (p.is_relative()) p = t.sink().baseDir() / p;
    std::string value, why;
    if (!readTextFile(p, value, why)) {
      t.sink().add(node[name], t.childPath("header_files") + "." + name,
                   "cannot read header file \"" + file + "\": " + why);
      continue;
    }
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
      value.pop_back();
    x.headers.emplace_back(name, std::move(value));
  }
}

// `ticket:` of a notification target: the requests of a two-way ticket (type ticket only; the
// plugin checks that create is there and that the bodies are valid templates).
void readTicketActions(MapReader& target, NotificationTarget& x) {
  YAML::Node node = target.node()["ticket"];
  if (!node.IsDefined()) return;
  MapReader r(target.take("ticket"), target.childPath("ticket"), target.sink());
  r.getString("id_pointer", x.ticket_id_pointer);
  r.getString("link", x.ticket_link);
  if (!x.ticket_id_pointer.empty() && x.ticket_id_pointer[0] != '/')
    r.sink().add(r.node()["id_pointer"], r.childPath("id_pointer"),
                 "must be a JSON pointer (RFC 6901), starting with /");
  for (const char* action : {"create", "update", "acknowledge", "resolve", "close"}) {
    if (!r.node()[action].IsDefined()) continue;
    MapReader a(r.take(action), r.childPath(action), r.sink());
    TicketAction t;
    a.getString("method", t.method);
    if (!t.method.empty() && t.method != "POST" && t.method != "PUT" && t.method != "PATCH" &&
        t.method != "DELETE")
      a.sink().add(a.node()["method"], a.childPath("method"),
                   "expected one of POST, PUT, PATCH, DELETE");
    a.getString("path", t.path, true);
    a.getInlineOrFile("body", t.body, "body");
    a.finish();
    x.ticket_actions.emplace_back(action, std::move(t));
  }
  if (r.node()["session"].IsDefined()) {
    MapReader a(r.take("session"), r.childPath("session"), r.sink());
    auto& t = x.ticket_session;
    t.method = "POST";
    a.getEnum("method", t.method, {"GET", "POST"});
    a.getString("path", t.path, true);
    a.getInlineOrFile("body", t.body, "body");
    a.getString("token_pointer", x.ticket_session_pointer, true);
    a.getString("header", x.ticket_session_header, true);
    if (!x.ticket_session_pointer.empty() && x.ticket_session_pointer[0] != '/')
      a.sink().add(a.node()["token_pointer"], a.childPath("token_pointer"),
                   "must be a JSON pointer (RFC 6901), starting with /");
    if (t.method == "GET" && !t.body.empty())
      a.sink().add(a.node()["body"], a.childPath("body"), "a GET login has no body");
    a.finish();
  }
  r.finish();
}

void readPolicies(MapReader& r, Config& c) {
  std::set<std::string> names;
  forEachInList(
      r.take("policies"), "notifications.policies", r.sink(),
      [&](const YAML::Node& n, const std::string& path) {
        MapReader p(n, path, r.sink());
        if (!p.valid()) return;
        NotificationPolicy x;
        x.file = r.sink().file();
        x.line = n.Mark().line + 1;
        x.name = "policy " + std::to_string(c.notification_policies.size() + 1);
        p.getString("name", x.name);
        if (!names.insert(x.name).second)
          r.sink().add(n, path + ".name", "duplicate policy name \"" + x.name + "\"");
        p.getStringList("matchers", x.matchers);
        p.getStringList("events", x.events);
        p.getBool("continue", x.continue_matching);
        p.getString("calendar", x.calendar);
        p.getDuration("repeat_interval", x.repeat_interval);
        if (x.repeat_interval.count() > 0 && x.repeat_interval < std::chrono::minutes(1))
          r.sink().add(n["repeat_interval"], path + ".repeat_interval", "must be at least 1m");
        forEachInList(
            p.take("steps"), path + ".steps", r.sink(),
            [&](const YAML::Node& sn, const std::string& sp) {
              MapReader st(sn, sp, r.sink());
              if (!st.valid()) return;
              EscalationStep step;
              step.line = sn.Mark().line + 1;
              st.getDuration("after", step.after);
              st.getStringList("targets", step.targets);
              st.getStringList("out_of_hours", step.out_of_hours);
              st.finish();
              if (step.targets.empty())
                r.sink().add(sn, sp + ".targets", "is required (target names or schedule:<name>)");
              if (!x.steps.empty() && step.after <= x.steps.back().after)
                r.sink().add(sn["after"], sp + ".after",
                             "must be later than the step before (" +
                                 std::to_string(x.steps.back().after.count() / 1000) + "s)");
              x.steps.push_back(std::move(step));
            });
        if (x.steps.empty()) r.sink().add(n, path + ".steps", "is required (at least one step)");
        bool out_of_hours = std::any_of(x.steps.begin(), x.steps.end(),
                                        [](const auto& s) { return !s.out_of_hours.empty(); });
        if (out_of_hours && x.calendar.empty())
          r.sink().add(n, path + ".calendar",
                       "is required when a step has out_of_hours (the calendar of the hours)");
        p.finish();
        c.notification_policies.push_back(std::move(x));
      });
}

}  // namespace

void readNotifications(MapReader& root, Config& c) {
  if (!root.has("notifications")) return;
  MapReader r(root.take("notifications"), "notifications", root.sink());
  YAML::Node list = r.take("targets");
  std::set<std::string> names;
  forEachInList(list, "notifications.targets", root.sink(),
                [&](const YAML::Node& n, const std::string& path) {
                  MapReader t(n, path, root.sink());
                  NotificationTarget x;
                  x.file = root.sink().file();
                  x.line = n.Mark().line + 1;
                  t.getString("name", x.name, true);
                  // The type names an output plugin; the engine checks it and the plugin's own keys
                  // (required url, routing_key, project, template) against the plugin registry.
                  t.getString("type", x.type);
                  t.getString("url", x.url);
                  t.getSecret("routing_key", x.routing_key);
                  t.getString("username", x.username);
                  t.getSecret("password", x.password);
                  t.getString("project", x.project);
                  t.getString("issue_type", x.issue_type);
                  t.getString("resolve_transition", x.resolve_transition);
                  t.getDouble("rate_limit", x.rate_limit, 0, 1e6);
                  t.getUnsigned("circuit_failures", x.circuit_failures, 1'000'000);
                  t.getDuration("circuit_open_for", x.circuit_open_for, Duration{1});
                  t.getUnsigned("concurrency", x.concurrency, 1024);
                  if (x.concurrency == 0)
                    root.sink().add(n["concurrency"], path + ".concurrency", "must be at least 1");
                  t.getString("proxy", x.proxy);
                  t.getStringList("matchers", x.matchers);
                  t.getInlineOrFile("template", x.body_template, "template");
                  t.getInlineOrFile("fields", x.ticket_fields, "fields");
                  bool smtp = x.url.rfind("smtp://", 0) == 0 || x.url.rfind("smtps://", 0) == 0;
                  if (!x.url.empty() && x.url.rfind("http://", 0) != 0 &&
                      x.url.rfind("https://", 0) != 0 && !smtp)
                    root.sink().add(
                        n["url"], path + ".url",
                        "must be an http:// or https:// URL (smtp:// or smtps:// for email)");
                  if (!x.proxy.empty() && x.proxy.find("://") == std::string::npos)
                    root.sink().add(n["proxy"], path + ".proxy",
                                    "must be a URL with a scheme (http://host:port)");
                  t.getStringList("events", x.events);
                  int64_t p = x.min_priority;
                  t.getInt("min_priority", p, 1, 5);
                  x.min_priority = static_cast<int>(p);
                  t.getDuration("timeout", x.timeout, Duration{1});
                  t.getDuration("max_age", x.max_age, Duration{1});
                  t.getDuration("retry_initial", x.retry_initial, Duration{1});
                  t.getDuration("retry_max", x.retry_max, Duration{1});
                  t.getStringMap("headers", x.headers);
                  readHeaderFiles(t, x);
                  t.getSecret("bearer_token", x.bearer_token);
                  t.getSecret("hmac_secret", x.hmac_secret);
                  t.getBool("tls_insecure_skip_verify", x.tls_insecure_skip_verify);
                  t.getSecret("callback_token", x.callback_token);
                  t.getSecret("callback_hmac_secret", x.callback_hmac_secret);
                  t.getString("mail_from", x.mail_from);
                  t.getStringList("mail_to", x.mail_to);
                  t.getEnum("starttls", x.starttls, {"required", "optional", "off"});
                  t.getString("console_url", x.console_url);
                  readTicketActions(t, x);
                  t.finish();
                  if (!x.name.empty() && !names.insert(x.name).second)
                    root.sink().add(n, path + ".name", "duplicate target name \"" + x.name + "\"");
                  c.notification_targets.push_back(std::move(x));
                });
  readPolicies(r, c);
  r.finish();
}

}  // namespace triaged::config
