"""System test of ingestion on the real binary: events streamed over TCP and sent over HTTP,
then the alert table and the metrics checked exactly. TCP completion is known without polling:
after the sender half-closes, triaged closes its side once everything it received is applied."""
import json
import socket
import unittest

from harness import BASE_CONFIG, Daemon, read_response, rfc3339

T0 = 1_780_000_000_000

CONFIG = BASE_CONFIG + """pipeline:
  shards: 2
inputs:
  - type: native_json
    name: http
  - type: ndjson_tcp
    name: tcp
    listen: 127.0.0.1:0
  - type: alertmanager_api
  - type: pagerduty
  - type: syslog
    listen_tcp: 127.0.0.1:0
    rules:
      - match: 'Interface (?P<interface>\\S+), changed state to down'
        check: LinkDown
  - type: ndjson_tcp
    name: small
    listen: 127.0.0.1:0
    read_buffer_bytes: 4096
    max_event_bytes: 4096
"""


def event(i, **extra):
    e = {"resource": f"host-{i}", "check": "DiskFull", "severity": "critical", "labels": {"team": "storage"}}
    e.update(extra)
    return json.dumps(e)


class Ingest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(CONFIG).start()
        with open(self.d.env["TRIAGED_PORT_FILE"]) as f:
            ports = [int(x) for x in f.read().split()]
        self.tcp_port = ports[1]
        self.syslog_port = ports[2]
        self.small_port = ports[3]

    def tearDown(self):
        self.d.close()

    def stream(self, data, port=None):
        s = socket.create_connection(("127.0.0.1", port or self.tcp_port), timeout=30)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(s.recv(1), b"")  # triaged closes once everything is applied
        s.close()

    def alerts(self, query=""):
        return self.d.get_json("/api/v1/alerts" + query)

    def test_tcp_stream_is_applied_exactly_and_bad_lines_are_skipped(self):
        lines = [event(i % 100) for i in range(1000)]
        lines.insert(500, '{"resource":"broken"')          # line 501: invalid JSON
        lines.insert(700, '{"resource":"x","check":"c","oops":1}')  # line 702: unknown field
        lines.append(event(999)[:-1] + ',"status":"firing"}')  # last line, without a newline
        self.stream(("\n".join(lines)).encode())
        page = self.alerts("?limit=1000&source=tcp")
        self.assertEqual(page["matched"], 101)
        counts = {a["resource"]: a["count"] for a in page["data"]}
        self.assertTrue(all(counts[f"host-{i}"] == 10 for i in range(100)))
        self.assertEqual(counts["host-999"], 1)
        m = self.d.metrics()
        self.assertEqual(m['triaged_input_events_received_total{input="tcp"}'], 1003)
        self.assertEqual(m['triaged_input_events_accepted_total{input="tcp"}'], 1001)
        self.assertEqual(m['triaged_input_events_rejected_total{input="tcp",reason="invalid_json"}'], 1)
        self.assertEqual(m['triaged_input_events_rejected_total{input="tcp",reason="unknown_field"}'], 1)
        self.assertEqual(m['triaged_dedup_events_total{outcome="new"}'], 101)
        self.assertEqual(m['triaged_dedup_events_total{outcome="duplicate"}'], 900)
        self.assertEqual(m['triaged_alerts_active{status="firing"}'], 101)
        self.assertIn("line 501", self.d.log())

    def test_a_tcp_line_longer_than_the_buffer_is_dropped_and_the_lines_after_it_count_on(self):
        long_line = event(7, summary="x" * 10000)  # 2.5 buffers of 4 KiB
        lines = [event(1), long_line, event(2), '{"resource":"broken"', event(3)]
        self.stream("\n".join(lines).encode(), port=self.small_port)
        page = self.alerts("?limit=100&source=small")
        self.assertEqual(sorted(a["resource"] for a in page["data"]), ["host-1", "host-2", "host-3"])
        m = self.d.metrics()
        self.assertEqual(m['triaged_input_events_rejected_total{input="small",reason="too_large"}'], 1)
        self.assertEqual(m['triaged_input_events_rejected_total{input="small",reason="invalid_json"}'], 1)
        self.assertEqual(m['triaged_input_events_accepted_total{input="small"}'], 3)
        self.assertIn("line 4", self.d.log())  # numbering goes on past the dropped line

    def test_http_batches_are_all_or_nothing(self):
        body = "\n".join(event(i) for i in range(50))
        status, _, resp = self.d.request("POST", "/api/v1/events", body, {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 200, resp)
        r = json.loads(resp)
        self.assertEqual((r["accepted"], r["new"], r["duplicates"]), (50, 50, 0))
        # The same again, with one bad event in the middle: nothing of it is applied.
        bad = [event(i) for i in range(50)]
        bad[20] = event(20, severity="apocalyptic")
        status, _, resp = self.d.request("POST", "/api/v1/events", "[" + ",".join(bad) + "]",
                                         {"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        err = json.loads(resp)["detail"]["errors"]
        self.assertEqual((err[0]["index"], err[0]["field"]), (20, "severity"))
        page = self.alerts("?limit=100&source=http")
        self.assertEqual(page["matched"], 50)
        self.assertTrue(all(a["count"] == 1 for a in page["data"]))
        m = self.d.metrics()
        self.assertEqual(m['triaged_input_events_received_total{input="http"}'], 100)
        self.assertEqual(m['triaged_input_events_accepted_total{input="http"}'], 50)
        self.assertEqual(m['triaged_input_events_rejected_total{input="http",reason="invalid_value"}'], 1)
        self.assertEqual(m['triaged_input_events_rejected_total{input="http",reason="batch_invalid"}'], 49)

    def test_every_input_feeds_one_alert_table_with_filters(self):
        self.d.request("POST", "/api/v1/events", event(1, severity="minor"), {"Content-Type": "application/json"})
        self.d.request("POST", "/api/v2/alerts", json.dumps([{"labels": {"alertname": "Down", "instance": "h2"}}]),
                       {"Content-Type": "application/json"})
        status, _, _ = self.d.request("POST", "/v2/enqueue", json.dumps(
            {"routing_key": "k", "event_action": "trigger", "dedup_key": "d1",
             "payload": {"summary": "s", "source": "h3", "severity": "critical"}}), {"Content-Type": "application/json"})
        self.assertEqual(status, 202)
        self.assertEqual(self.alerts()["matched"], 3)
        self.assertEqual(self.alerts("?severity=critical")["matched"], 1)
        self.assertEqual(self.alerts("?min_severity=minor")["matched"], 2)
        self.assertEqual(self.alerts('?filter={team="storage"}')["matched"], 1)
        self.assertEqual(self.alerts('?filter={alertname=~"Do.*"}')["matched"], 1)
        one = self.alerts('?filter={alertname="Down"}')["data"][0]
        got = self.d.get_json("/api/v1/alerts/" + one["fingerprint"])
        self.assertEqual(got["resource"], "h2")
        status, _, _ = self.d.request("GET", "/api/v1/alerts/0000000000000000")
        self.assertEqual(status, 404)


    def test_pagerduty_acknowledge_acknowledges_the_incident_of_its_dedup_key(self):
        def pd(action, key, **payload):
            body = {"routing_key": "k", "event_action": action, "dedup_key": key}
            if payload:
                body["payload"] = payload
            status, _, text = self.d.request("POST", "/v2/enqueue", json.dumps(body), {"Content-Type": "application/json"})
            self.assertEqual(status, 202, text)
            self.assertEqual(json.loads(text)["dedup_key"], key)
        pd("trigger", "ack-me", summary="raid degraded", source="nas1", severity="error")
        # Answered once the acknowledgement is applied: a read after it sees it.
        pd("acknowledge", "ack-me")
        incs = [i for i in self.d.get_json("/api/v1/incidents?limit=10000")["incidents"] if i["title"] == "raid degraded"]
        self.assertEqual(len(incs), 1)
        self.assertEqual(incs[0]["status"], "acknowledged")
        one = self.d.get_json(f"/api/v1/incidents/{incs[0]['id']}")
        self.assertEqual((one["timeline"][-1]["actor"], one["timeline"][-1]["action"]), ("pagerduty", "acknowledged"))
        pd("acknowledge", "no-such-key")  # as PagerDuty: accepted, nothing to do
        # A resolve names the alert by its key and carries no payload: the alert keeps what it is.
        pd("resolve", "ack-me")
        (alert,) = [a for a in self.d.get_json("/api/v1/alerts?limit=100")["data"] if a.get("dedup_key") == "ack-me"]
        self.assertEqual((alert["status"], alert["resource"], alert["check"], alert["summary"]),
                         ("resolved", "nas1", "event", "raid degraded"))

    def test_syslog_over_tcp_with_both_framings(self):
        down = "<163>1 2026-01-01T09:59:00Z router1 ifmgr - - - Interface Gi0/1, changed state to down"
        other = "<165>Jan  1 09:59:00 router2 sshd[1]: Accepted publickey for root"
        framed = "<163>1 - router3 ifmgr - - - Interface Gi0/2, changed state to down"
        data = f"{down}\n{other}\n{len(framed)} {framed}no-pri garbage\n".encode()
        self.stream(data, self.syslog_port)
        page = self.alerts("?source=syslog")
        self.assertEqual(sorted(a["resource"] for a in page["data"]), ["router1", "router3"])
        self.assertEqual({a["labels"]["interface"] for a in page["data"]}, {"Gi0/1", "Gi0/2"})
        m = self.d.metrics()
        self.assertEqual(m['triaged_input_events_rejected_total{input="syslog",reason="no_rule"}'], 1)
        self.assertEqual(m['triaged_input_events_rejected_total{input="syslog",reason="invalid_value"}'], 1)
        self.assertEqual(m['triaged_input_events_accepted_total{input="syslog"}'], 2)



class ConnectionLimits(unittest.TestCase):
    """Both stream inputs (one shared listener) refuse connections beyond max_connections; a
    connection is counted when it is accepted. (Syslog over TCP never counted its connections
    before the listener was shared.)"""

    def test_stream_inputs_refuse_connections_beyond_their_limit(self):
        config = BASE_CONFIG + """inputs:
  - type: ndjson_tcp
    listen: 127.0.0.1:0
    max_connections: 1
  - type: syslog
    listen_tcp: 127.0.0.1:0
    max_connections: 1
    rules:
      - match: 'down'
        check: Down
"""
        d = Daemon(config).start()
        try:
            with open(d.env["TRIAGED_PORT_FILE"]) as f:
                ports = [int(x) for x in f.read().split()]
            for port, line in ((ports[1], b'{"resource":"a","check":"b"}\n'), (ports[2], b"<11>host app: down\n")):
                first = socket.create_connection(("127.0.0.1", port), timeout=30)
                first.sendall(line)  # applied once it is read: the connection is open and counted
                second = socket.create_connection(("127.0.0.1", port), timeout=30)
                self.assertEqual(second.recv(1), b"", "a connection beyond the limit must be closed")
                second.close()
                first.shutdown(socket.SHUT_WR)
                self.assertEqual(first.recv(1), b"")  # the first one was served to the end
                first.close()
            self.assertEqual(d.log().count("connection limit (1) reached"), 2, d.log())
            self.assertEqual(len(d.get_json("/api/v1/alerts")["data"]), 2)
        finally:
            d.close()



class InputTokens(unittest.TestCase):
    """An HTTP input with its own token: checked at the headers, before any body is read; when a
    reload removes it, the ingest group's tokens apply (the route never becomes open)."""

    CONFIG = BASE_CONFIG + """auth:
  ingest:
    bearer_token: group-token
inputs:
  - type: native_json
    bearer_token: input-token
"""

    def setUp(self):
        self.d = Daemon(self.CONFIG).start()

    def tearDown(self):
        self.d.close()

    def post(self, token):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        return self.d.request("POST", "/api/v1/events", json.dumps({"resource": "a", "check": "b"}), headers)[0]

    def test_the_token_is_checked_before_the_body_and_a_reload_never_opens_the_route(self):
        # Headers announcing 16 MiB and a wrong token: the 401 comes without a byte of the body.
        s = self.d.connect()
        s.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 16777216\r\n\r\n")
        status, head, _ = read_response(s)
        s.close()
        self.assertEqual(status, 401, head)
        self.assertEqual((self.post("input-token"), self.post("group-token"), self.post(None)), (200, 401, 401))
        m = self.d.metrics()
        self.assertEqual(m['triaged_input_events_rejected_total{input="native_json",reason="unauthorized"}'], 3)
        # The reload removes the input's own token: the ingest group's token is now required.
        self.d.write_config(self.CONFIG.replace("    bearer_token: input-token\n", ""))
        status, _, body = self.d.request("POST", "/-/reload")
        self.assertEqual(status, 200, body)
        self.assertEqual((self.post(None), self.post("input-token"), self.post("group-token")), (401, 401, 200))


class LatestTexts(unittest.TestCase):
    """An alert's summary changes with every event (it quotes its value): the views the
    correlator serves (Alertmanager's /api/v2/alerts, an incident's alerts) show the latest
    without a change of state: at once when the table rewrote the strings they share in place,
    within a checkpoint interval when the new ones outgrew them; /api/v1/alerts at once."""

    def setUp(self):
        self.d = Daemon(BASE_CONFIG.replace("state:\n", "state:\n  checkpoint_interval: 10s\n") + """inputs:
  - type: native_json
""", env={"TRIAGED_TEST_CLOCK": rfc3339(T0)})
        self.d.start()

    def tearDown(self):
        self.d.close()

    def send(self, summary, value):
        status, _, body = self.d.request("POST", "/api/v1/events", json.dumps(
            {"resource": "db1", "check": "DiskFull", "severity": "major", "summary": summary,
             "value": value, "annotations": {"runbook": f"https://runbooks.example.com/{value}"}}))
        self.assertEqual(status, 200, body)

    def clock(self, ms):
        status, _, body = self.d.request("POST", "/-/test/clock?to=" + rfc3339(ms))
        self.assertEqual(status, 200, body)

    def shown(self):
        [alert] = self.d.get_json("/api/v2/alerts")
        [incident] = self.d.get_json("/api/v1/incidents")["incidents"]
        detail = self.d.get_json(f"/api/v1/incidents/{incident['id']}")
        return (alert["annotations"], [a["summary"] for a in detail["alerts"]])

    def table(self):
        alert = self.d.get_json("/api/v1/alerts")["data"][0]
        return (alert["summary"], alert["value"], alert["status"])

    def test_views_of_the_correlator_show_the_latest_text_at_once_or_within_a_checkpoint(self):
        self.send("Disk 91% full", 91)
        self.clock(T0 + 60_000)  # the incident opens after group_wait
        self.assertEqual(self.shown(), ({"runbook": "https://runbooks.example.com/91", "summary": "Disk 91% full"},
                                        ["Disk 91% full"]))
        # New texts that fit the strings the table shares with the correlator: written in
        # place, the correlator's views show them at once (the table's answer first: the event
        # is applied).
        self.send("Disk 97% full", 97)
        self.assertEqual(self.table(), ("Disk 97% full", 97, "firing"))
        self.assertEqual(self.shown(), ({"runbook": "https://runbooks.example.com/97", "summary": "Disk 97% full"},
                                        ["Disk 97% full"]))
        # Longer ones take new strings in the table: the correlator keeps its own until the
        # next checkpoint...
        long = "Disk 98% full: the volume that holds the database files"
        self.send(long, 98)
        self.assertEqual(self.table(), (long, 98, "firing"))
        self.clock(T0 + 60_000 + 9_999)
        self.assertEqual(self.shown()[1], ["Disk 97% full"])
        # ...which brings them.
        self.clock(T0 + 60_000 + 10_000)
        self.assertEqual(self.shown(), ({"runbook": "https://runbooks.example.com/98", "summary": long},
                                        [long]))


if __name__ == "__main__":
    unittest.main()
