// The typed configuration of the daemon. Built completely by loadConfig(), then immutable and
// shared as std::shared_ptr<const Config>; a reload builds a new one and swaps it in.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "triaged/config/units.h"

namespace triaged::rules {
class RuleSet;
}

namespace triaged::config {

using namespace std::chrono_literals;

struct TlsConfig {
  std::string cert_file;  // PEM certificate chain; TLS is on when both files are set
  std::string key_file;   // PEM private key
  // Mutual TLS: client certificates this CA signed identify users and groups by their common
  // name (auth.*.client_names); `client_certs` optional (tokens still work) or required.
  std::string client_ca_file;
  std::string client_certs = "optional";
  bool enabled() const { return !cert_file.empty(); }
};

struct ServerConfig {
  std::string listen = "127.0.0.1:9470";
  std::string host = "127.0.0.1";  // parsed from listen
  uint16_t port = 9470;            // parsed from listen; 0 picks a free port
  unsigned io_threads = 0;         // 0: one per core
  uint64_t max_connections = 4096;
  uint64_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 32 * 1024 * 1024;
  Duration header_timeout = 10s;  // from the first byte of a request to the end of its headers
  Duration body_timeout = 30s;    // from the end of the headers to the end of the body
  Duration idle_timeout = 120s;   // keep-alive connection waiting for its next request
  Duration write_timeout = 30s;   // writing one response
  Duration handshake_timeout = 10s;
  TlsConfig tls;
};

// Bearer tokens of one route group. Empty: the group is open.
struct AuthGroup {
  std::vector<std::string> bearer_tokens;
  std::vector<std::string> client_names;  // client certificates' common names (mutual TLS)
  bool required() const { return !bearer_tokens.empty() || !client_names.empty(); }
};

// A named person (or tool) of the console and the API: a role and its bearer tokens (several
// for rotation). viewer: read; operator: read + incident, silence and maintenance actions;
// admin: everything, reload and redelivery included.
struct User {
  std::string name;
  std::string role = "viewer";  // viewer | operator | admin
  std::vector<std::string> bearer_tokens;
  std::vector<std::string> client_names;  // client certificates' common names (mutual TLS)
  std::string file;                       // where it was defined, for messages
  int line = 0;
};

struct AuthConfig {
  AuthGroup ingest;  // event inputs on the HTTP port
  AuthGroup read;    // GET /api/..., /metrics (a token of the viewer role, without a name)
  AuthGroup admin;   // /-/reload and mutating API calls (the admin role, without a name)
  std::vector<User> users;
};

// GET /api/v1/stream (Server-Sent Events). *reload* except buffer_events.
struct StreamConfig {
  uint64_t max_clients = 256;
  uint64_t buffer_events = 10000;           // replay ring for Last-Event-ID. *restart*
  uint64_t client_buffer_bytes = 4u << 20;  // how far behind a client may fall, then cut off
  Duration heartbeat_interval = std::chrono::seconds(15);
  Duration flush_interval = std::chrono::milliseconds(50);  // at most one write per client per
  // Events are built while a client is connected and this long after the last one left (so
  // that it can resume); beyond, none are built (a resume then gets a resync).
  Duration resume_window = std::chrono::seconds(60);
};

// The operator console served at /. *reload*
struct ConsoleConfig {
  bool enabled = true;
  // Content-Security-Policy frame-ancestors: who may frame the console (a wall display's
  // dashboard page). Empty: 'none'.
  std::vector<std::string> frame_ancestors;
};

// state.postgresql: the server of the postgresql backend.
struct PostgresConfig {
  std::string url;       // libpq connection URI or key=value string
  std::string password;  // from password / password_file ("" = libpq's own: .pgpass, URL)
  Duration connect_timeout = std::chrono::seconds(5);
};

// ha: active/standby over the postgresql backend (docs/operations.md, "High availability").
struct HaConfig {
  bool enabled = false;
  std::string node;           // this node's name (default: the host name)
  std::string advertise_url;  // where clients reach this node; standbys send them to the leader's
  Duration lease = std::chrono::seconds(10);
  Duration renew_interval = std::chrono::seconds(2);
};

struct StateConfig {
  std::string backend = "sqlite";   // sqlite | postgresql
  PostgresConfig postgresql;        // backend postgresql
  std::string directory = "data";   // sqlite: relative paths are relative to the working dir
  std::string durability = "sync";  // sync | async
  Duration checkpoint_interval = std::chrono::seconds(10);  // duplicates' counters to disk
  Duration retention =
      std::chrono::hours(24 * 90);  // closed incidents and problems, expired silences
  Duration sla_retention = std::chrono::hours(24 * 400);  // service level history for reports
  uint64_t cache_bytes = 32ull << 20;  // SQLite's page cache (the writer's working set)
  uint64_t mmap_bytes = 0;  // how much of the database SQLite maps (0: reads copy into the cache)
};

// One request of a `ticket` target (two-way tickets with any tool): method, a path after the
// target's url and a JSON body template, both with {{path}} placeholders over the event and
// the remembered ticket ({{ticket.id}}).
struct TicketAction {
  std::string method;  // default: POST for create, PUT for the others
  std::string path;
  std::string body;  // "" = no body
};

// One destination of incident and problem events (generic JSON webhook).
struct NotificationTarget {
  std::string name, type = "webhook", url;  // type: an output plugin (plugins/outputs/)
  std::vector<std::string> events;          // event types ("incident.opened", ...); empty = all
  int min_priority = 5;  // incidents of priority 1..min_priority (problems always)
  // Prometheus-style matchers on the incident's fields (engine::IncidentFacts); all must
  // match. Checked by the engine (NotificationFilter::check).
  std::vector<std::string> matchers;
  unsigned concurrency = 4;   // requests in flight at once (one per incident at a time)
  std::string proxy;          // HTTP(S) proxy URL for this target ("" = libcurl's environment)
  std::string body_template;  // webhook: a JSON body with {{path}} fields of the event
  std::string file;           // where the target is configured, for errors
  int line = 0;
  Duration timeout = std::chrono::seconds(10);
  Duration max_age = std::chrono::hours(24);  // then the entry is dead-lettered
  Duration retry_initial = std::chrono::seconds(1), retry_max = std::chrono::minutes(5);
  std::vector<std::pair<std::string, std::string>> headers;  // with header_files' values
  std::string bearer_token, hmac_secret;                     // secrets (inline or *_file)
  std::string routing_key;         // pagerduty: the integration key (a secret)
  std::string username, password;  // basic auth (password a secret)
  std::string project, issue_type = "Incident", resolve_transition;  // jira
  // servicenow and jira: more fields of the created ticket, a JSON object template
  // (assignment group, CMDB CI from the CI's name, custom fields).
  std::string ticket_fields;
  double rate_limit = 0;          // requests per second (burst: one second's worth); 0 = none
  unsigned circuit_failures = 5;  // consecutive failures that open the circuit (0 = never)
  Duration circuit_open_for = std::chrono::seconds(30);  // then one probe request
  bool tls_insecure_skip_verify = false;
  // type ticket: the requests by action (create, update, acknowledge, resolve, close), where
  // the create answer holds the id (a JSON pointer; "" = the Location header's last segment)
  // and a link for people ({{ticket.id}}).
  std::vector<std::pair<std::string, TicketAction>> ticket_actions;
  std::string ticket_id_pointer, ticket_link;
  // A tool whose API needs a session first (GLPI): the login request, where its answer holds
  // the token (a JSON pointer) and the header that carries it in the later requests. A 401
  // logs in again.
  TicketAction ticket_session;
  std::string ticket_session_pointer, ticket_session_header;
  // type email: the envelope and headers' sender and recipients, STARTTLS (required, optional,
  // off) and the console's address for links in the mails.
  std::string mail_from, starttls, console_url;  // starttls "" = optional
  std::vector<std::string> mail_to;
  // POST /api/v1/tickets/<name>/<ticket>/<action> accepts this token (a secret) instead of an
  // admin's, or a request signed with callback_hmac_secret (X-Triaged-Signature); the actor on
  // the timeline is the target's name.
  std::string callback_token, callback_hmac_secret;
};

// One step of an escalation: who is told `after` the escalation started (the incident opened,
// reopened or was released), unless it was acknowledged by then.
struct EscalationStep {
  Duration after{0};
  std::vector<std::string> targets;       // target names, or "schedule:<name>" (who is on call)
  std::vector<std::string> out_of_hours;  // instead of targets outside the policy's calendar
  int line = 0;
};

// A notification policy (notifications.policies): which incidents it takes (matchers on their
// fields), which of their events the targets it reached hear of, and its escalation steps.
// Policies are tried in order; the first that matches takes the incident unless it says
// `continue`.
struct NotificationPolicy {
  std::string name;
  std::vector<std::string> matchers;  // engine::PolicyFacts; all must match
  std::vector<std::string> events;    // empty = all
  bool continue_matching = false;     // `continue`
  std::string calendar;               // a rule files' calendar: its agreed time is "in hours"
  std::vector<EscalationStep> steps;
  Duration repeat_interval{0};  // then the last step again this often until acknowledged
  std::string file;
  int line = 0;
};

struct LoggingConfig {
  std::string level = "info";   // trace debug info warn error critical off
  std::string format = "text";  // text | json
};

struct ShutdownConfig {
  Duration drain_timeout = 15s;
};

struct PipelineConfig {
  unsigned shards = 0;                 // dedup shard threads; 0: one per core
  uint64_t queue_batches = 1024;       // capacity of each shard queue, in batches
  uint64_t queue_bytes = 64ull << 20;  // memory of the batches waiting for the shards, in all
  uint64_t max_batch_events = 4096;
  Duration retry_after = 1s;         // advertised in 429 responses
  Duration resolved_retention = 1h;  // resolved alerts stay visible this long
  bool flapping_enabled = true;
  double flapping_low_percent = 5.0;
  double flapping_high_percent = 20.0;
};

// Correlation defaults and the incident lifecycle (rules live in the rule files).
struct CorrelationConfig {
  Duration resolve_hold_down = std::chrono::minutes(5);  // all alerts resolved this long: resolve
  Duration reopen_window = std::chrono::hours(1);   // a recurrence within this reopens the incident
  Duration close_after = std::chrono::hours(24);    // resolved incidents close after this
  Duration max_lateness = std::chrono::minutes(5);  // replay: how far event time may go back
  std::vector<std::string> default_group_by = {"service", "resource"};
  Duration default_group_wait = Duration{0};
  Duration default_group_interval = std::chrono::minutes(5);
  // ITIL priority matrix: rows impact high/medium/low, columns urgency high/medium/low; 1..5.
  int priority_matrix[3][3] = {{1, 2, 3}, {2, 3, 4}, {3, 4, 5}};
  unsigned impact_services = 3;    // this many affected services raise impact one level
  unsigned impact_cis = 10;        // as do this many affected CIs
  unsigned problem_incidents = 3;  // recurring incidents that open a problem
  Duration problem_window = std::chrono::hours(24 * 7);  // within this window
  unsigned timeline_max_entries = 1000;      // per incident; later entries are counted, not kept
  uint64_t timeline_max_bytes = 256 * 1024;  // the same bound in bytes (entries and their text)
  // An incident opened on a change's CIs or services during the change or this long after it
  // is linked to the change.
  Duration change_window = std::chrono::hours(1);
};

// One `inputs:` entry; the plugin named by `type` validates and reads the rest of `node`.
struct PluginSection {
  std::string name;
  std::string type;
  YAML::Node node;
  std::string file;
  int line = 0;
  size_t index = 0;  // position in `inputs:`
  std::string path() const { return "inputs[" + std::to_string(index) + "]"; }
};

// The Alertmanager API v2 compatibility (GET /api/v2/alerts and /alerts/groups): the label
// an Alertmanager client sees for each triaged field, added when the alert has no label of
// that name. *reload*
struct AlertmanagerApiConfig {
  std::vector<std::pair<std::string, std::string>> labels = {{"alertname", "check"},
                                                             {"instance", "resource"},
                                                             {"severity", "severity"},
                                                             {"service", "service"}};
};

struct Config {
  std::string source_file;  // the file this was loaded from ("" for embedded defaults)
  std::string hash;         // sha256 over the config file and every rule file
  ServerConfig server;
  AuthConfig auth;
  StateConfig state;
  HaConfig ha;
  LoggingConfig logging;
  ShutdownConfig shutdown;
  PipelineConfig pipeline;
  std::vector<std::string> rule_files;           // globs as written
  std::vector<std::string> rule_files_resolved;  // files they matched, sorted
  std::vector<PluginSection> inputs;
  CorrelationConfig correlation;
  std::vector<NotificationTarget> notification_targets;
  std::vector<NotificationPolicy> notification_policies;
  AlertmanagerApiConfig alertmanager_api;
  StreamConfig stream;
  ConsoleConfig console;
  // The parsed rule files; built by the rules module during loading (see loadConfig's
  // validator), immutable, shared with the correlator.
  std::shared_ptr<const rules::RuleSet> rule_set;
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace triaged::config
