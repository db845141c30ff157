"""The monitoring mixin (monitoring/) against real parts.

- Static: `promtool check rules` and `promtool test rules` pass; every alert of alerts.yaml is
  tested in alerts_test.yaml (firing with its labels and annotations, and not firing before
  its time); every alert's runbook annotation names a section docs/runbook.md has; the
  dashboards are what monitoring/dashboards.py generates.
- Live: Debian's Prometheus scrapes a real triaged (the example rule file: agreements, an SLO,
  a heartbeat, capacity) every second while a bounded load runs through it (changing values,
  resolutions, refirings, SLO samples, heartbeats, notifications to a receiver and to a dead
  port), with the daemon's clock moved past a month's end so that previous periods exist and
  response targets are breached. Then every dashboard panel's query and every variable's
  query runs through Prometheus' HTTP API: any that errors or returns no series fails the
  test. The mixin's rules are loaded into the same Prometheus, and each must evaluate
  without error.

Prometheus runs on its own clock, so this test waits (bounded) for observable state."""
import calendar
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
MIXIN = os.path.join(ROOT, "monitoring")
sys.path.insert(0, os.path.join(HERE, "..", "system"))
from harness import BASE_CONFIG, Daemon, Receiver, free_port, stop_processes, wait_for  # noqa: E402

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
ALERTS = os.path.join(MIXIN, "prometheus", "alerts.yaml")
ALERTS_TEST = os.path.join(MIXIN, "prometheus", "alerts_test.yaml")


def alert_rules():
    with open(ALERTS) as f:
        return [r for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "alert" in r]


def anchors(markdown_path):
    """GitHub-style anchors of the headings of a Markdown file."""
    out = set()
    with open(markdown_path) as f:
        for line in f:
            m = re.match(r"^#+\s+(.*)$", line)
            if m:
                out.add(re.sub(r"[^a-z0-9 _-]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return out


@unittest.skipUnless(PROMTOOL, "promtool (Debian's prometheus) is not installed")
class MixinFiles(unittest.TestCase):
    def test_promtool_checks_and_unit_tests_pass(self):
        for args in (["check", "rules", ALERTS], ["test", "rules", ALERTS_TEST]):
            r = subprocess.run([PROMTOOL] + args, capture_output=True, text=True, timeout=120,
                               cwd=os.path.dirname(ALERTS))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_every_alert_is_tested_both_ways_and_has_a_runbook(self):
        with open(ALERTS_TEST) as f:
            tests = yaml.safe_load(f)["tests"]
        fires, quiet = set(), set()
        for t in tests:
            for case in t.get("alert_rule_test", []):
                (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
        sections = anchors(os.path.join(ROOT, "docs", "runbook.md"))
        names = [r["alert"] for r in alert_rules()]
        self.assertEqual(len(names), len(set(names)), "alert names are unique")
        for r in alert_rules():
            name = r["alert"]
            self.assertIn(name, fires, f"{name}: no test that it fires")
            self.assertIn(name, quiet, f"{name}: no test that it stays quiet")
            ref = r["annotations"].get("runbook", "")
            self.assertTrue(ref.startswith("docs/runbook.md#"), f"{name}: runbook {ref!r}")
            self.assertIn(ref.split("#", 1)[1], sections, f"{name}: docs/runbook.md has no section {ref}")
            for key in ("summary", "description"):
                self.assertTrue(r["annotations"].get(key), f"{name}: no {key}")
            self.assertIn(r.get("labels", {}).get("severity"), ("critical", "warning", None), name)

    def test_dashboards_are_generated_and_importable(self):
        r = subprocess.run([sys.executable, os.path.join(MIXIN, "dashboards.py"), "--check"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for name in os.listdir(os.path.join(MIXIN, "dashboards")):
            with open(os.path.join(MIXIN, "dashboards", name)) as f:
                d = json.load(f)
            variables = {v["name"]: v for v in d["templating"]["list"]}
            self.assertEqual(variables["datasource"]["type"], "datasource", name)
            self.assertEqual(variables["datasource"]["query"], "prometheus", name)
            self.assertIn("job", variables, name)
            self.assertIn("instance", variables, name)
            ids = [p["id"] for p in d["panels"]]
            self.assertEqual(len(ids), len(set(ids)), name)
            for p in d["panels"]:
                for t in p.get("targets", []):
                    self.assertEqual(t["datasource"]["uid"], "${datasource}", f"{name}: {p['title']}")
                    if "triaged_" in t["expr"] or "process_" in t["expr"]:
                        self.assertIn('job=~"$job",instance=~"$instance"', t["expr"],
                                      f"{name}: {p['title']} does not select $job and $instance")


def panel_queries():
    out = subprocess.run([sys.executable, os.path.join(MIXIN, "dashboards.py"), "--queries"],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def variable_queries():
    for name in sorted(os.listdir(os.path.join(MIXIN, "dashboards"))):
        with open(os.path.join(MIXIN, "dashboards", name)) as f:
            for v in json.load(f)["templating"]["list"]:
                if v["type"] == "query":
                    yield name, v["name"], v["query"]["query"]


T0 = "2026-11-30T23:00:00Z"  # the daemon's clock starts an hour before a month's end
T0_MS = calendar.timegm(time.strptime(T0, "%Y-%m-%dT%H:%M:%SZ")) * 1000


@unittest.skipUnless(PROMETHEUS, "prometheus is not installed (scripts/install-deps.sh e2e)")
class MixinAgainstPrometheus(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="triaged-mixin-")
        self.procs = []
        self.receiver = Receiver()
        rules = os.path.join(ROOT, "rules", "examples", "datacenter.yaml")
        self.d = Daemon(BASE_CONFIG.replace("rule_files: []", f"rule_files: [{rules}]") + f"""inputs:
  - type: native_json
notifications:
  targets:
    - name: tickets
      url: http://127.0.0.1:{self.receiver.port}/hook
    - name: gone
      url: http://127.0.0.1:{free_port()}/hook
      timeout: 1s
      retry_initial: 100ms
      retry_max: 200ms
      max_age: 1s
""", env={"TRIAGED_TEST_CLOCK": T0}).start()
        self.prom_port = free_port()
        with open(os.path.join(self.tmp, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [{ALERTS}]
scrape_configs:
  - job_name: triaged
    static_configs:
      - targets: ["127.0.0.1:{self.d.port}"]
""")
        self.log = open(os.path.join(self.tmp, "prometheus.log"), "wb")
        self.procs.append(subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.tmp}/prometheus.yml", f"--storage.tsdb.path={self.tmp}/data",
             f"--web.listen-address=127.0.0.1:{self.prom_port}"], stdout=self.log, stderr=self.log))

    def tearDown(self):
        stop_processes(self.procs)
        self.d.close()
        self.receiver.close()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def prom(self, path, **params):
        url = f"http://127.0.0.1:{self.prom_port}{path}?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=20) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            return json.load(e)

    def post(self, path, body):
        status, _, text = self.d.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        self.assertLess(status, 300, f"{path}: {status} {text}")
        return text

    def move_clock(self, ms):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
        status, _, body = self.d.request("POST", "/-/test/clock?to=" + stamp)
        self.assertEqual(status, 200, body)

    def load(self, rounds, stop):
        """A bounded realistic load: 40 alerts whose values change, a fifth resolving and
        firing again, SLO counts, heartbeat pings; each round is one request of each."""
        for i in range(rounds):
            if stop.is_set():
                return
            events = [{"resource": f"web{n % 8}", "check": f"check{n}", "service": "shop",
                       "severity": "major" if n % 3 else "critical", "value": i * 10 + n,
                       "summary": f"value {i * 10 + n}",
                       "status": "resolved" if (n % 5 == 0 and i % 2) else "firing"}
                      for n in range(40)]
            self.post("/api/v1/events", events)
            self.post("/api/v1/samples", [{"metric": "shop_requests_total", "value": 1000},
                                          {"metric": "shop_requests_good", "value": 990 if i % 2 else 1000},
                                          {"metric": "disk_used_ratio", "labels": {"host": "db1"},
                                           "value": 0.5 + i / 1000}])
            time.sleep(0.05)  # pacing only: a steady stream across scrapes, not a wait for work

    def test_every_panel_query_returns_series(self):
        wait_for("Prometheus to scrape triaged",
                 lambda: self.prom("/api/v1/query", query='up{job="triaged"} == 1')["data"]["result"], timeout=60)
        # History: events in November, a month's end, a response target passed, a heartbeat
        # ping and a failure, backup's resolution clock running.
        self.post("/api/v1/events", [{"resource": "db1", "check": "Down", "service": "shop", "severity": "critical"},
                                     {"resource": "nas1", "check": "Full", "service": "backup", "severity": "critical"}])
        self.move_clock(T0_MS + 30 * 60_000)
        self.post("/api/v1/heartbeats/nightly-backup/ping", {})
        self.move_clock(T0_MS + 90 * 60_000)  # 2026-12-01T00:30Z: November is the previous period
        self.post("/api/v1/heartbeats/nightly-backup/fail", {})
        stop = threading.Event()
        loader = threading.Thread(target=self.load, args=(400, stop))
        loader.start()
        try:
            for step in range(1, 4):  # the 10 s refreshes on the daemon's clock, while loaded
                self.move_clock(T0_MS + 90 * 60_000 + step * 10_000)
            self.receiver.wait_delivered(1, timeout=30)
            queries = panel_queries()
            self.assertGreater(len(queries), 60)

            def empty_or_failing():
                bad = []
                for q in queries:
                    expr = (q["expr"].replace("$__rate_interval", "1m").replace('"$job"', '"triaged"')
                            .replace('"$instance"', '".+"').replace('"$sla"', '".+"'))
                    r = self.prom("/api/v1/query", query=expr)
                    if r.get("status") != "success":
                        bad.append(f"{q['dashboard']} / {q['panel']} {q['ref']}: error {r.get('error')}: {expr}")
                    elif not r["data"]["result"]:
                        bad.append(f"{q['dashboard']} / {q['panel']} {q['ref']}: no series: {expr}")
                return bad

            # Every rate() needs two scrapes of the series in its window: wait until all answer.
            try:
                wait_for("every panel query to return series", lambda: not empty_or_failing(), timeout=90)
            except AssertionError:
                self.fail("panel queries failing:\n" + "\n".join(empty_or_failing()))
            for name, var, query in variable_queries():
                m = re.match(r"label_values\((.*),\s*(\w+)\)$", query)
                self.assertTrue(m, f"{name}: variable {var}: {query}")
                match = m.group(1).replace('"$job"', '"triaged"').replace('"$instance"', '".+"')
                r = self.prom(f"/api/v1/label/{m.group(2)}/values", **{"match[]": match})
                self.assertEqual(r.get("status"), "success", f"{name}: variable {var}: {r}")
                self.assertTrue(r["data"], f"{name}: variable {var} has no values: {query}")
        finally:
            stop.set()
            loader.join(60)
        # The numbers the dashboards show are the daemon's own.
        r = self.prom("/api/v1/query", query='triaged_sla_objective_ratio{sla="shop-availability"}')
        self.assertEqual(float(r["data"]["result"][0]["value"][1]), 0.999)
        def by_priority():
            """The API's open incidents by priority, when Prometheus's last scrape shows the same
            (both read again each time: incidents may still change as the load's alerts time out)."""
            incidents = self.d.get_json("/api/v1/incidents?status=open,acknowledged&limit=1000")["incidents"]
            api = {str(p): sum(1 for i in incidents if i["priority"] == p) for p in range(1, 6)}
            prom = {s["metric"]["priority"]: int(float(s["value"][1]))
                    for s in self.prom("/api/v1/query", query="triaged_incidents_open")["data"]["result"]}
            seen.append((api, prom))
            return api == prom
        seen = []
        try:
            wait_for("the open incidents by priority as the API lists them", by_priority, timeout=30)
        except AssertionError as e:
            raise AssertionError(f"{e}; API and Prometheus last: {seen[-1:]}")
        # The mixin's rules evaluate against the real series without error.
        wait_for("the rules evaluated", lambda: all(
            g.get("lastEvaluation", "").startswith("20") and not g["lastEvaluation"].startswith("0001")
            for g in self.prom("/api/v1/rules")["data"]["groups"]), timeout=30)
        for g in self.prom("/api/v1/rules")["data"]["groups"]:
            for rule in g["rules"]:
                self.assertEqual(rule["health"], "ok", f"{rule['name']}: {rule.get('lastError')}")


if __name__ == "__main__":
    unittest.main()
