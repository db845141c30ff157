"""End to end with real peers from Debian: a Prometheus server that evaluates an always-firing
rule and sends to triaged as its Alertmanager (POST /api/v2/alerts), and to a real Alertmanager
whose webhook receiver is triaged. Both alerts arrive, deduplicate over repeated sends, and
resolve when the rule is removed. All on 127.0.0.1; every wait is bounded.

The peers run on their own clocks (Prometheus evaluates every second), so this test waits for
observable state with a deadline; it is the only test that does."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from harness import BASE_CONFIG, Daemon, Receiver, free_port, stop_processes, wait_for  # noqa: E402
import am_openapi  # noqa: E402

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager")
AMTOOL = shutil.which("amtool")  # shipped with prometheus-alertmanager


@unittest.skipUnless(PROMETHEUS and ALERTMANAGER, "prometheus and prometheus-alertmanager are not installed")
class PrometheusAndAlertmanager(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="triaged-e2e-")
        self.procs = []
        self.d = Daemon(BASE_CONFIG + """inputs:
  - type: alertmanager_api
  - type: alertmanager
""").start()
        am_port, prom_port = free_port(), free_port()
        self.am_port, self.prom_port = am_port, prom_port
        with open(os.path.join(self.tmp, "am.yml"), "w") as f:
            f.write(f"""route:
  receiver: triaged
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: triaged
    webhook_configs:
      - url: http://127.0.0.1:{self.d.port}/api/v1/alertmanager
        send_resolved: true
""")
        self.rules = os.path.join(self.tmp, "rules.yml")
        self.write_rules(firing=True)
        with open(os.path.join(self.tmp, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  evaluation_interval: 1s
  scrape_interval: 1s
rule_files: [{self.rules}]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{self.d.port}"]
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
""")
        log = open(os.path.join(self.tmp, "peers.log"), "wb")
        self.procs.append(subprocess.Popen(
            [ALERTMANAGER, f"--config.file={self.tmp}/am.yml", f"--storage.path={self.tmp}/am",
             f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
            stdout=log, stderr=log))
        self.procs.append(subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.tmp}/prometheus.yml", f"--storage.tsdb.path={self.tmp}/prom",
             f"--web.listen-address=127.0.0.1:{prom_port}", "--web.enable-lifecycle",
             "--rules.alert.resend-delay=1s"],
            stdout=log, stderr=log))

    def tearDown(self):
        stop_processes(self.procs)
        self.d.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_rules(self, firing):
        with open(self.rules, "w") as f:
            if firing:
                f.write("""groups:
  - name: e2e
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: critical, instance: "e2e-host"}
        annotations: {summary: "always firing"}
""")
            else:
                f.write("groups: []\n")

    def by_source(self):
        page = self.d.get_json("/api/v1/alerts?limit=100")
        return {a["source"]: a for a in page["data"]}

    def test_alerts_arrive_deduplicate_and_resolve(self):
        both = wait_for("both alerts, each sent more than once",
                        lambda: (lambda s: s if all(k in s and s[k]["count"] >= 2 for k in
                                                    ("alertmanager_api", "alertmanager")) else None)(self.by_source()))
        for src in ("alertmanager_api", "alertmanager"):
            a = both[src]
            self.assertEqual(a["check"], "AlwaysFiring")
            self.assertEqual(a["resource"], "e2e-host")
            self.assertEqual(a["severity"], "critical")
            self.assertEqual(a["status"], "firing")
        self.assertEqual(self.d.get_json("/api/v1/alerts")["matched"], 2)  # deduplicated: one per source
        # Remove the rule: Prometheus sends the resolution to both peers.
        self.write_rules(firing=False)
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{self.prom_port}/-/reload", method="POST"),
                               timeout=10)
        wait_for("both alerts resolved",
                 lambda: all(a["status"] == "resolved" for a in self.by_source().values()) and
                 len(self.by_source()) == 2)
        m = self.d.metrics()
        self.assertEqual(m['triaged_alerts_active{status="firing"}'], 0)
        self.assertGreaterEqual(m['triaged_input_events_accepted_total{input="alertmanager"}'], 2)


SPEC = am_openapi.load_spec()
RULES = """inhibit_rules:
  - source_match: '{check="node_down"}'
    target_match: '{check!="node_down"}'
    equal: [resource]
"""


@unittest.skipUnless(AMTOOL, "amtool (prometheus-alertmanager) is not installed")
class Amtool(unittest.TestCase):
    """Debian's amtool uses triaged as it would an Alertmanager: alerts, silences, cluster and
    configuration; every /api/v2 answer validates against Alertmanager's own OpenAPI spec."""

    def setUp(self):
        self.rx = Receiver()
        self.d = Daemon("")
        rules = os.path.join(self.d.dir, "inhibit.rules")
        with open(rules, "w") as f:
            f.write(RULES)
        self.d.write_config(BASE_CONFIG.replace("rule_files: []", f"rule_files: [{rules}]") + f"""inputs:
  - type: native_json
notifications:
  targets:
    - name: noc
      url: http://127.0.0.1:{self.rx.port}/hook
      hmac_secret: do-not-show-me
""")
        self.d.start()
        self.url = f"--alertmanager.url=http://127.0.0.1:{self.d.port}"

    def tearDown(self):
        self.d.close()
        self.rx.close()

    def amtool(self, *args, ok=True):
        r = subprocess.run([AMTOOL, self.url, *args], capture_output=True, text=True, timeout=30)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout if ok else r

    def send(self, *events):
        status, _, body = self.d.request("POST", "/api/v1/events", json.dumps(list(events)))
        self.assertEqual(status, 200, body)

    def valid(self, path, spec_path=None, status=200):
        """GETs path, validates the answer against the spec and returns it."""
        code, _, body = self.d.request("GET", path)
        self.assertEqual(code, status, body)
        doc = json.loads(body)
        if SPEC is None or not am_openapi.have_jsonschema():
            return doc  # the test that needs the spec says so below
        found = am_openapi.errors(SPEC, spec_path or path.split("?")[0][len("/api/v2"):], "get", status, doc)
        self.assertEqual(found, [], f"{path} does not follow Alertmanager's OpenAPI spec")
        return doc

    def test_every_answer_follows_alertmanagers_openapi_spec(self):
        if SPEC is None:
            self.skipTest("golang-github-prometheus-alertmanager-dev (the spec) is not installed")
        if not am_openapi.have_jsonschema():
            self.skipTest("python3-jsonschema is not installed")
        self.send({"resource": "db1", "check": "cpu", "severity": "critical", "labels": {"team": "dba"}},
                  {"resource": "db1", "check": "node_down", "severity": "critical"},
                  {"resource": "web1", "check": "http", "severity": "major", "summary": "5xx above 1%"})
        sid = self.amtool("silence", "add", "resource=web1", "-c", "deploy", "-a", "alice", "-d", "1h").strip()
        alerts = self.valid("/api/v2/alerts")
        self.assertEqual(len(alerts), 3)
        states = {a["labels"]["alertname"]: (a["status"]["state"], a["status"]["silencedBy"],
                                             len(a["status"]["inhibitedBy"])) for a in alerts}
        self.assertEqual(states, {"cpu": ("suppressed", [], 1), "node_down": ("active", [], 0),
                                  "http": ("suppressed", [sid], 0)})
        self.assertEqual([a["annotations"] for a in alerts if a["labels"]["alertname"] == "http"],
                         [{"summary": "5xx above 1%"}])
        for q in ("?active=false", "?silenced=false&inhibited=false", "?filter=alertname%3D%22cpu%22",
                  "?receiver=noc", "?receiver=nothing"):
            self.valid("/api/v2/alerts" + q, "/alerts")
        self.assertEqual([a["labels"]["alertname"] for a in self.valid("/api/v2/alerts?silenced=false&inhibited=false", "/alerts")],
                         ["node_down"])
        groups = self.valid("/api/v2/alerts/groups")
        self.assertTrue(all(g["receiver"]["name"] == "noc" for g in groups), groups)
        self.assertEqual(sorted(g["labels"]["incident"] for g in groups), ["1", "2"])
        self.assertEqual(self.valid("/api/v2/receivers"), [{"name": "noc"}, {"name": "triaged"}])
        status = self.valid("/api/v2/status")
        self.assertEqual(status["cluster"]["status"], "ready")
        self.assertNotIn("do-not-show-me", status["config"]["original"])
        self.assertIn("hmac_secret: <secret>", status["config"]["original"])
        self.valid("/api/v2/silences")
        self.valid("/api/v2/silences?filter=resource%3D%22web1%22", "/silences")
        self.valid(f"/api/v2/silence/{sid}", "/silence/{silenceID}")

    def test_amtool_queries_alerts_cluster_and_configuration(self):
        self.send({"resource": "db1", "check": "cpu", "severity": "critical", "labels": {"team": "dba"}},
                  {"resource": "web1", "check": "http", "severity": "major"})
        out = self.amtool("alert", "query")
        self.assertIn("cpu", out)
        self.assertIn("http", out)
        out = self.amtool("alert", "query", "alertname=http")
        self.assertIn("http", out)
        self.assertNotIn("cpu", out)
        out = self.amtool("alert", "query", "team=~db.*", "-o", "json")
        self.assertEqual([a["labels"]["instance"] for a in json.loads(out)], ["db1"])
        self.assertIn("ready", self.amtool("cluster", "show"))
        config = self.amtool("config", "show")
        self.assertIn("native_json", config)
        self.assertNotIn("do-not-show-me", config)

    def test_amtool_adds_queries_expires_and_imports_silences(self):
        sid = self.amtool("silence", "add", "resource=db1", "-c", "disk swap", "-a", "alice", "-d", "1h").strip()
        other = self.amtool("silence", "add", "resource=db2", "-c", "other", "-a", "bob", "-d", "1h").strip()
        self.assertIn(sid, self.amtool("silence", "query"))
        filtered = self.amtool("silence", "query", "resource=db1")
        self.assertIn(sid, filtered)
        self.assertNotIn(other, filtered)
        self.send({"resource": "db1", "check": "disk", "severity": "major"})
        held = self.d.get_json("/api/v1/suppressed")["alerts"]
        self.assertEqual([(a["resource"], a["silenced_by"]) for a in held], [("db1", [sid])])
        exported = self.amtool("silence", "query", "resource=db1", "-o", "json")
        self.amtool("silence", "expire", sid)
        self.assertEqual(self.d.get_json("/api/v1/suppressed")["alerts"], [])
        inc = self.d.get_json("/api/v1/incidents")["incidents"]
        self.assertEqual([(i["id"], i["suppressed"]) for i in inc], [(1, False)])
        # Import what was exported: a new silence, which holds the alert again at once.
        path = os.path.join(self.d.dir, "silences.json")
        with open(path, "w") as f:
            f.write(exported)
        self.amtool("silence", "import", path)
        held = self.d.get_json("/api/v1/suppressed")["alerts"]
        self.assertEqual(len(held), 1)
        self.assertNotEqual(held[0]["silenced_by"], [sid])
        self.assertTrue(self.d.get_json("/api/v1/incidents/1")["suppressed"])

    def test_bad_silences_and_filters_are_refused_naming_what_is_wrong(self):
        base = {"matchers": [{"name": "resource", "value": "db1", "isRegex": False}],
                "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z", "createdBy": "a", "comment": "c"}
        cases = [
            (dict(base, matchers=[{"name": "", "value": "x"}]), 400, "matchers[0]"),
            (dict(base, matchers=[{"name": "a", "value": "(", "isRegex": True}]), 400, "matchers[0]"),
            (dict(base, matchers=[]), 400, "matchers"),
            (dict(base, endsAt="2025-01-01T00:00:00Z", startsAt="2026-01-01T00:00:00Z"), 400, "endsAt"),
            (dict(base, startsAt="yesterday"), 400, "startsAt"),
            (dict(base, id="no-such-silence"), 404, "no such silence"),
        ]
        for body, code, names in cases:
            status, _, text = self.d.request("POST", "/api/v2/silences", json.dumps(body))
            self.assertEqual(status, code, (body, text))
            self.assertIn(names, json.loads(text)["error"])
        for q in ("filter=%28", "filter=a%3D~%22%28%22", "active=maybe", "receiver=%28"):
            status, _, text = self.d.request("GET", "/api/v2/alerts?" + q)
            self.assertEqual(status, 400, (q, text))
        status, _, _ = self.d.request("DELETE", "/api/v2/silence/nope")
        self.assertEqual(status, 404)
        self.assertEqual(self.d.get_json("/api/v2/silences"), [])  # nothing changed
        m = self.d.metrics()
        self.assertGreaterEqual(sum(v for k, v in m.items() if k.startswith("triaged_http_requests_total")
                                    and 'code="4xx"' in k), 11)


if __name__ == "__main__":
    unittest.main()
