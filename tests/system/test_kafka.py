"""The Kafka input against real Kafka protocol peers: librdkafka's mock cluster
(triaged-kafka-mock) and the real binary. At least once: every produced event is applied,
offsets are committed only for what was applied (a kill -9 loses nothing; a stop commits
exactly what was read), a malformed message is skipped, counted, logged and dead-lettered, two
daemons of one group share the partitions and hand them over. The consumer runs on its own
thread and clock, so the tests wait (bounded) for what they can observe."""
import json
import re
import signal
import time
import unittest

from harness import BASE_CONFIG, Daemon, free_port, run, wait_for, BIN
from kafka import KafkaCluster


def kafka_config(bootstrap, extra="", topics="[alerts]", state_extra=""):
    return BASE_CONFIG.replace("shutdown:", state_extra + "shutdown:") + f"""inputs:
  - type: kafka
    brokers: ["{bootstrap}"]
    group_id: noc
    topics: {topics}
{extra}"""


# The mock cluster rebalances after a member's session expires rather than at once on its
# LeaveGroup (or, after a kill -9, ever hearing from it again): short sessions keep hand-overs
# quick (the default, 45 s, is what a real group waits for a member that died).
QUICK = '    properties: {{"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"}}\n'


def events(n, distinct, prefix="h"):
    return [json.dumps({"resource": f"{prefix}{i % distinct}", "check": "Disk", "severity": "major",
                        "value": i}) for i in range(n)]


class Kafka(unittest.TestCase):
    def setUp(self):
        self.kafka = KafkaCluster({"alerts": 3, "am": 1, "pd": 1, "dead": 1, "wide": 6})
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.close()
        self.kafka.close()

    def daemon(self, config):
        d = Daemon(config).start()
        self.daemons.append(d)
        return d

    def accepted(self, d):
        return d.metrics().get('triaged_input_events_accepted_total{input="kafka"}', 0)

    def matched(self, d):
        return d.get_json("/api/v1/alerts?limit=1")["matched"]

    def test_every_partition_applied_malformed_dead_lettered_offsets_committed(self):
        k = self.kafka
        d = self.daemon(kafka_config(k.bootstrap, topics="[alerts, {{name: am, format: alertmanager}}]",
                                     extra="    dead_letter_topic: dead\n"))
        lines = events(3000, 1000)
        lines.insert(1500, '{"resource": "db1", "check": "Down", "colour": "red"}')  # unknown field
        self.assertEqual(k.produce("alerts", lines, partitions=3), 3001)
        k.produce("am", [json.dumps({"version": "4", "status": "firing", "alerts": [
            {"status": "firing", "labels": {"alertname": "Hot", "instance": "web1", "severity": "page"}}]})])
        wait_for("3001 events (the 3000 valid ones and the Alertmanager alert) applied",
                 lambda: self.accepted(d) == 3001, timeout=60)
        self.assertEqual(self.matched(d), 1001)
        hot = d.get_json("/api/v1/alerts?check=Hot")["data"][0]
        self.assertEqual(hot["resource"], "web1")
        self.assertEqual(hot["severity"], "critical")  # Alertmanager's "page"
        counts = sum(a["count"] for a in d.get_json("/api/v1/alerts?check=Disk&limit=1000")["data"])
        self.assertEqual(counts, 3000)
        m = d.metrics()
        self.assertEqual(m['triaged_input_events_rejected_total{input="kafka",reason="unknown_field"}'], 1)
        self.assertEqual(m['triaged_kafka_messages_total{input="kafka",result="malformed",topic="alerts"}'], 1)
        self.assertEqual(m['triaged_kafka_messages_total{input="kafka",result="applied",topic="alerts"}'], 3000)
        self.assertEqual(m['triaged_kafka_partitions_assigned{input="kafka"}'], 4)
        (dead,) = k.consume("dead", 1)
        self.assertIn('"colour"', dead["value"])
        self.assertIn("colour", dead["headers"]["triaged-error"])
        topic, part, offset = dead["headers"]["triaged-source"].split("/")
        self.assertEqual(topic, "alerts")
        self.assertIn(f"alerts [{part}] offset {offset}: skipped", d.log())
        # A stop commits what was applied: every message of every partition, the malformed one too.
        d.stop()
        self.assertEqual(k.committed("noc", "alerts", 3), {0: 1001, 1: 1000, 2: 1000})
        self.assertEqual(k.committed("noc", "am", 1), {0: 1})

    def test_pagerduty_topic_triggers_resolves_and_acknowledges(self):
        k = self.kafka
        d = self.daemon(kafka_config(k.bootstrap, topics="[{{name: pd, format: pagerduty}}]",
                                     extra="    dead_letter_topic: dead\n"))

        def pd(action, key, **payload):
            body = {"routing_key": "r", "event_action": action, "dedup_key": key}
            if payload:
                body["payload"] = payload
            return json.dumps(body)
        k.produce("pd", [
            pd("trigger", "raid", summary="raid degraded", source="nas1", severity="error"),
            pd("trigger", "fan", summary="fan slow", source="nas2", severity="warning", component="fan"),
            pd("acknowledge", "raid"),  # its trigger is in the same batch: applied after it
            pd("resolve", "fan"),
            json.dumps({"event_action": "trigger", "payload": {"summary": "s", "source": "x", "severity": "info"}}),
        ])
        raid = lambda: [i for i in d.get_json("/api/v1/incidents?limit=100")["incidents"]
                        if i["title"] == "raid degraded"]
        wait_for("the raid incident acknowledged", lambda: [i["status"] for i in raid()] == ["acknowledged"],
                 timeout=60)
        one = d.get_json(f"/api/v1/incidents/{raid()[0]['id']}")
        self.assertEqual((one["timeline"][-1]["actor"], one["timeline"][-1]["action"]), ("kafka", "acknowledged"))
        alerts = {a["resource"]: a for a in d.get_json("/api/v1/alerts?limit=10")["data"]}
        self.assertEqual(set(alerts), {"nas1", "nas2"})
        self.assertEqual((alerts["nas1"]["status"], alerts["nas1"]["severity"]), ("firing", "major"))  # "error"
        self.assertEqual((alerts["nas2"]["status"], alerts["nas2"]["check"]), ("resolved", "fan"))
        m = d.metrics()
        self.assertEqual(m['triaged_kafka_messages_total{input="kafka",result="applied",topic="pd"}'], 4)
        self.assertEqual(m['triaged_kafka_messages_total{input="kafka",result="malformed",topic="pd"}'], 1)
        (dead,) = k.consume("dead", 1)
        self.assertIn("routing_key", dead["headers"]["triaged-error"])
        d.stop()
        self.assertEqual(k.committed("noc", "pd", 1), {0: 5})

    def test_a_broker_down_moves_its_partitions_and_nothing_is_lost(self):
        k = KafkaCluster({"spread": 3}, brokers=3)
        try:
            for p in range(3):  # one partition led by each broker
                k.command(f"leader spread {p} {p + 1}")
            d = self.daemon(kafka_config(k.bootstrap, topics="[spread]", extra=QUICK))
            k.produce("spread", events(3000, 3000), partitions=3)
            wait_for("the first 3000 events applied", lambda: self.accepted(d) == 3000, timeout=60)
            # Broker 1 dies; as a cluster's controller would, its partition moves to broker 2.
            k.command("down 1")
            k.command("leader spread 0 2")
            k.produce("spread", [json.dumps({"resource": f"h{3000 + i}", "check": "Disk",
                                             "severity": "major"}) for i in range(3000)],
                      partitions=3)
            wait_for("all 6000 events applied", lambda: self.accepted(d) == 6000, timeout=120)
            self.assertEqual(self.matched(d), 6000)
            # Back up: the offsets of everything applied get committed (the group's coordinator
            # may have been the broker that was down), and a stop leaves them there.
            k.command("up 1")
            wait_for("every applied offset committed",
                     lambda: sum(k.committed("noc", "spread", 3).values()) == 6000, timeout=90)
            d.stop()
            self.assertEqual(sum(k.committed("noc", "spread", 3).values()), 6000)
        finally:
            k.close()

    def test_kill_9_while_consuming_loses_nothing(self):
        k = self.kafka
        n = 30000
        k.produce("alerts", events(n, n), partitions=3)
        config = kafka_config(k.bootstrap, extra="    batch_events: 500\n" + QUICK,
                              state_extra="pipeline:\n  queue_batches: 4\n")
        d = self.daemon(config)
        wait_for("some events applied", lambda: self.accepted(d) >= 3000, timeout=60)
        d.signal(signal.SIGKILL)
        d.proc.wait(10)
        d.start()
        # Everything the first run applied is still there (committed state), and what it read
        # but had not committed the offsets of is read again: all present, each alert once.
        wait_for(f"all {n} alerts", lambda: self.matched(d) == n, timeout=120)
        d.stop()
        self.assertEqual(sum(k.committed("noc", "alerts", 3).values()), n)

    def test_two_daemons_of_one_group_share_the_partitions_and_hand_them_over(self):
        k = self.kafka
        a = self.daemon(kafka_config(k.bootstrap, topics="[wide]", extra=QUICK))
        b = self.daemon(kafka_config(k.bootstrap, topics="[wide]", extra=QUICK))
        assigned = lambda d: d.metrics().get('triaged_kafka_partitions_assigned{input="kafka"}', 0)  # noqa: E731
        wait_for("the six partitions split between the two", lambda: assigned(a) + assigned(b) == 6
                 and assigned(a) > 0 and assigned(b) > 0, timeout=60)
        k.produce("wide", events(3000, 3000, "x"), partitions=6)
        wait_for("the first 3000 applied by the two", lambda: self.accepted(a) + self.accepted(b) == 3000, timeout=60)
        a.stop()  # revokes its partitions: commits what it applied; b takes them over
        k.produce("wide", events(3000, 3000, "y"), partitions=6)
        wait_for("b takes all six partitions", lambda: assigned(b) == 6, timeout=60)
        ys = lambda: b.get_json('/api/v1/alerts?limit=1&filter={resource=~"y.*"}')["matched"]  # noqa: E731
        wait_for("the next 3000 applied by b", lambda: ys() == 3000, timeout=60)
        b.stop()
        self.assertEqual(sum(k.committed("noc", "wide", 6).values()), 6000)

    def test_consumers_of_one_daemon_share_the_partitions_through_rebalances(self):
        k = self.kafka
        two = "    consumers: 2\n" + QUICK
        a = self.daemon(kafka_config(k.bootstrap, topics="[wide]", extra=two))
        assigned = lambda d: d.metrics().get('triaged_kafka_partitions_assigned{input="kafka"}', 0)  # noqa: E731
        wait_for("the six partitions assigned to a's two consumers", lambda: assigned(a) == 6
                 and "consumer 0: assigned" in a.log() and "consumer 1: assigned" in a.log(), timeout=60)
        k.produce("wide", events(3000, 3000, "x"), partitions=6)
        wait_for("3000 applied by a", lambda: self.accepted(a) == 3000, timeout=60)
        # A second daemon with two consumers joins: four members, partitions move between them.
        b = self.daemon(kafka_config(k.bootstrap, topics="[wide]", extra=two))
        wait_for("the six partitions over the four consumers", lambda: assigned(b) > 0
                 and assigned(a) + assigned(b) == 6, timeout=60)
        k.produce("wide", events(3000, 3000, "y"), partitions=6)
        ys = lambda d: d.get_json('/api/v1/alerts?limit=1&filter={resource=~"y.*"}')["matched"]  # noqa: E731
        wait_for("the next 3000 applied by the two", lambda: ys(a) + ys(b) == 3000, timeout=60)
        a.stop()  # both of a's consumers drain, commit and leave; b's two take everything
        wait_for("b takes all six partitions", lambda: assigned(b) == 6, timeout=60)
        k.produce("wide", events(3000, 3000, "z"), partitions=6)
        zs = lambda: b.get_json('/api/v1/alerts?limit=1&filter={resource=~"z.*"}')["matched"]  # noqa: E731
        wait_for("the last 3000 applied by b", lambda: zs() == 3000, timeout=60)
        b.stop()
        self.assertEqual(sum(k.committed("noc", "wide", 6).values()), 9000)

    def test_start_from_latest_skips_the_backlog(self):
        k = self.kafka
        k.produce("alerts", events(100, 100, "old"), partitions=3)
        # A group without committed offsets starts at the end (earliest, the default, reads the
        # backlog: the first test).
        d = self.daemon(kafka_config(k.bootstrap, extra="    start_from: latest\n"))
        assigned = lambda: d.metrics().get('triaged_kafka_partitions_assigned{input="kafka"}', 0)  # noqa: E731
        wait_for("the three partitions assigned", lambda: assigned() == 3, timeout=60)
        # The end offsets are looked up after the assignment: produce until one message lands.
        deadline = time.monotonic() + 60
        while self.accepted(d) == 0:
            self.assertLess(time.monotonic(), deadline, "nothing consumed after start_from: latest")
            k.produce("alerts", events(1, 1, "new"), partitions=1)
            sent = time.monotonic()
            while self.accepted(d) == 0 and time.monotonic() - sent < 2:
                time.sleep(0.05)  # the consumer's own clock: polled, bounded
        old = d.get_json('/api/v1/alerts?limit=1&filter={resource=~"old.*"}')["matched"]
        self.assertEqual(old, 0)

    def test_batch_wait_bounds_how_long_a_batch_gathers_while_messages_keep_coming(self):
        k = self.kafka
        n = 60000
        k.produce("alerts", events(n, 1000), partitions=3)
        batches = {}
        for wait in ("10s", None):  # the default: 5ms
            extra = "    batch_events: 100000\n" + (f"    batch_wait: {wait}\n" if wait else "")
            d = self.daemon(kafka_config(k.bootstrap, extra=extra).replace("group_id: noc", f"group_id: g{wait}"))
            wait_for(f"{n} events applied", lambda: self.accepted(d) == n, timeout=120)
            batches[wait] = sum(v for key, v in d.metrics().items()
                                if key.startswith("triaged_pipeline_batch_latency_seconds_count"))
            d.stop()
        # A backlog comes in polls of 50 ms: 5 ms apart, each poll is a batch; with 10 s, a batch
        # gathers until the backlog is read (a poll that finds nothing ends it).
        self.assertGreater(batches[None], 3 * batches["10s"], batches)

    def test_configuration_mistakes_are_refused_with_the_key(self):
        d = Daemon("")
        self.daemons.append(d)
        cases = [
            ('    properties: {{"enable.auto.commit": "false"}}\n', "properties.enable.auto.commit: is set by triaged"),
            ('    properties: {{"no.such.property": "1"}}\n', "properties.no.such.property"),
            ('    bearer_token: secret\n', "bearer_token: is not supported by this input"),
            ('    consumers: 0\n', "consumers: must be at least 1"),
            ('    consumers: 65\n', "consumers"),
        ]
        for extra, want in cases:
            d.write_config(kafka_config(self.kafka.bootstrap, extra=extra))
            r = run(["--check-config", "--config", d.config_path])
            self.assertEqual(r.returncode, 1, extra)
            self.assertIn(want, r.stderr, extra)
        d.write_config(BASE_CONFIG + "inputs:\n  - type: kafka\n    brokers: [nohost]\n")
        r = run(["--check-config", "--config", d.config_path])
        self.assertEqual(r.returncode, 1)
        self.assertIn('brokers[0]: expected host:port, got "nohost"', r.stderr)
        self.assertIn("topics: at least one topic is required", r.stderr)

    def test_librdkafka_speaks_through_the_daemons_log(self):
        # A broker that is not there: librdkafka reports it in the daemon's log (its level, the
        # client's name), not in its own format on stderr.
        d = self.daemon(kafka_config(f"127.0.0.1:{free_port()}"))
        wait_for("librdkafka's connection failure in the log",
                 lambda: re.search(r"\[kafka\] triaged-kafka-0#consumer-\d+: \w+: .*refused", d.log()),
                 timeout=30)
        self.assertFalse(re.search(r"^%\d\|", d.log(), re.M), d.log()[-2000:])


if __name__ == "__main__":
    unittest.main()
