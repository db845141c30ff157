"""System test of correlation on the real binary: events over HTTP become incidents, people act
on them through the API, silences follow Alertmanager's v2 API; `triaged replay` is
deterministic and `triaged test-rules` passes and fails as it should. Reads need no waiting:
a read queued after an acknowledged batch sees that batch's correlation."""
import json
import os
import shutil
import tempfile
import unittest

from harness import BASE_CONFIG, SOURCE, Daemon, rfc3339, run, wait_for

RULES = os.path.abspath(os.path.join(SOURCE, "rules", "examples", "datacenter.yaml"))
CONFIG = BASE_CONFIG.replace("rule_files: []", "rule_files: [" + RULES + "]") + """inputs:
  - type: native_json
correlation:
  resolve_hold_down: 0s
"""


class Correlation(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(CONFIG).start()

    def tearDown(self):
        self.d.close()

    def send(self, *events):
        status, _, body = self.d.request("POST", "/api/v1/events", json.dumps(list(events)),
                                         {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)

    def post(self, path, body, expect=200):
        status, _, text = self.d.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        self.assertEqual(status, expect, text)
        return json.loads(text)

    def test_upstream_failure_is_one_incident_with_its_root_cause(self):
        self.send({"resource": "db1", "check": "db_down", "severity": "critical"})
        self.send({"resource": "san1", "check": "array_offline", "severity": "critical"})
        incidents = self.d.get_json("/api/v1/incidents?status=open")["incidents"]
        self.assertEqual(len(incidents), 1, incidents)
        inc = self.d.get_json(f"/api/v1/incidents/{incidents[0]['id']}")
        roles = {a["resource"]: a["role"] for a in inc["alerts"]}
        self.assertEqual(roles, {"db1": "symptom", "san1": "root_cause"})
        self.assertEqual(inc["priority"], 1)  # the shop (high criticality) runs on db1; critical
        merged = self.d.get_json("/api/v1/incidents?status=merged")["incidents"]
        self.assertEqual(len(merged), 1)
        m = self.d.metrics()
        self.assertEqual(m["triaged_correlator_events_total{type=\"incident.merged\"}"], 1)

    def test_people_work_an_incident_through_the_api(self):
        self.send({"resource": "vm9", "check": "cpu", "severity": "major"})
        inc = self.d.get_json("/api/v1/incidents")["incidents"][0]
        path = f"/api/v1/incidents/{inc['id']}"
        self.post(path + "/acknowledge", {"by": "alice"})
        self.post(path + "/assign", {"assignee": "bob", "by": "alice"})
        self.post(path + "/comment", {"text": "restarting", "by": "bob"})
        self.post(path + "/priority", {"priority": 2, "by": "bob"})
        self.post(path + "/tickets", {"system": "jira", "id": "OPS-7", "url": "https://jira.example/OPS-7"})
        out = self.post(path + "/resolve", {"by": "bob", "note": "restarted"})
        self.assertEqual(out["status"], "resolved")
        self.assertEqual(out["assignee"], "bob")
        self.assertEqual(out["priority"], 2)
        self.assertEqual(out["tickets"][0]["id"], "OPS-7")
        actions = [e["action"] for e in out["timeline"]]
        self.assertEqual(actions, ["opened", "acknowledged", "assigned", "commented", "priority changed",
                                   "ticket linked", "resolved"])
        self.assertEqual(out["timeline"][1]["actor"], "alice")
        # The ticketing tool calls back with its own ticket id.
        back = self.post("/api/v1/tickets/jira/OPS-7/comment", {"text": "closed in Jira", "by": "jira"})
        self.assertEqual(back["id"], inc["id"])
        self.post("/api/v1/tickets/jira/OPS-8/resolve", {}, expect=404)
        err = self.post("/api/v1/tickets/jira/OPS-7/comment", {"text": "x", "by": 5}, expect=400)
        self.assertIn('"by"', err["error"])
        status, _, body = self.d.request("POST", path + "/comment", "not json")
        self.assertEqual(status, 400)
        self.assertIn("not valid JSON", body)
        # Bad requests name what is wrong and change nothing.
        err = self.post(path + "/priority", {"priority": "high"}, expect=400)
        self.assertIn("priority", err["error"])
        self.post(path + "/acknowledge", {}, expect=409)
        self.post("/api/v1/incidents/999/acknowledge", {}, expect=404)
        self.post(path + "/merge", {"into": inc["id"]}, expect=400)

    def test_silences_follow_the_alertmanager_v2_api(self):
        body = {"matchers": [{"name": "resource", "value": "db[0-9]", "isRegex": True, "isEqual": True}],
                "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
                "createdBy": "alice", "comment": "migration", "changeId": "CHG0007"}
        sid = self.post("/api/v2/silences", body)["silenceID"]
        self.send({"resource": "db7", "check": "cpu", "severity": "critical"},
                  {"resource": "web7", "check": "cpu", "severity": "critical"})
        # The silenced alert opens its own incident, held (tests/system/test_suppression.py).
        held = [i["suppressed"] for i in self.d.get_json("/api/v1/incidents")["incidents"]]
        self.assertEqual(sorted(held), [False, True])
        suppressed = self.d.get_json("/api/v1/suppressed")["alerts"]
        self.assertEqual([(a["resource"], a["suppressed"], a["suppressed_by"]) for a in suppressed],
                         [("db7", "silenced", sid)])
        got = self.d.get_json(f"/api/v2/silence/{sid}")
        self.assertEqual(got["status"]["state"], "active")
        self.assertEqual(got["changeId"], "CHG0007")
        self.assertEqual(len(self.d.get_json("/api/v2/silences")), 1)
        status, _, _ = self.d.request("DELETE", f"/api/v2/silence/{sid}")
        self.assertEqual(status, 200)
        self.assertEqual(self.d.get_json(f"/api/v2/silence/{sid}")["status"]["state"], "expired")
        # The alert it held is released: its incident is no longer held.
        held = [i["suppressed"] for i in self.d.get_json("/api/v1/incidents")["incidents"]]
        self.assertEqual(held, [False, False])
        bad = dict(body, matchers=[{"name": "resource", "value": "(", "isRegex": True}])
        err = self.post("/api/v2/silences", bad, expect=400)
        self.assertIn("matchers[0]", err["error"])

    def test_reload_keeps_incidents_and_applies_new_rules(self):
        self.send({"resource": "vm9", "check": "cpu", "severity": "major"})
        rules = os.path.join(self.d.dir, "extra.yaml")
        with open(rules, "w") as f:
            f.write("groups:\n  - name: extra\n    rules:\n      - {name: all-disks, match: '{check=\"disk\"}',"
                    " group_by: [check], incident: {title: Disks, priority: 1}}\n")
        with open(self.d.config_path) as f:
            text = f.read()
        with open(self.d.config_path, "w") as f:
            f.write(text.replace("rule_files: [", "rule_files: [" + rules + ", "))
        status, _, body = self.d.request("POST", "/-/reload")
        self.assertEqual(status, 200, body)
        self.send({"resource": "h1", "check": "disk"}, {"resource": "h2", "check": "disk"})
        incidents = self.d.get_json("/api/v1/incidents")["incidents"]
        self.assertEqual([(i["title"], i["alert_count"]) for i in incidents],
                         [("cpu on vm9", 1), ("Disks", 2)])
        self.assertEqual(incidents[1]["priority"], 1)
        # A rule file with a cycle is refused; the running rules stay.
        with open(rules, "w") as f:
            f.write("configuration_items:\n  - {name: a, depends_on: [a]}\n")
        status, _, body = self.d.request("POST", "/-/reload")
        self.assertEqual(status, 500)
        self.assertIn("dependency cycle: a -> a", body)
        self.send({"resource": "h3", "check": "disk"})
        self.assertEqual(self.d.get_json("/api/v1/incidents/2")["alert_count"], 3)

    def test_incident_list_filters_and_pages(self):
        self.send(*[{"resource": f"h{i}", "check": "disk", "severity": "warning"} for i in range(5)])
        page = self.d.get_json("/api/v1/incidents?limit=2")
        self.assertEqual([i["id"] for i in page["incidents"]], [1, 2])
        page = self.d.get_json(f"/api/v1/incidents?limit=2&after={page['next']}")
        self.assertEqual([i["id"] for i in page["incidents"]], [3, 4])
        self.assertEqual(self.d.get_json("/api/v1/incidents?priority=2")["incidents"], [])
        status, _, body = self.d.request("GET", "/api/v1/incidents?status=bogus")
        self.assertEqual(status, 400)
        self.assertIn("bogus", body)


class HeldClock(unittest.TestCase):
    """The gauges follow the machine's clock too: a daemon whose own clock stands still (the
    test clock, not moved) still shows within a second or so what changed."""

    def test_open_incident_gauges_follow_changes_while_the_clock_is_held(self):
        d = Daemon(CONFIG, env={"TRIAGED_TEST_CLOCK": rfc3339(1_780_000_000_000)}).start()
        self.addCleanup(d.close)
        status, _, body = d.request("POST", "/api/v1/events", json.dumps(
            [{"resource": f"web{n}", "check": "http", "severity": "critical"} for n in range(3)]))
        self.assertEqual(status, 200, body)
        api = len(d.get_json("/api/v1/incidents?status=open")["incidents"])
        self.assertGreater(api, 0)
        wait_for("triaged_incidents_open to count the open incidents",
                 lambda: sum(v for k, v in d.metrics().items()
                             if k.startswith("triaged_incidents_open{")) == api, timeout=15)


class Tools(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="triaged-tools-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_replay_is_deterministic_and_reports_bad_and_late_lines(self):
        config = os.path.join(self.dir, "triaged.yaml")
        with open(config, "w") as f:
            f.write(f"rule_files: [{RULES}]\ncorrelation:\n  max_lateness: 1m\n")
        events = os.path.join(self.dir, "events.ndjson")
        with open(events, "w") as f:
            for i in range(300):
                t = f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z"
                res = ["san1", "db1", "web1", "web2", "lb1", "lb2", f"vm{i % 7}"][i % 7]
                status = "resolved" if i % 11 == 0 else "firing"
                f.write(json.dumps({"resource": res, "check": f"c{i % 3}", "severity": "major",
                                    "status": status, "timestamp": t}) + "\n")
            f.write('{"resource": "broken"\n')
            f.write(json.dumps({"resource": "x", "check": "y", "timestamp": "2025-12-31T23:00:00Z"}) + "\n")
        a = run(["--config", config, "replay", events, "--advance", "1h"])
        b = run(["--config", config, "replay", events, "--advance", "1h"])
        self.assertEqual(a.stdout, b.stdout)
        self.assertEqual(a.returncode, 1, a.stderr)  # one invalid line
        self.assertIn("line 301:", a.stderr)
        self.assertIn("line 302: timestamp:", a.stderr)
        self.assertIn("1 invalid, 1 late", a.stderr)
        kinds = [json.loads(line).get("type") or json.loads(line)["kind"] for line in a.stdout.splitlines()]
        self.assertIn("incident.opened", kinds)
        self.assertIn("incident", kinds)

    def test_replay_decodes_with_the_configured_input(self):
        """An alert resolved explicitly after 30 minutes: with the input's resolve_timeout of 1h
        it fires for 30 minutes, as in the daemon (built-in defaults resolved it after 5)."""
        config = os.path.join(self.dir, "triaged.yaml")
        with open(config, "w") as f:
            f.write("inputs:\n  - type: native_json\n    name: events\n    resolve_timeout: 1h\n"
                    "    fingerprint: {fields: [resource, check]}\n"
                    "  - type: ndjson_tcp\n    name: stream\n    listen: 127.0.0.1:0\n    resolve_timeout: 2m\n")
        events = os.path.join(self.dir, "events.ndjson")
        with open(events, "w") as f:
            f.write(json.dumps({"resource": "db1", "check": "down", "timestamp": "2026-01-01T00:00:00Z"}) + "\n")
            f.write(json.dumps({"resource": "db1", "check": "down", "status": "resolved",
                                "timestamp": "2026-01-01T00:30:00Z"}) + "\n")

        def alert_of(out):
            alerts = [json.loads(l)["alert"] for l in out.splitlines() if json.loads(l).get("kind") == "alert"]
            self.assertEqual(len(alerts), 1, out)
            return alerts[0]

        # --config after the subcommand, as users type it.
        r = run(["replay", "--config", config, "--state-only", events])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('decoding as input "events" (native_json', r.stderr)
        self.assertIn("resolve_timeout 1h", r.stderr)
        self.assertIn("fingerprint resource,check+all labels", r.stderr)
        a = alert_of(r.stdout)
        self.assertEqual(a["source"], "events")  # the input's name, as the daemon sets it
        timeline = [json.loads(l) for l in r.stdout.splitlines() if json.loads(l).get("kind") == "incident"]
        entries = [(e["action"], e["at"]) for e in timeline[0]["incident"]["timeline"]]
        self.assertIn(("alert resolved", "2026-01-01T00:30:00.000Z"), entries)
        # The other input, by name: its 2-minute timeout resolves the alert first.
        r = run(["--config", config, "replay", "--input", "stream", "--state-only", events])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('decoding as input "stream" (ndjson_tcp', r.stderr)
        timeline = [json.loads(l) for l in r.stdout.splitlines() if json.loads(l).get("kind") == "incident"]
        entries = [(e["action"], e["at"]) for e in timeline[0]["incident"]["timeline"]]
        self.assertIn(("alert resolved", "2026-01-01T00:02:00.000Z"), entries)
        bad = run(["replay", "--config", config, "--input", "nope", events])
        self.assertEqual(bad.returncode, 2)
        self.assertIn('--input: no input named "nope" takes the native event format (these do: "events", "stream")',
                      bad.stderr)

    def test_test_rules_decodes_with_the_files_own_input(self):
        tests = os.path.join(self.dir, "t.yaml")
        with open(tests, "w") as f:
            f.write(f"""rule_files: [{RULES}]
inputs:
  - type: native_json
    resolve_timeout: 10m
    severity_map: {{sev1: critical}}
tests:
  - name: the input's severity map and timeout apply
    events:
      - {{at: 0s, event: {{resource: db1, check: db_down, severity: sev1}}}}
    expect:
      - at: 9m
        incidents: [{{priority: 1, alerts: 1, status: open}}]
      - at: 20m
        incidents: [{{status: resolved}}]
""")
        r = run(["test-rules", tests])
        self.assertEqual(r.returncode, 0, r.stdout)
        with open(tests) as f:
            text = f.read()
        with open(tests, "w") as f:
            f.write(text.replace("resolve_timeout: 10m", "resolve_timeout: soon"))
        r = run(["test-rules", tests])
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("resolve_timeout", r.stdout)

    def test_test_rules_passes_and_fails_with_a_readable_diff(self):
        ok = run(["test-rules", os.path.join(SOURCE, "tests", "rules", "datacenter_test.yaml")])
        self.assertEqual(ok.returncode, 0, ok.stdout)
        self.assertIn("SUCCESS", ok.stdout)
        failing = os.path.join(self.dir, "failing.yaml")
        with open(failing, "w") as f:
            f.write(f"""rule_files: [{RULES}]
tests:
  - name: expects the wrong priority
    events:
      - {{at: 0s, event: {{resource: db1, check: db_down, severity: critical}}}}
    expect:
      - at: 1s
        incidents: [{{priority: 4, alerts: 1}}]
""")
        bad = run(["test-rules", failing])
        self.assertEqual(bad.returncode, 1, bad.stdout)
        self.assertIn("FAIL expects the wrong priority", bad.stdout)
        self.assertIn("at 1s incidents[0].priority: expected 4, got 1", bad.stdout)
        with open(failing, "w") as f:
            f.write("rule_files: [missing.yaml]\ntests: [{name: x, events: [{at: soon}]}]\n")
        invalid = run(["test-rules", failing])
        self.assertEqual(invalid.returncode, 2, invalid.stdout)
        self.assertIn("invalid duration", invalid.stdout)


if __name__ == "__main__":
    unittest.main()
