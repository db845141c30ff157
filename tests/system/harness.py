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
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


def wait_for(what, fn, timeout=90):
    """For end-to-end tests with peers on their own clocks (Prometheus, Redmine, retries): polls
    fn until it returns something true, each call's exception taken as "not yet"; bounded."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # a peer still starting
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last}")


def rfc3339(ms):
    """Milliseconds since the epoch as RFC 3339 UTC with milliseconds (TRIAGED_TEST_CLOCK, and
    POST /-/test/clock?to=)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def free_port():
    """A port free on 127.0.0.1 now, for a peer (or a restart) that needs a fixed one."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Set by postgres.py (a server of the tests' own): every Daemon keeps its state in a PostgreSQL
# database of its own instead of a SQLite file, so a system test runs on either backend.
PG = os.environ.get("TRIAGED_TEST_PG", "")


def on_postgres():
    return bool(PG)


def state_on_postgres(text, dbname):
    """The configuration with `directory: {state}` replaced by the postgresql backend."""
    def repl(m):
        ind = m.group(1)
        return (f"{ind}backend: postgresql\n{ind}postgresql:\n"
                f"{ind}  url: \"{PG} dbname={dbname}\"\n")
    return re.sub(r"(?m)^([ \t]*)directory: \{state\}\n", repl, text)


class Daemon:
    def __init__(self, config=BASE_CONFIG, args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="triaged-system-")
        self.pg_db = None
        if PG:
            self.pg_db = "d_" + re.sub(r"[^a-z0-9]", "_", os.path.basename(self.dir).lower())
            subprocess.run(["psql", "-X", "-q", PG + " dbname=postgres", "-c",
                            f"CREATE DATABASE {self.pg_db}"], check=True, capture_output=True)
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
        if self.pg_db:
            text = state_on_postgres(text, self.pg_db)
        with open(self.config_path, "w") as f:
            f.write(text.format(state=os.path.join(self.dir, "state")))

    def start(self, timeout=20):
        if hasattr(self, "stderr"):
            self.stderr.close()  # a restart: the log starts again
        self.stderr = open(self.stderr_path, "wb")
        # What an earlier process said is not this one's: a leader that sent READY=1 again
        # after taking over must not make its restart look ready before it has started.
        self.notify.setblocking(False)
        try:
            while self.notify.recv(4096):
                pass
        except BlockingIOError:
            pass
        self.messages.clear()
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

    def metrics(self, headers=None):
        """Parses /metrics into {'name{labels}': value}."""
        status, headers, body = self.request("GET", "/metrics", headers=headers)
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


def stop_processes(procs, timeout=20):
    """Terminates peer processes (Prometheus, Alertmanager, ...), killing any that linger."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()


def run(args, env=None, timeout=60):
    return subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


class Receiver:
    """Answers with the scripted statuses in order, then with `default`; records every request."""

    def __init__(self, script=(), default=200, delay=0.0):
        self.script, self.default, self.delay = list(script), default, delay
        self.requests = []
        self.active = self.max_active = 0  # requests being answered at once
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                started = time.monotonic()
                if outer.delay:
                    with outer.cond:
                        outer.active += 1
                        outer.max_active = max(outer.max_active, outer.active)
                    time.sleep(outer.delay)  # the receiver is slow (bounded, per request)
                    with outer.cond:
                        outer.active -= 1
                with outer.cond:
                    status = outer.script.pop(0) if outer.script else outer.default
                    extra, answer = {}, b""
                    if isinstance(status, tuple):
                        status, extra, *rest = status
                        answer = rest[0].encode() if rest else b""
                    outer.requests.append({"headers": dict(self.headers), "body": body, "status": status,
                                           "method": self.command, "path": self.path,
                                           "started": started, "at": time.monotonic()})
                    outer.cond.notify_all()
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                if answer:
                    self.wfile.write(answer)

            do_PATCH = do_PUT = do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self):
        with self.cond:
            return [r for r in self.requests if 200 <= r["status"] < 300]

    def wait_delivered(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len([r for r in self.requests if 200 <= r["status"] < 300]) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{n} deliveries expected within {timeout}s; got {self.requests}")
                self.cond.wait(left)
        return self.delivered()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
