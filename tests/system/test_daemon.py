"""System tests of the daemon: CLI, endpoints, metrics, reload, systemd notify, shutdown."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import BASE_CONFIG, BIN, SOURCE, Daemon, read_response, run, wait_for


class CheckConfig(unittest.TestCase):
    def test_shipped_config_is_valid(self):
        r = run(["--check-config", "--config", os.path.join(SOURCE, "config", "triaged.yaml")])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("OK", r.stdout)

    def test_invalid_config_lists_every_error_with_file_line_and_path(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("server:\n  bogus: 1\n  idle_timeout: soon\nlogging:\n  format: xml\n")
        try:
            r = run(["--check-config", "--config", f.name])
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"{f.name}:2:3: server.bogus: unknown key", r.stderr)
            self.assertIn(f"{f.name}:3:17: server.idle_timeout: invalid duration", r.stderr)
            self.assertIn(f"{f.name}:5:11: logging.format: expected one of text, json", r.stderr)
            self.assertIn("3 errors found", r.stderr)
        finally:
            os.unlink(f.name)

    def test_a_glob_over_a_folder_of_other_files_shows_the_first_hundred_errors(self):
        # 150 files that are not rule files, matched by one glob: 150 errors, 100 shown.
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "junk"))
            for i in range(150):
                with open(os.path.join(d, "junk", f"{i:03}.txt"), "w") as f:
                    f.write("just text\n")
            path = os.path.join(d, "triaged.yaml")
            with open(path, "w") as f:
                f.write("rule_files: [junk/*]\n")
            r = run(["--check-config", "--config", path])
            self.assertEqual(r.returncode, 1)
            lines = r.stderr.splitlines()
            self.assertEqual(len(lines), 102, r.stderr[-500:])
            self.assertIn("junk/000.txt:1:1:", lines[0])
            self.assertEqual(lines[100], "... and 50 more errors not shown")
            self.assertEqual(lines[101], "150 errors found")

    def test_shipped_examples_are_valid(self):
        # config/examples/*.yaml with their secret files (under /etc/triaged) made here.
        folder = os.path.join(SOURCE, "config", "examples")
        examples = sorted(f for f in os.listdir(folder) if f.endswith(".yaml"))
        self.assertIn("redmine.yaml", examples)
        with tempfile.TemporaryDirectory() as d:
            for name in examples:
                with open(os.path.join(folder, name)) as f:
                    text = f.read()
                for secret in set(re.findall(r"/etc/triaged/[\w.-]+", text)):
                    local = os.path.join(d, os.path.basename(secret))
                    with open(local, "w") as f:
                        f.write("secret\n")
                    text = text.replace(secret, local)
                path = os.path.join(d, name)
                with open(path, "w") as f:
                    f.write(text)
                r = run(["--check-config", "--config", path])
                self.assertEqual(r.returncode, 0, f"{name}: {r.stderr}")

    def test_missing_file_is_an_error(self):
        r = run(["--check-config", "--config", "/nonexistent/triaged.yaml"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/triaged.yaml: cannot read file", r.stderr)

    def test_version(self):
        r = run(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^triaged \d+\.\d+\.\d+ \(revision ")

    def test_daemon_refuses_to_start_on_invalid_config(self):
        d = Daemon("server:\n  listen: nowhere\n")
        try:
            d.proc = subprocess.Popen([os.environ.get("TRIAGED_BIN"), "--config", d.config_path],
                                      stderr=subprocess.PIPE, env=d.env)
            _, err = d.proc.communicate(timeout=30)
            self.assertEqual(d.proc.returncode, 1)
            self.assertIn("server.listen: invalid listen address", err.decode())
        finally:
            d.close()


class Endpoints(unittest.TestCase):
    def setUp(self):
        self.d = Daemon().start()

    def tearDown(self):
        self.d.close()

    def test_healthy_and_ready(self):
        self.assertEqual(self.d.request("GET", "/-/healthy")[0], 200)
        self.assertEqual(self.d.request("GET", "/-/ready")[0], 200)

    def test_a_bad_report_period_is_refused_whether_or_not_agreements_exist(self):
        # With no agreement configured, the period is still checked: the same request answers
        # the same way whatever the data (it used to answer 200 here and 400 with agreements).
        status, _, body = self.d.request("GET", "/api/v1/reports/sla?period=2026-13")
        self.assertEqual(status, 400, body)
        self.assertIn('period: expected current, previous', json.loads(body)["error"])
        status, _, body = self.d.request("GET", "/api/v1/reports/sla?period=2026-12")
        self.assertEqual((status, json.loads(body)["reports"]), (200, []))

    def test_status_reports_version_uptime_and_config_hash(self):
        s = self.d.get_json("/api/v1/status")
        self.assertRegex(s["version"], r"^\d+\.\d+\.\d+$")
        self.assertEqual(len(s["config"]["hash"]), 64)
        self.assertEqual(s["config"]["file"], self.d.config_path)
        self.assertGreaterEqual(s["uptime_seconds"], 0)
        self.assertTrue(s["ready"])
        self.assertIn("compiler", s["build"])

    def test_metrics_exposition(self):
        status, headers, body = self.d.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        m = self.d.metrics()
        for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                     "process_start_time_seconds", "triaged_config_last_reload_successful", "triaged_ready"]:
            self.assertIn(name, m)
        self.assertEqual(m["triaged_ready"], 1)
        self.assertGreater(m["process_resident_memory_bytes"], 1e6)
        self.assertAlmostEqual(m["process_start_time_seconds"], time.time(), delta=120)
        self.assertEqual(m['triaged_http_requests_total{code="2xx",route="/metrics"}'], 1)
        self.assertTrue(any(k.startswith("triaged_build_info{") for k in m))

    def test_threads_carry_the_names_docs_architecture_gives_them(self):
        def names():
            out = set()
            for tid in os.listdir(f"/proc/{self.d.proc.pid}/task"):
                try:
                    with open(f"/proc/{self.d.proc.pid}/task/{tid}/comm") as f:
                        out.add(f.read().strip())
                except FileNotFoundError:  # a thread that just ended
                    pass
            return out
        expected = {"triaged-correl", "triaged-store", "triaged-notify", "triaged-io-0", "triaged-dedup-0"}
        # Each thread names itself as it first runs, which may be just after READY=1: wait.
        wait_for("the daemon's threads", lambda: expected <= names(), timeout=30)
        names = names()
        with open(os.path.join(SOURCE, "docs", "architecture.md")) as f:
            table = f.read()
        for name in names - {"triaged"}:
            self.assertIn("`" + re.sub(r"\d+$", "N", name) + "`", table, f"thread {name} is not in the thread table")

    def test_every_kind_of_alert_change_is_documented_where_it_is_shown(self):
        # The kinds label triaged_alert_changes_total and name the stream's alert events.
        kinds = {re.search(r'kind="([^"]+)"', k).group(1) for k in self.d.metrics()
                 if k.startswith("triaged_alert_changes_total{")}
        self.assertIn("relabeled", kinds)
        for doc in ("api.md", "console.md"):
            with open(os.path.join(SOURCE, "docs", doc)) as f:
                text = f.read()
            for kind in kinds:
                self.assertTrue("`" + kind + "`" in text, f"change kind {kind} is not in docs/{doc}")

    def test_errors_are_json(self):
        status, headers, body = self.d.request("GET", "/no/such/thing")
        self.assertEqual(status, 404)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(json.loads(body), {"error": "not found", "detail": "/no/such/thing"})


class Reload(unittest.TestCase):
    def setUp(self):
        self.d = Daemon().start()

    def tearDown(self):
        self.d.close()

    def test_sighup_reloads_and_notifies_systemd(self):
        before = self.d.get_json("/api/v1/status")["config"]["hash"]
        self.d.write_config(BASE_CONFIG + "logging:\n  level: debug\n")
        self.d.signal(signal.SIGHUP)
        self.d.wait_notify("RELOADING=1")
        self.d.wait_notify("READY=1")
        after = self.d.get_json("/api/v1/status")["config"]["hash"]
        self.assertNotEqual(before, after)
        self.assertEqual(self.d.metrics()["triaged_config_last_reload_successful"], 1)

    def test_bad_config_keeps_the_old_one_and_reports_every_error(self):
        good_hash = self.d.get_json("/api/v1/status")["config"]["hash"]
        self.d.write_config(BASE_CONFIG + "logging:\n  level: loud\nbogus: 1\n")
        status, _, body = self.d.request("POST", "/-/reload")
        self.assertEqual(status, 500)
        err = json.loads(body)
        self.assertEqual(err["error"], "failed to reload config")
        paths = sorted(e["path"] for e in err["detail"])
        self.assertEqual(paths, ["bogus", "logging.level"])
        self.assertTrue(all(e["line"] > 0 and e["file"] == self.d.config_path for e in err["detail"]))
        m = self.d.metrics()
        self.assertEqual(m["triaged_config_last_reload_successful"], 0)
        self.assertEqual(self.d.get_json("/api/v1/status")["config"]["hash"], good_hash)
        self.assertEqual(self.d.request("GET", "/-/healthy")[0], 200)
        self.assertIn("logging.level", self.d.log())
        # Fixing the file and reloading recovers.
        ts_before = m["triaged_config_last_reload_success_timestamp_seconds"]
        self.d.write_config(BASE_CONFIG)
        self.assertEqual(self.d.request("POST", "/-/reload")[0], 200)
        m = self.d.metrics()
        self.assertEqual(m["triaged_config_last_reload_successful"], 1)
        self.assertGreaterEqual(m["triaged_config_last_reload_success_timestamp_seconds"], ts_before)

    def test_reload_applies_new_auth_tokens(self):
        self.d.write_config(BASE_CONFIG + "auth:\n  admin:\n    bearer_token: t0ken\n")
        self.assertEqual(self.d.request("POST", "/-/reload")[0], 200)
        status, headers, _ = self.d.request("POST", "/-/reload")
        self.assertEqual(status, 401)
        self.assertIn("Bearer", headers["WWW-Authenticate"])
        self.assertEqual(self.d.request("POST", "/-/reload", headers={"Authorization": "Bearer t0ken"})[0], 200)
        self.assertEqual(self.d.metrics()['triaged_http_rejected_total{reason="unauthorized"}'], 1)


class Shutdown(unittest.TestCase):
    def test_sigterm_marks_not_ready_notifies_and_exits_zero(self):
        d = Daemon().start()
        try:
            idle = d.connect()
            idle.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(read_response(idle)[0], 200)
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            d.wait_notify("STOPPING=1")
            self.assertEqual(idle.recv(1), b"")  # the idle keep-alive connection is closed
            self.assertEqual(d.proc.wait(20), 0)
            self.assertLess(time.monotonic() - t0, 8)  # no waiting for the drain deadline
            self.assertIn("stopped", d.log())
        finally:
            d.close()

    def test_sigterm_while_recovering_a_large_state_drains_and_exits_zero(self):
        # A stop asked for while starting (here: recovering 100,000 alerts) is not the default
        # action's death: it is remembered, the start finishes, and the daemon drains and exits 0.
        d = Daemon(BASE_CONFIG + "inputs:\n  - type: native_json\n").start()
        try:
            for part in range(10):
                body = "\n".join(json.dumps({"resource": f"h{part}-{i}", "check": "c"}) for i in range(10000))
                status, _, text = d.request("POST", "/api/v1/events", body, {"Content-Type": "application/x-ndjson"})
                self.assertEqual(status, 200, text)
            self.assertEqual(d.stop(), 0)
            d.proc = subprocess.Popen([d.env.get("TRIAGED_BIN", BIN), "--config", d.config_path],
                                      env=d.env, stdout=subprocess.DEVNULL, stderr=open(d.stderr_path, "wb"))
            # Once the store is open and recovery has begun (its log line), before it is ready:
            # without the remembering handler, the default action would kill it here (-15).
            deadline = time.monotonic() + 20
            while "[store] state in" not in d.log() and time.monotonic() < deadline:
                time.sleep(0.001)  # polling its log (bounded), not waiting for work
            d.proc.send_signal(signal.SIGTERM)
            self.assertEqual(d.proc.wait(60), 0, d.log()[-2000:])
            log = d.log()
            self.assertIn("stopped", log)
            self.assertRegex(log, r"recovered 100000 alerts|a stop was asked for while starting")
        finally:
            d.close()

    def test_in_flight_request_completes_during_drain(self):
        d = Daemon().start()
        try:
            s = d.connect()
            # A complete request and the start of a second one, in one segment: once the first
            # is answered the second is in the server's hands, waiting for its body.
            s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n"
                      b"GET /-/healthy HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234")
            self.assertEqual(read_response(s)[0], 200)
            d.signal(signal.SIGTERM)
            d.wait_notify("STOPPING=1")
            s.sendall(b"56789")
            status, head, body = read_response(s)
            self.assertEqual(status, 200)
            self.assertIn("Connection: close", head)
            self.assertEqual(d.proc.wait(20), 0)
        finally:
            d.close()

    def test_drain_deadline_bounds_shutdown(self):
        d = Daemon(BASE_CONFIG.replace("drain_timeout: 10s", "drain_timeout: 300ms")).start()
        try:
            s = d.connect()
            s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n"
                      b"GET /-/healthy HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0")
            self.assertEqual(read_response(s)[0], 200)
            d.signal(signal.SIGTERM)
            self.assertEqual(d.proc.wait(20), 0)
            self.assertIn("drain deadline reached with 1 connections open", d.log())
        finally:
            d.close()


class Systemd(unittest.TestCase):
    def test_watchdog_is_petted_while_the_loops_are_healthy(self):
        d = Daemon(env={"WATCHDOG_USEC": "200000"}).start()
        try:
            d.wait_notify("WATCHDOG=1", timeout=5)
            d.wait_notify("WATCHDOG=1", timeout=5)
        finally:
            d.close()

    def test_json_logs_are_one_object_per_line(self):
        d = Daemon(args=["--log-format", "json"]).start()
        try:
            self.assertEqual(d.stop(), 0)
            lines = [json.loads(l) for l in d.log().splitlines() if l.strip()]
            self.assertTrue(lines)
            for l in lines:
                self.assertEqual(set(l), {"ts", "level", "logger", "msg"})
            self.assertIn("main", {l["logger"] for l in lines})
        finally:
            d.close()


class Tls(unittest.TestCase):
    def test_a_tls_port_over_its_connection_limit_closes_without_plain_text(self):
        import ssl
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
        d = Daemon(BASE_CONFIG.replace("  io_threads: 2\n", f"  io_threads: 2\n  max_connections: 2\n"
                                       f"  tls:\n    cert_file: {cert}\n    key_file: {key}\n")).start()
        self.addCleanup(d.close)
        held = [d.connect(), d.connect()]  # the limit: two connections, not yet handshaking
        self.addCleanup(lambda: [h.close() for h in held])
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        # The third is closed before a handshake: the client sees the connection end, not the
        # plain-text 503 of a plain port read as a TLS record ("wrong version number").
        with self.assertRaises(OSError) as e:
            with socket.create_connection(("127.0.0.1", d.port), timeout=10) as raw:
                ctx.wrap_socket(raw).close()
        self.assertNotIn("WRONG_VERSION_NUMBER", str(e.exception))

    def test_https_with_a_configured_certificate(self):
        import ssl
        import http.client
        tmp = tempfile.mkdtemp()
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
        d = Daemon(BASE_CONFIG + f"  tls:\n    cert_file: {cert}\n    key_file: {key}\n".replace(
            "  tls", "  tls", 1))
        # tls belongs under server:, which BASE_CONFIG opens first.
        d.write_config(BASE_CONFIG.replace("  io_threads: 2\n",
                                           f"  io_threads: 2\n  tls:\n    cert_file: {cert}\n    key_file: {key}\n"))
        d.start()
        try:
            ctx = ssl.create_default_context(cafile=cert)
            ctx.check_hostname = False
            c = http.client.HTTPSConnection("127.0.0.1", d.port, context=ctx, timeout=10)
            c.request("GET", "/-/healthy")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
            c.close()
            # Plain HTTP to a TLS port fails the handshake and is counted.
            s = d.connect()
            s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(read_response(s)[0], 0)
            s.close()
            c = http.client.HTTPSConnection("127.0.0.1", d.port, context=ctx, timeout=10)
            c.request("GET", "/metrics")
            r = c.getresponse()
            metrics = r.read().decode()
            c.close()
            self.assertIn('triaged_http_rejected_total{reason="tls_handshake"} 1', metrics)
            d.signal(signal.SIGTERM)
            self.assertEqual(d.proc.wait(20), 0)
        finally:
            d.close()


if __name__ == "__main__":
    unittest.main()
