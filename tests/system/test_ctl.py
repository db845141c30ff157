"""`triaged ctl` against the real daemon on 127.0.0.1: every command as a table and as JSON,
tokens from a file and from the environment, the actor recorded under the token's user, and
the documented exit codes (0 done, 1 refused by triaged with its reason, 2 bad arguments,
3 no answer)."""
import json
import os
import subprocess
import unittest

from harness import BASE_CONFIG, BIN, Daemon, free_port

CONFIG = BASE_CONFIG + """inputs:
  - type: native_json
auth:
  users:
    - {{name: alice, role: operator, bearer_token: alice-token}}
    - {{name: vera, role: viewer, bearer_token: vera-token}}
"""


class Ctl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(CONFIG).start()
        status, _, body = cls.d.request("POST", "/api/v1/events", json.dumps([
            {"resource": "db1", "check": "Down", "severity": "critical", "service": "shop",
             "summary": "db1 is down", "labels": {"team": "dba"}},
            {"resource": "web1", "check": "Slow", "severity": "warning", "service": "web",
             "labels": {"team": "web"}}]), {"Content-Type": "application/json"})
        assert status == 200, body
        cls.token_file = os.path.join(cls.d.dir, "alice.token")
        with open(cls.token_file, "w") as f:
            f.write("alice-token\n")

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def ctl(self, *args, token_file=True, env=None, url=None):
        e = dict(os.environ)
        for k in ("TRIAGED_URL", "TRIAGED_TOKEN", "TRIAGED_TOKEN_FILE"):
            e.pop(k, None)
        e.update(env or {})
        cmd = [BIN, "ctl", "--url", url or f"http://127.0.0.1:{self.d.port}"]
        if token_file:
            cmd += ["--token-file", self.token_file]
        r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30, env=e)
        return r.returncode, r.stdout, r.stderr

    def ok(self, *args, **kw):
        rc, out, err = self.ctl(*args, **kw)
        self.assertEqual(rc, 0, err)
        return out

    def test_incidents_list_show_and_every_action(self):
        out = self.ok("incidents", "list")
        lines = out.splitlines()
        self.assertEqual(lines[0].split()[:4], ["ID", "STATUS", "PRI", "SEVERITY"])
        self.assertEqual(len(lines), 3, out)
        self.assertIn("db1 is down", out)
        listed = json.loads(self.ok("-o", "json", "incidents", "list", "--service", "shop"))
        self.assertEqual([i["service"] for i in listed["incidents"]], ["shop"])
        iid = str(listed["incidents"][0]["id"])
        show = self.ok("incidents", "show", iid)
        self.assertIn("Incident " + iid + ": db1 is down", show)
        self.assertIn("Timeline", show)
        self.assertIn("Down", show)  # its alert
        self.assertIn("acknowledged", self.ok("incidents", "ack", iid))
        self.ok("incidents", "assign", iid, "bob")
        self.ok("incidents", "comment", iid, "restarting the primary")
        self.ok("incidents", "resolve", iid, "--note", "primary restarted")
        self.ok("incidents", "close", iid)
        detail = json.loads(self.ok("-o", "json", "incidents", "show", iid))
        self.assertEqual(detail["status"], "closed")
        self.assertEqual(detail["assignee"], "bob")
        actions = [(e["action"], e["actor"]) for e in detail["timeline"]]
        for action in ("acknowledged", "assigned", "commented", "resolved", "closed"):
            self.assertIn((action, "alice"), actions)  # the token's user, not $USER
        comment = next(e for e in detail["timeline"] if e["action"] == "commented")
        self.assertEqual(comment["detail"], "restarting the primary")
        # Acting on a closed incident: triaged's 409 and its reason, exit 1.
        rc, _, err = self.ctl("incidents", "ack", iid)
        self.assertEqual(rc, 1)
        self.assertIn(f"acknowledge incident {iid}: 409", err)
        rc, _, err = self.ctl("incidents", "show", "9999")
        self.assertEqual(rc, 1)
        self.assertIn("incident 9999: 404: no such incident", err)

    def test_alerts_list_with_matchers(self):
        out = self.ok("alerts", "list", 'team="dba"')
        self.assertIn("db1", out)
        self.assertNotIn("web1", out)
        data = json.loads(self.ok("-o", "json", "alerts", "list", 'team=~"d.*|w.*"', 'resource!="db1"'))
        self.assertEqual([a["resource"] for a in data["data"]], ["web1"])
        rc, _, err = self.ctl("alerts", "list", 'team=~"("')
        self.assertEqual(rc, 2)
        self.assertIn("matchers:", err)

    def test_silences_add_list_expire(self):
        rc, out, err = self.ctl("silences", "add", 'resource="web1"', 'check=~"Slow|Down"',
                                "--duration", "2h", "--comment", "deploying")
        self.assertEqual(rc, 0, err)
        sid = out.strip()
        self.assertRegex(sid, r"^[0-9a-f-]{36}$")
        listed = self.ok("silences", "list")
        self.assertIn(sid, listed)
        self.assertIn('resource="web1",check=~"Slow|Down"', listed)
        self.assertIn("alice", listed)  # the token's user is the author
        silences = json.loads(self.ok("-o", "json", "silences", "list"))
        mine = next(s for s in silences if s["id"] == sid)
        self.assertEqual(mine["status"]["state"], "active")
        self.assertIn("silence " + sid + " expired", self.ok("silences", "expire", sid))
        self.assertNotIn(sid, self.ok("silences", "list"))
        self.assertIn(sid, self.ok("silences", "list", "--expired"))
        rc, _, err = self.ctl("silences", "add", 'resource="x"', "--comment", "c", "--duration", "soon")
        self.assertEqual(rc, 2)
        self.assertIn("--duration", err)
        rc, _, err = self.ctl("silences", "add", 'resource="x"')
        self.assertEqual(rc, 2)
        self.assertIn("--comment", err)

    def test_services_and_report(self):
        out = self.ok("services")
        self.assertEqual(out.splitlines()[0].split()[:2], ["SERVICE", "STATUS"])
        report = json.loads(self.ok("report", "--format", "json", "--period", "current"))
        self.assertIn("reports", report)
        self.assertIn("Service report", self.ok("report"))
        rc, _, err = self.ctl("report", "--period", "2026-13")
        self.assertEqual(rc, 1)
        self.assertIn("report: 400", err)

    def test_tokens_and_exit_codes(self):
        # The token from the environment, then from a file named by the environment.
        self.assertIn("ID", self.ok("incidents", "list", token_file=False, env={"TRIAGED_TOKEN": "vera-token"}))
        self.ok("incidents", "list", token_file=False, env={"TRIAGED_TOKEN_FILE": self.token_file})
        rc, _, err = self.ctl("incidents", "list", token_file=False)
        self.assertEqual(rc, 1)
        self.assertIn("401", err)
        rc, _, err = self.ctl("incidents", "list", token_file=False, env={"TRIAGED_TOKEN": "wrong"})
        self.assertEqual(rc, 1)
        self.assertIn("401", err)
        # A viewer may read but not act: 403 naming the role needed.
        rc, _, err = self.ctl("incidents", "ack", "1", token_file=False, env={"TRIAGED_TOKEN": "vera-token"})
        self.assertEqual(rc, 1)
        self.assertIn("403", err)
        self.assertIn("operator", err)
        rc, _, err = self.ctl("incidents", "list", url=f"127.0.0.1:{free_port()}")
        self.assertEqual(rc, 3)
        self.assertIn("127.0.0.1", err)
        rc, _, err = self.ctl("incidents", "frobnicate")
        self.assertEqual(rc, 2)
        missing = os.path.join(self.d.dir, "missing.token")
        rc, _, err = self.ctl("incidents", "list", token_file=False, env={"TRIAGED_TOKEN_FILE": missing})
        self.assertEqual(rc, 2)
        self.assertIn(missing, err)
        # The URL from the environment, without a scheme.
        e = dict(os.environ, TRIAGED_URL=f"127.0.0.1:{self.d.port}", TRIAGED_TOKEN="vera-token")
        r = subprocess.run([BIN, "ctl", "services"], capture_output=True, text=True, timeout=30, env=e)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
