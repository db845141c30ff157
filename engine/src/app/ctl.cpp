#include "app/ctl.h"

#include <simdjson.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "app/ctl_http.h"
#include "triaged/api/http.h"
#include "triaged/api/ingest.h"
#include "triaged/api/json_writer.h"
#include "triaged/config/reader.h"
#include "triaged/config/units.h"
#include "triaged/rules/matcher.h"

namespace triaged::engine {

namespace {

using simdjson::dom::element;

// A table for people: a header and rows, columns as wide as their widest cell (a cell is cut
// at `max` characters with an ellipsis).
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out, size_t max = 60) const {
    std::vector<size_t> width(rows_[0].size(), 0);
    for (const auto& r : rows_)
      for (size_t i = 0; i < r.size(); ++i)
        width[i] = std::max(width[i], std::min(cut(r[i], max).size(), max + 3));
    for (const auto& r : rows_) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        std::string cell = cut(r[i], max);
        line += cell;
        if (i + 1 < r.size()) line += std::string(width[i] - cell.size() + 2, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    }
  }

 private:
  static std::string cut(const std::string& s, size_t max) {
    return s.size() <= max ? s : s.substr(0, max) + "...";
  }
  std::vector<std::vector<std::string>> rows_;
};

// A field of an object as text: strings as they are, numbers and booleans printed, null and
// missing as "-".
std::string text(element obj, const char* key) {
  element v;
  if (obj[key].get(v) != simdjson::SUCCESS || v.is_null()) return "-";
  if (v.is_string()) {
    std::string_view sv = v.get_string().value_unsafe();
    return sv.empty() ? "-" : std::string(sv);
  }
  if (v.is_bool()) return v.get_bool().value_unsafe() ? "true" : "false";
  if (v.is_int64()) return std::to_string(v.get_int64().value_unsafe());
  if (v.is_uint64()) return std::to_string(v.get_uint64().value_unsafe());
  if (v.is_double()) {
    std::ostringstream s;
    s << v.get_double().value_unsafe();
    return s.str();
  }
  return std::string(simdjson::minify(v));
}

// "2026-12-02T06:35:19.825Z" -> "2026-12-02 06:35:19"
std::string when(element obj, const char* key) {
  std::string t = text(obj, key);
  if (t.size() >= 19 && t[10] == 'T') return t.substr(0, 10) + " " + t.substr(11, 8);
  return t;
}

}  // namespace

struct CtlCommand::State {
  CLI::App* ctl = nullptr;
  std::string url, token_file, output = "table";
  // incidents
  CLI::App *inc_list, *inc_show, *inc_ack, *inc_assign, *inc_comment, *inc_resolve, *inc_close;
  std::string status, service, alert_filter, by, assignee, comment_text, note;
  int priority = 0, limit = 100;
  uint64_t id = 0;
  // alerts
  CLI::App* alerts_list;
  std::vector<std::string> matchers;
  std::string alert_status;
  // silences
  CLI::App *sil_list, *sil_add, *sil_expire;
  std::string duration = "1h", start, end, author, sil_comment, silence_id;
  bool expired = false;
  // services, report
  CLI::App *services, *report;
  std::string period = "current", format = "text", report_service;

  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  std::unique_ptr<ctl::Client> client;
  simdjson::dom::parser parser;

  bool json() const { return output == "json"; }
  int fail(int code, const std::string& msg) {
    *err << "triaged ctl: " << msg << "\n";
    return code;
  }
  // Checks an answer: kCtlOk, or the exit code after printing what went wrong.
  int check(const ctl::Response& r, const std::string& what) {
    if (r.status == 0) return fail(kCtlUnreachable, client->base() + ": " + r.error);
    if (r.status >= 200 && r.status < 300) return kCtlOk;
    std::string msg = std::to_string(r.status);
    element doc;
    if (parser.parse(r.body).get(doc) == simdjson::SUCCESS && doc.is_object()) {
      std::string e = text(doc, "error");
      if (e == "-") e = text(doc, "message");
      if (e != "-") msg += ": " + e;
      element detail;
      if (doc["detail"].get(detail) == simdjson::SUCCESS && !detail.is_null())
        msg += " (" +
               (detail.is_string() ? std::string(detail.get_string().value_unsafe())
                                   : std::string(simdjson::minify(detail))) +
               ")";
    } else if (!r.body.empty()) {
      msg += ": " + r.body.substr(0, 200);
    }
    return fail(kCtlRefused, what + ": " + msg);
  }
  // GET path and parse it; prints the body itself with -o json.
  int getJson(const std::string& path, const std::string& what, element& doc) {
    auto r = client->get(path);
    if (int rc = check(r, what)) return rc;
    if (json()) {
      *out << r.body << (r.body.empty() || r.body.back() != '\n' ? "\n" : "");
      return kCtlOk;
    }
    if (parser.parse(r.body).get(doc) != simdjson::SUCCESS)
      return fail(kCtlRefused, what + ": the answer is not JSON");
    return -1;  // parsed: the caller prints the table
  }

  int run();
  int incidents();
  int incidentAction(const char* action, const std::string& body, const char* done);
  int alerts();
  int silencesList();
  int silencesAdd();
  int silencesExpire();
  int servicesList();
  int reportGet();
};

CtlCommand::CtlCommand(CLI::App& app) : s_(std::make_unique<State>()) {
  auto& s = *s_;
  s.ctl = app.add_subcommand(
      "ctl", "a client of a running triaged's HTTP API: incidents, alerts, silences, services");
  s.ctl->require_subcommand(1);
  s.ctl->add_option("--url", s.url,
                    "triaged's HTTP address (default: $TRIAGED_URL, else http://127.0.0.1:9470)");
  s.ctl->add_option("--token-file", s.token_file,
                    "read the bearer token from this file (default: $TRIAGED_TOKEN_FILE, or the "
                    "token itself in $TRIAGED_TOKEN)");
  s.ctl->add_option("-o,--output", s.output, "table (for people) or json (the API's answer)")
      ->check(CLI::IsMember({"table", "json"}));

  auto* inc = s.ctl->add_subcommand("incidents", "list, show and act on incidents");
  inc->require_subcommand(1);
  s.inc_list = inc->add_subcommand("list", "incidents, by id (default: open and acknowledged)");
  s.inc_list->add_option("--status", s.status,
                         "comma list of open, acknowledged, resolved, closed, merged");
  s.inc_list->add_option("--service", s.service, "only this service's");
  s.inc_list->add_option("--priority", s.priority, "priority at most (1..5)")
      ->check(CLI::Range(1, 5));
  s.inc_list->add_option("--alert-filter", s.alert_filter,
                         "incidents with an alert matching these matchers ({team=\"dba\"})");
  s.inc_list->add_option("--limit", s.limit, "at most this many (1..10000)")
      ->check(CLI::Range(1, 10000));
  s.inc_show = inc->add_subcommand("show", "one incident with its alerts and timeline");
  s.inc_ack = inc->add_subcommand("ack", "acknowledge an incident");
  s.inc_assign = inc->add_subcommand("assign", "assign an incident to someone");
  s.inc_comment = inc->add_subcommand("comment", "add a comment to an incident's timeline");
  s.inc_resolve = inc->add_subcommand("resolve", "resolve an incident");
  s.inc_close = inc->add_subcommand("close", "close an incident");
  for (auto* c : {s.inc_show, s.inc_ack, s.inc_assign, s.inc_comment, s.inc_resolve, s.inc_close})
    c->add_option("id", s.id, "the incident's id")->required();
  s.inc_assign->add_option("assignee", s.assignee, "who")->required();
  s.inc_comment->add_option("text", s.comment_text, "the comment")->required();
  s.inc_resolve->add_option("--note", s.note, "why it is resolved (in the timeline)");
  for (auto* c : {s.inc_ack, s.inc_assign, s.inc_comment, s.inc_resolve, s.inc_close})
    c->add_option("--by", s.by,
                  "who acts, for a token without a user name (default: $USER); a named user's "
                  "token is always its user");

  auto* alerts = s.ctl->add_subcommand("alerts", "deduplicated alerts");
  alerts->require_subcommand(1);
  s.alerts_list = alerts->add_subcommand("list", "alerts matching Prometheus matchers");
  s.alerts_list->add_option("matchers", s.matchers,
                            "label matchers: alertname=\"Down\" 'team=~\"db.*\"' (all must match)");
  s.alerts_list->add_option("--status", s.alert_status, "firing or resolved")
      ->check(CLI::IsMember({"firing", "resolved"}));
  s.alerts_list->add_option("--limit", s.limit, "at most this many (1..10000)")
      ->check(CLI::Range(1, 10000));

  auto* sil = s.ctl->add_subcommand("silences", "Alertmanager-compatible silences");
  sil->require_subcommand(1);
  s.sil_list = sil->add_subcommand("list", "silences in effect or pending (--expired: all)");
  s.sil_list->add_flag("--expired", s.expired, "include expired silences");
  s.sil_add = sil->add_subcommand("add", "silence what matches, from now for --duration");
  s.sil_add->add_option("matchers", s.matchers, "label matchers, at least one")->required();
  s.sil_add->add_option("--duration", s.duration, "how long (default 1h): 30m, 2h, 1d");
  s.sil_add->add_option("--start", s.start, "start instead of now (RFC 3339)");
  s.sil_add->add_option("--end", s.end, "end instead of start + duration (RFC 3339)");
  s.sil_add->add_option("--comment", s.sil_comment, "why (required, as amtool asks)")->required();
  s.sil_add->add_option("--author", s.author, "who (default: $USER)");
  s.sil_expire = sil->add_subcommand("expire", "end a silence now");
  s.sil_expire->add_option("id", s.silence_id, "the silence's id")->required();

  s.services = s.ctl->add_subcommand("services", "services: state, incidents, agreements");
  s.report = s.ctl->add_subcommand("report", "the service report (SLA) of a period");
  s.report->add_option("--period", s.period,
                       "current, previous, 2026-10, 2026-Q4, 2026-W43, 2026 (default current)");
  s.report->add_option("--service", s.report_service, "only this service's agreements");
  s.report->add_option("--format", s.format, "text (a table), json, csv or html")
      ->check(CLI::IsMember({"text", "json", "csv", "html"}));
}

CtlCommand::~CtlCommand() = default;

bool CtlCommand::selected() const { return s_->ctl->parsed(); }

int CtlCommand::run(std::ostream& out, std::ostream& err) {
  s_->out = &out;
  s_->err = &err;
  return s_->run();
}

int CtlCommand::State::run() {
  if (url.empty()) {
    const char* env = std::getenv("TRIAGED_URL");
    url = env && *env ? env : "http://127.0.0.1:9470";
  }
  if (url.find("://") == std::string::npos) url = "http://" + url;
  std::string token;
  if (token_file.empty())
    if (const char* f = std::getenv("TRIAGED_TOKEN_FILE"); f && *f) token_file = f;
  if (!token_file.empty()) {
    std::string why;
    if (!config::readTextFile(token_file, token, why))
      return fail(kCtlUsage, "--token-file " + token_file + ": " + why);
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
      token.pop_back();
    if (token.empty()) return fail(kCtlUsage, "--token-file " + token_file + ": the file is empty");
  } else if (const char* t = std::getenv("TRIAGED_TOKEN"); t && *t) {
    token = t;
  }
  if (by.empty())
    if (const char* u = std::getenv("USER"); u && *u) by = u;
  if (author.empty()) author = by.empty() ? "triaged-ctl" : by;
  client = std::make_unique<ctl::Client>(url, token);
  if (inc_list->parsed() || inc_show->parsed()) return incidents();
  if (inc_ack->parsed()) return incidentAction("acknowledge", "", "acknowledged");
  std::string body;
  api::JsonWriter w(body);
  if (inc_assign->parsed()) {
    w.beginObject().field("assignee", assignee);
    return incidentAction("assign", body, "assigned");
  }
  if (inc_comment->parsed()) {
    w.beginObject().field("text", comment_text);
    return incidentAction("comment", body, "commented");
  }
  if (inc_resolve->parsed()) {
    w.beginObject().field("note", note);
    return incidentAction("resolve", body, "resolved");
  }
  if (inc_close->parsed()) return incidentAction("close", "", "closed");
  if (alerts_list->parsed()) return alerts();
  if (sil_list->parsed()) return silencesList();
  if (sil_add->parsed()) return silencesAdd();
  if (sil_expire->parsed()) return silencesExpire();
  if (services->parsed()) return servicesList();
  if (report->parsed()) return reportGet();
  return fail(kCtlUsage, "no command");
}

int CtlCommand::State::incidents() {
  element doc;
  if (inc_show->parsed()) {
    std::string what = "incident " + std::to_string(id);
    if (int rc = getJson("/api/v1/incidents/" + std::to_string(id), what, doc); rc >= 0) return rc;
    *out << "Incident " << text(doc, "id") << ": " << text(doc, "title") << "\n";
    Table t({"FIELD", "VALUE"});
    for (const char* k : {"status", "priority", "severity", "service", "assignee", "opened_at",
                          "acknowledged_at", "resolved_at", "problem", "known_error"})
      t.add({k, std::string_view(k).ends_with("_at") ? when(doc, k) : text(doc, k)});
    t.print(*out);
    simdjson::dom::array alerts;
    if (doc["alerts"].get(alerts) == simdjson::SUCCESS && alerts.size()) {
      *out << "\nAlerts\n";
      Table a({"FINGERPRINT", "STATUS", "SEVERITY", "RESOURCE", "CHECK", "ROLE"});
      for (element al : alerts)
        a.add({text(al, "fingerprint"), text(al, "status"), text(al, "severity"),
               text(al, "resource"), text(al, "check"), text(al, "role")});
      a.print(*out);
    }
    simdjson::dom::array timeline;
    if (doc["timeline"].get(timeline) == simdjson::SUCCESS && timeline.size()) {
      *out << "\nTimeline\n";
      Table tl({"AT", "BY", "ACTION", "DETAIL"});
      for (element e : timeline)
        tl.add({when(e, "at"), text(e, "actor"), text(e, "action"), text(e, "detail")});
      tl.print(*out, 80);
    }
    return kCtlOk;
  }
  std::string path = "/api/v1/incidents?limit=" + std::to_string(limit) +
                     "&status=" + api::percentEncode(status.empty() ? "open,acknowledged" : status);
  if (!service.empty()) path += "&service=" + api::percentEncode(service);
  if (priority) path += "&priority=" + std::to_string(priority);
  if (!alert_filter.empty()) path += "&alert_filter=" + api::percentEncode(alert_filter);
  if (int rc = getJson(path, "incidents", doc); rc >= 0) return rc;
  Table t({"ID", "STATUS", "PRI", "SEVERITY", "SERVICE", "ALERTS", "ASSIGNEE", "OPENED", "TITLE"});
  simdjson::dom::array list;
  if (doc["incidents"].get(list) == simdjson::SUCCESS)
    for (element i : list)
      t.add({text(i, "id"), text(i, "status"), "P" + text(i, "priority"), text(i, "severity"),
             text(i, "service"), text(i, "alert_count"), text(i, "assignee"), when(i, "opened_at"),
             text(i, "title")});
  t.print(*out);
  return kCtlOk;
}

int CtlCommand::State::incidentAction(const char* action, const std::string& body_in,
                                      const char* done) {
  // Every action takes `by`; a named user's token overrides it on the server.
  std::string body = body_in.empty() ? "{" : body_in + ",";  // body_in: an object left open
  body += "\"by\":";
  api::appendJsonString(body, by.empty() ? "triaged-ctl" : by);
  body += "}";
  std::string what = std::string(action) + " incident " + std::to_string(id);
  auto r = client->send("POST", "/api/v1/incidents/" + std::to_string(id) + "/" + action, body);
  if (int rc = check(r, what)) return rc;
  if (json()) {
    *out << r.body << (r.body.empty() || r.body.back() != '\n' ? "\n" : "");
    return kCtlOk;
  }
  element doc;
  std::string status =
      parser.parse(r.body).get(doc) == simdjson::SUCCESS ? text(doc, "status") : "-";
  *out << "incident " << id << " " << done << " (status " << status << ")\n";
  return kCtlOk;
}

int CtlCommand::State::alerts() {
  std::string path = "/api/v1/alerts?limit=" + std::to_string(limit);
  if (!alert_status.empty()) path += "&status=" + alert_status;
  if (!matchers.empty()) {
    std::string joined;
    for (const auto& m : matchers) joined += (joined.empty() ? "" : ",") + m;
    rules::Matchers parsed;
    std::string why;
    if (!rules::parseMatchers(joined, parsed, &why)) return fail(kCtlUsage, "matchers: " + why);
    path += "&filter=" + api::percentEncode("{" + joined + "}");
  }
  element doc;
  if (int rc = getJson(path, "alerts", doc); rc >= 0) return rc;
  Table t({"FINGERPRINT", "STATUS", "SEVERITY", "RESOURCE", "CHECK", "SERVICE", "COUNT",
           "LAST SEEN", "SUMMARY"});
  simdjson::dom::array list;
  if (doc["data"].get(list) == simdjson::SUCCESS)
    for (element a : list)
      t.add({text(a, "fingerprint"), text(a, "status"), text(a, "severity"), text(a, "resource"),
             text(a, "check"), text(a, "service"), text(a, "count"), when(a, "last_seen"),
             text(a, "summary")});
  t.print(*out);
  int64_t matched = 0;
  if (doc["matched"].get(matched) == simdjson::SUCCESS &&
      static_cast<size_t>(matched) > list.size())
    *out << "(" << list.size() << " of " << matched << " shown; --limit for more)\n";
  return kCtlOk;
}

int CtlCommand::State::silencesList() {
  element doc;
  if (int rc = getJson("/api/v2/silences", "silences", doc); rc >= 0) return rc;
  Table t({"ID", "STATE", "STARTS", "ENDS", "CREATED BY", "COMMENT", "MATCHERS"});
  simdjson::dom::array silences;
  if (doc.get(silences) == simdjson::SUCCESS)
    for (element s : silences) {
      element st;
      std::string state = s["status"].get(st) == simdjson::SUCCESS ? text(st, "state") : "-";
      if (state == "expired" && !expired) continue;
      std::string ms;
      simdjson::dom::array arr;
      if (s["matchers"].get(arr) == simdjson::SUCCESS)
        for (element m : arr) {
          bool eq = text(m, "isEqual") != "false", re = text(m, "isRegex") == "true";
          const char* op = eq ? (re ? "=~" : "=") : (re ? "!~" : "!=");
          ms += (ms.empty() ? "" : ",") + text(m, "name") + op + "\"" + text(m, "value") + "\"";
        }
      t.add({text(s, "id"), state, when(s, "startsAt"), when(s, "endsAt"), text(s, "createdBy"),
             text(s, "comment"), ms});
    }
  t.print(*out);
  return kCtlOk;
}

int CtlCommand::State::silencesAdd() {
  std::string joined;
  for (const auto& m : matchers) joined += (joined.empty() ? "" : ",") + m;
  rules::Matchers parsed;
  std::string why;
  if (!rules::parseMatchers(joined, parsed, &why)) return fail(kCtlUsage, "matchers: " + why);
  if (parsed.empty()) return fail(kCtlUsage, "matchers: at least one is needed");
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  int64_t starts = now, ends = 0;
  if (!start.empty()) {
    auto t = api::parseRfc3339(start);
    if (!t) return fail(kCtlUsage, "--start: expected an RFC 3339 time, got \"" + start + "\"");
    starts = *t;
  }
  if (!end.empty()) {
    auto t = api::parseRfc3339(end);
    if (!t) return fail(kCtlUsage, "--end: expected an RFC 3339 time, got \"" + end + "\"");
    ends = *t;
  } else {
    auto d = config::parseDuration(duration);
    if (!d || d->count() <= 0)
      return fail(kCtlUsage,
                  "--duration: expected a duration such as 2h, got \"" + duration + "\"");
    ends = starts + d->count();
  }
  if (ends <= starts) return fail(kCtlUsage, "the silence ends before it starts");
  std::string body;
  api::JsonWriter w(body);
  w.beginObject().key("matchers").beginArray();
  for (const auto& m : parsed) {
    bool re = m->op() == rules::MatchOp::kRegex || m->op() == rules::MatchOp::kNotRegex;
    bool eq = m->op() == rules::MatchOp::kEqual || m->op() == rules::MatchOp::kRegex;
    w.beginObject()
        .field("name", m->name())
        .field("value", m->value())
        .field("isRegex", re)
        .field("isEqual", eq)
        .endObject();
  }
  w.endArray()
      .field("startsAt", api::formatRfc3339Ms(starts))
      .field("endsAt", api::formatRfc3339Ms(ends))
      .field("createdBy", author)
      .field("comment", sil_comment)
      .endObject();
  auto r = client->send("POST", "/api/v2/silences", body);
  if (int rc = check(r, "add silence")) return rc;
  element doc;
  if (json() || parser.parse(r.body).get(doc) != simdjson::SUCCESS) {
    *out << r.body << "\n";
    return kCtlOk;
  }
  *out << text(doc, "silenceID") << "\n";  // as amtool: the id alone, for scripts
  return kCtlOk;
}

int CtlCommand::State::silencesExpire() {
  auto r = client->send("DELETE", "/api/v2/silence/" + api::percentEncode(silence_id), "");
  if (int rc = check(r, "expire silence " + silence_id)) return rc;
  if (!json()) *out << "silence " << silence_id << " expired\n";
  return kCtlOk;
}

int CtlCommand::State::servicesList() {
  element doc;
  if (int rc = getJson("/api/v1/services", "services", doc); rc >= 0) return rc;
  Table t({"SERVICE", "STATUS", "SINCE", "INCIDENTS", "AGREEMENT", "AVAILABILITY", "BUDGET LEFT",
           "MET"});
  simdjson::dom::array list;
  if (doc["services"].get(list) == simdjson::SUCCESS)
    for (element s : list) {
      std::string incidents;
      simdjson::dom::array ids;
      if (s["incidents"].get(ids) == simdjson::SUCCESS)
        for (element i : ids)
          incidents += (incidents.empty() ? "" : ",") + std::string(simdjson::minify(i));
      simdjson::dom::array ags;
      bool any = false;
      if (s["agreements"].get(ags) == simdjson::SUCCESS)
        for (element a : ags) {
          t.add({any ? "" : text(s, "name"), any ? "" : text(s, "status"),
                 any ? "" : when(s, "since"), any ? "" : (incidents.empty() ? "-" : incidents),
                 text(a, "name"), text(a, "availability"), text(a, "budget_remaining_seconds"),
                 text(a, "met")});
          any = true;
        }
      if (!any)
        t.add({text(s, "name"), text(s, "status"), when(s, "since"),
               incidents.empty() ? "-" : incidents, "-", "-", "-", "-"});
    }
  t.print(*out);
  return kCtlOk;
}

int CtlCommand::State::reportGet() {
  std::string fmt = format == "text" ? "json" : format;
  std::string path = "/api/v1/reports/sla?period=" + api::percentEncode(period) + "&format=" + fmt;
  if (!report_service.empty()) path += "&service=" + api::percentEncode(report_service);
  auto r = client->get(path);
  if (int rc = check(r, "report")) return rc;
  if (format != "text" || json()) {
    *out << r.body << (r.body.empty() || r.body.back() != '\n' ? "\n" : "");
    return kCtlOk;
  }
  element doc;
  if (parser.parse(r.body).get(doc) != simdjson::SUCCESS)
    return fail(kCtlRefused, "report: the answer is not JSON");
  *out << "Service report, generated " << when(doc, "generated") << "\n";
  Table t({"AGREEMENT", "TYPE", "SERVICE", "PERIOD", "TARGET %", "AVAILABILITY", "PROJECTED",
           "DOWNTIME S", "BUDGET LEFT S", "MET", "FINAL"});
  // Availability to date and projected: null when nothing is measured.
  auto ratio = [](element obj, const char* key) {
    element a;
    if (obj["availability"].get(a) != simdjson::SUCCESS) return std::string("-");
    std::string v = text(a, key);
    return v == "-" ? v : v.substr(0, 8);
  };
  simdjson::dom::array list;
  if (doc["reports"].get(list) == simdjson::SUCCESS)
    for (element a : list) {
      element secs, budget;
      bool has_secs = a["seconds"].get(secs) == simdjson::SUCCESS;
      bool has_budget = a["error_budget"].get(budget) == simdjson::SUCCESS;
      t.add({text(a, "agreement"), text(a, "type"), text(a, "service"), text(a, "period"),
             text(a, "target"), ratio(a, "to_date"), ratio(a, "projected"),
             has_secs ? text(secs, "downtime_net") : "-",
             has_budget ? text(budget, "remaining_seconds") : "-", text(a, "met"),
             text(a, "final")});
    }
  t.print(*out);
  return kCtlOk;
}

}  // namespace triaged::engine
