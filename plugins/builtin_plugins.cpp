#include "builtin_plugins.h"

#include "inputs/alertmanager/alertmanager_input.h"
#include "inputs/common/native_decoder.h"
#include "inputs/kafka/kafka_input.h"
#include "inputs/native_json/native_json_input.h"
#include "inputs/ndjson_tcp/ndjson_tcp_input.h"
#include "inputs/pagerduty/pagerduty_input.h"
#include "inputs/syslog/syslog_input.h"
#include "outputs/outputs.h"

namespace triaged::plugins {

api::PluginRegistry builtinPlugins() {
  api::PluginRegistry r;
  r.addInput(nativeJsonPlugin());
  r.addInput(ndjsonTcpPlugin());
  r.addInput(alertmanagerWebhookPlugin());
  r.addInput(alertmanagerApiPlugin());
  r.addInput(pagerdutyPlugin());
  r.addInput(syslogPlugin());
  r.addInput(kafkaPlugin());
  r.addOutput(webhookOutput());
  r.addOutput(pagerdutyOutput());
  r.addOutput(slackOutput());
  r.addOutput(servicenowOutput());
  r.addOutput(jiraOutput());
  r.addOutput(ticketOutput());
  r.addOutput(emailOutput());
  r.setNdjsonDecoder([](const char* data, size_t len, size_t capacity,
                        api::BatchBuilder& b) { return decodeNdjson(data, len, capacity, b); },
                     nativeSeverities());
  return r;
}

}  // namespace triaged::plugins
