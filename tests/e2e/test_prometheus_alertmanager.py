"""End to end with real peers from Debian: a Prometheus server that evaluates an always-firing
rule and sends to triaged as its Alertmanager (POST /api/v2/alerts), and to a real Alertmanager
whose webhook receiver is triaged. Both alerts arrive, deduplicate over repeated sends, and
resolve when the rule is removed. All on 127.0.0.1; every wait is bounded.

The peers run on their own clocks (Prometheus evaluates every second), so this test waits for
observable state with a deadline; it is the only test that does."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from harness import BASE_CONFIG, Daemon  # noqa: E402

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager")
AMTOOL = shutil.which("amtool")  # shipped with prometheus-alertmanager


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(what, fn, timeout=90):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # a peer still starting
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


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
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
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


@unittest.skipUnless(AMTOOL, "amtool (prometheus-alertmanager) is not installed")
class Amtool(unittest.TestCase):
    """Debian's amtool manages triaged's silences as it would Alertmanager's."""

    def setUp(self):
        self.d = Daemon(BASE_CONFIG + "inputs:\n  - type: native_json\n").start()
        self.url = f"--alertmanager.url=http://127.0.0.1:{self.d.port}"

    def tearDown(self):
        self.d.close()

    def amtool(self, *args):
        r = subprocess.run([AMTOOL, self.url, *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_amtool_adds_queries_and_expires_silences(self):
        sid = self.amtool("silence", "add", "resource=db1", "-c", "disk swap", "-a", "alice", "-d", "1h").strip()
        self.assertIn(sid, self.amtool("silence", "query"))
        status, _, body = self.d.request("POST", "/api/v1/events",
                                         json.dumps({"resource": "db1", "check": "disk", "severity": "major"}))
        self.assertEqual(status, 200, body)
        held = self.d.get_json("/api/v1/suppressed")["alerts"]
        self.assertEqual([(a["resource"], a["suppressed_by"]) for a in held], [("db1", sid)])
        self.amtool("silence", "expire", sid)
        self.assertEqual(self.d.get_json("/api/v1/suppressed")["alerts"], [])
        self.assertEqual(len(self.d.get_json("/api/v1/incidents")["incidents"]), 1)


if __name__ == "__main__":
    unittest.main()
