"""Notification policies, escalation and on-call on the real binary and its test clock: each step
at its instant to a real HTTP receiver, none repeated or skipped across a kill -9 in the middle
of an escalation, none after acknowledgement; who is on call (GET /api/v1/oncall), overrides
through the API kept across a restart; configuration errors that name the key."""
import json
import os
import signal
import time
import unittest

from harness import BASE_CONFIG, Daemon, Receiver, run, wait_for, rfc3339

T0 = 1_780_000_000_000  # 2026-05-28T20:26:40Z, a Thursday


RULES = """oncall_schedules:
  - name: noc
    time_zone: Europe/Berlin
    people:
      - {name: alice, targets: [alice]}
      - {name: bob, targets: [bob]}
    layers:
      - {name: weekly, members: [alice, bob], rotation: 1w, start: "2026-05-25T09:00"}
"""

CONFIG = BASE_CONFIG + """inputs:
  - type: native_json
    resolve_timeout: 0
notifications:
  targets:
    - {{name: team, url: "http://127.0.0.1:{port}/team", retry_initial: 50ms}}
    - {{name: boss, url: "http://127.0.0.1:{port}/boss", retry_initial: 50ms}}
    - {{name: alice, url: "http://127.0.0.1:{port}/alice", retry_initial: 50ms}}
    - {{name: bob, url: "http://127.0.0.1:{port}/bob", retry_initial: 50ms}}
  policies:
    - name: critical
      matchers: ['priority=~"[12]"']
      steps:
        - {{targets: [team]}}
        - {{after: 15m, targets: ["schedule:noc"]}}
        - {{after: 30m, targets: [boss]}}
      repeat_interval: 1h
"""


class Escalation(unittest.TestCase):
    def setUp(self):
        self.rx = Receiver()
        self.d = Daemon("", env={"TRIAGED_TEST_CLOCK": rfc3339(T0)})
        rules = os.path.join(self.d.dir, "oncall.rules")
        with open(rules, "w") as f:
            f.write(RULES)
        self.d.write_config(CONFIG.replace("{port}", str(self.rx.port))
                            .replace("rule_files: []", f"rule_files: [{rules}]"))
        self.d.start()

    def tearDown(self):
        self.d.close()
        self.rx.close()

    def clock(self, ms):
        status, _, body = self.d.request("POST", "/-/test/clock?to=" + rfc3339(ms))
        self.assertEqual(status, 200, body)

    def received(self):
        """What was delivered, once per Idempotency-Key: delivery is at least once, and an entry
        the receiver got just before a kill -9 may come again after the restart."""
        seen, out = set(), []
        for r in self.rx.delivered():
            key = r["headers"]["Idempotency-Key"]
            if key not in seen:
                seen.add(key)
                out.append((r["path"], json.loads(r["body"])["type"]))
        return out

    def wait_received(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        with self.rx.cond:
            while len(self.received_locked()) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{n} notifications expected; got {self.received_locked()}")
                self.rx.cond.wait(left)
        return self.received()

    def received_locked(self):
        keys = []
        for r in self.rx.requests:
            if 200 <= r["status"] < 300 and r["headers"]["Idempotency-Key"] not in keys:
                keys.append(r["headers"]["Idempotency-Key"])
        return keys

    def escalations(self, incident=1):
        inc = self.d.get_json(f"/api/v1/incidents/{incident}")
        return [e["detail"] for e in inc["timeline"] if e["action"] in ("notified", "escalated")]

    def test_steps_at_their_instants_across_a_kill_and_none_after_acknowledgement(self):
        status, _, body = self.d.request("POST", "/api/v1/events", json.dumps(
            [{"resource": "db1", "check": "down", "severity": "critical"}]))
        self.assertEqual(status, 200, body)
        self.assertEqual(self.wait_received(1), [("/team", "incident.opened")])
        self.clock(T0 + 15 * 60_000 - 1)
        self.assertEqual(self.escalations(), ["step 1 of critical: team"])
        self.clock(T0 + 15 * 60_000)
        # Thursday 2026-05-28: the weekly layer began on Monday 25th with alice.
        self.assertEqual(self.wait_received(2)[1], ("/alice", "incident.escalated"))
        body = json.loads(next(r["body"] for r in self.rx.delivered() if r["path"] == "/alice"))
        self.assertEqual(body["escalation"], {"policy": "critical", "step": 2, "repeat": 0,
                                              "out_of_hours": False, "targets": ["alice"],
                                              "on_call": [{"schedule": "noc", "person": "alice"}]})
        inc = self.d.get_json("/api/v1/incidents/1")
        self.assertEqual(inc["escalation"][0]["state"], "escalating")
        self.assertEqual(inc["escalation"][0]["next_step_at"], rfc3339(T0 + 30 * 60_000))
        self.assertEqual(inc["escalation"][0]["reached"], ["team", "alice"])
        m = self.d.metrics()
        self.assertEqual(m['triaged_escalation_steps_total{policy="critical"}'], 1)
        # kill -9 in the middle of the escalation; the daemon comes back at the same instant.
        self.d.proc.send_signal(signal.SIGKILL)
        self.d.proc.wait()
        self.d.env["TRIAGED_TEST_CLOCK"] = rfc3339(T0 + 15 * 60_000)
        self.d.start()
        self.clock(T0 + 30 * 60_000 - 1)
        self.assertEqual(self.escalations(), ["step 1 of critical: team",
                                              "step 2 of critical: alice (on call for noc)"])
        self.clock(T0 + 30 * 60_000)
        self.assertEqual(self.wait_received(3)[2], ("/boss", "incident.escalated"))
        self.clock(T0 + 90 * 60_000)
        self.assertEqual(self.wait_received(4)[3], ("/boss", "incident.escalated"))
        self.assertEqual(self.escalations()[-1], "step 3 of critical (repeat 1): boss")
        # Acknowledged: everyone it reached hears of it, once; nothing escalates after.
        status, _, body = self.d.request("POST", "/api/v1/incidents/1/acknowledge", "{}")
        self.assertEqual(status, 200, body)
        got = self.wait_received(7)
        self.assertEqual(sorted(got[4:]), [("/alice", "incident.acknowledged"),
                                           ("/boss", "incident.acknowledged"),
                                           ("/team", "incident.acknowledged")])
        self.clock(T0 + 10 * 3_600_000)
        self.assertEqual(len(self.escalations()), 4)
        self.assertEqual(self.d.get_json("/api/v1/incidents/1")["escalation"][0]["state"], "stopped")
        self.assertEqual(len(self.received()), 7)
        self.assertEqual([p for p, _ in self.received()].count("/alice"), 2)

    def test_who_is_on_call_and_overrides_through_the_api(self):
        oc = self.d.get_json("/api/v1/oncall")
        self.assertEqual(oc["at"], rfc3339(T0))
        s = oc["schedules"][0]
        self.assertEqual((s["name"], s["on_call"]["person"], s["on_call"]["source"]),
                         ("noc", "alice", "weekly"))
        self.assertEqual(s["until"], "2026-06-01T07:00:00.000Z")  # Monday 09:00 CEST
        self.assertEqual(s["next"], {"person": "bob"})
        later = self.d.get_json("/api/v1/oncall?at=2026-06-02T00:00:00Z")["schedules"][0]
        self.assertEqual(later["on_call"]["person"], "bob")
        # bob covers Friday evening (local times in the schedule's zone).
        status, _, body = self.d.request("POST", "/api/v1/oncall/noc/overrides", json.dumps(
            {"person": "bob", "start": "2026-05-29T18:00", "end": "2026-05-30T08:00",
             "comment": "alice travels"}))
        self.assertEqual(status, 201, body)
        o = json.loads(body)
        self.assertEqual((o["person"], o["start"], o["end"]),
                         ("bob", "2026-05-29T16:00:00.000Z", "2026-05-30T06:00:00.000Z"))
        status, _, body = self.d.request("POST", "/api/v1/oncall/noc/overrides", json.dumps(
            {"person": "alice", "start": "2026-05-29T20:00", "end": "2026-05-29T21:00"}))
        self.assertEqual(status, 400, body)
        self.assertIn("overlaps override " + o["id"], body)
        for bad, field in ((dict(person="carol"), "person"), (dict(start="soon"), "start"),
                           (dict(end="2026-05-29T17:00"), "end")):
            req = {"person": "bob", "start": "2026-05-29T18:00", "end": "2026-05-30T08:00", **bad}
            status, _, body = self.d.request("POST", "/api/v1/oncall/noc/overrides", json.dumps(req))
            self.assertEqual(status, 400, body)
            self.assertIn(field, body)
        status, _, _ = self.d.request("POST", "/api/v1/oncall/nope/overrides", json.dumps(
            {"person": "bob", "start": "2026-05-29T18:00", "end": "2026-05-30T08:00"}))
        self.assertEqual(status, 404)
        # Kept across a restart.
        self.d.stop()
        self.d.start()
        s = self.d.get_json("/api/v1/oncall?at=2026-05-29T17:00:00Z")["schedules"][0]
        self.assertEqual((s["on_call"]["person"], s["on_call"]["source"]), ("bob", "override"))
        self.assertEqual(s["until"], "2026-05-30T06:00:00.000Z")
        self.assertEqual([x["id"] for x in s["overrides"]], [o["id"]])
        status, _, body = self.d.request("DELETE", "/api/v1/oncall/noc/overrides/" + o["id"])
        self.assertEqual(status, 200, body)
        s = self.d.get_json("/api/v1/oncall?at=2026-05-29T17:00:00Z")["schedules"][0]
        self.assertEqual(s["on_call"]["person"], "alice")
        self.assertEqual(self.d.request("DELETE", "/api/v1/oncall/noc/overrides/" + o["id"])[0], 404)


class PolicyConfigErrors(unittest.TestCase):
    def check(self, rules_text, config_edit):
        d = Daemon("")
        try:
            rules = os.path.join(d.dir, "oncall.rules")
            with open(rules, "w") as f:
                f.write(rules_text)
            d.write_config(config_edit(CONFIG.replace("{port}", "9")
                                       .replace("rule_files: []", f"rule_files: [{rules}]")))
            r = run(["--config", d.config_path, "--check-config"])
            self.assertNotEqual(r.returncode, 0)
            return r.stderr
        finally:
            d.close()

    def test_errors_name_the_key(self):
        err = self.check(RULES.replace("targets: [bob]", "targets: [bobby]"), lambda c: c
                         .replace("['priority=~\"[12]\"']", "['colour=\"red\"']")
                         .replace("[boss]", "[bosss]").replace("schedule:noc", "schedule:nope")
                         .replace("repeat_interval: 1h", "repeat_interval: 1h\n      calendar: office"))
        for needle in ('oncall_schedules.noc.people[1].targets[0]: unknown notification target "bobby"',
                       'notifications.policies[0].matchers[0]: unknown field "colour"',
                       'notifications.policies[0].steps[1].targets[0]: unknown on-call schedule "nope"',
                       'notifications.policies[0].steps[2].targets[0]: unknown notification target "bosss"',
                       'notifications.policies[0].calendar: unknown calendar "office"'):
            self.assertIn(needle, err)
        err = self.check(RULES + """    overrides:
      - {person: alice, start: "2026-06-01T00:00", end: "2026-06-03T00:00"}
      - {person: bob, start: "2026-06-02T00:00", end: "2026-06-04T00:00"}
""", lambda c: c.replace("after: 30m", "after: 10m"))
        self.assertIn("oncall_schedules[0].overrides[1]: overlaps overrides[0] (alice)", err)
        self.assertIn("notifications.policies[0].steps[2].after: must be later than the step before", err)


if __name__ == "__main__":
    unittest.main()
