// Two-way tickets with any tool (Redmine, Zammad, GLPI, Request Tracker, GitHub, GitLab, …):
// templated requests for create, update, acknowledge, resolve and close. The first event of
// an incident creates its ticket; the id is read from the answer (a JSON pointer, or the
// Location header) and remembered with the incident, so every later event of the incident
// goes to that ticket, across restarts. Incidents only. Templates see the event JSON plus
// `ticket.id`, `ticket.url` and `note` (one line describing the event). A tool whose API needs
// a session (GLPI) logs in first (`session`): the token from the login's answer goes in a
// header of every later request, and a 401 logs in again. docs/configuration.md.
#include <simdjson.h>

#include "outputs/common/body_template.h"
#include "outputs/common/event_view.h"
#include "outputs/common/output_plugin.h"
#include "outputs/outputs.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins {

namespace {

using outputs::BodyTemplate;

struct Action {
  bool set = false;
  std::string method;
  BodyTemplate path, body;
  bool has_body = false;
};

enum Kind { kCreate, kUpdate, kAcknowledge, kResolve, kClose, kKinds };
constexpr const char* kNames[kKinds] = {"create", "update", "acknowledge", "resolve", "close"};

// Compiles a target's actions; each problem as (key, message).
void compileActions(const config::NotificationTarget& t, Action (&out)[kKinds],
                    std::vector<std::pair<std::string, std::string>>* problems) {
  for (const auto& [name, a] : t.ticket_actions) {
    int k = 0;
    while (k < kKinds && name != kNames[k]) ++k;
    if (k == kKinds) continue;  // the loader reads only these
    Action& x = out[k];
    x.set = true;
    x.method = !a.method.empty() ? a.method : k == kCreate ? "POST" : "PUT";
    std::string error;
    if (!x.path.compilePath(a.path, &error) && problems)
      problems->emplace_back("ticket." + name + ".path", error);
    x.has_body = !a.body.empty();
    if (x.has_body && !x.body.compile(a.body, &error) && problems)
      problems->emplace_back("ticket." + name + ".body", error);
  }
}

class TicketOutput : public api::Output {
 public:
  explicit TicketOutput(const config::NotificationTarget& t)
      : url_(outputs::trimmedUrl(t.url)), id_pointer_(t.ticket_id_pointer) {
    compileActions(t, actions_, nullptr);  // validated before
    std::string error;
    has_link_ = !t.ticket_link.empty() && link_.compilePath(t.ticket_link, &error);
    if (!t.ticket_session.path.empty()) {
      login_.set = true;
      login_.method = t.ticket_session.method;
      login_.path.compilePath(t.ticket_session.path, &error);
      login_.has_body = !t.ticket_session.body.empty();
      if (login_.has_body) login_.body.compile(t.ticket_session.body, &error);
      session_pointer_ = t.ticket_session_pointer;
      session_header_ = t.ticket_session_header;
    }
  }

  bool session(std::string_view response) override {
    simdjson::dom::element v;
    std::string_view s;
    if (!view_.parse(response) || view_.root().at_pointer(session_pointer_).get(v) ||
        v.get_string().get(s) || s.empty())
      return false;
    token_ = std::string(s);
    return true;
  }

  void unauthorized() override { token_.clear(); }

  std::optional<api::OutputRequest> request(const api::Notification& n,
                                            const std::string& ticket) override {
    outputs::TicketEvent te;
    if (!outputs::ticketEvent(n, view_, te)) return std::nullopt;
    const Action* a = nullptr;
    api::OutputRequest r;
    if (ticket.empty()) {
      if (te.resolves) return std::nullopt;  // nothing opened there: nothing to end
      a = &actions_[kCreate];
      r.creates = true;
    } else {
      a = pick(n.event);
    }
    if (!a || !a->set) return std::nullopt;
    if (login_.set && token_.empty()) {  // log in first; the entry comes again after
      a = &login_;
      r.creates = false;
      r.session = true;
    }
    // The context: the event, and what the templates add to it.
    std::string ctx = "{\"ticket\":";
    api::JsonWriter w(ctx);
    w.beginObject().field("id", ticket).endObject();
    ctx += ",\"note\":";
    api::appendJsonString(ctx, te.note);
    ctx += ',';
    ctx.append(n.body.substr(1));  // the event object's members
    if (!context_.parse(ctx)) return std::nullopt;
    simdjson::dom::element root = context_.root();
    r.method = a->method;
    r.url = url_ + a->path.render(&root);
    if (a->has_body) r.body = a->body.render(&root);
    if (!r.session && !token_.empty()) r.headers.emplace_back(session_header_, token_);
    return r;
  }

  api::OutputTicket ticket(std::string_view response, std::string_view location) override {
    std::string id;
    if (!id_pointer_.empty()) {
      if (!view_.parse(response)) return {};
      simdjson::dom::element v;
      if (view_.root().at_pointer(id_pointer_).get(v)) return {};
      std::string_view s;
      int64_t i = 0;
      uint64_t u = 0;
      if (!v.get_string().get(s))
        id = std::string(s);
      else if (!v.get_int64().get(i))
        id = std::to_string(i);
      else if (!v.get_uint64().get(u))
        id = std::to_string(u);
    } else {
      // ".../issues/42" or ".../issues/42.json": the last segment, without an extension.
      std::string_view l = location.substr(0, location.find_first_of("?#"));
      while (!l.empty() && l.back() == '/') l.remove_suffix(1);
      l = l.substr(l.rfind('/') == std::string_view::npos ? 0 : l.rfind('/') + 1);
      id = std::string(l.substr(0, l.find('.')));
    }
    if (id.empty()) return {};
    std::string url;
    if (has_link_) {
      std::string ctx = "{\"ticket\":{\"id\":";
      api::appendJsonString(ctx, id);
      ctx += "}}";
      if (context_.parse(ctx)) {
        simdjson::dom::element root = context_.root();
        url = link_.render(&root);
      }
    }
    return {id, url};
  }

  bool refused(long status) const override { return outputs::refusedByTool(status); }

 private:
  // The action for a later event of an incident: its own, else the nearest one configured.
  const Action* pick(std::string_view event) const {
    auto first = [&](std::initializer_list<Kind> kinds) -> const Action* {
      for (Kind k : kinds)
        if (actions_[k].set) return &actions_[k];
      return nullptr;
    };
    if (event == "incident.acknowledged") return first({kAcknowledge, kUpdate});
    if (event == "incident.resolved") return first({kResolve, kUpdate});
    if (event == "incident.closed" || event == "incident.merged")
      return first({kClose, kResolve, kUpdate});
    return first({kUpdate});
  }

  std::string url_, id_pointer_;
  Action actions_[kKinds];
  Action login_;
  std::string session_pointer_, session_header_, token_;
  BodyTemplate link_;
  bool has_link_ = false;
  outputs::EventView view_, context_;
};

}  // namespace

api::OutputPlugin ticketOutput() {
  auto p = outputPlugin<TicketOutput>(
      "ticket",
      "two-way tickets with any tool: templated create, update, acknowledge, resolve, close");
  p.validate = [](const config::NotificationTarget& t,
                  std::vector<std::pair<std::string, std::string>>& problems) {
    Action actions[kKinds];
    compileActions(t, actions, &problems);
    if (!actions[kCreate].set)
      problems.emplace_back("ticket.create", "is required for a ticket target");
    BodyTemplate link;
    std::string error;
    if (!t.ticket_link.empty() && !link.compilePath(t.ticket_link, &error))
      problems.emplace_back("ticket.link", error);
    if (!t.ticket_session.path.empty()) {
      BodyTemplate path, body;
      if (!path.compilePath(t.ticket_session.path, &error))
        problems.emplace_back("ticket.session.path", error);
      if (!t.ticket_session.body.empty() && !body.compile(t.ticket_session.body, &error))
        problems.emplace_back("ticket.session.body", error);
    }
  };
  return p;
}

}  // namespace triaged::plugins
