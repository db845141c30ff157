"""System tests of the HTTP server's limits on the real binary: each limit gets its status
code and its counter, and the daemon keeps serving."""
import socket
import unittest

from harness import BASE_CONFIG, Daemon, read_response

LIMITS = BASE_CONFIG.replace("  io_threads: 2\n", """  io_threads: 2
  max_connections: 5
  max_header_bytes: 2048
  max_body_bytes: 4096
  header_timeout: 300ms
  body_timeout: 300ms
  idle_timeout: 2s
""")


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(LIMITS).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def rejected(self, reason):
        return self.d.metrics().get(f'triaged_http_rejected_total{{reason="{reason}"}}')

    def test_oversized_body_gets_413(self):
        before = self.rejected("body_too_large")
        s = self.d.connect()
        s.sendall(b"POST /-/reload HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000)
        status, _, body = read_response(s)
        self.assertEqual(status, 413)
        self.assertIn("4096", body)
        self.assertEqual(self.rejected("body_too_large"), before + 1)

    def test_a_client_still_sending_a_refused_body_reads_the_413(self):
        # 8 MiB announced and sent whole (more than the socket buffers hold): the daemon answers
        # 413 after 4 KiB, then reads and drops the rest (lingering close), so the client's
        # send completes and it reads the answer instead of a reset or a broken pipe.
        s = self.d.connect(timeout=20)
        s.sendall(b"POST /-/reload HTTP/1.1\r\nHost: t\r\nContent-Length: 8388608\r\n\r\n")
        s.sendall(b"x" * 8388608)
        status, _, body = read_response(s)
        s.close()
        self.assertEqual(status, 413)
        self.assertIn("4096", body)

    def test_oversized_headers_get_431(self):
        before = self.rejected("header_too_large")
        s = self.d.connect()
        s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * 3000 + b"\r\n\r\n")
        self.assertEqual(read_response(s)[0], 431)
        self.assertEqual(self.rejected("header_too_large"), before + 1)

    def test_slow_client_gets_408(self):
        before = self.rejected("header_timeout")
        s = self.d.connect()
        s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\n")  # never finishes its headers
        self.assertEqual(read_response(s)[0], 408)
        self.assertEqual(self.rejected("header_timeout"), before + 1)

    def test_too_many_connections_get_503(self):
        before = self.rejected("connection_limit")
        held = []
        try:
            for _ in range(5):
                s = self.d.connect()
                s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n")
                self.assertEqual(read_response(s)[0], 200)
                held.append(s)
            extra = self.d.connect()
            status, head, _ = read_response(extra)
            self.assertEqual(status, 503)
            self.assertIn("Retry-After", head)
            # Read the counter over a connection we already hold: a new one would be refused.
            held[0].sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
            status, _, body = read_response(held[0])
            self.assertEqual(status, 200)
            self.assertIn('triaged_http_rejected_total{reason="connection_limit"} %d' % (before + 1), body)
        finally:
            for s in held:
                s.close()

    def test_server_still_serves_after_abuse(self):
        self.assertEqual(self.d.request("GET", "/-/healthy")[0], 200)


if __name__ == "__main__":
    unittest.main()
