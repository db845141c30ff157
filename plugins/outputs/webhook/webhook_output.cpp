// Generic JSON webhook: the event JSON as it is, or the target's body template filled in.
#include "outputs/common/body_template.h"
#include "outputs/common/event_view.h"
#include "outputs/common/output_plugin.h"
#include "outputs/outputs.h"

namespace triaged::plugins {

namespace {

class WebhookOutput : public api::Output {
 public:
  explicit WebhookOutput(const config::NotificationTarget& t) : url_(t.url) {
    if (!t.body_template.empty()) {
      std::string error;
      templated_ = template_.compile(t.body_template, &error);  // validated before
    }
  }

  std::optional<api::OutputRequest> request(const api::Notification& n,
                                            const std::string&) override {
    api::OutputRequest r;
    r.url = url_;
    if (!templated_) {
      r.body = std::string(n.body);
      return r;
    }
    if (!view_.parse(n.body)) return std::nullopt;
    simdjson::dom::element root = view_.root();
    r.body = template_.render(&root);
    return r;
  }

 private:
  std::string url_;
  outputs::BodyTemplate template_;
  bool templated_ = false;
  outputs::EventView view_;
};

}  // namespace

api::OutputPlugin webhookOutput() {
  auto p = outputPlugin<WebhookOutput>(
      "webhook",
      "generic JSON webhook: the event JSON, or a body template with {{field}} placeholders");
  p.validate = [](const config::NotificationTarget& t,
                  std::vector<std::pair<std::string, std::string>>& problems) {
    if (t.body_template.empty()) return;
    outputs::BodyTemplate bt;
    std::string error;
    if (!bt.compile(t.body_template, &error)) problems.emplace_back("template", error);
  };
  return p;
}

}  // namespace triaged::plugins
