"""The postgresql state backend on the real binary against a real PostgreSQL (Debian's, started
by the test in a temporary folder on a loopback port): a state migrated from SQLite shows the
same through the API; an unreachable server, a schema newer than the binary and misplaced keys
are named clearly; a database lost while running turns ingest into 503 (nothing acknowledged
that was not committed) and the daemon carries on by itself when the database returns.

The other suites (durability, crash, escalation, notifications, SLA) run against PostgreSQL too:
CTest runs them under postgres.py, which makes every Daemon keep its state in a database of its
own."""
import json
import os
import socket
import threading
import time
import unittest

from harness import BASE_CONFIG, SOURCE, Daemon, free_port, run
from postgres import ServerTestCase
import test_durability
from test_durability import differences, snapshot

RULES = os.path.abspath(os.path.join(SOURCE, "rules", "examples", "datacenter.yaml"))
SQLITE_CONFIG = BASE_CONFIG.replace("rule_files: []", "rule_files: [" + RULES + "]") + """inputs:
  - type: native_json
correlation:
  resolve_hold_down: 0s
  problem_incidents: 2
"""


def on_postgres(config, url):
    return config.replace("  directory: {state}\n",
                          f"  backend: postgresql\n  postgresql:\n    url: {url}\n")


def event(i, status="firing", resource=None):
    return {"resource": resource or f"web{i}", "check": "http", "severity": "major",
            "status": status, "labels": {"service": "shop", "team": "web"}}


class PostgresBackend(ServerTestCase):
    def daemon(self, db, config=SQLITE_CONFIG):
        url = self.pg.createdb(db)
        return Daemon(on_postgres(config, url))

    def send(self, d, events, expect=200):
        status, headers, body = d.request("POST", "/api/v1/events", json.dumps(events),
                                          {"Content-Type": "application/json"})
        self.assertEqual(status, expect, body)
        return status, headers, body

    def test_a_state_migrated_from_sqlite_shows_the_same(self):
        d = Daemon(SQLITE_CONFIG).start()
        try:
            # Incidents in every status, a problem, a silence, a ticket, counters.
            builder = test_durability.Durability("build_state")
            builder.d = d
            builder.build_state()
            self.send(d, [event(i) for i in range(1, 30)])
            before = snapshot(d)
            self.assertEqual(d.stop(), 0)
            state = os.path.join(d.dir, "state")
            url = self.pg.createdb("migrated")
            r = run(["migrate", "--from", state, "--to", url])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("counts verified", r.stdout)
            self.assertRegex(r.stdout, r"alerts: \d+ rows")
            # A second migration into a database that holds state is refused.
            again = run(["migrate", "--from", state, "--to", url])
            self.assertEqual(again.returncode, 1)
            self.assertIn("already holds state", again.stderr)
        finally:
            d.close()
        # The daemon on PostgreSQL shows exactly what the SQLite one showed.
        p = Daemon(on_postgres(SQLITE_CONFIG, url))
        try:
            p.start()
            after = snapshot(p)
            self.assertEqual(differences(before, after), [])
            # And carries on: ids continue.
            self.send(p, [event(100, resource="newhost")])
        finally:
            p.close()
        r = run(["migrate", "--from", "/nonexistent", "--to", url])
        self.assertEqual(r.returncode, 2)
        self.assertIn("no state database", r.stderr)

    def test_an_unreachable_server_is_named_at_start(self):
        port = free_port()
        d = Daemon(on_postgres(SQLITE_CONFIG,
                               f"postgresql://triaged:secret-password@127.0.0.1:{port}/x"))
        r = run(["--config", d.config_path], timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"cannot connect to postgresql at 127.0.0.1:{port}/x", r.stderr)
        self.assertNotIn("secret-password", r.stderr)
        d.close()

    def test_connect_timeout_bounds_the_wait_for_a_server_that_does_not_answer(self):
        silent = socket.socket()  # accepts connections (the kernel's backlog), never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql://triaged@127.0.0.1:{silent.getsockname()[1]}/x"
        try:
            # libpq counts in whole seconds of the wall clock: an attempt ends between
            # timeout - 1 and timeout seconds after it began (and it takes 1 s as 2 s).
            for timeout, low, high in (("1s", 0.8, 4.0), (None, 3.9, 30)):
                config = on_postgres(SQLITE_CONFIG, url)
                if timeout:
                    config = config.replace(f"    url: {url}\n", f"    url: {url}\n    connect_timeout: {timeout}\n")
                d = Daemon(config)
                started = time.monotonic()
                r = run(["--config", d.config_path], timeout=60)
                took = time.monotonic() - started
                d.close()
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("cannot connect to postgresql", r.stderr)
                self.assertTrue(low <= took <= high, (timeout, took))  # the default is 5 s
        finally:
            silent.close()

    def test_a_schema_newer_than_the_binary_is_refused(self):
        d = self.daemon("newer")
        try:
            d.start()
            self.assertEqual(d.stop(), 0)
            self.pg.psql("UPDATE schema_version SET version = 99", "newer")
            r = run(["--config", d.config_path], timeout=60)
            self.assertEqual(r.returncode, 1)
            self.assertIn("has schema version 99, newer than this triaged", r.stderr)
            self.assertIn("refusing to downgrade", r.stderr)
        finally:
            d.close()

    def test_keys_of_the_other_backend_are_refused(self):
        d = Daemon(SQLITE_CONFIG.replace("  directory: {state}\n",
                                         "  directory: {state}\n  backend: postgresql\n"
                                         "  postgresql:\n    url: postgresql://x/y\n"))
        r = run(["--check-config", "--config", d.config_path])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("state.directory", r.stderr)
        self.assertIn("is SQLite's", r.stderr)
        d.write_config(SQLITE_CONFIG.replace("  directory: {state}\n",
                                             "  directory: {state}\n  postgresql:\n"
                                             "    url: postgresql://x/y\n"))
        r = run(["--check-config", "--config", d.config_path])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is read only with backend: postgresql", r.stderr)
        d.write_config(SQLITE_CONFIG.replace("  directory: {state}\n", "  backend: postgresql\n"))
        r = run(["--check-config", "--config", d.config_path])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("state.postgresql.url", r.stderr)
        # HA needs the shared database, an advertised URL and a renewal well inside the lease.
        d.write_config(SQLITE_CONFIG + "ha:\n  enabled: true\n")
        r = run(["--check-config", "--config", d.config_path])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("needs state.backend: postgresql", r.stderr)
        self.assertIn("ha.advertise_url", r.stderr)
        d.write_config(on_postgres(SQLITE_CONFIG, "postgresql://x/y") +
                       "ha:\n  enabled: true\n  advertise_url: http://n1:9470\n"
                       "  lease: 2s\n  renew_interval: 1s\n")
        r = run(["--check-config", "--config", d.config_path])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("must be less than half of ha.lease", r.stderr)
        d.close()

    def test_a_database_lost_while_running_turns_ingest_into_503_and_recovers(self):
        d = self.daemon("lost").start()
        acknowledged = []
        try:
            self.send(d, [event(1)])
            acknowledged.append("web1")
            self.pg.stop()
            # The first batch after the loss waits for a commit that cannot happen (it is not
            # acknowledged until the database returns); the ones after it are refused at once.
            waiting = {}

            def first():
                waiting["answer"] = d.request("POST", "/api/v1/events", json.dumps([event(2)]),
                                              {"Content-Type": "application/json"}, timeout=120)
            t = threading.Thread(target=first)
            t.start()
            # Its commit fails: the store is marked down (bounded wait, no sleep for work).
            deadline = time.monotonic() + 30
            while d.metrics().get('triaged_store_up{backend="postgresql"}') != 0:
                self.assertLess(time.monotonic(), deadline, "the failed commit was not noticed")
            status, headers, body = d.request("POST", "/api/v1/events", json.dumps([event(3)]),
                                              {"Content-Type": "application/json"}, timeout=5)
            self.assertEqual(status, 503, body)
            refused = (headers, body)
            self.assertIn("state store unavailable", refused[1])
            self.assertIn("retry-after", {k.lower() for k in refused[0]})
            status, _, body = d.request("GET", "/-/ready")
            self.assertEqual(status, 503)
            self.assertIn("state store", body)
            m = d.metrics()
            self.assertEqual(m['triaged_store_up{backend="postgresql"}'], 0)
            self.assertGreater(m['triaged_input_events_rejected_total{input="native_json",'
                                 'reason="store_unavailable"}'], 0)
            self.pg.restart()
            # By itself: the waiting batch commits, then new ones are taken again.
            t.join(90)
            self.assertFalse(t.is_alive(), "the waiting batch never got an answer")
            self.assertEqual(waiting["answer"][0], 200, waiting["answer"][2])
            acknowledged.append("web2")
            deadline = time.monotonic() + 30
            while True:
                status, _, _ = d.request("POST", "/api/v1/events", json.dumps([event(4)]),
                                         {"Content-Type": "application/json"})
                if status == 200:
                    break
                self.assertLess(time.monotonic(), deadline, "ingest never recovered")
            acknowledged.append("web4")
            self.assertEqual(d.request("GET", "/-/ready")[0], 200)
            # Everything acknowledged is there after a restart on the same database.
            self.assertEqual(d.stop(), 0)
            d.start()
            found = {a["resource"] for a in d.get_json("/api/v1/alerts?limit=100")["data"]}
            for r in acknowledged:
                self.assertIn(r, found)
        finally:
            d.close()


if __name__ == "__main__":
    unittest.main()
