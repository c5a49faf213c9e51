"""What every synap-cli end-to-end test shares: checks, running the CLI,
fresh directories, and a runner.

A test file defines sections and calls run(__doc__, SECTIONS) with
SECTIONS = [(title, fn)]. Each fn takes no argument and uses ENV.cli
(synap-cli), ENV.server (synap-server), ENV.work (this run's directory) and
fresh_dir(name). The Python binding (`import synap`) is on PYTHONPATH and
finds the built libsynap through SYNAP_LIBRARY, to prepare data directories.

Environment: SYNAP_TEST_TMPDIR (default /tmp), SYNAP_CLI_TEST_KEEP=1 (keep
the work directory even on success).
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from e2e_checks import check, check_eq, report, section  # noqa: E402,F401 - re-exported to the tests


class Env:
    cli = None      # path to synap-cli
    server = None   # path to synap-server
    work = None     # this run's work directory


ENV = Env()


def cli(*args, input=None, timeout=120, env=None):
    """Runs synap-cli; returns (exit status, stdout, stderr) as text."""
    p = subprocess.run([ENV.cli] + [str(a) for a in args], input=input, capture_output=True, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def fresh_dir(name):
    """A new, empty directory path under the work directory (not created)."""
    path = os.path.join(ENV.work, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def run(doc, sections):
    """Runs [(title, fn)] and returns the exit status."""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    if len(sys.argv) < 2:
        print(doc, file=sys.stderr)
        return 2
    ENV.cli = os.path.abspath(sys.argv[1])
    ENV.server = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
    base = os.environ.get("SYNAP_TEST_TMPDIR") or "/tmp"
    os.makedirs(base, exist_ok=True)
    ENV.work = tempfile.mkdtemp(prefix=name + "-", dir=base)
    t0 = time.monotonic()
    print(f"{name}: {ENV.cli}, dir {ENV.work}", flush=True)
    for title, fn in sections:
        section(title, fn)
    if report(name, time.monotonic() - t0, ENV.work):
        return 1
    if os.environ.get("SYNAP_CLI_TEST_KEEP") != "1":
        shutil.rmtree(ENV.work, ignore_errors=True)
    return 0


# Data directories for the offline checks (verify, repair, dump): no
# background writes, and 64 KiB log segments (a few hundred 1 KiB values span
# several) with records small enough to fit one.
QUIET = dict(kv_active_expire_ms=0, snapshot_interval_secs=0, snapshot_operation_threshold=0,
             stream_maintenance_ms=3600000)
SMALL = dict(wal_segment_bytes="65536", wal_max_record_bytes="32768", wal_max_batch_bytes="32768",
             kv_max_key_bytes="1024", kv_max_value_bytes="16384")
DATA_OFFSET = 4096     # docs/format.md §3: a buffered segment's first batch
BATCH_HEADER = 72      # §4


def value(i):
    """The value the check tests write at key k<i>: about 1 KiB."""
    return (chr(ord("a") + i % 26) * 1000 + str(i)).encode()


def flip(path, offset):
    """Flips bits of the byte at offset in place."""
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x5A]))


def tree_digest(d):
    """Every file under d with its content hash: what a read-only command must leave alone."""
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = hashlib.sha256(fh.read()).hexdigest()
    return out
