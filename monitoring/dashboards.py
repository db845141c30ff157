#!/usr/bin/env python3
"""Generates triaged's Grafana dashboards (monitoring/dashboards/*.json) from this one file,
so that every panel is written once, laid out the same way and easy to review.

    python3 monitoring/dashboards.py            # (re)writes the JSON files
    python3 monitoring/dashboards.py --check    # exit 1 when a committed file differs
    python3 monitoring/dashboards.py --queries  # every panel's queries, one JSON per line

Each dashboard has a Prometheus `datasource` variable and `job` and `instance` variables
(every query selects `job=~"$job",instance=~"$instance"`). The system test
(tests/e2e/test_mixin.py) runs every query printed by --queries against a real Prometheus
scraping a loaded triaged and fails on any that errors or returns no series."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "dashboards")
SEL = 'job=~"$job",instance=~"$instance"'
DS = {"type": "prometheus", "uid": "${datasource}"}
RI = "$__rate_interval"


def expand(expr, key, selector):
    """`metric{S}` becomes `metric{<selector>}`, `metric{S,x="y"}` `metric{<selector>,x="y"}`."""
    expr = expr.replace("{{%s}}" % key, "{%s}" % key).replace("{{%s}," % key, "{%s," % key)
    return expr.replace("{%s}" % key, "{%s}" % selector).replace("{%s," % key, "{%s," % selector)


def q(expr, legend="", instant=False):
    """A query: {S} is the job/instance selector, {R} the rate interval."""
    return {"expr": expand(expr, "S", SEL).replace("{R}", RI), "legend": legend, "instant": instant}


class Board:
    def __init__(self, uid, title, description, extra_vars=()):
        self.uid, self.title, self.description = uid, title, description
        self.panels, self.y, self.x, self.row_h = [], 0, 0, 0
        self.extra_vars = list(extra_vars)

    def row(self, title):
        self._newline()
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}})
        self.y += 1

    def _newline(self):
        if self.x:
            self.y += self.row_h
            self.x, self.row_h = 0, 0

    def panel(self, kind, title, queries, w=8, h=8, unit="short", description="", **opts):
        if self.x + w > 24:
            self._newline()
        targets = []
        for i, t in enumerate(queries):
            target = {"datasource": DS, "expr": t["expr"], "refId": chr(ord("A") + i),
                      "legendFormat": t["legend"] or "__auto"}
            if t["instant"] or kind in ("table", "bargauge", "stat"):
                target.update({"instant": True, "range": False})
            if kind == "table":
                target["format"] = "table"
            targets.append(target)
        p = {"type": kind, "title": title, "description": description, "datasource": DS,
             "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y}, "targets": targets,
             "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "options": {}}
        if kind == "timeseries":
            p["fieldConfig"]["defaults"]["custom"] = {"fillOpacity": 10, "showPoints": "never"}
            p["options"] = {"legend": {"displayMode": "table", "placement": "bottom",
                                       "calcs": ["lastNotNull", "max"]},
                            "tooltip": {"mode": "multi", "sort": "desc"}}
            if opts.get("stack"):
                p["fieldConfig"]["defaults"]["custom"]["stacking"] = {"mode": "normal"}
        elif kind == "stat":
            p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background",
                            "graphMode": "none", "textMode": opts.get("text_mode", "auto")}
        elif kind == "bargauge":
            p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "orientation": "horizontal",
                            "displayMode": "gradient", "showUnfilled": True}
        if "thresholds" in opts:
            p["fieldConfig"]["defaults"]["thresholds"] = {
                "mode": "absolute",
                "steps": [{"color": c, "value": v} for v, c in opts["thresholds"]]}
        if "mappings" in opts:
            p["fieldConfig"]["defaults"]["mappings"] = [
                {"type": "value", "options": {str(k): {"text": t, "color": c}
                                              for k, (t, c) in opts["mappings"].items()}}]
        for key in ("min", "max", "decimals"):
            if key in opts:
                p["fieldConfig"]["defaults"][key] = opts[key]
        if kind == "table":
            p["transformations"] = opts.get("transformations", [])
            p["options"] = {"showHeader": True, "sortBy": opts.get("sort_by", [])}
        self.panels.append(p)
        self.x += w
        self.row_h = max(self.row_h, h)

    def render(self):
        for i, p in enumerate(self.panels, 1):
            p["id"] = i
        variables = [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "current": {}, "hide": 0, "refresh": 1},
            {"name": "job", "label": "job", "type": "query", "datasource": DS,
             "query": {"query": "label_values(triaged_build_info, job)", "refId": "job"},
             "definition": "label_values(triaged_build_info, job)", "refresh": 2,
             "includeAll": False, "multi": False, "current": {}, "hide": 0, "sort": 1},
            {"name": "instance", "label": "instance", "type": "query", "datasource": DS,
             "query": {"query": 'label_values(triaged_build_info{job=~"$job"}, instance)',
                       "refId": "instance"},
             "definition": 'label_values(triaged_build_info{job=~"$job"}, instance)',
             "refresh": 2, "includeAll": True, "allValue": ".+", "multi": True,
             "current": {}, "hide": 0, "sort": 1},
        ] + self.extra_vars
        return {
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": ["triaged"], "editable": True, "graphTooltip": 1, "schemaVersion": 39,
            "version": 1, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
            "timezone": "", "links": [{"type": "dashboards", "tags": ["triaged"],
                                       "asDropdown": False, "title": "triaged"}],
            "templating": {"list": variables}, "annotations": {"list": []},
            "panels": self.panels,
        }


def overview():
    b = Board("triaged-overview", "triaged / Overview",
              "Ingest, deduplication, correlation, the store, notifications and the process of "
              "triaged. Runbooks: docs/runbook.md.")
    b.row("Health")
    b.panel("stat", "Up", [q('up{S}', "{{instance}}")], w=4, h=4,
            mappings={0: ("down", "red"), 1: ("up", "green")})
    b.panel("stat", "Ready", [q('triaged_ready{S}', "{{instance}}")], w=4, h=4,
            mappings={0: ("not ready", "red"), 1: ("ready", "green")},
            description="1 once started, not draining and the store commits (/-/ready).")
    b.panel("stat", "Config reload", [q('triaged_config_last_reload_successful{S}', "{{instance}}")],
            w=4, h=4, mappings={0: ("failed", "red"), 1: ("ok", "green")})
    b.panel("stat", "State store", [q('triaged_store_up{S}', "{{backend}} {{instance}}")], w=4, h=4,
            mappings={0: ("down", "red"), 1: ("up", "green")})
    b.panel("stat", "Version", [q('triaged_build_info{S}', "{{version}} ({{revision}})")], w=4, h=4,
            text_mode="name")
    b.panel("stat", "Uptime", [q('time() - process_start_time_seconds{S}', "{{instance}}")], w=4, h=4,
            unit="s")

    b.row("Ingest")
    b.panel("timeseries", "Events received by input",
            [q('sum by (input) (rate(triaged_input_events_received_total{{S}}[{R}]))', "{{input}}")],
            unit="ops", stack=True)
    b.panel("timeseries", "Events rejected by input and reason",
            [q('sum by (input, reason) (rate(triaged_input_events_rejected_total{{S}}[{R}]))',
               "{{input}} {{reason}}")], unit="ops",
            description="busy: answered 429 (pipeline full); store_unavailable: 503; the rest: bad input.")
    b.panel("timeseries", "Back-pressure",
            [q('sum by (shard) (rate(triaged_pipeline_queue_full_total{{S}}[{R}]))', "queue full, shard {{shard}}"),
             q('sum by (reason) (rate(triaged_http_rejected_total{{S}}[{R}]))', "HTTP refused: {{reason}}")],
            unit="ops")
    b.panel("timeseries", "Queue depths",
            [q('sum by (shard) (triaged_pipeline_queue_depth{S})', "shard {{shard}} (batches)"),
             q('sum(triaged_correlator_queue_tasks{S})', "correlator (tasks)"),
             q('sum(triaged_store_queue_units{S})', "store (units)")])
    b.panel("timeseries", "Deduplication outcomes",
            [q('sum by (outcome) (rate(triaged_dedup_events_total{{S}}[{R}]))', "{{outcome}}")],
            unit="ops", stack=True)
    b.panel("timeseries", "Alert changes",
            [q('sum by (kind) (rate(triaged_alert_changes_total{{S}}[{R}]))', "{{kind}}")], unit="ops",
            description="State changes handed to the correlator: new, severity, resolved, refired, flapping.")
    b.panel("timeseries", "Batch latency (accepted to applied)",
            [q('histogram_quantile(0.5, sum by (le) (rate(triaged_pipeline_batch_latency_seconds_bucket{{S}}[{R}])))', "p50"),
             q('histogram_quantile(0.99, sum by (le) (rate(triaged_pipeline_batch_latency_seconds_bucket{{S}}[{R}])))', "p99")],
            unit="s")
    b.panel("timeseries", "Active alerts",
            [q('sum by (status) (triaged_alerts_active{S})', "{{status}}"),
             q('sum(triaged_alerts_suppressed{S})', "suppressed")])
    b.panel("timeseries", "HTTP requests by status class",
            [q('sum by (code) (rate(triaged_http_requests_total{{S}}[{R}]))', "{{code}}")], unit="reqps")

    b.row("Correlation")
    b.panel("timeseries", "Correlator events",
            [q('sum by (type) (rate(triaged_correlator_events_total{{S}}[{R}]))', "{{type}}"),
             q('sum(rate(triaged_correlator_alert_changes_total{{S}}[{R}]))', "alert changes applied")],
            unit="ops")
    b.panel("timeseries", "Correlator lag",
            [q('sum(triaged_correlator_queue_tasks{S})', "tasks waiting"),
             q('sum(triaged_correlator_timers{S})', "timers pending")],
            description="Tasks waiting for the correlator thread: a rising line means it falls behind.")
    b.panel("timeseries", "Open incidents by priority",
            [q('sum by (priority) (triaged_incidents_open{S})', "P{{priority}}")], stack=True)
    b.panel("stat", "Open incidents", [q('sum(triaged_incidents_open{S})', "incidents")], w=4, h=4)
    b.panel("stat", "Open problems", [q('sum(triaged_problems_open{S})', "problems")], w=4, h=4)
    b.panel("stat", "Held incidents", [q('sum(triaged_incidents_held{S})', "held")], w=4, h=4,
            description="Open incidents whose firing alerts are all suppressed.")
    b.panel("stat", "Silences in effect", [q('sum(triaged_silences_active{S})', "silences")], w=4, h=4)
    b.panel("stat", "Changes in progress", [q('sum(triaged_changes_in_progress{S})', "changes")], w=4, h=4)
    b.panel("stat", "Alert memory", [q('sum(triaged_alerts_memory_bytes{S})', "alert table")], w=4, h=4,
            unit="bytes")

    b.row("State store")
    b.panel("timeseries", "Commit latency",
            [q('histogram_quantile(0.5, sum by (le) (rate(triaged_store_commit_seconds_bucket{{S}}[{R}])))', "p50"),
             q('histogram_quantile(0.99, sum by (le) (rate(triaged_store_commit_seconds_bucket{{S}}[{R}])))', "p99")],
            unit="s")
    b.panel("timeseries", "Commits",
            [q('sum by (result) (rate(triaged_store_commits_total{{S}}[{R}]))', "{{result}}")], unit="ops")
    b.panel("timeseries", "Rows written",
            [q('sum by (table) (rate(triaged_store_rows_written_total{{S}}[{R}]))', "{{table}}")],
            unit="ops", stack=True)
    b.panel("timeseries", "Write-ahead log (SQLite)",
            [q('sum(triaged_store_wal_pages{S}) * 4096', "log size"),
             q('sum by (by, result) (rate(triaged_store_checkpoints_total{{S}}[{R}]))',
               "checkpoints {{by}} {{result}}")],
            unit="bytes",
            description="The log's size after the last commit (4 KiB pages), and the checkpoints "
                        "that copy it into the database: by the checkpoint thread, or by the "
                        "writer for the last pages so the log starts again.")

    b.row("Notifications")
    b.panel("timeseries", "Deliveries by target and result",
            [q('sum by (target, result) (rate(triaged_notifications_total{{S}}[{R}]))', "{{target}} {{result}}")],
            unit="ops")
    b.panel("timeseries", "Delivery latency p99",
            [q('histogram_quantile(0.99, sum by (target, le) (rate(triaged_notification_delivery_seconds_bucket{{S}}[{R}])))',
               "{{target}}")], unit="s")
    b.panel("timeseries", "Pending and in flight",
            [q('sum by (target) (triaged_notifications_pending{S})', "{{target}} pending"),
             q('sum by (target) (triaged_notifications_in_flight{S})', "{{target}} in flight")])
    b.panel("timeseries", "Oldest pending",
            [q('max by (target) (triaged_notifications_oldest_age_seconds{S})', "{{target}}")], unit="s")
    b.panel("bargauge", "Dead letters (last 24h)",
            [q('sum by (target) (increase(triaged_notifications_total{{S},result="dead"}[1d]))', "{{target}}")],
            thresholds=[(None, "green"), (1, "red")],
            description="Kept, listed at GET /api/v1/notifications/dead, redeliverable.")
    b.panel("bargauge", "Open circuits",
            [q('max by (target) (triaged_notification_circuit_open{S})', "{{target}}")],
            thresholds=[(None, "green"), (1, "red")], min=0, max=1)

    b.row("Process")
    b.panel("timeseries", "CPU", [q('rate(process_cpu_seconds_total{{S}}[{R}])', "{{instance}}")],
            unit="percentunit")
    b.panel("timeseries", "Memory",
            [q('process_resident_memory_bytes{S}', "RSS {{instance}}"),
             q('triaged_alerts_memory_bytes{S}', "alert table {{instance}}")], unit="bytes")
    b.panel("timeseries", "File descriptors",
            [q('process_open_fds{S}', "open {{instance}}"), q('process_max_fds{S}', "max {{instance}}")])
    return b


def service_levels():
    sla_var = {"name": "sla", "label": "agreement", "type": "query", "datasource": DS,
               "query": {"query": 'label_values(triaged_sla_objective_ratio{job=~"$job",instance=~"$instance"}, sla)',
                         "refId": "sla"},
               "definition": 'label_values(triaged_sla_objective_ratio{job=~"$job",instance=~"$instance"}, sla)',
               "refresh": 2, "includeAll": True, "allValue": ".+", "multi": True, "current": {},
               "hide": 0, "sort": 1}
    b = Board("triaged-service-levels", "triaged / Service levels",
              "Agreements (SLA, OLA, UC), event-based SLOs and heartbeats as triaged computes "
              "them. Agreements sort by the error budget they have left. docs/sla.md.",
              extra_vars=[sla_var])
    s_sla = 'job=~"$job",instance=~"$instance",sla=~"$sla"'

    def qa(expr, legend="", instant=False):
        return {"expr": expand(expr, "A", s_sla).replace("{R}", RI), "legend": legend, "instant": instant}

    b.row("Agreements")
    b.panel("table", "Agreements by error budget left",
            [qa('sort(triaged_sla_error_budget_remaining_ratio{{A}})'),
             qa('triaged_sla_availability_ratio{{A},period="current",basis="to_date"}'),
             qa('triaged_sla_objective_ratio{{A}}')],
            w=24, h=8, unit="percentunit",
            transformations=[
                {"id": "joinByField", "options": {"byField": "sla", "mode": "outer"}},
                {"id": "organize", "options": {
                    "excludeByName": {"Time": True, "Time 1": True, "Time 2": True, "Time 3": True,
                                      "__name__": True, "job": True, "job 1": True, "job 2": True,
                                      "job 3": True, "instance 2": True, "instance 3": True,
                                      "service 2": True, "service 3": True, "period 1": True,
                                      "period 2": True, "basis": True},
                    "renameByName": {"Value #A": "budget left", "Value #B": "availability (period to date)",
                                     "Value #C": "objective", "service 1": "service",
                                     "instance 1": "instance"}}}],
            sort_by=[{"displayName": "budget left", "desc": False}],
            description="Worst first: the share of this period's downtime budget still left.")
    b.panel("bargauge", "Error budget left",
            [qa('sort(triaged_sla_error_budget_remaining_ratio{{A}})', "{{sla}}")],
            w=12, unit="percentunit", min=0, max=1,
            thresholds=[(None, "red"), (0.25, "orange"), (0.5, "green")])
    b.panel("timeseries", "Availability against objective",
            [qa('triaged_sla_availability_ratio{{A},period="current",basis="to_date"}', "{{sla}} current"),
             qa('triaged_sla_availability_ratio{{A},period="previous"}', "{{sla}} previous period"),
             qa('triaged_sla_objective_ratio{{A}}', "{{sla}} objective")],
            w=12, unit="percentunit", decimals=4)
    b.panel("timeseries", "Error budget left over time",
            [qa('triaged_sla_error_budget_remaining_seconds{{A}}', "{{sla}}")], w=12, unit="s")
    b.panel("timeseries", "Projected availability at period end",
            [qa('triaged_sla_availability_ratio{{A},period="current",basis="projected"}', "{{sla}}"),
             qa('triaged_sla_objective_ratio{{A}}', "{{sla}} objective")],
            w=12, unit="percentunit", decimals=4)
    b.panel("timeseries", "Burn rate (agreements)",
            [qa('(sum by (sla) (rate(triaged_sla_downtime_seconds_total{{A},kind="net"}[{R}])) / '
                'sum by (sla) (rate(triaged_sla_agreed_seconds_total{{A}}[{R}]))) / on (sla) '
                '(1 - max by (sla) (triaged_sla_objective_ratio{{A}}))', "{{sla}}")],
            w=12, description="Downtime's share of agreed time over what the objective allows: 1 spends "
                              "the budget exactly by the period's end; the alerts page at 14.4 (1h and 5m) "
                              "and 6 (6h and 30m).")
    b.panel("timeseries", "Response and resolution clocks",
            [{"expr": 'sum by (agreement, target, stage) (triaged_task_sla_active{job=~"$job",instance=~"$instance",agreement=~"$sla"})',
              "legend": "{{agreement}} {{target}} {{stage}}", "instant": False}], w=12)

    b.row("Breaches and services")
    b.panel("timeseries", "Response and resolution breaches",
            [{"expr": 'sum by (agreement, target) (increase(triaged_task_sla_breaches_total{job=~"$job",instance=~"$instance",agreement=~"$sla"}[1h]))',
              "legend": "{{agreement}} {{target}}", "instant": False}], w=8, unit="short",
            description="Incidents whose response or resolution target passed, per hour.")
    b.panel("timeseries", "SLA events",
            [q('sum by (type) (increase(triaged_sla_events_total{{S}}[1h]))', "{{type}}")], w=8,
            description="Warnings and breaches, heartbeat downs and ups, per hour.")
    b.panel("bargauge", "Service state",
            [q('max by (service) (triaged_service_state{S})', "{{service}}")], w=8,
            min=-1, max=5, thresholds=[(None, "green"), (0, "yellow"), (3, "red")],
            description="-1 OK; else the worst severity firing (0 info … 5 critical).")

    b.row("Event-based SLOs")
    b.panel("bargauge", "SLO error budget left",
            [q('sort(triaged_slo_error_budget_remaining_ratio{S})', "{{slo}}")], w=8,
            unit="percentunit", min=0, max=1,
            thresholds=[(None, "red"), (0.25, "orange"), (0.5, "green")])
    b.panel("timeseries", "Burn rate by window",
            [q('max by (slo, window) (triaged_slo_burn_rate{S})', "{{slo}} {{window}}")], w=8,
            description="1 spends the budget exactly over the period.")
    b.panel("table", "Burn-rate alerts",
            [q('max by (slo, severity) (triaged_slo_alert_active{S})')], w=8,
            transformations=[{"id": "organize", "options": {
                "excludeByName": {"Time": True}, "renameByName": {"Value": "firing"}}}])
    b.panel("timeseries", "SLO events",
            [q('sum by (slo, class) (rate(triaged_slo_events_total{{S}}[{R}]))', "{{slo}} {{class}}")],
            w=12, unit="ops")

    b.row("Heartbeats")
    b.panel("stat", "Heartbeats",
            [q('max by (heartbeat) (triaged_heartbeat_state{S})', "{{heartbeat}}")], w=12,
            mappings={0: ("new", "blue"), 1: ("up", "green"), 2: ("late", "orange"),
                      3: ("down", "red"), 4: ("paused", "purple")}, text_mode="value_and_name")
    return b


def boards():
    return {"triaged-overview.json": overview(), "triaged-service-levels.json": service_levels()}


def main(argv):
    rendered = {name: json.dumps(b.render(), indent=2, sort_keys=False) + "\n"
                for name, b in boards().items()}
    if "--queries" in argv:
        for name, text in rendered.items():
            for p in json.loads(text)["panels"]:
                for t in p.get("targets", []):
                    print(json.dumps({"dashboard": name, "panel": p["title"], "ref": t["refId"],
                                      "expr": t["expr"], "instant": bool(t.get("instant"))}))
        return 0
    if "--check" in argv:
        stale = [n for n, text in rendered.items()
                 if not os.path.exists(os.path.join(OUT, n)) or open(os.path.join(OUT, n)).read() != text]
        for n in stale:
            print(f"monitoring/dashboards/{n} is not what monitoring/dashboards.py generates: run it")
        return 1 if stale else 0
    os.makedirs(OUT, exist_ok=True)
    for name, text in rendered.items():
        with open(os.path.join(OUT, name), "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
