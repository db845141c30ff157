// Alertmanager's API v2, as its own clients (amtool, Grafana's Alertmanager data source, Karma)
// use it: GET /api/v2/alerts and /api/v2/alerts/groups (triaged's alerts with their
// suppression, grouped by incident), /api/v2/receivers (the notification targets),
// /api/v2/status, and the silences (/api/v2/silences, /api/v2/silence/{id}). Answers follow
// Alertmanager's OpenAPI description (tests/e2e validates them against it). POST
// /api/v2/alerts is the alertmanager_api input (plugins/inputs/alertmanager).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "correlate/correlator_stage.h"
#include "triaged/api/http.h"
#include "triaged/config/config.h"

namespace triaged::engine {

class AlertmanagerApi {
 public:
  struct Settings {
    std::vector<std::pair<std::string, std::string>> labels;  // Alertmanager label <- field
    std::vector<config::NotificationTarget> targets;          // the receivers
    std::string config_text;  // the configuration file as loaded, secrets redacted
  };
  struct State;  // the settings with the targets' filters compiled (alertmanager_api.cpp)
  AlertmanagerApi(CorrelatorStage& stage, int64_t started_ms)
      : stage_(stage), started_(started_ms) {}
  // Registers the routes; they read the settings current at each request.
  void addRoutes(api::Router& router);
  // At start and on each reload (labels and config text follow a reload; the targets are
  // those the notifier runs, read at start).
  void configure(Settings s);
  std::shared_ptr<const Settings> settings() const;

  // The configuration text with the values of secret keys (token, secret, password, key...)
  // replaced by "<secret>", as Alertmanager shows its configuration.
  static std::string redact(const std::string& yaml);
  // A posted silence (Alertmanager v2 PostableSilence, with triaged's "changeId"), as POST
  // /api/v2/silences reads it: false, with `error` naming the field, when it is not one.
  static bool parseSilence(std::string_view json, Silence& out, std::string& error);

 private:
  std::shared_ptr<const State> state() const;

  CorrelatorStage& stage_;
  int64_t started_;
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;
};

}  // namespace triaged::engine
