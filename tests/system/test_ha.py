"""Active/standby over one PostgreSQL (Debian's, started by the test): two real triaged nodes
with a short lease. The standby answers /-/healthy 200, /-/ready 503 and every other route 503
with Retry-After and the leader's URL; after kill -9 of the leader it takes over and serves
everything that was acknowledged, with the same incident ids; a paused (SIGSTOP) leader that
wakes up after being replaced writes nothing and becomes a standby by itself."""
import json
import os
import signal
import time
import unittest

from harness import BASE_CONFIG, Daemon, free_port
from postgres import ServerTestCase

LEASE = "2s"
RENEW = "400ms"


def config(url, node, port):
    return BASE_CONFIG.replace("listen: 127.0.0.1:0", f"listen: 127.0.0.1:{port}").replace(
        "  directory: {state}\n",
        f"  backend: postgresql\n  postgresql:\n    url: \"{url}\"\n") + f"""inputs:
  - type: native_json
ha:
  enabled: true
  node: {node}
  advertise_url: http://127.0.0.1:{port}
  lease: {LEASE}
  renew_interval: {RENEW}
"""


def event(i):
    return {"resource": f"web{i}", "check": "http", "severity": "major",
            "labels": {"service": "shop"}}


class HighAvailability(ServerTestCase):
    def pair(self, db):
        url = self.pg.createdb(db)
        pa, pb = free_port(), free_port()
        a = Daemon(config(self.pg.conninfo(db), "a", pa))
        b = Daemon(config(self.pg.conninfo(db), "b", pb))
        self.addCleanup(b.close)
        self.addCleanup(a.close)
        a.start()
        b.start()
        return a, b, url

    def post(self, d, events, timeout=10):
        return d.request("POST", "/api/v1/events", json.dumps(events),
                         {"Content-Type": "application/json"}, timeout=timeout)

    def wait_leader(self, d, timeout=30):
        d.wait_notify("READY=1", timeout)
        self.assertEqual(d.request("GET", "/-/ready")[0], 200)

    def test_the_standby_points_at_the_leader_and_takes_over_after_kill_9(self):
        a, b, _ = self.pair("ha_kill")
        self.assertEqual(a.request("GET", "/-/ready")[0], 200)
        # The standby: healthy, not ready, every other route 503 naming the leader.
        self.assertEqual(b.request("GET", "/-/healthy")[0], 200)
        status, headers, body = b.request("GET", "/-/ready")
        self.assertEqual(status, 503)
        self.assertEqual(headers.get("X-Triaged-Leader"), f"http://127.0.0.1:{a.port}")
        status, headers, body = self.post(b, [event(0)])
        self.assertEqual(status, 503, body)
        self.assertEqual(json.loads(body)["leader"], f"http://127.0.0.1:{a.port}")
        self.assertIn("Retry-After", headers)
        self.assertEqual(b.metrics()['triaged_ha_leader{node="b"}'], 0)
        self.assertEqual(a.metrics()['triaged_ha_leader{node="a"}'], 1)
        acknowledged = []
        for i in range(1, 6):
            status, _, body = self.post(a, [event(i)])
            self.assertEqual(status, 200, body)
            acknowledged.append(f"web{i}")
        incidents = sorted(i["id"] for i in a.get_json("/api/v1/incidents")["incidents"])
        self.assertTrue(incidents)
        a.signal(signal.SIGKILL)
        a.proc.wait(10)
        killed = time.monotonic()
        self.wait_leader(b)
        took = time.monotonic() - killed
        self.assertLess(took, 15, f"failover took {took:.1f}s")
        found = {x["resource"] for x in b.get_json("/api/v1/alerts?limit=100")["data"]}
        for r in acknowledged:
            self.assertIn(r, found)
        self.assertEqual(sorted(i["id"] for i in b.get_json("/api/v1/incidents")["incidents"]),
                         incidents)
        m = b.metrics()
        self.assertEqual(m['triaged_ha_leader{node="b"}'], 1)
        self.assertEqual(m["triaged_ha_failovers_total"], 1)
        self.assertGreaterEqual(m["triaged_ha_epoch"], 2)
        status, _, body = self.post(b, [event(9)])
        self.assertEqual(status, 200, body)
        print(f"\nfailover after kill -9: standby serving {took:.2f} s after the kill "
              f"(lease {LEASE}, renew {RENEW})")

    def test_a_paused_leader_replaced_while_asleep_writes_nothing_and_becomes_a_standby(self):
        a, b, _ = self.pair("ha_stop")
        status, _, body = self.post(a, [event(1)])
        self.assertEqual(status, 200, body)
        a.signal(signal.SIGSTOP)
        try:
            self.wait_leader(b)
            status, _, body = self.post(b, [event(2)])
            self.assertEqual(status, 200, body)
        finally:
            a.signal(signal.SIGCONT)
        # Awake: a write to the deposed leader is never acknowledged (its commit is fenced or
        # it has already become a standby).
        try:
            status, _, body = self.post(a, [event(3)], timeout=10)
            self.assertNotEqual(status, 200, body)
        except (ConnectionError, OSError):
            pass
        # It starts again as a standby by itself, pointing at the new leader.
        a.wait_notify("READY=1", 30)
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers, _ = a.request("GET", "/-/ready")
                if status == 503 and headers.get("X-Triaged-Leader") == f"http://127.0.0.1:{b.port}":
                    break
            except (ConnectionError, OSError):
                pass
            self.assertLess(time.monotonic(), deadline, "the deposed leader did not become a standby")
        found = {x["resource"] for x in b.get_json("/api/v1/alerts?limit=100")["data"]}
        self.assertIn("web1", found)
        self.assertIn("web2", found)
        self.assertNotIn("web3", found)
        # It said why: a fenced commit or the renewal that found the lease taken.
        self.assertRegex(a.log(), r"a commit was fenced|the lease of epoch \d+ was taken over")


if __name__ == "__main__":
    unittest.main()
