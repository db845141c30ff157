"""Documented keys that no other system test uses, each shown to change what the real binary
does: the same requests with the key and without it (or a secret or template read from a file
against nothing). With tests/unit/correlate/correlation_keys_test.cpp and
tests/unit/evaluate/service_level_keys_test.cpp (the keys of the correlator and evaluator), and
test_config_reference.py, which checks that every documented key is used by some test, no key
can be documented, read and ignored. Waits are bounded waits on what a peer received."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import ssl
import tempfile
import time
import unittest
import urllib.parse

import test_stream as stream
import test_stream_tls as certs
from harness import BASE_CONFIG, Daemon, Receiver, rfc3339, wait_for

T0 = 1_790_000_000_000


class Keys(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="triaged-keys-")
        self.closing = []

    def tearDown(self):
        for c in reversed(self.closing):
            c.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def file(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def daemon(self, config, env=None):
        d = Daemon(config, env=env)
        self.closing.append(d)
        return d.start()

    def receiver(self, **kw):
        rx = Receiver(**kw)
        self.closing.append(rx)
        return rx

    def post(self, d, path, body, headers=None, expect=200):
        status, _, text = d.request("POST", path, body if isinstance(body, str) else json.dumps(body),
                                    dict({"Content-Type": "application/json"}, **(headers or {})))
        self.assertEqual(status, expect, text)
        return json.loads(text) if text.strip().startswith(("{", "[")) else text

    def test_target_secrets_templates_and_bodies_read_from_files(self):
        rx = self.receiver()
        url = f"http://127.0.0.1:{rx.port}"
        template = self.file("hook.json", '{"text": "{{incident.title}}", "n": {{incident.id}}}')
        body = self.file("create.json", '{"subject": "[P{{incident.priority}}] {{incident.title}}"}')
        fields = self.file("fields.json", '{"customfield_7": "{{incident.service}}"}')
        cfg = BASE_CONFIG + f"""inputs:
  - type: native_json
correlation:
  resolve_hold_down: 0s
auth:
  admin:
    bearer_token: admin-token
notifications:
  targets:
    - name: hook
      url: {url}/hook
      events: [incident.opened]
      template_file: {template}
      hmac_secret_file: {self.file("hmac", "s3cret" + chr(10))}
    - name: pd
      type: pagerduty
      url: {url}/pd
      events: [incident.opened]
      routing_key_file: {self.file("routing", "R0UTING")}
    - name: jira
      type: jira
      url: {url}/jira
      events: [incident.opened]
      project: OPS
      issue_type: Problem
      fields_file: {fields}
      username: bot
      password_file: {self.file("password", "pw-from-file")}
    - name: tracker
      type: ticket
      url: {url}/tracker
      events: [incident.opened]
      ticket:
        create: {{{{path: /issues, body_file: {body}}}}}
    - name: desk
      url: http://127.0.0.1:9/desk
      events: [problem.opened]
      callback_token_file: {self.file("callback", "desk-token")}
    - name: inline
      url: http://127.0.0.1:9/inline
      events: [problem.opened]
      callback_token: inline-token
    - name: signed
      url: http://127.0.0.1:9/signed
      events: [problem.opened]
      callback_hmac_secret_file: {self.file("callback-secret", "sign-me")}
"""
        d = self.daemon(cfg)
        self.post(d, "/api/v1/events", [{"resource": "db7", "check": "disk", "severity": "critical",
                                         "service": "db"}])
        wait_for("the four targets' first requests", lambda: {r["path"].split("/")[1] for r in rx.requests}
                 >= {"hook", "pd", "jira", "tracker"}, timeout=20)
        first = {}
        for r in rx.requests:
            first.setdefault(r["path"].split("/")[1], r)
        # template_file shapes the body; hmac_secret_file signs it (the file's newline dropped).
        hook = first["hook"]
        self.assertEqual(json.loads(hook["body"]), {"text": "disk on db7", "n": 1})
        t, mac = (p.split("=", 1)[1] for p in hook["headers"]["X-Triaged-Signature"].split(","))
        self.assertEqual(mac, hmac.new(b"s3cret", f"{t}.".encode() + hook["body"].encode(),
                                       hashlib.sha256).hexdigest())
        # routing_key_file: PagerDuty's routing key.
        self.assertEqual(json.loads(first["pd"]["body"])["routing_key"], "R0UTING")
        # issue_type, fields_file and password_file: Jira's issue.
        jira = json.loads(first["jira"]["body"])["fields"]
        self.assertEqual(jira["issuetype"], {"name": "Problem"})
        self.assertEqual(jira["customfield_7"], "db")
        self.assertEqual(first["jira"]["headers"]["Authorization"],
                         "Basic " + base64.b64encode(b"bot:pw-from-file").decode())
        # body_file: the ticket's create request.
        self.assertEqual(first["tracker"]["path"], "/tracker/issues")
        self.assertEqual(json.loads(first["tracker"]["body"]), {"subject": "[P2] disk on db7"})
        # callback_token(_file) and callback_hmac_secret_file: the tools act on their tickets.
        admin = {"Authorization": "Bearer admin-token"}
        for system in ("desk", "inline", "signed"):
            self.post(d, "/api/v1/incidents/1/tickets", {"system": system, "id": "T-7"}, admin)
        note = '{"text": "seen"}'
        for system, token in (("desk", "desk-token"), ("inline", "inline-token")):
            self.post(d, f"/api/v1/tickets/{system}/T-7/comment", note, {"Authorization": f"Bearer {token}"})
            self.post(d, f"/api/v1/tickets/{system}/T-7/comment", note, {"Authorization": "Bearer guess"},
                      expect=401)
        now = int(time.time())
        mac = hmac.new(b"sign-me", f"{now}.{note}".encode(), hashlib.sha256).hexdigest()
        self.post(d, "/api/v1/tickets/signed/T-7/comment", note, {"X-Triaged-Signature": f"t={now},v1={mac}"})
        actors = [e["actor"] for e in d.get_json("/api/v1/incidents/1")["timeline"] if e["action"] == "commented"]
        self.assertEqual(actors, ["desk", "inline", "signed"])

    def test_tls_insecure_skip_verify_accepts_a_receiver_no_ca_vouches_for(self):
        certs.make_ca(self.dir, "ca")
        certs.make_cert(self.dir, "rx", "receiver")
        rx = self.receiver()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.dir, "rx.pem"), os.path.join(self.dir, "rx.key"))
        rx.server.socket = ctx.wrap_socket(rx.server.socket, server_side=True)
        target = """    - name: {name}
      url: https://127.0.0.1:{port}/{name}
      events: [incident.opened]
      retry_initial: 50ms
      retry_max: 100ms
"""
        d = self.daemon(BASE_CONFIG + "inputs:\n  - type: native_json\nnotifications:\n  targets:\n"
                        + target.format(name="strict", port=rx.port)
                        + target.format(name="lenient", port=rx.port)
                        + "      tls_insecure_skip_verify: true\n")
        self.post(d, "/api/v1/events", [{"resource": "h1", "check": "down", "severity": "major"}])
        wait_for("the lenient target's delivery", lambda: [r["path"] for r in rx.delivered()] == ["/lenient"])
        wait_for("the strict target's refusal of the certificate", lambda: d.metrics().get(
            'triaged_notifications_total{result="retry",target="strict"}', 0) >= 2)
        self.assertEqual([r["path"] for r in rx.delivered()], ["/lenient"])

    def test_input_keys_map_labels_severity_and_fingerprints(self):
        d = self.daemon(BASE_CONFIG + """inputs:
  - type: native_json
  - type: native_json
    name: defaulted
    path: /api/v1/defaulted
    default_severity: critical
  - type: alertmanager
  - type: alertmanager
    name: mapped
    path: /api/v1/mapped
    resource_labels: [host]
    check_label: alert
    severity_label: level
    use_sender_fingerprint: true
""")
        self.post(d, "/api/v1/events", [{"resource": "a", "check": "plain"}])
        self.post(d, "/api/v1/defaulted", [{"resource": "b", "check": "plain"}])
        sev = {a["resource"]: a["severity"] for a in d.get_json("/api/v1/alerts?check=plain")["data"]}
        self.assertEqual(sev, {"a": "warning", "b": "critical"})

        def webhook(*alerts):
            return {"version": "4", "status": "firing", "alerts": list(alerts)}
        labels = {"alertname": "Hot", "instance": "web1", "host": "h9", "alert": "Temp", "level": "major",
                  "severity": "info"}
        one = {"status": "firing", "labels": labels, "fingerprint": "f00d"}
        two = {"status": "firing", "labels": dict(labels, instance="web2"), "fingerprint": "f00d"}
        self.post(d, "/api/v1/alertmanager", webhook(one, two))
        self.post(d, "/api/v1/mapped", webhook(one, two))
        plain = d.get_json("/api/v1/alerts?source=alertmanager")["data"]
        mapped = d.get_json("/api/v1/alerts?source=mapped")["data"]
        # Without the keys: instance, alertname and severity; two alerts.
        self.assertEqual(sorted((a["resource"], a["check"], a["severity"]) for a in plain),
                         [("web1", "Hot", "info"), ("web2", "Hot", "info")])
        # With them: host, alert and level; one alert, as the sender's fingerprint says.
        self.assertEqual([(a["resource"], a["check"], a["severity"], a["count"]) for a in mapped],
                         [("h9", "Temp", "major", 2)])

    def test_server_tls_client_certs_and_handshake_timeout(self):
        certs.make_ca(self.dir, "ca")
        certs.make_cert(self.dir, "server", "triaged")
        certs.make_cert(self.dir, "client", "noc")
        p = lambda n: os.path.join(self.dir, n)  # noqa: E731

        def start(extra):
            return self.daemon(BASE_CONFIG.replace("  io_threads: 2\n", f"""  io_threads: 2
  tls:
    cert_file: {p("server.pem")}
    key_file: {p("server.key")}
    client_ca_file: {p("ca.pem")}
{extra}"""))

        def handshake(d, with_cert):
            ctx = ssl.create_default_context(cafile=p("ca.pem"))
            if with_cert:
                ctx.load_cert_chain(p("client.pem"), p("client.key"))
            with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
                with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                    t.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    return t.recv(100)

        optional = start("")
        self.assertTrue(handshake(optional, False).startswith(b"HTTP/1.1 200"))
        required = start("    client_certs: required\n  handshake_timeout: 1s\n")
        self.assertTrue(handshake(required, True).startswith(b"HTTP/1.1 200"))
        with self.assertRaises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            handshake(required, False)  # TLS 1.3 reports the refusal at the first read
        # handshake_timeout: a client that never starts its handshake is cut off after 1 s
        # (the default waits 10 s).
        for d, bound in ((required, 5), (optional, None)):
            with socket.create_connection(("127.0.0.1", d.port), timeout=3) as s:
                started = time.monotonic()
                try:
                    got = s.recv(1)
                except socket.timeout:
                    got = None
                if bound:
                    self.assertEqual(got, b"")
                    self.assertLess(time.monotonic() - started, bound)
                else:
                    self.assertIsNone(got)  # still waiting after 3 s

    def test_checkpoint_interval_writes_duplicates_counts_this_often(self):
        for interval, expect in (("1s", 6), (None, 1)):
            extra = f"  checkpoint_interval: {interval}\n" if interval else ""
            d = self.daemon(BASE_CONFIG.replace("  directory: {state}\n", "  directory: {state}\n" + extra)
                            + "inputs:\n  - type: native_json\n", env={"TRIAGED_TEST_CLOCK": rfc3339(T0)})
            for _ in range(6):
                self.post(d, "/api/v1/events", [{"resource": "h1", "check": "down"}])
            commits = d.metrics()['triaged_store_commits_total{result="success"}']
            self.post(d, "/-/test/clock?to=" + rfc3339(T0 + 2000), "")
            if interval:
                wait_for("the checkpoint's commit", lambda: d.metrics()['triaged_store_commits_total{result="success"}'] > commits)
            d.signal(signal.SIGKILL)
            d.proc.wait(10)
            d.start()
            (alert,) = d.get_json("/api/v1/alerts")["data"]
            self.assertEqual(alert["count"], expect, interval)

    def test_heartbeat_max_latency_flags_slow_pings(self):
        rules = self.file("rules.yaml", """heartbeats:
  - {name: plain, period: 1h}
  - {name: bounded, period: 1h, max_latency: 1m}
""")
        d = self.daemon(BASE_CONFIG.replace("rule_files: []", f"rule_files: [{rules}]"),
                        env={"TRIAGED_TEST_CLOCK": rfc3339(T0)})
        for name in ("plain", "bounded"):
            self.post(d, f"/api/v1/heartbeats/{name}/ping?sent_at={rfc3339(T0 - 5 * 60_000)}", "")
        slow = {h["name"]: h["slow"] for h in d.get_json("/api/v1/heartbeats")["heartbeats"]}
        self.assertEqual(slow, {"plain": False, "bounded": True})

    def test_stream_flush_interval_spaces_the_writes_to_an_up_to_date_client(self):
        for interval, spaced in (("1s", True), ("0s", False)):
            d = self.daemon(BASE_CONFIG + f"inputs:\n  - type: native_json\nstream:\n  flush_interval: {interval}\n")
            s = stream.Sse(d, "/api/v1/stream?types=alert")
            try:
                s.event("hello")
                self.post(d, "/api/v1/events", [{"resource": "a", "check": "down"}])
                s.event("alert")
                written = time.monotonic()
                self.post(d, "/api/v1/events", [{"resource": "b", "check": "down"}])
                self.assertEqual(json.loads(s.event("alert")["data"])["resource"], "b")
                gap = time.monotonic() - written
                if spaced:
                    self.assertGreaterEqual(gap, 0.8)  # the next write waits out the second
                else:
                    self.assertLess(gap, 0.8)  # 0: every event at once
            finally:
                s.close()

    def test_sla_retention_prunes_service_history_and_incident_summaries(self):
        rules = self.file("rules.yaml", """configuration_items: [{name: web1}]
services: [{name: web, cis: [web1]}]
agreements: [{name: web-sla, service: web, availability: "99.9", period: day}]
""")
        day = T0 - T0 % 86_400_000
        downtime = {}
        for retention in ("1d", None):
            extra = f"  sla_retention: {retention}\n" if retention else ""
            d = self.daemon(BASE_CONFIG.replace("rule_files: []", f"rule_files: [{rules}]")
                            .replace("  directory: {state}\n", "  directory: {state}\n" + extra)
                            + "inputs:\n  - type: native_json\ncorrelation:\n  resolve_hold_down: 0s\n",
                            env={"TRIAGED_TEST_CLOCK": rfc3339(day + 3600_000)})
            self.post(d, "/api/v1/events", [{"resource": "web1", "check": "down", "severity": "critical"}])
            self.post(d, "/-/test/clock?to=" + rfc3339(day + 3600_000 + 600_000), "")
            self.post(d, "/api/v1/events", [{"resource": "web1", "check": "down", "status": "resolved"}])
            later = day + 3 * 86_400_000
            self.post(d, "/-/test/clock?to=" + rfc3339(later), "")
            wait_for("the SLA refresh after the clock moved", lambda: d.metrics().get(
                "triaged_sla_last_refresh_timestamp_seconds", 0) >= later / 1000)
            period = time.strftime("%Y-%m-%d", time.gmtime(day / 1000))
            (report,) = d.get_json(f"/api/v1/services/web/sla?period={period}")["agreements"]
            downtime[retention] = (report["seconds"]["downtime_net"], report["incidents"]["count"])
        # 400 days by default: the ten minutes and their incident are still there; with a day
        # they are gone, from memory as from the database.
        self.assertEqual(downtime, {None: (600, 1), "1d": (0, 0)})

    def test_service_owners_and_criticality_and_ci_type_and_labels_are_shown(self):
        rules = self.file("rules.yaml", """configuration_items:
  - {name: db1, type: vm, labels: {rack: r7}, aliases: [db1.example.org]}
  - {name: san1}
services:
  - {name: db, criticality: high, owners: [dba-team, alice], cis: [db1]}
  - {name: wiki}
""")
        d = self.daemon(BASE_CONFIG.replace("rule_files: []", f"rule_files: [{rules}]"))
        services = {s["name"]: (s["criticality"], s["owners"]) for s in d.get_json("/api/v1/services")["services"]}
        self.assertEqual(services, {"db": ("high", ["dba-team", "alice"]), "wiki": ("medium", [])})
        cis = {c["name"]: c for c in d.get_json("/api/v1/cis")["cis"]}
        self.assertEqual(cis["db1"], {"name": "db1", "type": "vm", "labels": {"rack": "r7"},
                                      "aliases": ["db1.example.org"], "depends_on": [], "members": [],
                                      "services": ["db"]})
        self.assertEqual(cis["san1"]["type"], "host")  # the default


if __name__ == "__main__":
    unittest.main()
