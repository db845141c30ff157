"""Suppression as a state on the real binary: silences, maintenance windows (from their schedule
on the daemon's test clock, and from a reload) act on alerts that already fire; an incident
whose firing alerts are all suppressed is held and tells a local receiver nothing until it is
released. Delivery is ordered per incident, so the first delivery after a release proves that
nothing was sent while the incident was held; no test sleeps."""
import json
import os
import time
import unittest

from harness import BASE_CONFIG, Daemon, Receiver, rfc3339

T0 = 1_780_000_000_000  # 2026-05-28T20:26:40Z


def config(port, rules=""):
    return BASE_CONFIG.replace("rule_files: []", f"rule_files: [{rules}]" if rules else "rule_files: []") + f"""inputs:
  - type: native_json
    resolve_timeout: 0
correlation:
  resolve_hold_down: 0s
notifications:
  targets:
    - name: hook
      url: http://127.0.0.1:{port}/hook
      retry_initial: 50ms
      retry_max: 200ms
"""


class Suppression(unittest.TestCase):
    def setUp(self):
        self.rx = Receiver()
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.close()
        self.rx.close()

    def start(self, rules_text="", env=None):
        self.d = Daemon("", env=env)
        rules = ""
        if rules_text:
            rules = os.path.join(self.d.dir, "windows.rules")
            with open(rules, "w") as f:
                f.write(rules_text)
        self.d.write_config(config(self.rx.port, rules))
        self.d.start()
        return self.d

    def send(self, **event):
        status, _, body = self.d.request("POST", "/api/v1/events", json.dumps([event]),
                                         {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)

    def post(self, path, body, expect=200):
        status, _, text = self.d.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        self.assertEqual(status, expect, text)
        return json.loads(text)

    def silence(self, value, **extra):
        body = {"matchers": [{"name": "resource", "value": value, "isRegex": False}],
                "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
                "createdBy": "alice", "comment": "outage"}
        body.update(extra)
        return self.post("/api/v2/silences", body)["silenceID"]

    def wait_metrics(self, want, timeout=10):
        """The gauges are published once a second by the daemon's own timer: a bounded poll."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.d.metrics()
            if all(m.get(k) == v for k, v in want.items()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"metrics {want} expected; got {[(k, m.get(k)) for k in want]}")
            time.sleep(0.05)

    def incident(self, n=1):
        return self.d.get_json(f"/api/v1/incidents/{n}")

    def events_for(self, n, count):
        """The first `count` deliveries about incident n, as (type, incident status)."""
        deadline = time.monotonic() + 20
        while True:
            got = [json.loads(r["body"]) for r in self.rx.delivered()]
            mine = [(e["type"], e["incident"]["status"]) for e in got if e.get("incident", {}).get("id") == n]
            if len(mine) >= count:
                return mine
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} deliveries for incident {n} expected; got {got}")
            with self.rx.cond:
                self.rx.cond.wait(0.5)

    def test_a_silence_holds_an_incident_that_already_pages_and_its_expiry_releases_it(self):
        self.start()
        self.send(resource="db7", check="cpu", severity="critical")
        self.assertEqual(self.events_for(1, 1), [("incident.opened", "open")])
        self.assertFalse(self.incident()["suppressed"])
        sid = self.silence("db7")
        inc = self.incident()
        self.assertTrue(inc["suppressed"])
        self.assertEqual(inc["suppression"]["silences"], [sid])
        self.assertEqual(inc["timeline"][-1]["action"], "held")
        self.assertIn(sid, inc["timeline"][-1]["detail"])
        alert = self.d.get_json("/api/v1/suppressed")["alerts"]
        self.assertEqual([(a["resource"], a["suppressed"], a["silenced_by"]) for a in alert],
                         [("db7", "silenced", [sid])])
        self.wait_metrics({"triaged_incidents_held": 1, "triaged_alerts_suppressed": 1})
        # Updates of the held incident tell no one; the service is still down (a silence does
        # not change availability).
        self.send(resource="db7", check="cpu", severity="major")
        self.send(resource="db7", check="mem", severity="critical")  # joins, suppressed too
        self.assertTrue(self.incident()["suppressed"])
        status, _, _ = self.d.request("DELETE", f"/api/v2/silence/{sid}")
        self.assertEqual(status, 200)
        inc = self.incident()
        self.assertFalse(inc["suppressed"])
        self.assertEqual(inc["timeline"][-1]["action"], "released")
        self.assertEqual(self.d.get_json("/api/v1/suppressed")["alerts"], [])
        # The release is the next thing its targets hear: nothing was sent while it was held.
        self.assertEqual(self.events_for(1, 2), [("incident.opened", "open"), ("incident.updated", "open")])

    def test_new_labels_under_the_same_dedup_key_are_silenced_at_once_in_the_same_incident(self):
        self.start()
        event = dict(resource="db7", check="disk", severity="critical", dedup_key="db7-disk")
        self.send(**event, labels={"team": "storage"})
        self.assertEqual(self.events_for(1, 1), [("incident.opened", "open")])
        sid = self.post("/api/v2/silences", {
            "matchers": [{"name": "team", "value": "dba", "isRegex": False}],
            "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "alice", "comment": "the DBAs are on it"})["silenceID"]
        self.assertFalse(self.incident()["suppressed"])
        # The same alert (its key) now says team dba: silenced with the request that said so.
        self.send(**event, labels={"team": "dba"})
        inc = self.incident()
        self.assertTrue(inc["suppressed"])
        self.assertEqual(inc["suppression"]["silences"], [sid])
        self.assertEqual(len(inc["alerts"]), 1)
        self.assertEqual(len(self.d.get_json("/api/v1/incidents")["incidents"]), 1)
        [alert] = self.d.get_json("/api/v2/alerts")
        self.assertEqual((alert["labels"]["team"], alert["status"]["state"], alert["status"]["silencedBy"]),
                         ("dba", "suppressed", [sid]))
        self.wait_metrics({"triaged_alerts_suppressed": 1})
        # And back: released, the release the next thing its targets hear.
        self.send(**event, labels={"team": "storage"})
        self.assertFalse(self.incident()["suppressed"])
        self.assertEqual(self.events_for(1, 2), [("incident.opened", "open"), ("incident.updated", "open")])
        # A new service under the same key: the incident affects it too, and says so once.
        self.assertNotIn("checkout", self.incident()["services"])
        self.send(**event, service="checkout", labels={"team": "storage"})
        self.send(**event, service="checkout", labels={"team": "storage"})
        inc = self.incident()
        self.assertIn("checkout", inc["services"])
        said = [e for e in inc["timeline"] if e["action"] == "alert relabeled"]
        self.assertEqual([e.get("detail") for e in said], ["now affects service checkout"])
        self.assertEqual(len(inc["alerts"]), 1)

    def test_an_incident_opened_under_a_silence_is_announced_when_released(self):
        self.start()
        sid = self.silence("db8")
        self.send(resource="db8", check="disk", severity="major")
        inc = self.incident()
        self.assertTrue(inc["suppressed"])
        self.assertEqual([e["action"] for e in inc["timeline"]], ["opened", "held"])
        # An unsuppressed alert joining releases it; its opening is then announced, once.
        self.send(resource="web8", check="http", severity="major")  # another incident: a fence
        self.assertEqual(self.events_for(2, 1), [("incident.opened", "open")])
        self.post(f"/api/v2/silences", {"id": sid, "matchers": [{"name": "resource", "value": "nothing"}],
                                        "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z"})
        self.assertFalse(self.incident()["suppressed"])  # the update no longer matches db8
        self.assertEqual(self.events_for(1, 1), [("incident.opened", "open")])
        # Resolved and closed while held: no one hears of an incident they were never told of.
        self.silence("db9")
        self.send(resource="db9", check="disk", severity="major")
        self.send(resource="db9", check="disk", severity="major", status="resolved")
        self.assertEqual(self.incident(3)["status"], "resolved")
        self.send(resource="web9", check="http", severity="major")
        self.assertEqual(self.events_for(4, 1), [("incident.opened", "open")])
        got = [json.loads(r["body"]) for r in self.rx.delivered()]
        self.assertNotIn(3, [e.get("incident", {}).get("id") for e in got])

    def test_a_window_that_starts_while_alerts_fire_holds_them_on_its_schedule(self):
        start, end = T0 + 3_600_000, T0 + 7_200_000
        rules = f"""maintenance_windows:
  - name: db-upgrade
    change_id: CHG-42
    match: '{{resource="db1"}}'
    start: {rfc3339(start)}
    end: {rfc3339(end)}
"""
        self.start(rules, env={"TRIAGED_TEST_CLOCK": rfc3339(T0)})
        self.send(resource="db1", check="cpu", severity="critical")
        self.assertFalse(self.incident()["suppressed"])

        def move(to):
            status, _, body = self.d.request("POST", "/-/test/clock?to=" + rfc3339(to))
            self.assertEqual(status, 200, body)

        move(start)
        inc = self.incident()
        self.assertTrue(inc["suppressed"])
        self.assertEqual(inc["suppression"]["maintenance"], ["db-upgrade (CHG-42)"])
        self.assertEqual(inc["held_since"], rfc3339(start))
        alert = inc["alerts"][0]
        self.assertEqual((alert["suppressed"], alert["maintenance"], alert["suppressed_until"]),
                         ("maintenance", "db-upgrade (CHG-42)", rfc3339(end)))
        move(end)
        inc = self.incident()
        self.assertFalse(inc["suppressed"])
        self.assertEqual([e["action"] for e in inc["timeline"]], ["opened", "held", "released"])
        self.assertEqual(inc["timeline"][2]["at"], rfc3339(end))

    def test_a_reload_that_adds_a_window_holds_firing_alerts_at_once(self):
        d = self.start()
        self.send(resource="db2", check="cpu", severity="critical")
        rules = os.path.join(d.dir, "later.rules")
        with open(rules, "w") as f:
            f.write("maintenance_windows:\n  - name: now\n    match: '{resource=\"db2\"}'\n"
                    "    start: 2020-01-01T00:00:00Z\n    end: 2099-01-01T00:00:00Z\n")
        d.write_config(config(self.rx.port, rules))
        status, _, body = d.request("POST", "/-/reload")
        self.assertEqual(status, 200, body)
        self.assertTrue(self.incident()["suppressed"])
        d.write_config(config(self.rx.port))
        status, _, body = d.request("POST", "/-/reload")
        self.assertEqual(status, 200, body)
        self.assertFalse(self.incident()["suppressed"])


    def test_maintenance_windows_through_the_api_hold_at_once_follow_their_schedule_and_survive_a_restart(self):
        rules = """configuration_items:
  - {name: db1}
services:
  - {name: shop, cis: [db1]}
"""
        d = self.start(rules, env={"TRIAGED_TEST_CLOCK": rfc3339(T0)})
        self.send(resource="db1", check="cpu", severity="critical")
        self.send(resource="web1", check="http", severity="major")

        def move(to):
            status, _, body = d.request("POST", "/-/test/clock?to=" + rfc3339(to))
            self.assertEqual(status, 200, body)

        # A one-off window made now holds db1 at once; the incident says by what.
        w = self.post("/api/v1/maintenance", {"name": "db-upgrade", "change_id": "CHG-42", "cis": ["db1"],
                                              "start": rfc3339(T0 - 60_000), "end": rfc3339(T0 + 3_600_000),
                                              "created_by": "alice", "comment": "minor upgrade"})
        self.assertEqual((w["state"], w["origin"], len(w["holding"])), ("active", "api", 1))
        inc = self.incident(1)
        self.assertTrue(inc["suppressed"])
        self.assertEqual(inc["suppression"]["maintenance"], ["db-upgrade (CHG-42)"])
        self.assertFalse(self.incident(2)["suppressed"])
        # A monthly one (the second Tuesday, Berlin time), pending.
        m = self.post("/api/v1/maintenance", {"name": "patching", "services": ["shop"],
                                              "monthly": {"nth": "2", "weekday": "tue", "start": "22:00",
                                                          "duration": "4h", "time_zone": "Europe/Berlin"}})
        self.assertEqual(m["state"], "pending")
        self.assertEqual(m["schedule"], {"kind": "monthly", "nth": "2", "weekday": "tue", "start": "22:00",
                                         "duration": "4h", "time_zone": "Europe/Berlin"})
        # Bad bodies name the field and change nothing.
        for body, field in [({"name": "x", "cis": ["nope"], "start": rfc3339(T0), "end": rfc3339(T0 + 1000)}, "cis[0]"),
                            ({"name": "x", "match": "{a=\"b\"}", "weekly": {"days": ["mon"], "start": "25:00",
                                                                              "duration": "1h"}}, "weekly.start"),
                            ({"name": "x", "match": "{a=\"b\"}", "monthly": {"nth": "9", "weekday": "tue",
                                                                               "start": "01:00", "duration": "1h"}}, "monthly.nth"),
                            ({"name": "x", "match": "{a=~\"(\"}", "start": rfc3339(T0), "end": rfc3339(T0 + 1000)}, "match"),
                            ({"name": "x", "match": "{a=\"b\"}", "start": rfc3339(T0 + 1000), "end": rfc3339(T0)}, "end"),
                            ({"name": "x", "match": "{a=\"b\"}", "start": rfc3339(T0), "end": rfc3339(T0 + 1000),
                              "colour": "red"}, "colour")]:
            err = self.post("/api/v1/maintenance", body, expect=400)["error"]
            self.assertTrue(err.startswith(field), (field, err))
        self.post("/api/v1/maintenance", {"id": "nope", "name": "x", "match": "{a=\"b\"}",
                                          "start": rfc3339(T0), "end": rfc3339(T0 + 1000)}, expect=404)
        self.assertEqual(len(d.get_json("/api/v1/maintenance")["windows"]), 2)
        # It survives a restart, still holding db1.
        d.stop()
        d.start()
        windows = {w["name"]: w for w in d.get_json("/api/v1/maintenance")["windows"]}
        self.assertEqual(sorted(windows), ["db-upgrade", "patching"])
        self.assertEqual(len(windows["db-upgrade"]["holding"]), 1)
        self.assertTrue(self.incident(1)["suppressed"])
        # Its end releases db1 on the clock; DELETE ends one at once.
        move(T0 + 3_600_000)
        self.assertFalse(self.incident(1)["suppressed"])
        self.assertEqual(d.get_json("/api/v1/maintenance/" + w["id"])["state"], "ended")
        status, _, body = d.request("DELETE", "/api/v1/maintenance/" + m["id"])
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["state"], "ended")
        status, _, _ = d.request("DELETE", "/api/v1/maintenance/" + m["id"])
        self.assertEqual(status, 409)
        status, _, _ = d.request("DELETE", "/api/v1/maintenance/nope")
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
