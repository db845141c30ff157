// The daemon's own HTTP routes (/-/healthy, /-/ready, /-/reload, /metrics, /api/v1/status,
// the test clock), its status document, and reloading the configuration (daemon_impl.h).
#include <systemd/sd-daemon.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <ctime>

#include "app/daemon_impl.h"
#include "app/full_config.h"
#include "notify/escalation.h"
#include "triaged/api/json_writer.h"
#include "triaged/build_info.h"
#include "triaged/config/loader.h"

namespace triaged::engine {

namespace {

std::string rfc3339(std::chrono::system_clock::time_point tp) {
  std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string errorsJson(const config::ConfigErrors& errors) {
  std::string out;
  api::JsonWriter w(out);
  w.beginArray();
  for (const auto& e : errors) {
    w.beginObject().field("file", e.file).field("line", e.line).field("column", e.column);
    w.field("path", e.path).field("message", e.message).endObject();
  }
  w.endArray();
  return out;
}

}  // namespace

// POST /-/test/clock?to=<RFC 3339> (TRIAGED_TEST_CLOCK only): moves the manual clock forward
// and answers once everything due by then has happened: each shard has expired its alerts and
// handed the changes on, and the correlator has applied them, run its timers and the
// evaluator's at the new time, and published the SLA refresh due then.
void Daemon::addTestClockRoute() {
  using api::HttpResponse;
  router_.add({api::Verb::post, "/-/test/clock", api::RouteGroup::kAdmin,
               [this](const api::HttpRequest& req, api::Responder r) {
                 std::string to;
                 req.queryParam("to", to);
                 auto t = api::parseRfc3339(to);
                 if (!t || *t < manual_clock_.nowMs())
                   return r(HttpResponse::error(400, "invalid clock",
                                                "\"to: an RFC 3339 time not before now\""));
                 manual_clock_.set(*t);
                 pipeline_->expireNow();
                 auto respond = std::make_shared<api::Responder>(std::move(r));
                 auto left = std::make_shared<std::atomic<size_t>>(pipeline_->shards());
                 auto applied = [this, respond] {
                   // The first task runs after the shards' changes; the loop then runs the
                   // timers at the new time (and starts the SLA refresh if one is due); the
                   // second task finishes that refresh and answers.
                   correlator_->run([this, respond](Correlator&, int64_t) {
                     correlator_->runAfterSlaRefresh([respond](Correlator&, int64_t now) {
                       (*respond)(HttpResponse::json(
                           200, "{\"now\":\"" + api::formatRfc3339Ms(now) + "\"}\n"));
                     });
                   });
                 };
                 for (size_t i = 0; i < pipeline_->shards(); ++i)
                   pipeline_->runOnShard(i, [left, applied](const AlertTable&) {
                     if (left->fetch_sub(1) == 1) applied();
                   });
               }});
}

void Daemon::acknowledgeAlert(uint64_t fingerprint, std::string actor,
                              std::function<void(bool)> done) {
  bool queued = correlator_->run(
      [this, fingerprint, actor = std::move(actor), done](Correlator& c, int64_t now) mutable {
        const CorrAlert* a = c.alert(fingerprint);
        const Incident* inc = a && a->incident ? c.incident(a->incident) : nullptr;
        if (!inc || inc->status != IncidentStatus::kOpen) return done(false);
        bool ok = c.acknowledge(inc->id, actor, now).empty();
        correlator_->whenDurable([done, ok] { done(ok); });
      });
  if (!queued) done(false);
}

void Daemon::addCoreRoutes() {
  using api::HttpResponse;
  using api::RouteGroup;
  using api::Verb;
  router_.add(
      {Verb::get, "/-/healthy", RouteGroup::kOpen, [](const api::HttpRequest&, api::Responder r) {
         r(HttpResponse::text(200, "triaged is healthy.\n"));
       }});
  router_.add(
      {Verb::get, "/-/ready", RouteGroup::kOpen, [this](const api::HttpRequest&, api::Responder r) {
         if (ready_.load() && !store_writer_->healthy())
           r(HttpResponse::text(503, "triaged is not ready: the state store cannot commit.\n"));
         else if (ready_.load())
           r(HttpResponse::text(200, "triaged is ready.\n"));
         else
           r(HttpResponse::text(503, "triaged is not ready.\n"));
       }});
  auto reload_handler = [this](const api::HttpRequest&, api::Responder r) {
    // Reloads run on the control thread, one at a time, like SIGHUP.
    asio::post(ctrl_, [this, r = std::move(r)] {
      std::string detail;
      if (reload(&detail))
        r(HttpResponse::json(200, "{\"status\":\"success\"}\n"));
      else
        r(HttpResponse::error(500, "failed to reload config", detail));
    });
  };
  router_.add({Verb::post, "/-/reload", RouteGroup::kAdmin, reload_handler});
  if (manual_) addTestClockRoute();
  router_.add({Verb::put, "/-/reload", RouteGroup::kAdmin, reload_handler});
  router_.add(
      {Verb::get, "/metrics", RouteGroup::kRead, [this](const api::HttpRequest&, api::Responder r) {
         auto res = HttpResponse::text(200, hub_.serialize());
         res.content_type = "text/plain; version=0.0.4; charset=utf-8";
         r(std::move(res));
       }});
  router_.add({Verb::get, "/api/v1/status", RouteGroup::kRead,
               [this](const api::HttpRequest&, api::Responder r) {
                 r(HttpResponse::json(200, statusJson()));
               }});
}

std::string Daemon::statusJson() const {
  auto c = published_config_.load();
  std::string out;
  api::JsonWriter w(out);
  double uptime = std::chrono::duration<double>(Steady::now() - started_steady_).count();
  w.beginObject();
  w.field("version", build::kVersion).field("revision", build::kGitCommit);
  w.key("build")
      .beginObject()
      .field("type", build::kBuildType)
      .field("compiler", build::kCompiler)
      .endObject();
  w.field("start_time", rfc3339(started_at_)).field("uptime_seconds", uptime);
  w.field("ready", ready_.load());
  w.key("config").beginObject();
  w.field("file", c->source_file.empty() ? std::string("<embedded defaults>") : c->source_file);
  w.field("hash", c->hash);
  w.field("loaded_at", rfc3339(std::chrono::system_clock::time_point(
                           std::chrono::seconds(config_loaded_at_.load()))));
  w.key("rule_files").beginArray();
  for (const auto& f : c->rule_files_resolved) w.value(f);
  w.endArray();
  w.endObject();
  w.endObject();
  out.push_back('\n');
  return out;
}

bool Daemon::reload(std::string* error_detail) {
  auto log = log::get("config");
  auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld", static_cast<long long>(now_us));
  config::ConfigPtr next;
  std::shared_ptr<const HttpSettings> settings;
  try {
    next = loadFullConfig(opts_.config_path, plugins_);
    settings = HttpSettings::fromConfig(*next);
  } catch (const config::ConfigException& e) {
    for (const auto& line : config::errorLines(e.errors())) log->error("{}", line);
    log->error("reload failed ({} errors); keeping the running configuration", e.errors().size());
    if (error_detail) *error_detail = errorsJson(e.errors());
    reload_ok_->Set(0);
    sd_notify(0, "READY=1\nSTATUS=reload failed; running the previous configuration");
    return false;
  } catch (const std::exception& e) {
    log->error("reload failed: {}; keeping the running configuration", e.what());
    if (error_detail) {
      error_detail->clear();
      api::appendJsonString(*error_detail, e.what());
    }
    reload_ok_->Set(0);
    sd_notify(0, "READY=1\nSTATUS=reload failed; running the previous configuration");
    return false;
  }
  // Settings bound at start-up keep their running values until a restart.
  auto warn_restart = [&](const char* key, bool changed) {
    if (changed) log->warn("{} changed; the new value takes effect after a restart", key);
  };
  warn_restart("server.listen", next->server.listen != config_->server.listen);
  warn_restart("server.io_threads", next->server.io_threads != config_->server.io_threads);
  warn_restart("server.tls (on/off)", next->server.tls.enabled() != config_->server.tls.enabled());
  warn_restart("state.directory", next->state.directory != config_->state.directory);
  warn_restart("pipeline.shards", next->pipeline.shards != config_->pipeline.shards);
  warn_restart("notifications.policies", Escalator::describe(next->notification_policies) !=
                                             Escalator::describe(config_->notification_policies));
  if (!config_->server.tls.enabled() || !next->server.tls.enabled()) {
    auto copy = std::make_shared<HttpSettings>(*settings);
    copy->tls = server_->settings()->tls;
    settings = copy;
  }
  // Inputs: the same list (names and types, in order) reconfigures in place; a changed list
  // needs a restart.
  bool same_inputs = next->inputs.size() == config_->inputs.size();
  for (size_t i = 0; same_inputs && i < next->inputs.size(); ++i)
    same_inputs = next->inputs[i].name == config_->inputs[i].name &&
                  next->inputs[i].type == config_->inputs[i].type;
  if (same_inputs) {
    for (size_t i = 0; i < inputs_.size(); ++i) inputs_[i]->reconfigure(next->inputs[i]);
  } else {
    log->warn(
        "inputs were added, removed or reordered; the running inputs keep their settings until a "
        "restart");
  }
  server_->setSettings(settings);
  event_hub_->setConfig(next->stream);
  console_.configure(next->console);
  warn_restart("stream.buffer_events", next->stream.buffer_events != config_->stream.buffer_events);
  correlator_->reload(next->rule_set,
                      CorrelatorOptions{next->correlation, next->state.retention.count(),
                                        next->state.sla_retention.count()});
  // The Alertmanager API's labels and configuration text follow; its receivers are the
  // targets the notifier runs (read at start).
  alertmanager_api_->configure(alertmanagerSettings(*next, alertmanager_api_->settings()->targets));
  config_ = next;
  published_config_.store(next);
  applyLogging(*next);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  config_loaded_at_ = now;
  reload_ok_->Set(1);
  reload_ts_->Set(static_cast<double>(now));
  log->info("configuration reloaded (hash {})", next->hash.substr(0, 12));
  sd_notify(0, "READY=1\nSTATUS=configuration reloaded");
  return true;
}

}  // namespace triaged::engine
