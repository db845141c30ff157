"""A PostgreSQL server of the tests' own: Debian's postgresql, initdb in a temporary folder (as
the postgres user when run as root), listening on a free loopback port, stopped and removed
after. Used by the system tests (with Postgres() as pg: ...) and as a wrapper that runs a
command against a fresh server:

    python3 postgres.py [--fsync] -- <command> [args...]

The command gets TRIAGED_TEST_PG, a libpq key=value string without dbname (the unit tests
add their own databases). Exits 77 (a skip for CTest) with a clear message when PostgreSQL's
server programs are not installed.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

SKIP = 77


def server_bin():
    """The newest installed server's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Unavailable(Exception):
    pass


class Postgres:
    """Start with `with Postgres() as pg:`; pg.conninfo(db), pg.url(db), pg.psql(sql, db)."""

    def __init__(self, fsync=False):
        self.bin = server_bin()
        if not self.bin:
            raise Unavailable("PostgreSQL's server is not installed (Debian package postgresql); "
                              "scripts/install-deps.sh test installs it")
        self.fsync = fsync
        self.port = free_port()
        self.root = os.getuid() == 0
        self.dir = tempfile.mkdtemp(prefix="triaged-pg-")
        self.data = os.path.join(self.dir, "data")
        self.sock = self.dir
        self.started = False

    def _run(self, argv, check=True, **kw):
        if self.root:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return subprocess.run(argv, check=check, capture_output=True, text=True, **kw)

    def start(self):
        if self.root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        r = self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-A", "trust",
                       "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                      check=False)
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stderr[-2000:])
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=50 "
                "-c shared_buffers=128MB " + os.environ.get("TRIAGED_PG_OPTIONS", ""))
        r = self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-o", opts, "-w",
                       "-t", "60", "-l", os.path.join(self.dir, "server.log"), "start"],
                      check=False)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed: " + r.stderr[-2000:] + self.log())
        self.started = True
        return self

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def conninfo(self, db=None):
        s = f"host=127.0.0.1 port={self.port} user=postgres"
        return s + (f" dbname={db}" if db else "")

    def url(self, db="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, sql, db="postgres"):
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            self.conninfo(db), "-c", sql],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {sql}: {r.stderr}")
        return r.stdout.strip()

    def createdb(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {name}")
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self, mode="fast"):
        if self.started:
            self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w",
                       "stop"], check=False)
            self.started = False

    def restart(self):
        """Stops the server and starts it again on the same port and data."""
        self.stop()
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=50")
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-o", opts, "-w",
                   "-l", os.path.join(self.dir, "server.log"), "start"])
        self.started = True

    def __enter__(self):
        try:
            return self.start()
        except Exception:
            self.cleanup()
            raise

    def cleanup(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, *exc):
        self.cleanup()


class ServerTestCase(unittest.TestCase):
    """A test class with one PostgreSQL server of its own (cls.pg), skipped with the reason
    where the server is not installed."""

    @classmethod
    def setUpClass(cls):
        try:
            cls.pg = Postgres()
        except Unavailable as e:
            raise unittest.SkipTest(str(e))
        cls.pg.start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.cleanup()


def main(argv):
    fsync = False
    if argv and argv[0] == "--fsync":
        fsync = True
        argv = argv[1:]
    if not argv or argv[0] != "--" or len(argv) < 2:
        print("usage: postgres.py [--fsync] -- <command> [args...]", file=sys.stderr)
        return 2
    try:
        pg = Postgres(fsync=fsync)
    except Unavailable as e:
        print(f"SKIP: {e}", file=sys.stderr)
        return SKIP
    with pg:
        env = dict(os.environ, TRIAGED_TEST_PG=pg.conninfo())
        return subprocess.run(argv[1:], env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
