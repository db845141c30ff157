#!/usr/bin/env python3
"""Benchmarks of the live stream and the console (issue #15), each against a fresh triaged:

  fanout  the daemon's CPU while 10,000 changes/s are ingested (new alerts over HTTP, each
          an alert event and an incident event on the stream), with 0 and with 100 stream
          clients reading everything, alternated; and ingest throughput (the realistic TCP
          million) with 0 and with 100 idle clients connected.
  board   headless Chromium: the incident board with 10,000 open incidents (first render),
          then 100 incident updates/s for 10 s: long tasks (> 50 ms) and the longest one,
          from the browser's performance API.

Usage: bench/console.py [--smoke] [fanout] [board]   (TRIAGED_BUILD=build dir, default
build/release). The board needs python3-selenium, chromium and chromium-driver (Debian), run
with /usr/bin/python3. Every loop is bounded in count and time."""
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("TRIAGED_BUILD", os.path.join(ROOT, "build", "release"))
SMOKE = "--smoke" in sys.argv
WHAT = [a for a in sys.argv[1:] if not a.startswith("--")] or ["fanout", "board"]


class Triaged:
    def __init__(self, extra=""):
        self.dir = tempfile.mkdtemp(prefix="triaged-bench-")
        with open(os.path.join(self.dir, "c.yaml"), "w") as f:
            f.write(f"""server: {{listen: "127.0.0.1:0", max_body_bytes: 134217728}}
state: {{directory: {self.dir}/state}}
logging: {{level: warn}}
pipeline: {{queue_batches: 256}}
stream: {{max_clients: 1000}}
rule_files: []
inputs:
  - type: native_json
    resolve_timeout: 1h
  - type: ndjson_tcp
    listen: "127.0.0.1:0"
    resolve_timeout: 1h
{extra}""")
        ports = os.path.join(self.dir, "ports")
        env = dict(os.environ, TRIAGED_PORT_FILE=ports)
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen([os.path.join(BUILD, "triaged"), "--config", os.path.join(self.dir, "c.yaml")],
                                     env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.path.exists(ports) and len(open(ports).read().split()) >= 2:
                break
            time.sleep(0.02)
        self.http, self.tcp = (int(x) for x in open(ports).read().split()[:2])

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def metric(self, name):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Readers:
    """n stream clients in triaged-stream-reader (C++, one epoll thread: the readers must not be
    the bottleneck), its counts read from a status file."""

    def __init__(self, port, n, types=""):
        self.status = tempfile.mktemp(prefix="triaged-stream-status-")
        args = [os.path.join(BUILD, "bench", "triaged-stream-reader"), "--port", str(port), "--clients", str(n),
                "--status", self.status, "--timeout", "900"]
        if types:
            args += ["--types", types]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.counts()[2] < n and time.monotonic() < deadline:
            time.sleep(0.02)

    def counts(self):
        try:
            with open(self.status) as f:
                e, b, o = f.read().split()
            return int(e), int(b), int(o)
        except (OSError, ValueError):
            return 0, 0, 0

    @property
    def events(self):
        return self.counts()[0]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        if os.path.exists(self.status):
            os.unlink(self.status)


def loadgen(*args):
    out = subprocess.run([os.path.join(BUILD, "bench", "triaged-loadgen"), *args], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(out.stdout + out.stderr)
    return out.stdout


CONSOLE_TYPES = "incident,problem,silence,maintenance,sla,heartbeat"  # what the console reads


def fanout():
    n_clients = 10 if SMOKE else 100
    events = 20000 if SMOKE else 600000
    rate = int(os.environ.get("FANOUT_RATE", "60000"))  # the realistic mix: ~7,000 alert changes/s
    print(f"### fanout: the realistic stream over HTTP at {rate} events/s ({events} events), daemon CPU "
          f"with no stream client, {n_clients} console clients ({CONSOLE_TYPES}) and {n_clients} clients of every "
          f"type, alternated (cores: {os.cpu_count()})")
    kinds = [("none", 0, ""), ("console", n_clients, CONSOLE_TYPES), ("all", n_clients, "")]
    results = {k: [] for k, _, _ in kinds}
    for rnd in range(1 if SMOKE else 3):
        for kind, clients, types in kinds:
            t = Triaged()
            try:
                readers = Readers(t.http, clients, types) if clients else None
                c0, w0 = t.cpu_seconds(), time.monotonic()
                loadgen("--mode", "http-ndjson", "--batch", "500", "--port", str(t.http), "--profile", "realistic",
                        "--events", str(events), "--distinct", str(max(1000, events * 41 // 1000)),
                        "--connections", "2", "--rate", str(rate), "--timeout", "300")
                alerts = t.metric('triaged_stream_events_total{type="alert"}')
                incidents = t.metric('triaged_stream_events_total{type="incident"}')
                got = 0
                if readers:
                    # Drained: every client has what it asked for (bounded wait).
                    want = (incidents if types else alerts + incidents) * clients
                    deadline = time.monotonic() + 30
                    while readers.events < want and time.monotonic() < deadline:
                        time.sleep(0.05)
                    got = readers.events
                cpu, wall = t.cpu_seconds() - c0, time.monotonic() - w0
                if readers:
                    readers.stop()
                dropped = t.metric("triaged_stream_clients_dropped_total")
                results[kind].append((cpu, alerts))
                print(f"round {rnd + 1}, {kind:7s}: {alerts / wall:7.0f} alert changes/s, {incidents / wall:6.0f} incident "
                      f"events/s; daemon CPU {cpu:.2f} s over {wall:.2f} s = {100 * cpu / wall:.1f} % of a core; "
                      f"frames delivered {got}, clients dropped {dropped:.0f}")
            finally:
                t.stop()
    # The same work in every run: the stream's cost is the CPU it adds, per alert change, at
    # 10,000 changes/s.
    med = {k: sorted(c for c, _ in v)[len(v) // 2] for k, v in results.items()}
    changes = sorted(a for v in results.values() for _, a in v)[0]
    cost = {k: (med[k] - med["none"]) / changes * 10000 for k in med}
    print(f"median CPU: {med['none']:.2f} s without clients, {med['console']:.2f} s with {n_clients} console clients, "
          f"{med['all']:.2f} s with {n_clients} clients of every type, for {changes:.0f} alert changes: at 10,000 "
          f"changes/s the stream costs {100 * cost['console']:.1f} % of one core (console clients), "
          f"{100 * cost['all']:.1f} % (every type)")

    print(f"### fanout-ingest: realistic TCP stream ({events} events, 2 passes), 0 vs {n_clients} idle clients")
    for rnd in range(1 if SMOKE else 3):
        for clients in (0, n_clients):
            t = Triaged()
            try:
                readers = Readers(t.http, clients, types="heartbeat") if clients else None
                out = loadgen("--mode", "tcp", "--tcp-port", str(t.tcp), "--port", str(t.http), "--profile", "realistic",
                              "--events", str(events), "--distinct", str(max(1000, events // 25)), "--connections", "2",
                              "--passes", "2")
                rates = [l for l in out.splitlines() if "events/s" in l]
                print(f"round {rnd + 1}, {clients:3d} idle clients: " + " | ".join(x.strip() for x in rates[-2:]))
                if readers:
                    readers.stop()
            finally:
                t.stop()


def board():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        print("### board: skipped (python3-selenium is not installed; run with /usr/bin/python3)")
        return
    n = 500 if SMOKE else 10000
    t = Triaged()
    try:
        # n open incidents: n alerts on n resources (the default rule: one incident each).
        events = [{"resource": f"host-{i:05d}", "check": "ping", "severity": "critical" if i % 7 == 0 else "major",
                   "service": f"svc-{i % 40}", "summary": f"host-{i:05d} does not answer"} for i in range(n)]
        req = urllib.request.Request(f"http://127.0.0.1:{t.http}/api/v1/events", json.dumps(events).encode(),
                                     {"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=120).read()
        o = webdriver.ChromeOptions()
        o.binary_location = shutil.which("chromium")
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1000"):
            o.add_argument(a)
        b = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=o)
        try:
            b.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
              window.__long = [];
              new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); })
                .observe({ type: 'longtask', buffered: true });"""})
            renders = []
            for _ in range(1 if SMOKE else 5):
                b.get(f"http://127.0.0.1:{t.http}/#/board")
                b.refresh()
                deadline = time.monotonic() + 30
                ready = None
                while time.monotonic() < deadline:
                    ready = b.execute_script("const m = performance.getEntriesByName('triaged:board-ready'); return m.length ? m[0].startTime : null")
                    if ready is not None:
                        break
                    time.sleep(0.02)
                count = b.execute_script("return document.querySelector('.filters .count').textContent")
                renders.append(ready)
                print(f"first render with {count}: {ready:.0f} ms after navigation start")
            print(f"### board: median first render {sorted(renders)[len(renders) // 2]:.0f} ms ({n} open incidents, cores: {os.cpu_count()})")
            b.execute_script("window.__long = []")
            seconds = 2 if SMOKE else 10
            # 100 incident updates a second: severity flips of 100 alerts (each updates its incident).
            sent = 0
            start = time.monotonic()
            for tick in range(seconds * 10):
                batch = [{"resource": f"host-{(tick * 10 + j) % n:05d}", "check": "ping",
                          "severity": "critical" if tick % 2 else "minor", "service": f"svc-{((tick * 10 + j) % n) % 40}",
                          "summary": "flip"} for j in range(10)]
                req = urllib.request.Request(f"http://127.0.0.1:{t.http}/api/v1/events", json.dumps(batch).encode(),
                                             {"Content-Type": "application/json"})
                urllib.request.urlopen(req, timeout=10).read()
                sent += len(batch)
                wait = start + (tick + 1) * 0.1 - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            time.sleep(1)
            longs = b.execute_script("return window.__long")
            incident_events = t.metric('triaged_stream_events_total{type="incident"}')
            print(f"### board-updates: {sent} alert changes in {seconds} s ({sent / seconds:.0f}/s, "
                  f"{incident_events:.0f} incident events on the stream in all): {len(longs)} long tasks, "
                  f"longest {max(longs) if longs else 0:.0f} ms, over 100 ms: {sum(1 for x in longs if x > 100)}")
        finally:
            b.quit()
    finally:
        t.stop()


if __name__ == "__main__":
    if "fanout" in WHAT:
        fanout()
    if "board" in WHAT:
        board()
