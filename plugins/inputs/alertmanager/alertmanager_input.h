// Alertmanager-family inputs:
// - `alertmanager`: the webhook receiver for Alertmanager (payload version "4") and Grafana
//   contact points (version "1"), POST to a configurable path.
// - `alertmanager_api`: POST /api/v2/alerts, the body Prometheus sends to an Alertmanager, so a
//   Prometheus server can list triaged under alerting.alertmanagers. startsAt/endsAt as
//   Alertmanager reads them: endsAt in the past resolves, a missing endsAt means
//   now + resolve_timeout.
#pragma once

#include "triaged/api/plugin.h"

namespace triaged::plugins {

api::InputPlugin alertmanagerWebhookPlugin();
api::InputPlugin alertmanagerApiPlugin();

}  // namespace triaged::plugins
