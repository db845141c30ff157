"""Failover under load, with real parts: two triaged nodes on one PostgreSQL (Debian's),
HAProxy (Debian's) in front of them health-checking /-/ready, a client streaming events through
HAProxy with sync durability, and a webhook receiver. Ten times, at a random moment, the
leader is killed with SIGKILL and started again (as a standby). Afterwards every acknowledged
event is there, incidents kept their ids, and the receiver never got two different
notifications of one incident's opening (an entry sent again keeps its Idempotency-Key)."""
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import BASE_CONFIG, Daemon, Receiver, free_port, wait_for
from postgres import Postgres, Unavailable

ROUNDS = int(os.environ.get("TRIAGED_FAILOVER_ROUNDS", "10"))


def node_config(conninfo, node, port, hook):
    return BASE_CONFIG.replace("listen: 127.0.0.1:0", f"listen: 127.0.0.1:{port}").replace(
        "  directory: {state}\n",
        f"  backend: postgresql\n  postgresql:\n    url: \"{conninfo}\"\n") + f"""inputs:
  - type: native_json
notifications:
  targets:
    - name: hook
      url: http://127.0.0.1:{hook}/hook
      events: [incident.opened]
ha:
  enabled: true
  node: {node}
  advertise_url: http://127.0.0.1:{port}
  lease: 2s
  renew_interval: 400ms
"""


class Failover(unittest.TestCase):
    def setUp(self):
        if not shutil.which("haproxy"):
            self.skipTest("HAProxy is not installed (Debian package haproxy; "
                          "scripts/install-deps.sh e2e installs it)")
        try:
            self.pg = Postgres()
        except Unavailable as e:
            self.skipTest(str(e))
        self.pg.start()
        self.addCleanup(self.pg.cleanup)
        self.rx = Receiver()
        self.addCleanup(self.rx.close)
        conninfo = self.pg.conninfo("failover")
        self.pg.createdb("failover")
        self.nodes = []
        for name in ("a", "b"):
            d = Daemon(node_config(conninfo, name, free_port(), self.rx.port))
            self.addCleanup(d.close)
            self.nodes.append(d)
        self.nodes[0].start()
        self.nodes[1].start()
        self.lb_port = free_port()
        self.lb_dir = tempfile.mkdtemp(prefix="triaged-haproxy-")
        self.addCleanup(shutil.rmtree, self.lb_dir, True)
        cfg = os.path.join(self.lb_dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(f"""global
  maxconn 256
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
frontend fe
  bind 127.0.0.1:{self.lb_port}
  default_backend nodes
backend nodes
  option httpchk GET /-/ready
  http-check expect status 200
  default-server inter 200ms fall 1 rise 1
""" + "".join(f"  server {n} 127.0.0.1:{d.port} check\n"
              for n, d in zip(("a", "b"), self.nodes)))
        self.lb = subprocess.Popen(["haproxy", "-f", cfg, "-db"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        self.addCleanup(self.lb.wait)
        self.addCleanup(self.lb.kill)
        # HAProxy up and its health check passed for the leader.
        wait_for("HAProxy to route to the leader", lambda: self.get("/-/ready")[0] == 200, 30)

    def through_lb(self, method, path, body=None, timeout=10):
        """(status, body) of a request through HAProxy; (0, why) when it got no answer."""
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.lb_port, timeout=timeout)
        try:
            c.request(method, path, body, {"Content-Type": "application/json"} if body else {})
            r = c.getresponse()
            return r.status, r.read().decode()
        except OSError as e:
            return 0, str(e)
        finally:
            c.close()

    def send(self, events):
        return self.through_lb("POST", "/api/v1/events", json.dumps(events))

    def get(self, path):
        return self.through_lb("GET", path)

    def leader(self):
        for d in self.nodes:
            if d.proc and d.proc.poll() is None:
                try:
                    if d.request("GET", "/-/ready", timeout=2)[0] == 200:
                        return d
                except OSError:
                    pass
        return None

    def test_ten_kills_of_the_leader_lose_nothing_acknowledged(self):
        rng = random.Random(17)
        acknowledged, seq, took = [], 0, []
        incidents_before = set()
        deadline_total = time.monotonic() + 240
        for rnd in range(ROUNDS):
            # Stream until a random moment, then kill whichever node leads.
            kill_after = rng.uniform(0.3, 1.5)
            t = time.monotonic()
            for _ in range(60):  # bounded: at most 300 events a round
                if time.monotonic() - t >= kill_after:
                    break
                seq += 1
                batch = [{"resource": f"r{seq}-{k}", "check": "http", "severity": "major",
                          "labels": {"service": f"s{seq % 7}"}} for k in range(5)]
                status, _ = self.send(batch)
                if status == 200:
                    acknowledged += [e["resource"] for e in batch]
            leader = None
            wait = time.monotonic() + 30
            while leader is None:
                leader = self.leader()
                self.assertLess(time.monotonic(), wait, "no leader")
            status, body = self.get("/api/v1/incidents?limit=10000")
            if status == 200:
                incidents_before |= {i["id"] for i in json.loads(body)["incidents"]}
            leader.signal(signal.SIGKILL)
            leader.proc.wait(10)
            killed = time.monotonic()
            # The client keeps streaming; answers come again once the other node leads.
            while True:
                seq += 1
                batch = [{"resource": f"r{seq}-0", "check": "http", "severity": "major"}]
                status, _ = self.send(batch)
                if status == 200:
                    acknowledged += [batch[0]["resource"]]
                    break
                self.assertLess(time.monotonic() - killed, 30, "nobody took over")
            took.append(time.monotonic() - killed)
            leader.start()  # back, as a standby
            self.assertLess(time.monotonic(), deadline_total, "the test ran out of time")
        # Everything acknowledged is there, through the load balancer.
        status, body = self.get("/api/v1/alerts?limit=10000")
        self.assertEqual(status, 200, body)
        found = {a["resource"] for a in json.loads(body)["data"]}
        missing = [r for r in acknowledged if r not in found]
        self.assertEqual(missing, [], f"{len(missing)} acknowledged events lost")
        status, body = self.get("/api/v1/incidents?limit=10000")
        ids = [i["id"] for i in json.loads(body)["incidents"]]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertTrue(incidents_before <= set(ids), "incidents changed their ids")
        # One opening per incident at the receiver, whatever was sent again.
        keys_of = {}
        for r in self.rx.delivered():
            body = json.loads(r["body"])
            inc = body.get("incident", {}).get("id")
            keys_of.setdefault(inc, set()).add(r["headers"].get("Idempotency-Key"))
        self.assertNotIn(None, keys_of, "a notification without an incident id")
        self.assertGreater(len(keys_of), ROUNDS, "too few openings notified to judge")
        twice = {i: k for i, k in keys_of.items() if len(k) > 1}
        self.assertEqual(twice, {}, "an incident's opening was notified under two keys")
        print(f"\n{ROUNDS} kill -9 rounds: {len(acknowledged)} events acknowledged, all found; "
              f"{len(ids)} incidents, {len(keys_of)} openings notified, none under two keys; "
              f"client served again after "
              f"{min(took):.1f}-{max(took):.1f} s (lease 2s)")


if __name__ == "__main__":
    unittest.main()
