"""What every synap-server end-to-end test shares: the checks, a server
process on a free port, a raw RESP connection, redis-cli, and a main that
runs sections and reports.

A test file defines its sections and calls run(__doc__, sections), where
sections is a list of (title, function, needs_main_server). Sections that
need it get one shared server (2 loops, default flags), started once.

Environment: SYNAP_TEST_TMPDIR (default /tmp), SYNAP_SERVER_TEST_SEED
(default: time-derived, printed), SYNAP_SERVER_TEST_KEEP=1 (keep the work
directory even on success).
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from e2e_checks import check, check_eq, report, section  # noqa: E402,F401 - re-exported to the tests
from resp_conn import Err, RawConn, encode, free_port  # noqa: E402,F401 - re-exported to the tests


class Env:
    server = None   # path to synap-server
    work = None     # this run's work directory
    rng = None      # seeded random.Random


ENV = Env()
T0 = time.monotonic()


# ---------------------------------------------------------------- servers

class Server:
    """One synap-server process on its own port and data directory."""

    def __init__(self, name, data_dir=None, extra=(), port=None):
        self.name = name
        self.dir = data_dir or os.path.join(ENV.work, name)
        self.extra = list(extra)
        self.port = port or free_port()
        self.proc = None
        self.starts = 0

    def start(self, timeout=15):
        self.starts += 1
        self.log = os.path.join(ENV.work, f"{self.name}-{self.starts}.log")
        args = [ENV.server, "--port", str(self.port), "--dir", self.dir, "--threads", "2"] + self.extra
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: exited with {self.proc.returncode} at start: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.settimeout(2)
                    s.sendall(b"PING\r\n")
                    data = s.recv(100)
                    if data.startswith(b"+PONG") or data.startswith(b"-NOAUTH"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no PING reply on port {self.port} within {timeout} s: {self.log_tail()}")

    def log_tail(self, n=800):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-n:].decode(errors="replace").strip()
        except OSError:
            return ""

    def client(self, **kw):
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def raw(self, timeout=5):
        return RawConn(self.port, timeout)

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def sigterm(self, timeout=15):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.kill9()


def redis_cli(port, *args, extra=(), timeout=15):
    p = subprocess.run(["redis-cli", "-p", str(port)] + list(extra) + list(args),
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


# ---------------------------------------------------------------- main

def run(doc, sections):
    """Runs sections [(title, fn, needs_main_server)] and returns the exit status."""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    if len(sys.argv) != 2:
        print(doc, file=sys.stderr)
        return 2
    ENV.server = os.path.abspath(sys.argv[1])
    seed = int(os.environ.get("SYNAP_SERVER_TEST_SEED", time.time_ns() % 1000000007))
    ENV.rng = random.Random(seed)
    base = os.environ.get("SYNAP_TEST_TMPDIR") or "/tmp"
    os.makedirs(base, exist_ok=True)
    ENV.work = tempfile.mkdtemp(prefix=name + "-", dir=base)
    print(f"{name}: {ENV.server}, seed {seed} (SYNAP_SERVER_TEST_SEED), dir {ENV.work}, "
          f"redis-py {redis.__version__}", flush=True)
    shared = [s for s in sections if s[2]]
    if shared:
        main_srv = Server("main")
        try:
            main_srv.start()
        except Exception as e:  # noqa: BLE001
            check("the server starts and answers PING", False, str(e))
            return 1
        try:
            for title, fn, _ in shared:
                section(title, fn, main_srv)
            check("the main server is still running", main_srv.proc.poll() is None,
                  f"exit status {main_srv.proc.returncode}: {main_srv.log_tail()}")
        finally:
            main_srv.stop()
    for title, fn, _ in sections:
        if not _:
            section(title, fn)
    if report(name, time.monotonic() - T0, ENV.work, f" (seed {seed})"):
        return 1
    if os.environ.get("SYNAP_SERVER_TEST_KEEP") != "1":
        shutil.rmtree(ENV.work, ignore_errors=True)
    return 0
