"""Durable state on the real binary: what was acknowledged survives a clean restart and a
kill -9 (SIGKILL, no chance to flush), byte for byte as the API shows it; `triaged backup`
copies a running daemon's database and a daemon started on the copy shows the same state."""
import json
import os
import signal
import unittest

from harness import BASE_CONFIG, SOURCE, Daemon, on_postgres, run

RULES = os.path.abspath(os.path.join(SOURCE, "rules", "examples", "datacenter.yaml"))
CONFIG = BASE_CONFIG.replace("rule_files: []", "rule_files: [" + RULES + "]") + """inputs:
  - type: native_json
correlation:
  resolve_hold_down: 0s
  problem_incidents: 2
"""


def snapshot(d):
    """Everything the API shows of the state, in a comparable form."""
    out = {"alerts": d.get_json("/api/v1/alerts?limit=10000"),
           "suppressed": d.get_json("/api/v1/suppressed"),
           "silences": sorted(d.get_json("/api/v2/silences"), key=lambda s: s["id"]),
           "problems": d.get_json("/api/v1/problems")}
    incidents = []
    for status in ("open", "acknowledged", "resolved", "closed", "merged"):
        for inc in d.get_json(f"/api/v1/incidents?status={status}&limit=10000")["incidents"]:
            incidents.append(d.get_json(f"/api/v1/incidents/{inc['id']}"))
    out["incidents"] = sorted(incidents, key=lambda i: i["id"])
    return out


def without_counters(snap):
    """Counters of duplicates (count, last seen, ends_at) are checkpointed, not committed per event: after a crash (or in
    a backup) they may be behind, never ahead. Everything else is exact."""
    for a in snap["alerts"]["data"]:
        a.pop("count", None)
        a.pop("last_seen", None)
        a.pop("ends_at", None)  # a duplicate moves the resolve-by-timeout deadline
    for inc in snap.get("incidents", []):  # the same counters, summed per incident
        for key in ("alert_counts", "events", "duplicates"):
            inc.pop(key, None)
    return snap


def differences(a, b, path=""):
    """Paths at which two JSON values differ, with both values: a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += differences(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


class Durability(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(CONFIG).start()

    def tearDown(self):
        self.d.close()

    def send(self, *events):
        status, _, body = self.d.request("POST", "/api/v1/events", json.dumps(list(events)),
                                         {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def post(self, path, body, expect=200):
        status, _, text = self.d.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        self.assertEqual(status, expect, text)
        return json.loads(text)

    def build_state(self):
        """Incidents in every status, a root cause and a merge, a problem, a silence, counters."""
        self.send({"resource": "db1", "check": "db_down", "severity": "critical"})
        self.send({"resource": "san1", "check": "array_offline", "severity": "critical"})  # root cause
        self.send({"resource": "vm9", "check": "cpu", "severity": "major"})
        for _ in range(3):
            self.send({"resource": "vm9", "check": "cpu", "severity": "major"})  # duplicates
        inc = self.d.get_json("/api/v1/incidents")["incidents"][-1]
        path = f"/api/v1/incidents/{inc['id']}"
        self.post(path + "/acknowledge", {"by": "alice"})
        self.post(path + "/comment", {"text": "looking", "by": "alice"})
        self.post(path + "/tickets", {"system": "jira", "id": "OPS-1", "url": "https://jira.example/OPS-1"})
        # A recurring signature: two incidents open a problem (problem_incidents: 2).
        for _ in range(2):
            self.send({"resource": "web3", "check": "http", "severity": "major"})
            self.send({"resource": "web3", "check": "http", "severity": "major", "status": "resolved"})
            last = self.d.get_json("/api/v1/incidents?status=resolved")["incidents"][-1]
            self.post(f"/api/v1/incidents/{last['id']}/close", {"by": "alice"})
        sid = self.post("/api/v2/silences", {
            "matchers": [{"name": "resource", "value": "db9", "isRegex": False, "isEqual": True}],
            "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "alice", "comment": "migration", "changeId": "CHG1"})["silenceID"]
        self.send({"resource": "db9", "check": "cpu", "severity": "critical"})  # silenced
        return sid

    def assertSameState(self, after, before):
        diff = differences(after, before)
        self.assertEqual(diff[:20], [], "after restart != before")

    def restart(self, sig):
        self.d.signal(sig)
        self.d.proc.wait(30)
        self.d.messages.clear()
        self.d.start()

    def test_state_survives_a_clean_restart(self):
        self.build_state()
        before = snapshot(self.d)
        self.assertGreaterEqual(len(before["incidents"]), 4)
        self.assertEqual(len(before["problems"]["problems"]), 1, before["problems"])
        self.restart(signal.SIGTERM)
        self.assertSameState(snapshot(self.d), before)
        self.assertIn("recovered", self.d.log())

    def test_acknowledged_state_survives_kill_9(self):
        sid = self.build_state()
        before = snapshot(self.d)
        self.restart(signal.SIGKILL)
        after = snapshot(self.d)
        self.assertSameState(without_counters(after), without_counters(before))
        # The state keeps moving after the restart: ids continue, the silence still holds.
        self.send({"resource": "vm10", "check": "disk", "severity": "major"})
        ids = [i["id"] for i in self.d.get_json("/api/v1/incidents?limit=10000")["incidents"]]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(max(ids), max(i["id"] for i in before["incidents"]) + 1)
        self.assertEqual(self.d.get_json(f"/api/v2/silence/{sid}")["status"]["state"], "active")
        # And an incident resolved after the restart follows its alerts.
        self.send({"resource": "vm10", "check": "disk", "severity": "major", "status": "resolved"})
        last = self.d.get_json(f"/api/v1/incidents/{max(ids)}")
        self.assertEqual(last["status"], "resolved")

    def test_threshold_window_survives_kill_9(self):
        # datacenter.yaml: five disk_error firings on one resource within 10m open an incident.
        # Four disks fail and recover before the crash: only the stored window knows of them.
        for disk in "1234":
            alert = {"resource": "nas1", "check": "disk_error", "severity": "minor", "labels": {"disk": disk}}
            self.send(alert)
            self.send(dict(alert, status="resolved"))
        titles = [i["title"] for i in self.d.get_json("/api/v1/incidents")["incidents"]]
        self.assertNotIn("Repeated disk errors on nas1", titles)
        self.restart(signal.SIGKILL)
        self.send({"resource": "nas1", "check": "disk_error", "severity": "minor", "labels": {"disk": "5"}})
        titles = [i["title"] for i in self.d.get_json("/api/v1/incidents")["incidents"]]
        self.assertIn("Repeated disk errors on nas1", titles)

    def test_sequence_first_survives_kill_9(self):
        # datacenter.yaml's link-flap: link_down then link_up within 30s is one incident. The
        # down event resolved before the crash: only the stored sequence state remembers it.
        down = {"resource": "sw1", "check": "link_down", "severity": "major", "labels": {"interface": "eth0"}}
        self.send(down)
        self.send(dict(down, status="resolved"))
        self.restart(signal.SIGKILL)
        self.send({"resource": "sw1", "check": "link_up", "severity": "minor", "labels": {"interface": "eth0"}})
        rules = [i.get("rule") for i in self.d.get_json("/api/v1/incidents")["incidents"]]
        self.assertIn("link-flap", rules)

    def test_counters_of_duplicates_are_saved_at_shutdown(self):
        for _ in range(5):
            self.send({"resource": "vm1", "check": "mem", "severity": "minor"})
        self.restart(signal.SIGTERM)
        alerts = self.d.get_json("/api/v1/alerts")["data"]
        self.assertEqual([a["count"] for a in alerts], [5])

    def test_backup_of_a_running_daemon(self):
        if on_postgres():  # the file copy is SQLite's; the command says what to use instead
            r = run(["--config", self.d.config_path, "backup", os.path.join(self.d.dir, "b.db")])
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("pg_dump", r.stderr)
            return
        self.build_state()
        before = snapshot(self.d)
        copy = os.path.join(self.d.dir, "backup.db")
        r = run(["--config", self.d.config_path, "backup", copy])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("backup.db", r.stdout + r.stderr)
        # Restore = put the copy in place of triaged.db in a state directory, start.
        other = Daemon(CONFIG)
        try:
            os.makedirs(os.path.join(other.dir, "state"))
            os.replace(copy, os.path.join(other.dir, "state", "triaged.db"))
            other.start()
            self.assertSameState(without_counters(snapshot(other)), without_counters(before))
        finally:
            other.close()
        r = run(["--config", self.d.config_path, "backup", copy])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(["--config", self.d.config_path, "backup", copy])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("exists", r.stderr)


if __name__ == "__main__":
    unittest.main()
