"""System tests of the live stream (GET /api/v1/stream), named users and roles, the console's
routes and the security headers, against the real binary on 127.0.0.1."""
import json
import os
import socket
import time
import unittest
import urllib.parse

from harness import BASE_CONFIG, SOURCE, Daemon, wait_for

USERS = BASE_CONFIG + """
inputs:
  - name: api
    type: native_json
auth:
  read:
    bearer_token: legacy-read
  admin:
    bearer_token: legacy-admin
  users:
    - name: vic
      role: viewer
      bearer_token: vic-token
    - name: alice
      role: operator
      bearer_tokens_files: [alice.tokens]
    - name: root
      role: admin
      bearer_token: root-token
stream:
  max_clients: 3
  heartbeat_interval: 1s
  buffer_events: 64
  client_buffer_bytes: 65536
"""


def auth(token):
    return {"Authorization": "Bearer " + token}


class Sse:
    """A raw SSE client: reads frames from the socket, each wait bounded."""

    def __init__(self, d, path="/api/v1/stream", token="vic-token", headers=(), rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", d.port))
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                          f"{extra}\r\n".encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode()
        self.status = int(self.head.split(" ")[1])

    def more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("stream closed")
        self.buf += chunk

    def frame(self):
        """The next frame as a dict of its fields (comments under ':')."""
        while b"\n\n" not in self.buf:
            self.more()
        raw, _, self.buf = self.buf.partition(b"\n\n")
        f = {}
        for line in raw.decode().split("\n"):
            k, _, v = line.partition(":")
            f[k] = v[1:] if v.startswith(" ") else v
        return f

    def event(self, kind=None, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            f = self.frame()
            if "event" in f and (kind is None or f["event"] == kind):
                return f
        raise AssertionError(f"no {kind} event within {timeout}s")

    def close(self):
        self.sock.close()


class StreamAndRoles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(USERS)
        with open(os.path.join(cls.d.dir, "alice.tokens"), "w") as f:
            f.write("# rotation: both work\nalice-old\nalice-new\n")
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def post_alert(self, resource, summary="disk full", severity="critical"):
        body = json.dumps({"resource": resource, "check": "disk", "severity": severity, "summary": summary})
        status, _, text = self.d.request("POST", "/api/v1/events", body, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, text)

    def incident_of(self, resource):
        for inc in self.d.get_json("/api/v1/incidents?limit=10000", auth("vic-token"))["incidents"]:
            if inc["cis"] == [resource]:
                return inc
        raise AssertionError("no incident for " + resource)

    # ---- roles
    def test_whoami_names_the_user_and_role(self):
        self.assertEqual(self.d.get_json("/api/v1/whoami", auth("alice-new")), {"user": "alice", "role": "operator"})
        self.assertEqual(self.d.get_json("/api/v1/whoami", auth("alice-old"))["user"], "alice")
        self.assertEqual(self.d.get_json("/api/v1/whoami", auth("legacy-read")), {"user": None, "role": "viewer"})
        self.assertEqual(self.d.get_json("/api/v1/whoami", auth("legacy-admin")), {"user": None, "role": "admin"})
        status, headers, _ = self.d.request("GET", "/api/v1/whoami")
        self.assertEqual(status, 401)
        self.assertIn("Bearer", headers["WWW-Authenticate"])

    def test_viewer_is_refused_actions_with_403_naming_the_role(self):
        self.post_alert("role-db")
        inc = self.incident_of("role-db")
        status, _, body = self.d.request("POST", f"/api/v1/incidents/{inc['id']}/acknowledge", "{}", auth("vic-token"))
        self.assertEqual(status, 403, body)
        self.assertIn("the operator role is needed; vic is a viewer", body)
        status, _, body = self.d.request("POST", "/-/reload", None, auth("alice-new"))
        self.assertEqual(status, 403)
        self.assertIn("the admin role is needed; alice is an operator", body)
        status, _, body = self.d.request("POST", "/-/reload", None, auth("legacy-read"))
        self.assertEqual(status, 403)
        self.assertIn("this token is a viewer", body)
        status, _, _ = self.d.request("POST", "/-/reload", None, auth("root-token"))
        self.assertEqual(status, 200)
        self.assertGreaterEqual(self.d.metrics(auth("vic-token"))['triaged_http_rejected_total{reason="forbidden"}'], 3)

    def test_actor_is_the_authenticated_user_not_the_by_field(self):
        self.post_alert("actor-db")
        inc = self.incident_of("actor-db")
        status, _, body = self.d.request("POST", f"/api/v1/incidents/{inc['id']}/comment",
                                         json.dumps({"text": "looking", "by": "mallory"}), auth("alice-new"))
        self.assertEqual(status, 200, body)
        entry = json.loads(body)["timeline"][-1]
        self.assertEqual((entry["actor"], entry["action"]), ("alice", "commented"))
        # A group token has no name: its `by` is kept, as before users existed.
        status, _, body = self.d.request("POST", f"/api/v1/incidents/{inc['id']}/comment",
                                         json.dumps({"text": "ok", "by": "bob"}), auth("legacy-admin"))
        self.assertEqual(json.loads(body)["timeline"][-1]["actor"], "bob")

    def test_silence_author_is_the_user(self):
        body = {"matchers": [{"name": "alertname", "value": "x", "isRegex": False}],
                "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
                "createdBy": "someone-else", "comment": "audit"}
        status, _, text = self.d.request("POST", "/api/v2/silences", json.dumps(body), auth("alice-new"))
        self.assertEqual(status, 200, text)
        sid = json.loads(text)["silenceID"]
        got = self.d.get_json(f"/api/v2/silence/{sid}", auth("vic-token"))
        self.assertEqual(got["createdBy"], "alice")

    def test_incidents_count_their_duplicates_on_request(self):
        for _ in range(3):
            self.post_alert("dups-db")
        inc = self.incident_of("dups-db")
        self.assertNotIn("duplicates", inc)  # not without asking: it needs the shards
        listed = self.d.get_json("/api/v1/incidents?limit=10000&duplicates=true", auth("vic-token"))["incidents"]
        mine = [i for i in listed if i["id"] == inc["id"]][0]
        self.assertEqual((mine["events"], mine["duplicates"]), (3, 2))
        one = self.d.get_json(f"/api/v1/incidents/{inc['id']}", auth("vic-token"))
        self.assertEqual((one["alert_counts"], one["events"], one["duplicates"]), ([3], 3, 2))
        status, _, _ = self.d.request("GET", "/api/v1/incidents?duplicates=yes", None, auth("vic-token"))
        self.assertEqual(status, 400)

    def test_incidents_filtered_by_their_alerts_labels(self):
        for resource, team in (("lbl-db", "storage"), ("lbl-web", "web")):
            body = json.dumps({"resource": resource, "check": "disk", "severity": "major", "labels": {"team": team}})
            self.assertEqual(self.d.request("POST", "/api/v1/events", body)[0], 200)
        q = urllib.parse.quote('{team="storage",resource=~"lbl-.*"}')
        got = self.d.get_json(f"/api/v1/incidents?limit=10000&alert_filter={q}", auth("vic-token"))["incidents"]
        self.assertEqual([i["cis"] for i in got], [["lbl-db"]])
        status, _, body = self.d.request("GET", "/api/v1/incidents?alert_filter=" + urllib.parse.quote("{team="), None,
                                         auth("vic-token"))
        self.assertEqual(status, 400)
        self.assertIn("alert_filter:", body)

    # ---- the stream
    def test_events_arrive_as_committed_with_ids_and_types(self):
        s = Sse(self.d, "/api/v1/stream?types=incident,alert")
        try:
            self.assertEqual(s.status, 200)
            self.assertIn("text/event-stream", s.head)
            hello = s.event("hello")
            self.assertIn("id", hello)
            self.post_alert("stream-db", summary="<img src=x onerror=alert(1)>")
            alert = s.event("alert")
            a = json.loads(alert["data"])
            self.assertEqual((a["resource"], a["change"], a["status"]), ("stream-db", "new", "firing"))
            self.assertEqual(a["summary"], "<img src=x onerror=alert(1)>")
            inc = json.loads(s.event("incident")["data"])
            self.assertEqual(inc["event"], "incident.opened")
            self.assertEqual(inc["incident"]["cis"], ["stream-db"])
            self.assertIn("sla", inc["incident"])
        finally:
            s.close()

    def test_type_filter_and_unknown_type(self):
        status, _, body = self.d.request("GET", "/api/v1/stream?types=incident,bogus", None, auth("vic-token"))
        self.assertEqual(status, 400)
        self.assertIn('unknown event type \\"bogus\\"', body)
        s = Sse(self.d, "/api/v1/stream?types=silence")
        try:
            s.event("hello")
            self.post_alert("filter-db")  # alert and incident events: not for this client
            body = {"matchers": [{"name": "alertname", "value": "y", "isRegex": False}],
                    "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
                    "createdBy": "t", "comment": "filter"}
            self.d.request("POST", "/api/v2/silences", json.dumps(body), auth("alice-new"))
            f = s.event()
            self.assertEqual(f["event"], "silence")
            self.assertEqual(json.loads(f["data"])["comment"], "filter")
        finally:
            s.close()

    def test_last_event_id_replays_what_was_missed(self):
        s = Sse(self.d, "/api/v1/stream?types=alert")
        s.event("hello")
        self.post_alert("replay-1")
        first = s.event("alert")
        while json.loads(first["data"])["resource"] != "replay-1":
            first = s.event("alert")  # an earlier test's alert, published after this connected
        s.close()
        self.post_alert("replay-2")
        self.post_alert("replay-3")
        s = Sse(self.d, "/api/v1/stream?types=alert", headers=[("Last-Event-ID", first["id"])])
        try:
            self.assertEqual(json.loads(s.event("hello")["data"])["resumed"], True)
            got = [json.loads(s.event("alert")["data"])["resource"] for _ in range(2)]
            self.assertEqual(got, ["replay-2", "replay-3"])
        finally:
            s.close()
        # An id from another run (or gone from the ring) gets a resync.
        s = Sse(self.d, "/api/v1/stream", headers=[("Last-Event-ID", "1-1")])
        try:
            self.assertIn("restarted", json.loads(s.event("resync")["data"])["reason"])
        finally:
            s.close()
        # Garbage, or an id from the future: a resync naming why, counted; never a crash.
        for bad, why in (("not-an-id", "not an id"), ("x" * 4000, "not an id"),
                         (first["id"].split("-")[0] + "-99999999", "ahead")):
            s = Sse(self.d, "/api/v1/stream", headers=[("Last-Event-ID", bad)])
            try:
                self.assertIn(why, json.loads(s.event("resync")["data"])["reason"])
            finally:
                s.close()
        self.assertGreaterEqual(self.d.metrics(auth("vic-token"))["triaged_stream_resyncs_total"], 4)

    def test_heartbeat_comment_keeps_an_idle_stream_alive(self):
        s = Sse(self.d, "/api/v1/stream?types=heartbeat")
        try:
            s.event("hello")
            f = s.frame()  # nothing happens: the next frame is the keepalive comment (1 s here)
            self.assertIn("", f)
            self.assertEqual(f[""], "keepalive")
        finally:
            s.close()

    def test_client_limit_answers_503(self):
        clients = []
        try:
            while True:
                c = Sse(self.d)
                if c.status != 200:
                    self.assertEqual(c.status, 503)
                    self.assertIn("Retry-After: 5", c.head)
                    c.close()
                    break
                clients.append(c)
                self.assertLessEqual(len(clients), 3)
            self.assertEqual(len(clients), 3)
            self.assertGreaterEqual(self.d.metrics(auth("vic-token"))["triaged_stream_clients_refused_total"], 1)
        finally:
            for c in clients:
                c.close()

    def test_slow_client_is_cut_off_and_ingest_goes_on(self):
        before = self.d.metrics(auth("vic-token")).get('triaged_stream_clients_dropped_total{reason="slow"}', 0)
        slow = Sse(self.d, rcvbuf=4096)  # and never reads
        try:
            # The kernel's send buffer (it grows to megabytes on loopback) takes what the client
            # does not read before the client falls behind: post until it is cut off, bounded
            # at ~24 MB of events; every post is answered meanwhile.
            big = "x" * 4000
            dropped = before
            for i in range(3000):
                self.post_alert(f"slow-{i}", summary=big)
                if i % 50 == 49:
                    dropped = self.d.metrics(auth("vic-token"))['triaged_stream_clients_dropped_total{reason="slow"}']
                    if dropped > before:
                        break
            self.assertEqual(dropped, before + 1)
        finally:
            slow.close()


class NobodyListening(unittest.TestCase):
    """With no client connected and none within stream.resume_window (0 here), no events are
    built: a reconnect from before that gap gets a resync, a fresh client everything after."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(BASE_CONFIG + """
inputs:
  - name: api
    type: native_json
stream:
  resume_window: 0s
""").start()

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def post_alert(self, resource):
        body = json.dumps({"resource": resource, "check": "disk", "severity": "critical", "summary": "x"})
        status, _, text = self.d.request("POST", "/api/v1/events", body, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, text)

    def unbuilt(self):
        return self.d.metrics().get("triaged_stream_rounds_unbuilt_total", 0)

    def unheard_then_resync(self, resource, last_id):
        """Once the client is gone, an alert nobody hears (its round committed unbuilt); then a
        reconnect from last_id gets a resync naming the gap."""
        wait_for("the client to be gone", lambda: self.d.metrics()["triaged_stream_clients"] == 0, 10)
        before = self.unbuilt()
        self.post_alert(resource)
        wait_for("an unbuilt round", lambda: self.unbuilt() > before, 10)
        s = Sse(self.d, "/api/v1/stream", headers=[("Last-Event-ID", last_id)])
        try:
            self.assertIn("not kept", json.loads(s.event("resync")["data"])["reason"])
        finally:
            s.close()

    def test_a_gap_while_nobody_listens_gets_a_resync(self):
        # Before anything was published: the hello's id is "<run>-0".
        s = Sse(self.d, "/api/v1/stream")
        try:
            first = s.event("hello")
            self.assertTrue(first["id"].endswith("-0"), first)
        finally:
            s.close()
        self.unheard_then_resync("unheard-0", first["id"])
        s = Sse(self.d, "/api/v1/stream?types=alert")
        try:
            s.event("hello")
            self.post_alert("listened-1")
            seen = s.event("alert")
            self.assertEqual(json.loads(seen["data"])["resource"], "listened-1")
        finally:
            s.close()
        self.unheard_then_resync("unheard-1", seen["id"])
        # A client that connects gets events again, from its hello on.
        s = Sse(self.d, "/api/v1/stream?types=alert")
        try:
            hello = s.event("hello")
            self.post_alert("listened-2")
            got = s.event("alert")
            self.assertEqual(json.loads(got["data"])["resource"], "listened-2")
            self.assertGreater(int(got["id"].split("-")[1]), int(hello["id"].split("-")[1]))
        finally:
            s.close()


class ConsoleRoutes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(BASE_CONFIG + "console:\n  frame_ancestors: [\"'self'\", https://wall.example.org]\n").start()

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def test_console_page_has_a_strict_policy(self):
        status, headers, body = self.d.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn('<script type="module" src="/console/app.js">', body)
        csp = headers["Content-Security-Policy"]
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertIn("frame-ancestors 'self' https://wall.example.org", csp)
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        status, headers, _ = self.d.request("GET", "/console/app.js")
        self.assertEqual(status, 200)
        self.assertIn("javascript", headers["Content-Type"])
        status, _, _ = self.d.request("GET", "/console/nope.js")
        self.assertEqual(status, 404)

    def test_api_answers_carry_nosniff_and_no_framing(self):
        status, headers, _ = self.d.request("GET", "/api/v1/status")
        self.assertEqual(status, 200)
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertIn("frame-ancestors 'none'", headers["Content-Security-Policy"])

    def test_open_daemon_acts_as_admin(self):
        self.assertEqual(self.d.get_json("/api/v1/whoami"), {"user": None, "role": "admin"})

    def test_console_assets_stay_under_300_kb(self):
        folder = os.path.join(SOURCE, "engine", "src", "console", "assets")
        total = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        self.assertLess(total, 300 * 1024)
        # No inline script or style in the page (the policy would refuse them).
        with open(os.path.join(folder, "index.html")) as f:
            page = f.read()
        self.assertNotIn("<script>", page)
        self.assertNotIn("style=", page)


if __name__ == "__main__":
    unittest.main()
