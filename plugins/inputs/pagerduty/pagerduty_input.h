// Input `pagerduty`: the PagerDuty Events API v2 (POST /v2/enqueue) with PagerDuty's own
// 202/400/429 answers, so any tool that integrates with PagerDuty can send to triaged by
// changing its URL. trigger and resolve change alerts (dedup_key is the alert's key);
// acknowledge is accepted and answered like PagerDuty does.
#pragma once

#include "triaged/api/plugin.h"

namespace triaged::plugins {

api::InputPlugin pagerdutyPlugin();

}  // namespace triaged::plugins
