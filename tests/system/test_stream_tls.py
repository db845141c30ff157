"""TLS on the stream inputs, on the real binary with certificates made by openssl here: NDJSON and
syslog (RFC 5425) over TLS; mutual TLS as authentication (a certificate from the CA, of an
allowed subject); the token handshake of ndjson_tcp for clients without certificates; every
refusal counted by reason; certificates read again on reload; configuration errors naming the
key. Completion without polling: after the client's close_notify, triaged closes once
everything it received is applied."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

from harness import BASE_CONFIG, Daemon, run


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_cert(d, name, cn, ca="ca"):
    """An EC key and a certificate for `cn` signed by `ca` (IP SAN 127.0.0.1)."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext", cwd=d)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}", cwd=d)


@unittest.skipUnless(shutil.which("openssl"), "openssl (Debian package openssl) is not installed")
class StreamTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="triaged-pki-")
        make_ca(cls.pki, "ca")
        make_ca(cls.pki, "other-ca")
        make_cert(cls.pki, "server", "127.0.0.1")
        make_cert(cls.pki, "collector", "collector1")
        make_cert(cls.pki, "intruder", "intruder")
        make_cert(cls.pki, "stranger", "collector1", ca="other-ca")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def p(self, name):
        return os.path.join(self.pki, name)

    def start(self, inputs):
        self.d = Daemon(BASE_CONFIG + "inputs:\n" + inputs)
        self.d.start()
        with open(self.d.env["TRIAGED_PORT_FILE"]) as f:
            self.ports = [int(x) for x in f.read().split()]
        return self.d

    def tearDown(self):
        if hasattr(self, "d"):
            self.d.close()

    def client(self, port, cert=None):
        ctx = ssl.create_default_context(cafile=self.p("ca.pem"))
        if cert:
            ctx.load_cert_chain(self.p(cert + ".pem"), self.p(cert + ".key"))
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1")

    def send_tls(self, port, data, cert=None):
        """Sends over TLS, then close_notify; returns once triaged closed (all applied)."""
        s = self.client(port, cert)
        s.sendall(data)
        try:
            s.unwrap()  # close_notify; triaged applies what it got, then closes
        except (ssl.SSLError, OSError):
            pass
        s.close()

    def refused(self, reason, name="tcp"):
        return self.d.metrics().get(
            f'triaged_input_connections_refused_total{{input="{name}",reason="{reason}"}}', 0)

    def alerts(self):
        return {a["resource"] for a in self.d.get_json("/api/v1/alerts?limit=100")["data"]}

    def expect_refused(self, port, cert=None, data=b'{"resource":"x","check":"c"}\n'):
        """The connection ends without applying anything."""
        try:
            s = self.client(port, cert)
            s.sendall(data)
            self.assertEqual(s.recv(1), b"")
        except (ssl.SSLError, OSError):
            pass

    def test_ndjson_over_mutual_tls(self):
        self.start(f"""  - type: ndjson_tcp
    name: tcp
    listen: 127.0.0.1:0
    tls:
      cert_file: {self.p("server.pem")}
      key_file: {self.p("server.key")}
      client_ca_file: {self.p("ca.pem")}
      client_subjects: [collector1]
""")
        port = self.ports[1]
        self.send_tls(port, b'{"resource":"db1","check":"cpu"}\n{"resource":"db2","check":"cpu"}', "collector")
        self.assertEqual(self.alerts(), {"db1", "db2"})  # the last line without a newline too
        self.expect_refused(port)                        # no client certificate
        self.expect_refused(port, "intruder")            # the CA's, but not an allowed subject
        self.expect_refused(port, "stranger")            # the right name from another CA
        plain = socket.create_connection(("127.0.0.1", port), timeout=30)
        plain.sendall(b'{"resource":"plain","check":"c"}\n')
        self.assertEqual(plain.recv(1), b"")             # plain TCP on a TLS port
        plain.close()
        self.assertEqual(self.alerts(), {"db1", "db2"})
        self.assertEqual(self.refused("certificate"), 1)
        self.assertEqual(self.refused("tls"), 3)
        self.assertIn("refused a connection from 127.0.0.1:", self.d.log())

    def test_token_handshake_for_clients_without_certificates(self):
        tok = os.path.join(self.pki, "ndjson.token")
        with open(tok, "w") as f:
            f.write("s3cret-token\n")
        self.start(f"""  - type: ndjson_tcp
    name: tcp
    listen: 127.0.0.1:0
    token_handshake:
      bearer_token_file: {tok}
""")
        port = self.ports[1]

        def stream(data):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(s.recv(1), b"")
            s.close()

        stream(b"Authorization: Bearer s3cret-token\r\n" + b'{"resource":"db1","check":"cpu"}\n{"oops"\n')
        stream(b"Authorization: Bearer wrong\n" + b'{"resource":"db2","check":"cpu"}\n')
        stream(b'{"resource":"db3","check":"cpu"}\n')
        self.assertEqual(self.alerts(), {"db1"})
        self.assertEqual(self.refused("token"), 2)
        self.assertIn("line 3", self.d.log())  # lines count from the token line

    def test_syslog_over_tls_and_certificates_read_again_on_reload(self):
        for name in ("server.pem", "server.key"):
            shutil.copy(self.p(name), self.p("live-" + name))
        self.start(f"""  - type: syslog
    name: syslog
    listen_tcp: 127.0.0.1:0
    tls:
      cert_file: {self.p("live-server.pem")}
      key_file: {self.p("live-server.key")}
    rules:
      - match: 'Interface (?P<interface>\\S+), changed state to down'
        check: LinkDown
""")
        port = self.ports[1]
        msg = b"<187>1 2026-12-01T10:00:00Z sw1 ifmgr - - - Interface ge-0/0/1, changed state to down"
        self.send_tls(port, str(len(msg)).encode() + b" " + msg)  # RFC 5425 octet counting
        self.assertEqual(self.alerts(), {"sw1"})
        first = self.client(port).getpeercert()["serialNumber"]
        make_cert(self.pki, "renewed", "127.0.0.1")
        shutil.copy(self.p("renewed.pem"), self.p("live-server.pem"))
        shutil.copy(self.p("renewed.key"), self.p("live-server.key"))
        status, _, body = self.d.request("POST", "/-/reload")
        self.assertEqual(status, 200, body)
        second = self.client(port).getpeercert()["serialNumber"]
        self.assertNotEqual(first, second)

    def test_configuration_errors_name_the_key(self):
        d = Daemon(BASE_CONFIG + f"""inputs:
  - type: ndjson_tcp
    listen: 127.0.0.1:0
    bearer_token: x
    tls:
      cert_file: {self.p("missing.pem")}
      key_file: {self.p("server.key")}
  - type: syslog
    name: s
    listen_udp: 127.0.0.1:0
    tls: {{{{cert_file: {self.p("server.pem")}, key_file: {self.p("server.key")}, client_subjects: [a]}}}}
    rules: [{{{{match: x, check: y}}}}]
""")
        try:
            r = run(["--check-config", "--config", d.config_path])
            self.assertEqual(r.returncode, 1)
            for needle in ("inputs[0].bearer_token: is not supported by this input",
                           "use tls.client_ca_file (mutual TLS) or token_handshake",
                           "inputs[0].tls.cert_file: cannot be used:",
                           "inputs[1].tls.client_subjects: needs client_ca_file",
                           "inputs[1].tls: is for listen_tcp"):
                self.assertIn(needle, r.stderr)
        finally:
            d.close()


@unittest.skipUnless(shutil.which("openssl"), "openssl (Debian package openssl) is not installed")
class HttpMutualTls(unittest.TestCase):
    """server.tls.client_ca_file: a client certificate identifies a user or the ingest group by
    its common name; tokens still work beside it."""

    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="triaged-pki-")
        make_ca(cls.pki, "ca")
        make_cert(cls.pki, "server", "127.0.0.1")
        for name in ("robot1", "collector1", "nobody"):
            make_cert(cls.pki, name, name)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def p(self, name):
        return os.path.join(self.pki, name)

    def request(self, method, path, body=None, cert=None, token=None):
        import http.client
        ctx = ssl.create_default_context(cafile=self.p("ca.pem"))
        if cert:
            ctx.load_cert_chain(self.p(cert + ".pem"), self.p(cert + ".key"))
        c = http.client.HTTPSConnection("127.0.0.1", self.d.port, context=ctx, timeout=10)
        try:
            c.request(method, path, body=body,
                      headers={"Authorization": f"Bearer {token}"} if token else {})
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def test_client_certificates_identify_users_and_the_ingest_group(self):
        self.d = Daemon(BASE_CONFIG.replace("  listen: 127.0.0.1:0\n", f"""  listen: 127.0.0.1:0
  tls:
    cert_file: {self.p("server.pem")}
    key_file: {self.p("server.key")}
    client_ca_file: {self.p("ca.pem")}
""") + """auth:
  ingest: {{client_names: [collector1]}}
  users:
    - {{name: robot, role: operator, client_names: [robot1]}}
    - {{name: olivia, role: admin, bearer_token: olivia-token}}
inputs:
  - type: native_json
""")
        try:
            self.d.start()
            status, body = self.request("GET", "/api/v1/whoami", cert="robot1")
            self.assertEqual(status, 200, body)
            self.assertEqual((json.loads(body)["user"], json.loads(body)["role"]), ("robot", "operator"))
            event = json.dumps({"resource": "db1", "check": "cpu"})
            self.assertEqual(self.request("POST", "/api/v1/events", event, cert="collector1")[0], 200)
            for cert in (None, "robot1", "nobody"):  # not the ingest group's
                self.assertEqual(self.request("POST", "/api/v1/events", event, cert=cert)[0], 401)
            self.assertEqual(self.request("GET", "/api/v1/whoami", cert="nobody")[0], 401)
            status, body = self.request("GET", "/api/v1/whoami", cert="robot1", token="olivia-token")
            self.assertEqual(json.loads(body)["user"], "olivia")  # a token, when sent, decides
        finally:
            self.d.close()

    def test_client_names_without_a_client_ca_are_refused(self):
        d = Daemon(BASE_CONFIG + "auth:\n  ingest: {{client_names: [collector1]}}\n")
        try:
            r = run(["--check-config", "--config", d.config_path])
            self.assertEqual(r.returncode, 1)
            self.assertIn("auth: client_names need server.tls.client_ca_file", r.stderr)
        finally:
            d.close()


if __name__ == "__main__":
    unittest.main()
