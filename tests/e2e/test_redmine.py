"""Two-way tickets against a real Redmine from Debian (redmine, redmine-sqlite, ruby-webrick),
with the shipped example config/examples/redmine.yaml: an incident opens an issue, its
acknowledgement is a note on that issue, a restart keeps the link, a Redmine outage delays
the resolution without losing or repeating it, the resolution closes the issue, and Redmine
acts back on the incident with its own callback token.

Redmine runs from the package's files on its own SQLite database in a temporary folder
(DATABASE_URL), served by WEBrick on 127.0.0.1; nothing of the system's Redmine instance is
touched. Waits are for observable state, each with a deadline (Redmine and the notifier's
retries run on their own clocks)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from harness import BASE_CONFIG, SOURCE, Daemon, free_port, wait_for  # noqa: E402

REDMINE = "/usr/share/redmine"
RACKUP = shutil.which("rackup")
MISSING = ("redmine" if not os.path.isdir(REDMINE) else "ruby-rack (rackup)" if not RACKUP else None)
SETUP = """
Setting.rest_api_enabled = '1'
admin = User.find_by_login('admin')
Project.create!(name: 'NOC', identifier: 'noc', is_public: true, tracker_ids: [Tracker.first.id])
puts "KEY=#{admin.api_key}"
"""


@unittest.skipIf(MISSING, f"{MISSING} is not installed (scripts/install-deps.sh e2e installs it)")
class Redmine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="triaged-redmine-")
        with open(os.path.join(cls.dir, "Gemfile"), "w") as f:
            # Redmine's own gems, and WEBrick to serve it.
            f.write(f'eval_gemfile "{REDMINE}/Gemfile"\ngem "webrick"\n')
        cls.env = dict(os.environ, BUNDLE_GEMFILE=os.path.join(cls.dir, "Gemfile"),
                       DATABASE_URL="sqlite3:" + os.path.join(cls.dir, "redmine.sqlite3"),
                       RAILS_ENV="production", X_DEBIAN_SITEID="default", REDMINE_LANG="en")
        for args in (["bin/rails", "db:migrate"], ["bin/rails", "redmine:load_default_data"]):
            subprocess.run(args, cwd=REDMINE, env=cls.env, check=True, timeout=300,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(cls.dir, "setup.rb"), "w") as f:
            f.write(SETUP)
        out = subprocess.run(["bin/rails", "runner", os.path.join(cls.dir, "setup.rb")], cwd=REDMINE,
                             env=cls.env, check=True, timeout=300, capture_output=True, text=True).stdout
        cls.key = re.search(r"KEY=(\w+)", out).group(1)
        cls.rport = free_port()
        cls.start_redmine()
        # triaged with the shipped example, its url and files pointed here.
        with open(os.path.join(SOURCE, "config", "examples", "redmine.yaml")) as f:
            example = f.read()
        for name, value in (("redmine.key", cls.key), ("redmine-callback.token", "redmine-calls-back")):
            with open(os.path.join(cls.dir, name), "w") as f:
                f.write(value + "\n")
            example = example.replace("/etc/triaged/" + name, os.path.join(cls.dir, name))
        example = example.replace("http://127.0.0.1:3000", f"http://127.0.0.1:{cls.rport}")
        example = example.replace("      type: ticket\n", "      type: ticket\n      retry_initial: 200ms\n      retry_max: 1s\n")
        config = BASE_CONFIG + "inputs:\n  - name: api\n    type: native_json\nauth:\n  admin:\n    bearer_token: admin-token\n" + example
        cls.d = Daemon(config.replace("{", "{{").replace("}", "}}").replace("{{state}}", "{state}")).start()

    @classmethod
    def start_redmine(cls):
        cls.redmine = subprocess.Popen([RACKUP, "-s", "webrick", "-o", "127.0.0.1", "-p", str(cls.rport), "config.ru"],
                                       cwd=REDMINE, env=cls.env, stdout=subprocess.DEVNULL,
                                       stderr=open(os.path.join(cls.dir, "redmine.log"), "ab"))
        wait_for("Redmine to answer", lambda: cls.rm("GET", "/issues.json") is not None, timeout=120)

    @classmethod
    def stop_redmine(cls):
        cls.redmine.send_signal(signal.SIGINT)
        try:
            cls.redmine.wait(30)
        except subprocess.TimeoutExpired:
            cls.redmine.kill()
            cls.redmine.wait()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.close()
        finally:
            cls.stop_redmine()
            shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def rm(cls, method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{cls.rport}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"X-Redmine-API-Key": cls.key, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
            return json.loads(text) if text else {}

    def issues(self):
        return self.rm("GET", "/issues.json?project_id=noc&status_id=*")["issues"]

    def journal_notes(self, issue):
        return [j["notes"] for j in self.rm("GET", f"/issues/{issue}.json?include=journals")["issue"]["journals"] if j["notes"]]

    def api(self, method, path, body=None, token="admin-token"):
        status, _, text = self.d.request(method, path, json.dumps(body) if body is not None else None,
                                         {"Authorization": "Bearer " + token} if token else {})
        return status, text

    def test_an_incident_lives_as_one_redmine_issue(self):
        body = json.dumps({"resource": "db1", "check": "disk", "severity": "critical", "summary": "db1 disk full"})
        status, _, text = self.d.request("POST", "/api/v1/events", body, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, text)
        issue = wait_for("the Redmine issue", lambda: [i for i in self.issues() if "db1 disk full" in i["subject"]])[0]
        self.assertTrue(issue["subject"].startswith("[P"), issue["subject"])
        iid = str(issue["id"])
        inc = wait_for("the link to the issue", lambda: [
            i for i in json.loads(self.api("GET", "/api/v1/incidents?status=open")[1])["incidents"]
            if any(t["system"] == "redmine" and t["id"] == iid for t in i["tickets"])])[0]
        self.assertEqual(inc["tickets"][0]["url"], f"http://127.0.0.1:{self.rport}/issues/{iid}")

        # Acknowledged: a note on the same issue.
        self.assertEqual(self.api("POST", f"/api/v1/incidents/{inc['id']}/acknowledge", {"by": "olivia"})[0], 200)
        wait_for("the acknowledgement note", lambda: any("acknowledged" in n for n in self.journal_notes(iid)))

        # A restart keeps the link: the next event goes to the same issue, no second issue.
        self.d.stop()
        self.d.start()
        self.assertEqual(self.api("POST", f"/api/v1/incidents/{inc['id']}/comment", {"text": "swapping the disk"})[0], 200)
        wait_for("the comment note", lambda: any("swapping the disk" in n for n in self.journal_notes(iid)))
        self.assertEqual(len(self.issues()), 1)

        # Redmine down: the resolution waits (retried), then arrives once.
        self.stop_redmine()
        self.assertEqual(self.api("POST", f"/api/v1/incidents/{inc['id']}/resolve", {"note": "disk replaced"})[0], 200)
        wait_for("a failed delivery", lambda: self.d.metrics(
            {"Authorization": "Bearer admin-token"}).get('triaged_notifications_total{result="retry",target="redmine"}', 0) >= 1, timeout=30)
        self.start_redmine()
        closed = wait_for("the closed issue", lambda: (lambda i: i if i["status"]["is_closed"] else None)(
            self.rm("GET", f"/issues/{iid}.json")["issue"]), timeout=60)
        self.assertTrue(closed["status"]["is_closed"])
        notes = self.journal_notes(iid)
        self.assertEqual(sum(1 for n in notes if "resolved" in n), 1, notes)
        self.assertEqual(len(self.issues()), 1)

        # Redmine acts back with its own token; the actor is the system.
        status, text = self.api("POST", f"/api/v1/tickets/redmine/{iid}/comment", {"text": "from redmine"},
                                token="redmine-calls-back")
        self.assertEqual(status, 200, text)
        self.assertEqual(json.loads(text)["timeline"][-1]["actor"], "redmine")
        status, _ = self.api("POST", f"/api/v1/tickets/redmine/{iid}/comment", {"text": "x"}, token="wrong")
        self.assertEqual(status, 401)
        # The callback token is for its own system's tickets only.
        status, _ = self.api("POST", f"/api/v1/tickets/jira/{iid}/comment", {"text": "x"}, token="redmine-calls-back")
        self.assertEqual(status, 401)


if __name__ == "__main__":
    unittest.main()
