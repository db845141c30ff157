#include "app/full_config.h"

#include "notify/escalation.h"
#include "notify/notification_filter.h"
#include "triaged/config/loader.h"
#include "triaged/rules/rule_set.h"

namespace triaged::engine {

config::ConfigPtr loadFullConfig(const std::string& path, const api::PluginRegistry& plugins) {
  return config::loadConfig(path, [&](config::Config& c, config::ConfigErrors& errors) {
    c.rule_set = rules::RuleSet::load(c.rule_files_resolved, errors);
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      const auto& s = c.inputs[i];
      if (s.type.empty()) continue;  // already reported
      const auto* p = plugins.findInput(s.type);
      if (!p) {
        std::string known;
        for (const auto& k : plugins.inputs()) known += (known.empty() ? "" : ", ") + k.type;
        errors.push_back({s.file, s.line, 0, "inputs[" + std::to_string(i) + "].type",
                          "unknown input type \"" + s.type + "\" (known: " + known + ")"});
        continue;
      }
      p->validate(s, errors);
    }
    for (size_t i = 0; i < c.notification_targets.size(); ++i) {
      auto& t = c.notification_targets[i];
      std::string path = "notifications.targets[" + std::to_string(i) + "]";
      auto error = [&](const std::string& key, const std::string& message) {
        errors.push_back({t.file, t.line, 0, path + "." + key, message});
      };
      const auto* p = plugins.findOutput(t.type);
      if (!p) {
        std::string known;
        for (const auto& k : plugins.outputs()) known += (known.empty() ? "" : ", ") + k.type;
        error("type", "unknown target type \"" + t.type + "\" (known: " + known + ")");
        continue;
      }
      if (t.url.empty()) t.url = p->default_url;
      if (t.url.empty()) error("url", "is required for a " + t.type + " target");
      if (!t.body_template.empty() && t.type != "webhook")
        error("template", "is only for webhook targets");
      if (!t.ticket_fields.empty() && t.type != "servicenow" && t.type != "jira")
        error("fields", "is only for servicenow and jira targets");
      if ((!t.ticket_actions.empty() || !t.ticket_id_pointer.empty() || !t.ticket_link.empty() ||
           !t.ticket_session.path.empty()) &&
          t.type != "ticket")
        error("ticket", "is only for ticket targets (type: ticket)");
      bool email = t.type == "email";
      bool smtp = t.url.rfind("smtp://", 0) == 0 || t.url.rfind("smtps://", 0) == 0;
      if (!email && (!t.mail_from.empty() || !t.mail_to.empty() || !t.console_url.empty() ||
                     !t.starttls.empty()))
        error(!t.mail_from.empty()     ? "mail_from"
              : !t.mail_to.empty()     ? "mail_to"
              : !t.console_url.empty() ? "console_url"
                                       : "starttls",
              "is only for email targets (type: email)");
      if (email != smtp && !t.url.empty())
        error("url", email ? "an email target needs an smtp:// or smtps:// url"
                           : "smtp:// and smtps:// urls are for email targets");
      std::vector<std::pair<std::string, std::string>> problems;
      if (p->validate) p->validate(t, problems);
      for (const auto& [key, message] : problems) error(key, message);
      for (const auto& [index, message] : NotificationFilter::check(t.matchers))
        error("matchers[" + std::to_string(index) + "]", message);
    }
    Escalator::check(c, errors);
  });
}

}  // namespace triaged::engine
