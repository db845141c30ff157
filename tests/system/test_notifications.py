"""Notifications on the real binary against a local receiver on 127.0.0.1 that fails, rate
limits and goes down: at-least-once delivery with an Idempotency-Key stable across retries
and restarts, order per incident, HMAC signatures, dead letters and redelivery. Waits are
bounded waits on what the receiver got, never sleeps."""
import hashlib
import hmac
import json
import signal
import threading
import time
import unittest

from harness import BASE_CONFIG, Daemon, Receiver


def config(port, extra=""):
    return BASE_CONFIG + f"""inputs:
  - type: native_json
correlation:
  resolve_hold_down: 0s
notifications:
  targets:
    - name: hook
      url: http://127.0.0.1:{port}/hook
      retry_initial: 50ms
      retry_max: 200ms
      hmac_secret: s3cret
      headers:
        X-Team: noc
""" + extra


class Notifications(unittest.TestCase):
    def send(self, d, *events):
        status, _, body = d.request("POST", "/api/v1/events", json.dumps(list(events)),
                                    {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)

    def wait_api(self, d, path, pred, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            got = d.get_json(path)
            if pred(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: condition not met within {timeout}s: {got}")
            time.sleep(0.02)  # polling the API for a state reached by the daemon's own timers

    def test_delivery_survives_failures_in_order_with_stable_keys_and_signatures(self):
        rx = Receiver(script=[500, 502, (429, {"Retry-After": "1"})])
        d = Daemon(config(rx.port)).start()
        try:
            self.send(d, {"resource": "vm1", "check": "cpu", "severity": "critical"})
            status, _, body = d.request("POST", "/api/v1/incidents/1/acknowledge", json.dumps({"by": "alice"}))
            self.assertEqual(status, 200, body)
            self.send(d, {"resource": "vm1", "check": "cpu", "severity": "critical", "status": "resolved"})
            got = rx.wait_delivered(3)
            self.assertEqual([r["headers"]["X-Triaged-Event"] for r in got],
                             ["incident.opened", "incident.acknowledged", "incident.resolved"])
            # The first entry was tried 4 times with the same key; every event has its own key.
            keys = [r["headers"]["Idempotency-Key"] for r in rx.requests]
            self.assertEqual(len(set(keys[:4])), 1, keys)
            self.assertEqual(len(set(r["headers"]["Idempotency-Key"] for r in got)), 3)
            for r in got:
                body = json.loads(r["body"])
                self.assertEqual(body["incident"]["id"], 1)
                self.assertEqual(r["headers"]["X-Team"], "noc")
                sig = dict(p.split("=", 1) for p in r["headers"]["X-Triaged-Signature"].split(","))
                want = hmac.new(b"s3cret", (sig["t"] + "." + r["body"]).encode(), hashlib.sha256).hexdigest()
                self.assertEqual(sig["v1"], want)
            # The receiver counts a delivery before the notifier has seen the answer: wait until
            # the notifier has recorded all three outcomes before reading its counters.
            self.wait_api(d, "/api/v1/notifications", lambda j: j["targets"][0]["pending"] == 0)
            m = d.metrics()
            self.assertEqual(m['triaged_notifications_total{result="retry",target="hook"}'], 3)
            self.assertEqual(m['triaged_notifications_total{result="success",target="hook"}'], 3)
            # What was sent for the incident: each event, delivered, with its attempts; and the
            # acknowledgement carries who did it.
            sent = d.get_json("/api/v1/incidents/1/notifications")["notifications"]
            self.assertEqual([(n["event"], n["status"], n["attempts"]) for n in sent],
                             [("incident.opened", "delivered", 4), ("incident.acknowledged", "delivered", 1),
                              ("incident.resolved", "delivered", 1)])
            self.assertEqual(sent[0]["last_error"], "HTTP 429")
            self.assertEqual(json.loads(got[1]["body"])["entry"]["actor"], "alice")
            self.assertEqual(d.get_json("/api/v1/incidents/2/notifications"), {"notifications": []})
        finally:
            d.close()
            rx.close()

    def test_a_ticketing_tool_acts_back_with_a_signed_callback(self):
        rx = Receiver()
        d = Daemon(config(rx.port, """    - name: desk
      url: http://127.0.0.1:9/desk
      events: [problem.opened]
      callback_hmac_secret: desk-secret
auth:
  admin:
    bearer_token: admin-token
""")).start()
        try:
            self.send(d, {"resource": "vm1", "check": "cpu", "severity": "critical"})
            status, _, body = d.request("POST", "/api/v1/incidents/1/tickets",
                                        json.dumps({"system": "desk", "id": "T-7"}),
                                        {"Authorization": "Bearer admin-token"})
            self.assertEqual(status, 200, body)

            def call(action, secret="desk-secret", t=None, system="desk", body=b'{"note": "done"}'):
                t = int(time.time()) if t is None else t
                mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
                return d.request("POST", f"/api/v1/tickets/{system}/T-7/{action}", body,
                                 {"X-Triaged-Signature": f"t={t},v1={mac}"})

            for bad in (dict(secret="guess"), dict(t=int(time.time()) - 3600)):
                status, _, body = call("acknowledge", **bad)
                self.assertEqual(status, 401, body)
                self.assertIn("X-Triaged-Signature", body)
            status, _, body = call("acknowledge", system="hook")  # hook has no callback secret
            self.assertEqual(status, 401, body)
            status, _, body = call("acknowledge")
            self.assertEqual(status, 200, body)
            inc = d.get_json("/api/v1/incidents/1")
            self.assertEqual(inc["status"], "acknowledged")
            self.assertEqual([(e["actor"], e["action"]) for e in inc["timeline"]][-1], ("desk", "acknowledged"))
        finally:
            d.close()
            rx.close()

    def test_a_ticket_target_logs_in_first_and_again_when_its_session_ends(self):
        # GLPI's legacy REST API: GET /initSession answers a session token, which every later
        # request carries in Session-Token; a 401 means the session ended.
        rx = Receiver(script=[
            (200, {}, '{"session_token": "S1"}'),
            (201, {}, '{"id": 15, "message": ""}'),
            401,
            (200, {}, '{"session_token": "S2"}'),
        ])
        glpi = """    - name: glpi
      type: ticket
      url: http://127.0.0.1:PORT/apirest.php
      retry_initial: 50ms
      headers: {{App-Token: app}}
      ticket:
        session: {{method: GET, path: /initSession, token_pointer: /session_token, header: Session-Token}}
        id_pointer: /id
        create: {{path: /Ticket, body: '{{"input": {{"name": "{{{{incident.title}}}}"}}}}'}}
        update: {{path: "/Ticket/{{{{ticket.id}}}}", body: '{{"input": {{"content": "{{{{note}}}}"}}}}'}}
""".replace("PORT", str(rx.port))
        d = Daemon(config(rx.port, glpi).replace(
            "      hmac_secret: s3cret\n", "      hmac_secret: s3cret\n      events: [problem.opened]\n", 1)).start()
        try:
            self.send(d, {"resource": "vm1", "check": "cpu", "severity": "critical"})
            status, _, body = d.request("POST", "/api/v1/incidents/1/acknowledge", "{}")
            self.assertEqual(status, 200, body)
            got = rx.wait_delivered(4)
            seen = [(r["method"], r["path"], r["headers"].get("Session-Token"), r["status"]) for r in rx.requests]
            self.assertEqual(seen, [("GET", "/apirest.php/initSession", None, 200),
                                    ("POST", "/apirest.php/Ticket", "S1", 201),
                                    ("PUT", "/apirest.php/Ticket/15", "S1", 401),
                                    ("GET", "/apirest.php/initSession", None, 200),
                                    ("PUT", "/apirest.php/Ticket/15", "S2", 200)])
            self.assertTrue(all(r["headers"].get("App-Token") == "app" for r in got))
            inc = d.get_json("/api/v1/incidents/1")
            self.assertEqual([(t["system"], t["id"]) for t in inc["tickets"]], [("glpi", "15")])
        finally:
            d.close()
            rx.close()

    def test_a_ticket_created_without_an_id_in_its_answer_is_known_by_its_location(self):
        # A tool that answers a create with an empty body and the new ticket's Location: the
        # id is the last segment of that header (of the create only), and later requests use it.
        rx = Receiver(script=[(201, {"Location": "/tool/tickets/77.json?x=1"}, "")])
        tool = """    - name: tool
      type: ticket
      url: http://127.0.0.1:PORT/tool
      retry_initial: 50ms
      ticket:
        create: {{path: /tickets, body: '{{"title": "{{{{incident.title}}}}"}}'}}
        update: {{path: "/tickets/{{{{ticket.id}}}}", body: '{{"note": "{{{{note}}}}"}}'}}
""".replace("PORT", str(rx.port))
        d = Daemon(config(rx.port, tool).replace(
            "      hmac_secret: s3cret\n", "      hmac_secret: s3cret\n      events: [problem.opened]\n", 1)).start()
        try:
            self.send(d, {"resource": "vm1", "check": "cpu", "severity": "critical"})
            rx.wait_delivered(1)
            status, _, body = d.request("POST", "/api/v1/incidents/1/acknowledge", "{}")
            self.assertEqual(status, 200, body)
            rx.wait_delivered(2)
            self.assertEqual([(r["method"], r["path"]) for r in rx.requests],
                             [("POST", "/tool/tickets"), ("PUT", "/tool/tickets/77")])
            inc = d.get_json("/api/v1/incidents/1")
            self.assertEqual([(t["system"], t["id"]) for t in inc["tickets"]], [("tool", "77")])
        finally:
            d.close()
            rx.close()

    def test_concurrent_deliveries_keep_each_incidents_order(self):
        # A slow receiver (100 ms per request) and 4 requests in flight: 6 incidents' events
        # overlap across incidents, never within one, and arrive in the order they happened.
        rx = Receiver(delay=0.1)
        d = Daemon(config(rx.port, "      concurrency: 4\n")).start()
        try:
            hosts = [f"vm{i}" for i in range(6)]
            for h in hosts:
                self.send(d, {"resource": h, "check": "cpu", "severity": "critical"})
            for i in range(1, 7):
                status, _, body = d.request("POST", f"/api/v1/incidents/{i}/acknowledge", json.dumps({"by": "bob"}))
                self.assertEqual(status, 200, body)
            for h in hosts:
                self.send(d, {"resource": h, "check": "cpu", "severity": "critical", "status": "resolved"})
            got = rx.wait_delivered(18, timeout=30)
            self.assertEqual(len(set(r["headers"]["Idempotency-Key"] for r in got)), 18)
            self.assertGreaterEqual(rx.max_active, 2, "requests of different incidents should overlap")
            self.assertLessEqual(rx.max_active, 4)
            by_incident = {}
            for r in sorted(got, key=lambda r: r["started"]):
                by_incident.setdefault(json.loads(r["body"])["incident"]["id"], []).append(r)
            self.assertEqual(sorted(by_incident), list(range(1, 7)))
            for rs in by_incident.values():
                self.assertEqual([r["headers"]["X-Triaged-Event"] for r in rs],
                                 ["incident.opened", "incident.acknowledged", "incident.resolved"])
                for a, b in zip(rs, rs[1:]):  # one at a time per incident
                    self.assertLessEqual(a["at"], b["started"])
        finally:
            d.close()
            rx.close()

    def test_matchers_route_and_templates_shape_the_body(self):
        rx = Receiver()
        template = ('{"text": "P{{incident.priority}} {{ incident.title }} on {{incident.service}}",'
                    ' "id": {{incident.id}}, "missing": {{incident.nope}}}')
        template = template.replace("{", "{{").replace("}", "}}")  # the harness formats the config
        extra = f"""      matchers: ['service="db"']
    - name: chat
      url: http://127.0.0.1:{rx.port}/chat
      events: [incident.opened]
      template: '{template}'
"""
        d = Daemon(config(rx.port, extra)).start()
        try:
            self.send(d, {"resource": "db1", "check": "disk", "severity": "critical", "service": "db",
                          "summary": 'disk "full"'})
            self.send(d, {"resource": "web1", "check": "cpu", "severity": "critical", "service": "web"})
            got = rx.wait_delivered(3)
            hook = [json.loads(r["body"]) for r in got if r["path"] == "/hook"]
            chat = [json.loads(r["body"]) for r in got if r["path"] == "/chat"]
            self.assertEqual([b["incident"]["service"] for b in hook], ["db"])  # web filtered out
            self.assertEqual(len(chat), 2)
            for b in chat:
                self.assertEqual(set(b), {"text", "id", "missing"})
                self.assertIsNone(b["missing"])
                self.assertRegex(b["text"], r"^P\d .+ on (db|web)$")
            self.assertEqual(sorted(b["id"] for b in chat), [1, 2])
        finally:
            d.close()
            rx.close()

    def test_a_target_with_a_proxy_sends_through_it(self):
        # The receiver plays the proxy: a plain-HTTP request through a proxy carries the
        # absolute URL of a host only the proxy would resolve.
        rx = Receiver()
        d = Daemon(BASE_CONFIG + f"""inputs:
  - type: native_json
notifications:
  targets:
    - name: proxied
      url: http://tickets.invalid/hook
      proxy: http://127.0.0.1:{rx.port}
""").start()
        try:
            self.send(d, {"resource": "vm1", "check": "cpu", "severity": "critical"})
            got = rx.wait_delivered(1)
            self.assertEqual(got[0]["path"], "http://tickets.invalid/hook")
            self.assertEqual(got[0]["headers"]["X-Triaged-Event"], "incident.opened")
        finally:
            d.close()
            rx.close()

    def test_pagerduty_and_slack_targets_get_their_own_payloads(self):
        pd = Receiver(script=[202, 202, 202, 400])
        slack = Receiver()
        d = Daemon(BASE_CONFIG + f"""inputs:
  - type: native_json
correlation:
  resolve_hold_down: 0s
notifications:
  targets:
    - name: pd
      type: pagerduty
      url: http://127.0.0.1:{pd.port}/v2/enqueue
      routing_key: R0UT1NGKEY
      retry_initial: 50ms
    - name: chat
      type: slack
      url: http://127.0.0.1:{slack.port}/services/T/B/X
      retry_initial: 50ms
""").start()
        try:
            self.send(d, {"resource": "vm9", "check": "cpu", "severity": "critical", "service": "web"})
            status, _, body = d.request("POST", "/api/v1/incidents/1/acknowledge", json.dumps({"by": "alice"}))
            self.assertEqual(status, 200, body)
            self.send(d, {"resource": "vm9", "check": "cpu", "severity": "critical", "status": "resolved"})
            got = [json.loads(r["body"]) for r in pd.wait_delivered(3)]
            self.assertEqual([g["event_action"] for g in got], ["trigger", "acknowledge", "resolve"])
            self.assertEqual({g["dedup_key"] for g in got}, {"triaged-incident-1"})
            self.assertEqual({g["routing_key"] for g in got}, {"R0UT1NGKEY"})
            payload = got[0]["payload"]
            # PagerDuty's severity follows the incident's priority (P1 critical, P2 error, ...).
            priority = d.get_json("/api/v1/incidents/1")["priority"]
            expected = {1: "critical", 2: "error", 3: "warning"}.get(priority, "info")
            self.assertEqual(payload["severity"], expected)
            self.assertTrue(payload["summary"].startswith("[P"))
            self.assertEqual(payload["custom_details"]["id"], 1)
            self.assertNotIn("payload", got[1])  # acknowledge and resolve carry only the key
            texts = [json.loads(r["body"])["text"] for r in slack.wait_delivered(3)]
            self.assertTrue(texts[0].startswith("*[P"), texts)
            self.assertIn("Incident 1 opened", texts[0])
            self.assertIn("resolved", texts[2])
            # PagerDuty refusing an event (400) dead-letters it at once, without retries.
            self.send(d, {"resource": "vm10", "check": "cpu", "severity": "critical"})
            dead = self.wait_api(d, "/api/v1/notifications/dead", lambda j: len(j["dead"]) == 1)["dead"][0]
            self.assertEqual(dead["target"], "pd")
            self.assertIn("HTTP 400", dead["last_error"])
            self.assertEqual(len(pd.requests), 4)
        finally:
            d.close()
            pd.close()
            slack.close()

    def test_servicenow_and_jira_tickets_are_created_updated_resolved_and_remembered(self):
        snow = Receiver(script=[(201, {"Content-Type": "application/json"},
                                 json.dumps({"result": {"sys_id": "abc123", "number": "INC0010001"}}))])
        jira = Receiver(script=[(201, {"Content-Type": "application/json"},
                                 json.dumps({"id": "10001", "key": "OPS-7", "self": "x"}))])
        cfg = BASE_CONFIG + f"""inputs:
  - type: native_json
correlation:
  resolve_hold_down: 0s
notifications:
  targets:
    - name: snow
      type: servicenow
      url: http://127.0.0.1:{snow.port}/
      username: triaged
      password: pw
      retry_initial: 50ms
    - name: jira
      type: jira
      url: http://127.0.0.1:{jira.port}
      project: OPS
      resolve_transition: "31"
      retry_initial: 50ms
"""
        d = Daemon(cfg).start()
        try:
            self.send(d, {"resource": "db7", "check": "disk", "severity": "major", "service": "db"})
            status, _, body = d.request("POST", "/api/v1/incidents/1/acknowledge", json.dumps({"by": "alice"}))
            self.assertEqual(status, 200, body)
            got = snow.wait_delivered(2)
            self.assertEqual((got[0]["method"], got[0]["path"]), ("POST", "/api/now/table/incident"))
            create = json.loads(got[0]["body"])
            self.assertEqual(create["correlation_id"], "triaged-incident-1")
            self.assertTrue(got[0]["headers"]["Authorization"].startswith("Basic "))
            # The update goes to the ticket the create returned.
            self.assertEqual((got[1]["method"], got[1]["path"]), ("PATCH", "/api/now/table/incident/abc123"))
            self.assertEqual(json.loads(got[1]["body"])["state"], "2")
            jgot = jira.wait_delivered(2)
            self.assertEqual(jgot[0]["path"], "/rest/api/2/issue")
            self.assertEqual(json.loads(jgot[0]["body"])["fields"]["project"]["key"], "OPS")
            self.assertEqual(jgot[1]["path"], "/rest/api/2/issue/OPS-7/comment")
            # Both tickets are linked to the incident.
            inc = self.wait_api(d, "/api/v1/incidents/1", lambda j: len(j.get("tickets", [])) == 2)
            self.assertEqual(sorted(t["id"] for t in inc["tickets"]), ["OPS-7", "abc123"])
            # After a restart the tickets are remembered: resolving updates them, creates nothing.
            self.assertEqual(d.stop(), 0)
            d.start()
            self.send(d, {"resource": "db7", "check": "disk", "severity": "major", "status": "resolved"})
            got = snow.wait_delivered(3)
            self.assertEqual((got[2]["method"], got[2]["path"]), ("PATCH", "/api/now/table/incident/abc123"))
            self.assertEqual(json.loads(got[2]["body"])["state"], "6")
            jgot = jira.wait_delivered(3)
            self.assertEqual(jgot[2]["path"], "/rest/api/2/issue/OPS-7/transitions")
            self.assertEqual(json.loads(jgot[2]["body"])["transition"]["id"], "31")
        finally:
            d.close()
            snow.close()
            jira.close()

    def test_a_create_answered_without_a_ticket_id_is_counted_and_created_again(self):
        # A tool (or a proxy in front of it) answers 201 with something that is not its record.
        jira = Receiver(script=[(201, {"Content-Type": "text/html"}, "<html>ok</html>")])
        d = Daemon(BASE_CONFIG + f"""inputs:
  - type: native_json
notifications:
  targets:
    - name: jira
      type: jira
      url: http://127.0.0.1:{jira.port}
      project: OPS
""").start()
        try:
            self.send(d, {"resource": "db7", "check": "disk", "severity": "major"})
            status, _, body = d.request("POST", "/api/v1/incidents/1/acknowledge", json.dumps({"by": "alice"}))
            self.assertEqual(status, 200, body)
            got = jira.wait_delivered(2)
            # No ticket known: the next event creates again rather than commenting on nothing.
            self.assertEqual([r["path"] for r in got], ["/rest/api/2/issue", "/rest/api/2/issue"])
            self.wait_api(d, "/api/v1/notifications", lambda j: j["targets"][0]["pending"] == 0)
            # Both creates: the second was answered with the receiver's empty 200.
            self.assertEqual(d.metrics()['triaged_notification_tickets_missing_total{target="jira"}'], 2)
            self.assertEqual(d.get_json("/api/v1/incidents/1").get("tickets", []), [])
        finally:
            d.close()
            jira.close()

    def test_rate_limit_spaces_requests_and_the_circuit_opens_and_closes(self):
        rx = Receiver(default=503)
        d = Daemon(BASE_CONFIG + f"""inputs:
  - type: native_json
notifications:
  targets:
    - name: limited
      url: http://127.0.0.1:{rx.port}/hook
      events: [incident.opened]
      rate_limit: 5
      retry_initial: 10ms
      retry_max: 20ms
      circuit_failures: 3
      circuit_open_for: 200ms
""").start()
        try:
            self.send(d, {"resource": "r0", "check": "c", "severity": "major"})
            # Three failures in a row open the circuit.
            deadline = time.monotonic() + 10
            while d.metrics().get('triaged_notification_circuit_open{target="limited"}') != 1:
                self.assertLess(time.monotonic(), deadline, rx.requests)
                time.sleep(0.02)  # polling the daemon's own retry timers (bounded)
            failed = len(rx.requests)
            self.assertGreaterEqual(failed, 3)
            # Open: probes at least 200 ms apart, not every 10-20 ms as the backoff alone would.
            with rx.cond:
                rx.default = 200
            rx.wait_delivered(1)
            probes = [r["at"] for r in rx.requests[2:]]
            for a, b in zip(probes, probes[1:]):
                self.assertGreaterEqual(b - a, 0.19)
            self.wait_api(d, "/api/v1/notifications", lambda j: j["targets"][0]["pending"] == 0)
            self.assertEqual(d.metrics()['triaged_notification_circuit_open{target="limited"}'], 0)
            # Rate limit 5/s (burst 5): 15 incidents take at least 2 s to deliver.
            start = len(rx.requests)
            self.send(d, *[{"resource": f"r{i}", "check": "c", "severity": "major"} for i in range(1, 16)])
            got = rx.wait_delivered(16)
            times = [r["at"] for r in rx.requests[start:]]
            self.assertEqual(len(times), 15)
            self.assertGreaterEqual(times[-1] - times[0], 1.9)
        finally:
            d.close()
            rx.close()

    def test_too_old_entries_are_dead_lettered_and_redelivered_on_request(self):
        rx = Receiver(default=503)
        d = Daemon(config(rx.port).replace("      retry_max: 200ms\n",
                                           "      retry_max: 200ms\n      max_age: 300ms\n")).start()
        try:
            self.send(d, {"resource": "vm2", "check": "disk", "severity": "major"})
            dead = self.wait_api(d, "/api/v1/notifications/dead", lambda j: len(j["dead"]) == 1)["dead"][0]
            self.assertEqual(dead["event"], "incident.opened")
            self.assertIn("HTTP 503", dead["last_error"])
            self.assertGreaterEqual(dead["attempts"], 1)
            with rx.cond:
                rx.default = 200
            status, _, body = d.request("POST", f"/api/v1/notifications/dead/{dead['id']}/redeliver", "")
            self.assertEqual(status, 200, body)
            got = rx.wait_delivered(1)
            self.assertEqual(got[0]["headers"]["Idempotency-Key"], f"triaged-{dead['id']}")
            self.wait_api(d, "/api/v1/notifications/dead", lambda j: j["dead"] == [])
            status, _, _ = d.request("POST", "/api/v1/notifications/dead/999/redeliver", "")
            self.assertEqual(status, 404)
            status, _, body = d.request("POST", "/api/v1/notifications/dead/x1/redeliver", "")
            self.assertEqual(status, 400)
            self.assertIn("invalid notification id", body)
        finally:
            d.close()
            rx.close()

    def test_the_outbox_survives_kill_9_while_the_receiver_is_down(self):
        rx = Receiver(default=503)
        d = Daemon(config(rx.port)).start()
        try:
            self.send(d, {"resource": "vm3", "check": "mem", "severity": "major"})
            with rx.cond:
                while not rx.requests:
                    rx.cond.wait(10)
                key = rx.requests[0]["headers"]["Idempotency-Key"]
            d.signal(signal.SIGKILL)
            d.proc.wait(30)
            with rx.cond:
                rx.default = 200
            d.messages.clear()
            d.start()
            got = rx.wait_delivered(1)
            self.assertEqual(got[0]["headers"]["Idempotency-Key"], key)
            self.assertEqual(got[0]["headers"]["X-Triaged-Event"], "incident.opened")
        finally:
            d.close()
            rx.close()


if __name__ == "__main__":
    unittest.main()
