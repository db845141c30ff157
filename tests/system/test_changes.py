"""Changes as records (ISO/IEC 20000-1 8.5.1) on the real binary and its test clock: a change
tool posts changes (one, an array, or NDJSON); incidents opened on their CIs or services during
a change or within correlation.change_window after it are linked, shown on both sides, counted,
and kept across a restart. Bad changes are refused whole, naming the line and field."""
import json
import os
import unittest

from harness import BASE_CONFIG, Daemon, rfc3339

T0 = 1_780_000_000_000


RULES = """configuration_items:
  - {name: db1}
  - {name: db2}
services:
  - {name: shop, cis: [db1]}
agreements:
  - {name: shop-sla, service: shop, availability: "99.9", period: month}
"""

CONFIG = BASE_CONFIG + """inputs:
  - type: native_json
    resolve_timeout: 0
correlation:
  change_window: 30m
"""


class Changes(unittest.TestCase):
    def setUp(self):
        self.d = Daemon("", env={"TRIAGED_TEST_CLOCK": rfc3339(T0)})
        rules = os.path.join(self.d.dir, "service.rules")
        with open(rules, "w") as f:
            f.write(RULES)
        self.d.write_config(CONFIG.replace("rule_files: []", f"rule_files: [{rules}]"))
        self.d.start()

    def tearDown(self):
        self.d.close()

    def post(self, path, body, expect=200, raw=False):
        status, _, text = self.d.request("POST", path, body if raw else json.dumps(body))
        self.assertEqual(status, expect, text)
        return json.loads(text)

    def send(self, **event):
        self.post("/api/v1/events", [event])

    def test_incidents_after_a_change_are_linked_and_counted(self):
        ndjson = "\n".join(json.dumps(c) for c in [
            {"id": "CHG-42", "summary": "db1 minor upgrade", "cis": ["db1"], "status": "completed",
             "actual_start": rfc3339(T0 - 20 * 60_000), "actual_end": rfc3339(T0 - 12 * 60_000),
             "url": "https://changes.example/CHG-42"},
            {"id": "CHG-43", "summary": "web tier later", "services": ["shop"],
             "planned_start": rfc3339(T0 + 3_600_000), "planned_end": rfc3339(T0 + 7_200_000)},
        ]) + "\n"
        self.assertEqual(self.post("/api/v1/changes", ndjson, raw=True)["changes"], 2)
        self.send(resource="db1", check="cpu", severity="critical")
        self.send(resource="web1", check="http", severity="major", service="shop")
        inc = self.d.get_json("/api/v1/incidents/1")
        self.assertEqual(inc["changes"], ["CHG-42"])
        linked = [e for e in inc["timeline"] if e["action"] == "linked to change"]
        self.assertEqual([e["detail"] for e in linked], ["opened 12 min after change CHG-42 on db1"])
        self.assertEqual(self.d.get_json("/api/v1/incidents/2")["changes"], [])  # CHG-43 not begun
        ch = self.d.get_json("/api/v1/changes/CHG-42")
        self.assertEqual([(i["id"], i["minutes_after_change"]) for i in ch["incidents"]], [(1, 12)])
        # The change window is 30 min: 31 min after CHG-42 a new incident on db1 is not linked.
        status, _, body = self.d.request("POST", "/-/test/clock?to=" + rfc3339(T0 + 19 * 60_000))
        self.assertEqual(status, 200, body)
        self.send(resource="db1", check="disk", severity="major", labels={"mount": "/var"})
        incidents = self.d.get_json("/api/v1/incidents")["incidents"]
        self.assertEqual([(i["id"], i["changes"]) for i in incidents if i["cis"] == ["db1"]],
                         [(1, ["CHG-42"])])  # disk joined incident 1 (same group): no new incident
        # During a change (started, not ended): linked as "during".
        self.post("/api/v1/changes", {"id": "CHG-44", "cis": ["db2"], "actual_start": rfc3339(T0)})
        self.send(resource="db2", check="cpu", severity="critical")
        db2 = [i for i in self.d.get_json("/api/v1/incidents")["incidents"] if i["cis"] == ["db2"]][0]
        self.assertEqual(db2["changes"], ["CHG-44"])
        self.assertEqual(self.d.get_json("/api/v1/changes/CHG-44")["status"], "in_progress")
        # Counted (the gauges and counters are published each second of the daemon's clock), and
        # kept across a restart.
        status, _, body = self.d.request("POST", "/-/test/clock?to=" + rfc3339(T0 + 19 * 60_000 + 2_000))
        self.assertEqual(status, 200, body)
        m = self.d.metrics()
        self.assertEqual(m["triaged_changes_in_progress"], 1)
        self.assertEqual(m["triaged_incidents_after_change_total"], 2)
        self.d.stop()
        self.d.start()
        self.assertEqual(sorted(c["id"] for c in self.d.get_json("/api/v1/changes")["changes"]),
                         ["CHG-42", "CHG-43", "CHG-44"])
        self.assertEqual(self.d.get_json("/api/v1/changes/CHG-42")["incidents"][0]["id"], 1)
        self.assertEqual(self.d.get_json("/api/v1/incidents/1")["changes"], ["CHG-42"])
        # The service report counts the changes on the service (CHG-42 on its CI db1, followed
        # by an incident; CHG-43 on it by name, not begun, starts later this month).
        rep = self.d.get_json("/api/v1/reports/sla?period=current")["reports"][0]
        self.assertEqual(rep["changes"], {"total": 1, "failed": 1, "incidents_after_changes": 1,
                                          "success_percent": 0.0})
        csv = self.d.request("GET", "/api/v1/reports/sla?period=current&format=csv")[2]
        self.assertTrue(csv.splitlines()[0].endswith("changes,changes_failed,incidents_after_changes"))
        self.assertTrue(csv.splitlines()[1].endswith(",1,1,1"))

    def test_a_maintenance_window_that_follows_a_change_starts_and_ends_with_it(self):
        self.send(resource="db1", check="cpu", severity="critical")
        w = self.post("/api/v1/maintenance", {"name": "with-chg-7", "cis": ["db1"], "during_change": "CHG-7"})
        self.assertEqual((w["state"], w["schedule"]), ("pending", {"kind": "change", "change": "CHG-7"}))
        self.assertFalse(self.d.get_json("/api/v1/incidents/1")["suppressed"])
        # Planned to start in 10 minutes: held from its start, on the daemon's clock.
        self.post("/api/v1/changes", {"id": "CHG-7", "cis": ["db9"], "planned_start": rfc3339(T0 + 600_000),
                                      "planned_end": rfc3339(T0 + 3_600_000)})
        self.assertFalse(self.d.get_json("/api/v1/incidents/1")["suppressed"])
        status, _, body = self.d.request("POST", "/-/test/clock?to=" + rfc3339(T0 + 600_000))
        self.assertEqual(status, 200, body)
        inc = self.d.get_json("/api/v1/incidents/1")
        self.assertTrue(inc["suppressed"])
        self.assertEqual(inc["suppression"]["maintenance"], ["with-chg-7"])
        self.assertEqual(self.d.get_json("/api/v1/maintenance/" + w["id"])["state"], "active")
        # The change tool reports it finished early: released at once.
        self.post("/api/v1/changes", {"id": "CHG-7", "cis": ["db9"], "status": "completed",
                                      "actual_start": rfc3339(T0 + 600_000), "actual_end": rfc3339(T0 + 600_000 + 1)})
        status, _, body = self.d.request("POST", "/-/test/clock?to=" + rfc3339(T0 + 600_000 + 1))
        self.assertEqual(status, 200, body)
        self.assertFalse(self.d.get_json("/api/v1/incidents/1")["suppressed"])
        self.assertEqual(self.d.get_json("/api/v1/maintenance/" + w["id"])["state"], "ended")

    def test_bad_changes_are_refused_whole_naming_the_line_and_field(self):
        good = {"id": "CHG-1", "cis": ["db1"], "planned_start": rfc3339(T0), "planned_end": rfc3339(T0 + 60_000)}
        cases = [
            (json.dumps(dict(good, colour="red")), "colour: unknown field"),
            (json.dumps([good, dict(good, id="CHG-2", planned_end=rfc3339(T0 - 1))]), "changes[1].planned_end: is before"),
            (json.dumps(good) + "\n" + json.dumps({"cis": ["x"]}) + "\n", "line 2.id: is required"),
            (json.dumps(good) + "\n{not json\n", "line 2: not valid JSON"),
            (json.dumps(dict(good, status="done")), "status: \"done\" is not one of"),
            (json.dumps(dict(good, actual_start="yesterday")), "actual_start: expected an RFC 3339 time"),
            (json.dumps({"id": "CHG-3"}), "cis: give cis or services"),
        ]
        for body, want in cases:
            err = self.post("/api/v1/changes", body, expect=400, raw=True)["error"]
            self.assertIn(want, err, body)
        self.assertEqual(self.d.get_json("/api/v1/changes")["changes"], [])  # nothing changed
        status, _, _ = self.d.request("GET", "/api/v1/changes/CHG-1")
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
