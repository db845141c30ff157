"""Starts the real triaged binary on 127.0.0.1 port 0 and talks to it over real sockets.

Readiness comes from the systemd notify protocol: the harness binds a NOTIFY_SOCKET and waits
for READY=1, whose STATUS names the bound port. Nothing sleeps to wait for work; every wait
is bounded.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BIN = os.environ.get("TRIAGED_BIN", "triaged")
SOURCE = os.environ.get("TRIAGED_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))

BASE_CONFIG = """
server:
  listen: 127.0.0.1:0
  io_threads: 2
state:
  directory: {state}
shutdown:
  drain_timeout: 10s
rule_files: []
"""


class Daemon:
    def __init__(self, config=BASE_CONFIG, args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="triaged-system-")
        self.config_path = os.path.join(self.dir, "triaged.yaml")
        self.write_config(config)
        self.notify_path = os.path.join(self.dir, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.messages = []
        self.args = list(args)
        self.env = dict(os.environ, NOTIFY_SOCKET=self.notify_path,
                        TRIAGED_PORT_FILE=os.path.join(self.dir, "ports"))
        self.env.pop("JOURNAL_STREAM", None)
        if env:
            self.env.update(env)
        self.proc = None
        self.port = None
        self.stderr_path = os.path.join(self.dir, "stderr.log")

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text.format(state=os.path.join(self.dir, "state")))

    def start(self, timeout=20):
        if hasattr(self, "stderr"):
            self.stderr.close()  # a restart: the log starts again
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([BIN, "--config", self.config_path] + self.args,
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=self.stderr)
        msg = self.wait_notify("READY=1", timeout)
        m = re.search(r"STATUS=listening on 127\.0\.0\.1:(\d+)", msg)
        assert m, msg
        self.port = int(m.group(1))
        return self

    def wait_notify(self, key, timeout=10):
        """Returns the first notify datagram (not yet consumed) containing `key`."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.messages):
                if key in m.split("\n"):
                    del self.messages[: i + 1]
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {key} notification within {timeout}s; got {self.messages}; "
                                     f"stderr: {self.log()}")
            if self.proc.poll() is not None:
                raise AssertionError(f"triaged exited with {self.proc.returncode}: {self.log()}")
            self.notify.settimeout(min(left, 0.5))
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except socket.timeout:
                pass

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def request(self, method, path, body=None, headers=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode()
        finally:
            c.close()

    def get_json(self, path, headers=None):
        status, _, body = self.request("GET", path, headers=headers)
        assert status == 200, (status, body)
        return json.loads(body)

    def metrics(self):
        """Parses /metrics into {'name{labels}': value}."""
        status, headers, body = self.request("GET", "/metrics")
        assert status == 200, body
        out = {}
        for line in body.splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
        return out

    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return s

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("triaged did not stop within %ss" % timeout)
        return self.proc.returncode if self.proc else None

    def close(self):
        """Stops a daemon still running with SIGTERM and checks that it exits 0; in any case
        checks its stderr for sanitizer reports (ASan, UBSan, LSan, TSan), so that an error after a
        test's last request is not lost. A daemon a test killed on purpose is not judged."""
        try:
            code = None
            if self.proc and self.proc.poll() is None:
                code = self.stop()
            log = self.log() if os.path.exists(self.stderr_path) else ""
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                           "WARNING: ThreadSanitizer"):
                if marker in log:
                    raise AssertionError(f"sanitizer report in triaged's stderr:\n{log[-6000:]}")
            if code is not None and code != 0:
                raise AssertionError(f"triaged exited with {code} on SIGTERM: {log[-3000:]}")
        finally:
            self.notify.close()
            if hasattr(self, "stderr"):
                self.stderr.close()
            shutil.rmtree(self.dir, ignore_errors=True)


def read_response(sock):
    """Reads one HTTP response from a raw socket: (status, head, body); (0, '', '') on EOF."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, "", ""
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    head = head.decode()
    m = re.search(r"(?im)^content-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(head.split(" ")[1]), head, rest[:n].decode()


def run(args, env=None, timeout=60):
    return subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))
