"""Service levels on the real binary: a service goes down with its incident and comes back when
the alert resolves; the SLA API, the CSV and HTML reports agree with each other; heartbeats are
pinged, and an unknown one is refused; bad parameters are named. The HTML report is rendered in
Debian's headless Chromium (installed by scripts/install-deps.sh e2e) and its numbers are read
back from the rendered DOM."""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import time
import unittest

from harness import BASE_CONFIG, Daemon, run

RULES = """
configuration_items:
  - name: web1
services:
  - name: shop
    children: [web]
  - name: web
    cis: [web1]
agreements:
  - name: web-sla
    service: web
    availability: "99.9"
    period: month
    response: {p1: 1h, p2: 1h, p3: 1h, p4: 1h, p5: 1h}
heartbeats:
  - name: nightly
    service: web
    period: 1h
capacity:
  - name: web-disk
    service: web
    metric: disk_used_ratio
    matchers: '{host="web1"}'
    raise_at: 0.9
    clear_at: 0.8
slos:
  - name: web-requests
    service: web
    objective: "99.9"
    good: requests_good
    valid: requests_total
"""


def config(rules_path):
    return BASE_CONFIG.replace("rule_files: []", f"rule_files: [{rules_path}]") + """inputs:
  - type: native_json
correlation:
  resolve_hold_down: 0s
"""


def generated(fetch, timeout=10):
    """What fetch() returns once it is not empty: an alert the daemon raises itself (heartbeat,
    capacity) is submitted to the pipeline after the request that caused it was answered, so
    it is awaited (bounded) rather than assumed."""
    deadline = time.monotonic() + timeout
    while True:
        got = fetch()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


class Sla(unittest.TestCase):
    def setUp(self):
        self.d = self.daemon()

    def daemon(self, env=None):
        d = Daemon("", env=env)
        rules = os.path.join(d.dir, "sla.rules")
        with open(rules, "w") as f:
            f.write(RULES)
        d.write_config(config(rules))
        return d.start()

    def move_clock(self, to_ms):
        status, _, body = self.d.request(
            "POST", "/-/test/clock?to=" + time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(to_ms // 1000))
            + f".{to_ms % 1000:03d}Z")
        self.assertEqual(status, 200, body)

    def tearDown(self):
        self.d.close()

    def send(self, **event):
        status, _, body = self.d.request("POST", "/api/v1/events", json.dumps([event]),
                                         {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)

    def test_a_service_follows_its_incident_and_the_reports_agree(self):
        # On the daemon's test clock: a minute of downtime exactly, and the 10 s refresh of the
        # availability gauges happens when the clock says so, not after a wait.
        self.d.close()
        t0 = (int(time.time()) // 60) * 60 * 1000
        self.d = d = self.daemon({"TRIAGED_TEST_CLOCK": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 // 1000))})
        self.send(resource="web1", check="http", severity="critical")
        services = {s["name"]: s for s in d.get_json("/api/v1/services")["services"]}
        self.assertEqual(services["web"]["status"], "critical")
        self.assertEqual(services["web"]["incidents"], [1])
        self.assertEqual(services["shop"]["status"], "critical")  # most critical of its children
        self.move_clock(t0 + 60_000)
        self.send(resource="web1", check="http", severity="critical", status="resolved")
        services = {s["name"]: s for s in d.get_json("/api/v1/services")["services"]}
        self.assertEqual(services["web"]["status"], "ok")
        sla = d.get_json("/api/v1/services/web/sla")
        self.assertEqual(sla["service"], "web")
        (rep,) = sla["agreements"]
        self.assertEqual(rep["agreement"], "web-sla")
        self.assertEqual(rep["target"], "99.9")
        self.assertEqual(len(rep["downtime"]), 1)
        self.assertEqual(rep["downtime"][0]["incidents"], [1])
        self.assertEqual(rep["seconds"]["downtime_net"], 60)
        self.assertEqual(rep["incidents"]["ids"], [1])
        self.assertEqual(rep["response"]["met"] + rep["response"]["in_progress"] + rep["response"]["breached"], 1)

        # The JSON report, the CSV and the HTML tell the same figures.
        reports = d.get_json("/api/v1/reports/sla")["reports"]
        self.assertEqual([r["agreement"] for r in reports], ["web-sla"])
        status, headers, body = d.request("GET", "/api/v1/reports/sla?format=csv")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        (row,) = list(csv.DictReader(io.StringIO(body)))
        self.assertEqual(row["agreement"], "web-sla")
        self.assertAlmostEqual(float(row["downtime_net_seconds"]), reports[0]["seconds"]["downtime_net"], places=2)
        status, headers, html = d.request("GET", "/api/v1/reports/sla?format=html&service=web")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn('data-agreement="web-sla"', html)
        self.assertNotIn("http://", html.replace("http://www.w3.org", ""))  # self-contained

        # Metrics for the current period and the service state.
        m = d.metrics()
        self.assertEqual(m['triaged_service_state{service="web"}'], -1)
        # Availability gauges refresh every 10 s (documented): the next refresh, on the clock.
        self.move_clock(t0 + 60_000 + 10_000)
        ratio = {k: v for k, v in d.metrics().items() if k.startswith("triaged_sla_availability_ratio{")
                 and 'period="current"' in k and 'basis="to_date"' in k}
        self.assertEqual(len(ratio), 1, ratio)
        # Measured since the service was first known (the daemon's start, t0): 70 s, 60 of them down.
        self.assertAlmostEqual(list(ratio.values())[0], 10 / 70, places=9)

    def test_bad_parameters_are_named(self):
        d = self.d
        status, _, body = d.request("GET", "/api/v1/services/web/sla?period=2026-13")
        self.assertEqual(status, 400)
        self.assertIn("period", body)
        status, _, body = d.request("GET", "/api/v1/reports/sla?format=pdf")
        self.assertEqual(status, 400)
        self.assertIn("format", body)
        status, _, body = d.request("GET", "/api/v1/services/nowhere/sla")
        self.assertEqual(status, 404)
        status, _, body = d.request("POST", "/api/v1/heartbeats/unknown/ping")
        self.assertEqual(status, 404)
        self.assertIn("period=", body)
        status, _, body = d.request("POST", "/api/v1/heartbeats/nightly/ping?sent_at=yesterday")
        self.assertEqual(status, 400)
        self.assertIn("sent_at", body)

    def test_heartbeats_are_pinged_and_created_by_a_ping_with_a_period(self):
        d = self.d
        hbs = {h["name"]: h for h in d.get_json("/api/v1/heartbeats")["heartbeats"]}
        self.assertEqual(hbs["nightly"]["state"], "new")
        status, _, body = d.request("POST", "/api/v1/heartbeats/nightly/ping")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["state"], "up")
        status, _, body = d.request("POST", "/api/v1/heartbeats/cron-job/ping?period=5m&grace=1m")
        self.assertEqual(status, 200, body)
        hbs = {h["name"]: h for h in d.get_json("/api/v1/heartbeats")["heartbeats"]}
        self.assertTrue(hbs["cron-job"]["implicit"])
        self.assertEqual(hbs["cron-job"]["period_seconds"], 300)
        # A fail signal is DOWN at once, and raises an alert through correlation.
        status, _, body = d.request("POST", "/api/v1/heartbeats/nightly/fail")
        self.assertEqual(json.loads(body)["state"], "down")
        m = d.metrics()
        self.assertEqual(m['triaged_heartbeat_state{heartbeat="nightly"}'], 3)
        # ... and its alert (check=heartbeat, resource=nightly) went through the pipeline.
        alerts = generated(lambda: d.get_json('/api/v1/alerts?filter={check="heartbeat"}')["data"])
        self.assertEqual([(a["resource"], a["status"]) for a in alerts], [("nightly", "firing")])

    def test_history_survives_a_restart_and_the_report_command_reads_it(self):
        d = self.d
        self.send(resource="web1", check="http", severity="critical")
        self.send(resource="web1", check="http", severity="critical", status="resolved")
        self.assertEqual(d.request("POST", "/api/v1/heartbeats/nightly/ping")[0], 200)
        api = d.get_json("/api/v1/reports/sla")
        (rep,) = api["reports"]
        self.assertEqual(len(rep["downtime"]), 1)
        self.assertEqual(d.stop(), 0)
        # The report command, from the stored history, as at the instant the API answered.
        out = run(["--config", d.config_path, "report", "--at", api["generated"], "--period", rep["period"]])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout), api)
        out = run(["--config", d.config_path, "report", "--format", "csv", "--service", "web"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("web-sla", out.stdout)
        for bad, word in ((["--at", "yesterday"], "--at"), (["--period", "2026-13"], "period"),
                          (["--service", "nowhere"], "nowhere")):
            out = run(["--config", d.config_path, "report"] + bad)
            self.assertEqual(out.returncode, 2, out.stdout)
            self.assertIn(word, out.stderr)
        # After a restart the daemon reports the same downtime, and the stop as unknown time.
        d.start()
        (after,) = d.get_json("/api/v1/reports/sla")["reports"]
        self.assertEqual(after["downtime"], rep["downtime"])
        self.assertEqual(after["incidents"]["ids"], [1])
        self.assertGreater(after["seconds"]["unknown"], 0)
        hbs = {h["name"]: h for h in d.get_json("/api/v1/heartbeats")["heartbeats"]}
        self.assertEqual(hbs["nightly"]["state"], "up")  # its last ping survived

    def test_replay_reports_the_same_figures_every_time(self):
        events = os.path.join(self.d.dir, "events.ndjson")
        with open(events, "w") as f:
            # Refreshed every 4 minutes (inside the 5 minute resolve timeout), resolved at 10:30.
            times = [(f"2026-10-05T10:{m:02d}:00Z", "firing") for m in range(0, 30, 4)]
            for t, status in times + [("2026-10-05T10:30:00Z", "resolved")]:
                f.write(json.dumps({"resource": "web1", "check": "http", "severity": "critical",
                                    "status": status, "timestamp": t}) + "\n")
        args = ["--config", self.d.config_path, "replay", events, "--advance", "1h", "--report", "2026-10"]
        first, second = run(args), run(args)
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertEqual(first.stdout, second.stdout)
        (rep,) = json.loads(first.stdout)["reports"]
        self.assertEqual(rep["period"], "2026-10")
        self.assertEqual(rep["seconds"]["downtime_net"], 1800)
        self.assertEqual(rep["downtime"][0]["incidents"], [1])
        out = run(args[:-1] + ["2026-13"])
        self.assertEqual(out.returncode, 2)
        self.assertIn("period", out.stderr)

    def test_samples_feed_capacity_rules_whose_alerts_become_incidents(self):
        d = self.d
        post = lambda body: d.request("POST", "/api/v1/samples", json.dumps(body),
                                      {"Content-Type": "application/json"})
        status, _, body = post([{"metric": "disk_used_ratio", "labels": {"host": "web1"}, "value": 0.95},
                                {"metric": "requests_total", "value": 100},
                                {"metric": "requests_good", "value": 100},
                                {"metric": "unrelated", "value": 1}])
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), {"received": 4, "used": 3, "unmatched": 1})
        # The capacity alert is ingested and correlated like any other alert.
        incidents = generated(lambda: d.get_json("/api/v1/incidents")["incidents"])
        self.assertEqual(len(incidents), 1, incidents)
        self.assertIn("disk_used_ratio", incidents[0]["title"] + json.dumps(incidents[0]))
        services = {s["name"]: s for s in d.get_json("/api/v1/services")["services"]}
        self.assertEqual(services["web"]["status"], "warning")
        # A bad sample names its index and field, and nothing of the request is used.
        status, _, body = post([{"metric": "disk_used_ratio", "labels": {"host": "web1"}, "value": 0.5},
                                {"metric": "disk_used_ratio", "value": "full"}])
        self.assertEqual(status, 400)
        self.assertIn("[1].value", body)
        m = d.metrics()
        self.assertEqual(m['triaged_samples_total{result="used"}'], 3)
        self.assertEqual(m['triaged_samples_total{result="unmatched"}'], 1)
        self.assertEqual(m['triaged_samples_total{result="rejected"}'], 1)
        self.assertEqual(m['triaged_capacity_value{rule="web-disk"}'], 0.95)

    @unittest.skipUnless(shutil.which("chromium"), "chromium is installed by scripts/install-deps.sh e2e")
    def test_the_html_report_renders_in_a_browser_with_the_json_numbers(self):
        d = self.d
        self.send(resource="web1", check="http", severity="critical")
        self.send(resource="web1", check="http", severity="critical", status="resolved")
        before = d.get_json("/api/v1/reports/sla")["reports"][0]
        html_path = os.path.join(d.dir, "report.html")
        status, _, html = d.request("GET", "/api/v1/reports/sla?format=html")
        after = d.get_json("/api/v1/reports/sla")["reports"][0]
        with open(html_path, "w") as f:
            f.write(html)
        out = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                              "file://" + html_path], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])
        dom = out.stdout
        self.assertIn("<svg", dom)
        for chart in ("avail-0", "downtime-0", "budget-0", "priority-0"):
            self.assertIn(f'id="{chart}"', dom)
        # Downtime is fixed once the alert resolved; availability to date grows with the
        # measured time, so the page's value lies between the JSON read before and after it.
        net = re.search(r'data-field="downtime_net" data-value="([0-9.]+)"', dom)
        self.assertIsNotNone(net, dom[:2000])
        self.assertAlmostEqual(float(net.group(1)), after["seconds"]["downtime_net"], places=3)
        avail = float(re.search(r'data-field="availability" data-value="([0-9.]+)"', dom).group(1))
        self.assertGreaterEqual(avail, before["availability"]["to_date"] - 1e-6)
        self.assertLessEqual(avail, after["availability"]["to_date"] + 1e-6)
        rep = after
        incidents = re.search(r'data-field="incidents">(\d+)<', dom)
        self.assertEqual(int(incidents.group(1)), rep["incidents"]["count"])
        self.assertEqual(len(re.findall(r'class="down"', dom)), len(rep["downtime"]))


if __name__ == "__main__":
    unittest.main()
