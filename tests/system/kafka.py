"""A Kafka cluster for the tests: librdkafka's mock brokers in a triaged-kafka-mock process
(tests/support/kafka_mock.cpp), with a producer, the group's committed offsets and a reader.
The tool is found beside the triaged binary (TRIAGED_BIN) or named by TRIAGED_KAFKA_MOCK."""
import json
import os
import subprocess

from harness import BIN

MOCK = os.environ.get("TRIAGED_KAFKA_MOCK") or os.path.join(os.path.dirname(os.path.abspath(BIN)),
                                                            "triaged-kafka-mock")


class KafkaCluster:
    def __init__(self, topics, brokers=1):
        args = [MOCK, "cluster", "--brokers", str(brokers)]
        for name, partitions in topics.items():
            args += ["--topic", f"{name}:{partitions}"]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.bootstrap = self.proc.stdout.readline().strip()
        assert self.bootstrap, "the mock cluster printed no bootstrap servers"

    def produce(self, topic, lines, partitions=0, timeout=120):
        r = subprocess.run([MOCK, "produce", "--bootstrap", self.bootstrap, "--topic", topic,
                            "--partitions", str(partitions)], input="".join(l + "\n" for l in lines),
                           capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, r.stderr
        return int(r.stdout.split()[-1])

    def committed(self, group, topic, partitions):
        r = subprocess.run([MOCK, "committed", "--bootstrap", self.bootstrap, "--group", group,
                            "--topic", topic, "--partitions", str(partitions)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return {int(p): int(o) for p, o in (line.split() for line in r.stdout.splitlines())}

    def consume(self, topic, partitions, idle=2):
        r = subprocess.run([MOCK, "consume", "--bootstrap", self.bootstrap, "--topic", topic,
                            "--partitions", str(partitions), "--timeout", str(idle)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return [json.loads(line) for line in r.stdout.splitlines()]

    def command(self, line):
        """A change to the cluster (kafka_mock.cpp): "down ID", "up ID", "leader TOPIC P ID"."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        assert answer == "ok", f"{line}: {answer}"

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
