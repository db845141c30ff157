// Slack incoming webhook: one mrkdwn line per event.
#include "outputs/common/event_view.h"
#include "outputs/common/output_plugin.h"
#include "outputs/outputs.h"
#include "triaged/api/json_writer.h"

namespace triaged::plugins {

namespace {

using outputs::num;
using outputs::str;

class SlackOutput : public api::Output {
 public:
  explicit SlackOutput(const config::NotificationTarget& t) : url_(t.url) {}

  std::optional<api::OutputRequest> request(const api::Notification& n,
                                            const std::string&) override {
    if (!view_.parse(n.body)) return std::nullopt;
    simdjson::dom::element root = view_.root(), inc, prob;
    std::string text;
    std::string action(outputs::action(n.event));
    if (view_.incident(inc)) {
      text = "*[P" + std::to_string(num(inc, "priority")) + "] Incident " +
             std::to_string(num(inc, "id")) + " " + action + "*: " + std::string(str(inc, "title"));
      std::string_view service = str(inc, "service");
      if (!service.empty()) text += " (service " + std::string(service) + ")";
      text += " — " + std::string(str(inc, "status"));
    } else if (view_.problem(prob)) {
      text = "*Problem " + std::to_string(num(prob, "id")) + " " + action +
             "*: " + std::string(str(prob, "title"));
    } else {
      // SLA and heartbeat events.
      text = "*" + std::string(n.event) + "*";
      std::string_view agreement = str(root, "agreement"), hb = str(root, "heartbeat");
      if (!agreement.empty())
        text += ": " + std::string(agreement) + " " + std::string(str(root, "target")) + " at " +
                std::to_string(num(root, "percent")) + " %";
      if (!hb.empty()) text += ": heartbeat " + std::string(hb);
    }
    // Slack's mrkdwn: &, < and > are escaped.
    std::string escaped;
    for (char c : text) {
      if (c == '&')
        escaped += "&amp;";
      else if (c == '<')
        escaped += "&lt;";
      else if (c == '>')
        escaped += "&gt;";
      else
        escaped += c;
    }
    api::OutputRequest r;
    r.url = url_;
    api::JsonWriter(r.body).beginObject().field("text", escaped).endObject();
    return r;
  }

  bool refused(long status) const override { return outputs::refusedByTool(status); }

 private:
  std::string url_;
  outputs::EventView view_;
};

}  // namespace

api::OutputPlugin slackOutput() {
  return outputPlugin<SlackOutput>("slack", "Slack incoming webhook (one message per event)");
}

}  // namespace triaged::plugins
