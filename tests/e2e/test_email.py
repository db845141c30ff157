"""Email targets against a real SMTP server: Debian's python3-aiosmtpd, started by the test on
127.0.0.1, keeping every message it accepts and refusing one recipient with 550. One thread of
mails per incident (Message-ID, In-Reply-To, References), multipart text and HTML with a link
to the console; the refused recipient is dead-lettered with the server's answer."""
import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from harness import BASE_CONFIG, Daemon, free_port, wait_for  # noqa: E402

# Debian's Python: the one python3-aiosmtpd installs into.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
HAS_AIOSMTPD = subprocess.run([PYTHON, "-c", "import aiosmtpd"], capture_output=True).returncode == 0

SERVER = r'''
import os, sys
from aiosmtpd.controller import Controller

OUT, PORT = sys.argv[1], int(sys.argv[2])

class Keep:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 <%s>: recipient unknown here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = len([f for f in os.listdir(OUT) if f.endswith(".eml")])
        tmp = os.path.join(OUT, "%04d.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(OUT, "%04d.eml" % n))
        return "250 Message accepted"

c = Controller(Keep(), hostname="127.0.0.1", port=PORT)
c.start()
print("ready", flush=True)
sys.stdin.read()  # until the test closes it
c.stop()
'''


@unittest.skipUnless(HAS_AIOSMTPD, "python3-aiosmtpd is not installed (scripts/install-deps.sh e2e installs it)")
class Email(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="triaged-smtp-")
        cls.port = free_port()
        script = os.path.join(cls.dir, "server.py")
        with open(script, "w") as f:
            f.write(SERVER)
        cls.smtp = subprocess.Popen([PYTHON, script, cls.dir, str(cls.port)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
        assert cls.smtp.stdout.readline().strip() == "ready"
        targets = f"""
inputs:
  - name: api
    type: native_json
notifications:
  targets:
    - name: mail
      type: email
      url: smtp://127.0.0.1:{cls.port}
      starttls: "off"
      mail_from: triaged@noc.example.org
      mail_to: [noc@example.org, oncall@example.org]
      console_url: http://console.example.org:9470/
    - name: bounce
      type: email
      url: smtp://127.0.0.1:{cls.port}
      starttls: "off"
      mail_from: triaged@noc.example.org
      mail_to: [refused@example.org]
      events: [incident.opened]
"""
        cls.d = Daemon(BASE_CONFIG + targets.replace("{", "{{").replace("}", "}}")).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.close()
        finally:
            cls.smtp.stdin.close()
            cls.smtp.wait(10)
            shutil.rmtree(cls.dir, ignore_errors=True)

    def mails(self):
        out = []
        for name in sorted(f for f in os.listdir(self.dir) if f.endswith(".eml")):
            with open(os.path.join(self.dir, name), "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    def test_one_thread_per_incident_and_a_refused_recipient_is_a_dead_letter(self):
        body = json.dumps({"resource": "mx1", "check": "smtp", "severity": "critical", "summary": "mx1 <down> & out"})
        self.assertEqual(self.d.request("POST", "/api/v1/events", body)[0], 200)
        inc = wait_for("the incident", lambda: self.d.get_json("/api/v1/incidents?status=open")["incidents"])[0]
        iid = inc["id"]
        for action, payload in (("acknowledge", {"by": "olivia"}), ("resolve", {"note": "MTA restarted", "by": "olivia"})):
            status, _, text = self.d.request("POST", f"/api/v1/incidents/{iid}/{action}", json.dumps(payload))
            self.assertEqual(status, 200, text)
        mails = wait_for("three mails", lambda: (lambda m: m if len(m) >= 3 else None)(self.mails()), timeout=30)
        self.assertEqual(len(mails), 3)
        root = f"<triaged.incident-{iid}@noc.example.org>"
        opened, acked, resolved = mails
        self.assertEqual(opened["Message-ID"], root)
        self.assertIsNone(opened["In-Reply-To"])
        for m in (acked, resolved):
            self.assertEqual(m["In-Reply-To"], root)
            self.assertEqual(m["References"], root)
            self.assertNotEqual(m["Message-ID"], root)
        self.assertIn(f"Incident {iid} opened: mx1 <down> & out", opened["Subject"])
        self.assertIn("acknowledged", acked["Subject"])
        self.assertIn("resolved", resolved["Subject"])
        self.assertEqual(opened["To"], "noc@example.org, oncall@example.org")
        for m in mails:
            self.assertEqual(m.get_content_type(), "multipart/alternative")
            parts = {p.get_content_type(): p.get_content() for p in m.iter_parts()}
            self.assertEqual(set(parts), {"text/plain", "text/html"})
            self.assertIn(f"http://console.example.org:9470/#/incident/{iid}", parts["text/plain"])
            self.assertIn("mx1 &lt;down&gt; &amp; out", parts["text/html"])  # escaped in HTML
            self.assertNotIn("<down>", parts["text/html"])
        acked_text = {p.get_content_type(): p.get_content() for p in acked.iter_parts()}["text/plain"]
        self.assertIn("by olivia", acked_text)
        resolved_text = {p.get_content_type(): p.get_content() for p in resolved.iter_parts()}["text/plain"]
        self.assertIn("by olivia: MTA restarted", resolved_text)
        # The bounce target: its recipient is refused (550): dead at once, with the answer.
        dead = wait_for("the dead letter", lambda: [d for d in self.d.get_json("/api/v1/notifications/dead")["dead"]
                                                   if d["target"] == "bounce"], timeout=30)
        self.assertIn("550", dead[0]["last_error"])
        self.assertEqual(dead[0]["attempts"], 1)
        self.assertEqual(len(self.mails()), 3)  # nothing reached anyone from that target


if __name__ == "__main__":
    unittest.main()
