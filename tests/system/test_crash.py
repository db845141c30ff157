"""Crash test: load over HTTP from two connections, kill -9 the daemon at a random moment
(after a random number of acknowledged batches, with requests in flight), restart it on the
same state, and check that every batch that got a 2xx is there in full, with its incident,
and that no incident was duplicated. 20 rounds, each bounded in batches and time.

Prints the figures (rounds, batches acknowledged and verified, recovery times)."""
import http.client
import json
import os
import random
import re
import signal
import threading
import time
import unittest

from harness import BASE_CONFIG, Daemon

ROUNDS = int(os.environ.get("TRIAGED_CRASH_ROUNDS", "20"))
EVENTS_PER_BATCH = 20
MAX_BATCHES_PER_SENDER = 200
CONFIG = BASE_CONFIG + """inputs:
  - type: native_json
correlation:
  default_group_by: [resource]
"""


class Sender(threading.Thread):
    """Posts batches until the daemon dies or its budget ends; records the acknowledged ones."""

    def __init__(self, port, round_no, sender_no, acked, lock, deadline):
        super().__init__(daemon=True)
        self.port, self.round_no, self.sender_no = port, round_no, sender_no
        self.acked, self.lock, self.deadline = acked, lock, deadline
        self.refused = 0

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            for b in range(MAX_BATCHES_PER_SENDER):
                if time.monotonic() > self.deadline:
                    return
                resource = f"r{self.round_no}-{self.sender_no}-{b}"
                events = [{"resource": resource, "check": f"c{i}", "severity": "major",
                           "labels": {"crash_round": str(self.round_no)}} for i in range(EVENTS_PER_BATCH)]
                conn.request("POST", "/api/v1/events", json.dumps(events), {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                if 200 <= r.status < 300:
                    with self.lock:
                        self.acked.append(resource)
                else:
                    self.refused += 1
        except (OSError, http.client.HTTPException):
            return  # the daemon was killed mid-request: that batch was not acknowledged
        finally:
            conn.close()


class Crash(unittest.TestCase):
    def test_nothing_acknowledged_is_lost_across_kill_9(self):
        rng = random.Random(int(os.environ.get("TRIAGED_CRASH_SEED", "20261121")))
        d = Daemon(CONFIG)
        total_acked = 0
        recoveries = []
        try:
            d.start()
            for round_no in range(ROUNDS):
                acked, lock = [], threading.Lock()
                kill_after = rng.randint(1, 150)
                deadline = time.monotonic() + 20
                senders = [Sender(d.port, round_no, k, acked, lock, deadline) for k in range(2)]
                for s in senders:
                    s.start()
                # Kill once kill_after batches are acknowledged (or the senders are done).
                while time.monotonic() < deadline and any(s.is_alive() for s in senders):
                    with lock:
                        if len(acked) >= kill_after:
                            break
                    senders[0].join(0.001)
                d.proc.send_signal(signal.SIGKILL)
                d.proc.wait(30)
                for s in senders:
                    s.join(30)
                with lock:
                    acked_now = list(acked)
                # Every round must have had work acknowledged before the kill, or it proves nothing
                # (20 rounds of refused requests would pass every check below).
                self.assertGreaterEqual(len(acked_now), min(kill_after, 1),
                                        f"round {round_no}: nothing was acknowledged before the kill")
                total_acked += len(acked_now)
                d.messages.clear()
                d.start()
                m = re.findall(r"recovered .* in ([0-9.]+) s", d.log())
                recoveries.append(float(m[-1]) if m else float("nan"))
                self.check_round(d, round_no, acked_now)
            self.assertGreaterEqual(total_acked, ROUNDS, "too few batches acknowledged to test anything")
            print(f"\ncrash test: {ROUNDS} kill -9 rounds, {total_acked} batches "
                  f"({total_acked * EVENTS_PER_BATCH} events) acknowledged and all found after restart; "
                  f"recovery {min(recoveries):.3f}-{max(recoveries):.3f} s")
        finally:
            d.close()

    def check_round(self, d, round_no, acked):
        alerts = d.get_json(f"/api/v1/alerts?limit=10000&filter=crash_round%3D%22{round_no}%22")["data"]
        by_resource = {}
        for a in alerts:
            by_resource.setdefault(a["resource"], set()).add(a["check"])
        for resource in acked:
            self.assertEqual(len(by_resource.get(resource, ())), EVENTS_PER_BATCH,
                             f"round {round_no}: acknowledged batch {resource} is not all there")
        # Incidents: one per resource at most, and one with every alert for each acknowledged batch.
        incidents, after = [], 0
        while True:
            page = d.get_json("/api/v1/incidents?limit=1000" + (f"&after={after}" if after else ""))
            incidents += page["incidents"]
            if not page["incidents"] or len(page["incidents"]) < 1000:
                break
            after = page["incidents"][-1]["id"]
        mine = [i for i in incidents if i["group_key"].startswith(f"resource=r{round_no}-")]
        keys = [i["group_key"] for i in mine if i["status"] != "merged"]
        self.assertEqual(len(keys), len(set(keys)), f"round {round_no}: duplicated incidents")
        counts = {i["group_key"].removeprefix("resource="): i["alert_count"] for i in mine}
        for resource in acked:
            self.assertEqual(counts.get(resource), EVENTS_PER_BATCH,
                             f"round {round_no}: incident of acknowledged batch {resource}")


if __name__ == "__main__":
    unittest.main()
