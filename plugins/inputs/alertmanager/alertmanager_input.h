// Alertmanager-family inputs:
// - `alertmanager`: the webhook receiver for Alertmanager (payload version "4") and Grafana
//   contact points (version "1"), POST to a configurable path.
// - `alertmanager_api`: POST /api/v2/alerts, the body Prometheus sends to an Alertmanager, so a
//   Prometheus server can list triaged under alerting.alertmanagers. startsAt/endsAt as
//   Alertmanager reads them: endsAt in the past resolves, a missing endsAt means
//   now + resolve_timeout.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "triaged/api/plugin.h"

namespace triaged::plugins {

api::InputPlugin alertmanagerWebhookPlugin();

// The webhook payload (Alertmanager version 4, Grafana version 1) decoded with the webhook
// input's default label mapping, for inputs that carry such payloads (Kafka). `body` must have
// SIMDJSON_PADDING bytes of capacity beyond its size. The builder's options should take the
// severity names of alertmanagerSeverities().
void decodeAlertmanagerWebhook(std::string& body, api::BatchBuilder& b);
const std::vector<std::pair<std::string, api::Severity>>& alertmanagerSeverities();
api::InputPlugin alertmanagerApiPlugin();

}  // namespace triaged::plugins
