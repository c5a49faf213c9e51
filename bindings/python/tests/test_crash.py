"""kill -9 a writer: every write it saw acknowledged under fsync=always survives."""
import os
import selectors
import signal
import subprocess
import sys
import time

import synap

# argv: data directory, key prefix. Prints "open", then the number of each
# write once its call returned (the write is acknowledged: durable under
# fsync=always). Three kinds of write: MSET, async SET + wait, SET EX.
CHILD = r"""
import sys, synap
db = synap.open(sys.argv[1], fsync="always")
p = sys.argv[2]
print("open", flush=True)
i = 0
while True:
    if i % 3 == 0:
        db.mset({f"{p}m{i}": f"v{i}", f"{p}n{i}": f"w{i}"})
    elif i % 3 == 1:
        db.wait(db.set_async(f"{p}k{i}", f"v{i}"))
    else:
        db.set(f"{p}k{i}", f"v{i}", ex=1000)
    print(i, flush=True)
    i += 1
"""


def read_until(proc, lines, timeout):
    """The child's stdout until it holds `lines` complete lines, EOF or timeout."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + timeout
    while buf.count(b"\n") < lines and time.monotonic() < deadline:
        if sel.select(deadline - time.monotonic()):
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
    sel.close()
    return buf


def check_acknowledged(db, prefix, acked):
    for i in acked:
        if i % 3 == 0:
            assert db.mget([f"{prefix}m{i}", f"{prefix}n{i}"]) == [f"v{i}".encode(), f"w{i}".encode()], i
        else:
            assert db.get(f"{prefix}k{i}") == f"v{i}".encode(), i
        if i % 3 == 2:
            assert db.ttl(f"{prefix}k{i}") > 900, i


def test_kill9_keeps_every_acknowledged_write(tmp_path, child_env):
    path = str(tmp_path / "crash")
    rounds = {}
    for r in range(3):  # kill, recover, write on and kill again
        prefix = f"r{r}:"
        proc = subprocess.Popen([sys.executable, "-c", CHILD, path, prefix], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=child_env)
        try:
            buf = read_until(proc, lines=1 + 150, timeout=15)
            os.kill(proc.pid, signal.SIGKILL)
            rest, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        buf += rest
        err = err.decode(errors="replace")
        assert proc.returncode == -signal.SIGKILL, err
        lines = buf.split(b"\n")[:-1]  # a torn last line was never printed in full: ignore it
        assert lines and lines[0] == b"open", err
        acked = [int(x) for x in lines[1:]]
        assert acked == list(range(len(acked)))
        assert len(acked) >= 10, f"round {r}: only {len(acked)} writes before the kill\n{err}"
        rounds[prefix] = acked

        with synap.open(path, fsync="always") as db:
            for p, a in rounds.items():
                check_acknowledged(db, p, a)
