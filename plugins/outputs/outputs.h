// The built-in output plugins (notification target types), listed in builtin_plugins.cpp.
#pragma once

#include "triaged/api/output.h"

namespace triaged::plugins {

api::OutputPlugin webhookOutput();     // generic JSON webhook (the event as is, or a template)
api::OutputPlugin pagerdutyOutput();   // PagerDuty Events v2
api::OutputPlugin slackOutput();       // Slack incoming webhook
api::OutputPlugin servicenowOutput();  // ServiceNow Table API
api::OutputPlugin jiraOutput();        // Jira REST v2
api::OutputPlugin ticketOutput();      // any ticketing tool, by templates
api::OutputPlugin emailOutput();       // SMTP

}  // namespace triaged::plugins
