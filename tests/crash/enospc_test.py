#!/usr/bin/python3
"""ENOSPC for real: the engine on a small filesystem that fills up.

  enospc_test.py <path to synap-server>

Mounts a 32 MiB tmpfs (a loop-mounted ext4 image instead if the tmpfs
refuses O_DIRECT, which wal.mechanism=direct needs), puts two filler files
on it, and runs the engine there under fsync=always until a write fails:

- in process, through the Python binding (bindings/python, SYNAP_LIBRARY),
  for wal.mechanism buffered and direct, with segments preallocated (the
  space runs out when a new segment is created) and not (it runs out in the
  middle of a batch write, leaving a torn tail): KV SETs, queue publishes
  and stream appends in turn;
- over the wire, synap-server with the same workload (SET, QPUBLISH, XADD).

What the engine does (engine/wal/wal.h, wal_commit.cc): a failed write or
fsync *poisons* that log (the KV/queue log, or one stream room's log): the
failing call gets SYNAP_ENOSPC with the errno text and the file, every later
write to that log SYNAP_EREADONLY naming the first error, even after space
is freed, until the database is reopened; reads go on; recovery at reopen
cuts a torn tail. The checks, for each case:

1. the failing write gets NoSpace (`-IOERR ...` on the wire) whose message
   says "No space left on device"; the same write again is refused with
   ReadOnly (`-READONLY`) naming the cause; reads still answer;
2. after a little space is freed, the poisoned handle still refuses that
   write (never a false success);
3. a reopen on the nearly full filesystem opens and has every acknowledged
   KV write and stream append; a write there succeeds or fails cleanly;
4. with the big filler deleted, a reopen has every acknowledged write of
   every kind (queue messages consumed and acked), accepts new writes of
   every kind, and a further reopen has those too.

Mounting needs root (CAP_SYS_ADMIN): without it the test prints why and
exits 77 (meson: skipped). The mount is removed in a finally block.
Environment: SYNAP_TEST_TMPDIR (default /tmp), SYNAP_LIBRARY, PYTHONPATH,
SYNAP_ENOSPC_FS=tmpfs|ext4 (default: tmpfs, or ext4 if tmpfs lacks O_DIRECT;
with tmpfs forced and no O_DIRECT, the direct cases fail).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from e2e_checks import check, report  # noqa: E402
from resp_conn import free_port  # noqa: E402

SKIP = 77
MiB = 1 << 20
FS_BYTES = 32 * MiB
BIG_FILLER = 8 * MiB     # deleted to let the engine write again
SMALL_FILLER = 512 << 10  # deleted while the engine is still poisoned
# Small segments so that new segments are created as the disk fills; the
# batch and value limits must fit in them.
ENGINE = {
    "wal.segment_bytes": "2M",
    "wal.max_record_bytes": "256K",
    "kv.max_value_bytes": "64K",
    "stream.segment_bytes": "1M",
}
MAX_OPS = 200000  # a filesystem of 32 MiB fills long before this


# ---------------------------------------------------------------- the filesystem

class SmallFs:
    """A 32 MiB filesystem mounted at a fresh directory (tmpfs, else ext4 on a loop device)."""

    def __init__(self, base):
        self.base = base
        self.mnt = tempfile.mkdtemp(prefix="enospc-mnt-", dir=base)
        self.image = None
        self.kind = None

    def mount(self, want):
        """"" or why it cannot (then the test skips). want: "tmpfs", "ext4" or "" (tmpfs if it can)."""
        if want != "ext4":
            p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_BYTES // MiB}m", "tmpfs", self.mnt],
                               capture_output=True, text=True)
            if p.returncode != 0:
                return f"mount -t tmpfs failed (needs root / CAP_SYS_ADMIN): {p.stderr.strip()}"
            self.kind = "tmpfs"
            if self.direct_io_works() or want == "tmpfs":
                return ""
            subprocess.run(["umount", self.mnt], check=False)
            self.kind = None
        # O_DIRECT refused on tmpfs (older kernels), or asked for: ext4 in a file.
        self.image = os.path.join(self.base, "enospc-ext4.img")
        with open(self.image, "wb") as f:
            f.truncate(FS_BYTES)
        p = subprocess.run(["mkfs.ext4", "-q", "-F", self.image], capture_output=True, text=True)
        if p.returncode != 0:
            return f"tmpfs refuses O_DIRECT and mkfs.ext4 failed: {p.stderr.strip()}"
        p = subprocess.run(["mount", "-o", "loop", self.image, self.mnt], capture_output=True, text=True)
        if p.returncode != 0:
            return f"tmpfs refuses O_DIRECT and mount -o loop failed: {p.stderr.strip()}"
        self.kind = "ext4 on a loop device"
        return ""

    def direct_io_works(self):
        path = os.path.join(self.mnt, "odirect-probe")
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_DIRECT)
            os.close(fd)
            return True
        except OSError:
            return False
        finally:
            if os.path.exists(path):
                os.unlink(path)

    def reset(self):
        """Empties the filesystem and writes the two fillers."""
        for name in os.listdir(self.mnt):
            p = os.path.join(self.mnt, name)
            shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
        for name, size in (("filler-big", BIG_FILLER), ("filler-small", SMALL_FILLER)):
            with open(os.path.join(self.mnt, name), "wb") as f:
                f.write(os.urandom(size))
                f.flush()
                os.fsync(f.fileno())

    def free(self, name):
        os.unlink(os.path.join(self.mnt, name))

    def available(self):
        st = os.statvfs(self.mnt)
        return st.f_bavail * st.f_frsize

    def unmount(self):
        if self.kind:
            # Busy if a database is still open (an exception, SIGTERM): then
            # detach it now (lazy), freed when the last file closes.
            if subprocess.run(["umount", self.mnt], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", self.mnt], check=False)
        shutil.rmtree(self.mnt, ignore_errors=True)
        if self.image and os.path.exists(self.image):
            os.unlink(self.image)


def value(i):
    return (f"v{i}-" * 300)[:1000].encode()


# ---------------------------------------------------------------- in process

class Acked:
    """Every write the engine acknowledged."""

    def __init__(self):
        self.kv = {}       # key -> value
        self.queue = []    # payloads published
        self.stream = {}   # offset -> payload


def engine_write(db, kind, i, acked):
    """One write of `kind` (0 KV, 1 queue, 2 stream); recorded once it returns."""
    v = value(i)
    if kind == 0:
        db.set(f"k{i:08d}", v)
        acked.kv[f"k{i:08d}"] = v
    elif kind == 1:
        db.publish("jobs", v)
        acked.queue.append(v)
    else:
        acked.stream[db.stream_append("events", v)] = v


def verify_kv_stream(db, acked, when):
    lost = [k for k, v in acked.kv.items() if db.get(k) != v]
    check(f"{when}: every acknowledged SET is there", not lost, f"{len(lost)} of {len(acked.kv)} lost: {lost[:3]}")
    got, off = {}, 0
    while True:
        batch = db.stream_read("events", off, max_records=1000)
        if not batch:
            break
        got.update((e.offset, e.payload) for e in batch)
        off = batch.next_offset
    bad = [o for o, v in acked.stream.items() if got.get(o) != v]
    check(f"{when}: every acknowledged stream append is there at its offset", not bad,
          f"{len(bad)} of {len(acked.stream)} missing or different: offsets {bad[:3]}")


def drain_queue(db, acked, when):
    """Consumes and acks every message; checks that every acknowledged publish came."""
    got = []
    while True:
        msgs = db.consume("jobs", max=1000)
        if not msgs:
            break
        got += [m.payload for m in msgs]
        db.ack("jobs", *[m.id for m in msgs])
    missing = len(acked.queue) - sum(min(got.count(p), 1) for p in set(acked.queue))
    check(f"{when}: every acknowledged publish is delivered", set(acked.queue) <= set(got),
          f"{missing} payloads missing of {len(acked.queue)}")
    acked.queue = []  # acknowledged as consumed: none may come back


def in_process_case(fs, mechanism, preallocate):
    import synap

    name = f"in process, wal.mechanism={mechanism}, preallocate={preallocate}"
    print(f"== {name}", flush=True)
    fs.reset()
    d = os.path.join(fs.mnt, "db")
    opts = dict(ENGINE, **{"wal.mechanism": mechanism, "wal.preallocate": preallocate,
                           "stream.preallocate": preallocate})
    acked = Acked()
    db = synap.open(d, fsync="always", options=opts)
    err, i = None, 0
    while i < MAX_OPS:
        try:
            engine_write(db, i % 3, i, acked)
        except synap.SynapError as e:
            err = e
            break
        i += 1
    kinds = ("SET", "publish", "stream append")
    print(f"   {i} writes acknowledged ({len(acked.kv)} SETs, {len(acked.queue)} publishes, "
          f"{len(acked.stream)} appends), then the {kinds[i % 3]} failed: {err}", flush=True)
    if not check(f"{name}: a write fails before {MAX_OPS} writes", err is not None):
        db.close()
        return
    check(f"{name}: the failing write raises NoSpace (SYNAP_ENOSPC)", isinstance(err, synap.NoSpace),
          f"{type(err).__name__}: {err}")
    check(f"{name}: its message says why", "No space left on device" in err.message, err.message)
    # 1. The same write again: the log is poisoned.
    try:
        engine_write(db, i % 3, i + 1, acked)
        check(f"{name}: the same write again is refused", False, "it succeeded")
    except synap.SynapError as e:
        check(f"{name}: the same write again is refused with ReadOnly naming the cause",
              isinstance(e, synap.ReadOnly) and "No space left on device" in e.message,
              f"{type(e).__name__}: {e}")
    first = next(iter(acked.kv))
    check(f"{name}: reads still answer on the poisoned handle", db.get(first) == acked.kv[first])
    # 2. Space freed, the handle still poisoned: never a false success.
    fs.free("filler-small")
    try:
        engine_write(db, i % 3, i + 2, acked)
        check(f"{name}: after freeing space the poisoned handle still refuses that write", False, "it succeeded")
    except synap.ReadOnly:
        check(f"{name}: after freeing space the poisoned handle still refuses that write (ReadOnly)", True)
    try:
        db.close()
        closed = "OK"
    except synap.SynapError as e:  # the poison is reported once more
        closed = f"{type(e).__name__}: {e.message}"
    print(f"   close of the poisoned handle: {closed}", flush=True)

    # 3. Reopen on a nearly full filesystem.
    db = synap.open(d, fsync="always", options=opts)
    verify_kv_stream(db, acked, f"{name}: reopened nearly full ({fs.available() // 1024} KiB free)")
    outcome = []
    for k in range(3):
        try:
            engine_write(db, k, MAX_OPS + k, acked)
            outcome.append("ok")
        except (synap.NoSpace, synap.ReadOnly) as e:
            outcome.append(type(e).__name__)
    print(f"   a SET, a publish and an append on the nearly full filesystem: {outcome}", flush=True)
    try:
        db.close()
    except synap.SynapError:
        pass

    # 4. Space freed: reopen, everything there, writes accepted again.
    fs.free("filler-big")
    db = synap.open(d, fsync="always", options=opts)
    verify_kv_stream(db, acked, f"{name}: reopened with space")
    drain_queue(db, acked, f"{name}: reopened with space")
    n_new = 0
    try:
        for k in range(300):
            engine_write(db, k % 3, 2 * MAX_OPS + k, acked)
            n_new += 1
    except synap.SynapError as e:
        print(f"   write after freeing space failed: {e}", flush=True)
    check(f"{name}: after a reopen with space, 300 new writes of every kind are accepted", n_new == 300,
          f"{n_new} accepted")
    db.close()
    db = synap.open(d, fsync="always", options=opts)
    verify_kv_stream(db, acked, f"{name}: reopened once more")
    drain_queue(db, acked, f"{name}: reopened once more")
    db.close()


# ---------------------------------------------------------------- over the wire

class ServerProc:
    def __init__(self, binary, data_dir, log_dir, mechanism):
        self.args = [binary, "--dir", data_dir, "--fsync", "always", "--threads", "1",
                     "--set", f"wal.mechanism={mechanism}"] + sum((["--set", f"{k}={v}"] for k, v in ENGINE.items()), [])
        self.log_dir = log_dir
        self.proc = None
        self.n = 0

    def start(self):
        import redis
        self.n += 1
        self.port = free_port()
        self.log = os.path.join(self.log_dir, f"enospc-server-{self.n}.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.args + ["--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT)
        for _ in range(300):
            if self.proc.poll() is not None:
                raise RuntimeError(f"synap-server exited with {self.proc.returncode}: {open(self.log).read()[-600:]}")
            try:
                r = redis.Redis(port=self.port, socket_timeout=30)
                r.ping()
                return r
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("synap-server did not answer PING")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def is_readonly(e):
    """A -READONLY reply: redis-py raises ReadOnlyError for it, without the prefix."""
    import redis
    return isinstance(e, redis.exceptions.ReadOnlyError) or str(e).startswith("READONLY")


def wire_write(r, kind, i, acked):
    v = value(i)
    if kind == 0:
        r.set(f"k{i:08d}", v)
        acked.kv[f"k{i:08d}"] = v
    elif kind == 1:
        r.execute_command("QPUBLISH", "jobs", v)
        acked.queue.append(v)
    else:
        acked.stream[r.xadd("events", {"p": v})] = v


def wire_verify(r, acked, when, with_queue):
    lost = [k for k, v in acked.kv.items() if r.get(k) != v]
    check(f"{when}: every acknowledged SET is there", not lost, f"{len(lost)} of {len(acked.kv)} lost")
    got = {eid: f[b"p"] for eid, f in r.xrange("events")}
    bad = [e for e, v in acked.stream.items() if got.get(e) != v]
    check(f"{when}: every acknowledged XADD is there", not bad, f"{len(bad)} of {len(acked.stream)} missing")
    if not with_queue:
        return
    got = []
    while True:
        rep = r.execute_command("QCONSUME", "jobs", "c", "COUNT", "1000")
        if not rep:
            break
        got += [m[1] for m in rep]
        r.execute_command("QACK", "jobs", *[m[0] for m in rep])
    check(f"{when}: every acknowledged QPUBLISH is delivered", set(acked.queue) <= set(got),
          f"{len(set(acked.queue) - set(got))} missing of {len(acked.queue)}")
    acked.queue = []


def server_case(fs, binary, log_dir, mechanism):
    import redis

    name = f"synap-server, wal.mechanism={mechanism}"
    print(f"== {name}", flush=True)
    fs.reset()
    srv = ServerProc(binary, os.path.join(fs.mnt, "db"), log_dir, mechanism)
    try:
        r = srv.start()
        acked, err, i = Acked(), None, 0
        while i < MAX_OPS:
            try:
                wire_write(r, i % 3, i, acked)
            except redis.ResponseError as e:
                err = str(e)
                break
            i += 1
        kinds = ("SET", "QPUBLISH", "XADD")
        print(f"   {i} writes acknowledged, then the {kinds[i % 3]} got: -{err}", flush=True)
        if not check(f"{name}: a write fails before {MAX_OPS} writes", err is not None):
            return
        # XADD's completion carries only the code (synap_appended_fn): its
        # text is synap_strerror's "no space left on device", without the file.
        check(f"{name}: the failing write gets -IOERR saying 'no space left on device'",
              err.startswith("IOERR") and "no space left on device" in err.lower(), err)
        try:
            wire_write(r, i % 3, i + 1, acked)
            check(f"{name}: the same write again is refused", False, "it succeeded")
        except redis.ResponseError as e:
            check(f"{name}: the same write again gets -READONLY naming the cause",
                  is_readonly(e) and "No space left on device" in str(e), f"{type(e).__name__}: {e}")
        check(f"{name}: reads and PING still answer", r.ping() and r.get("k00000000") == value(0))
        fs.free("filler-small")
        try:
            wire_write(r, i % 3, i + 2, acked)
            check(f"{name}: after freeing space the poisoned server still refuses", False, "it succeeded")
        except redis.ResponseError as e:
            check(f"{name}: after freeing space the poisoned server still refuses (-READONLY)",
                  is_readonly(e), f"{type(e).__name__}: {e}")
        srv.stop()
        check(f"{name}: SIGTERM on a poisoned server exits", srv.proc.returncode is not None)
        fs.free("filler-big")
        r = srv.start()
        wire_verify(r, acked, f"{name}: restarted with space", with_queue=True)
        n_new = 0
        try:
            for k in range(300):
                wire_write(r, k % 3, 2 * MAX_OPS + k, acked)
                n_new += 1
        except redis.ResponseError as e:
            print(f"   write after the restart failed: {e}", flush=True)
        check(f"{name}: after a restart with space, 300 new writes are accepted", n_new == 300, f"{n_new}")
        srv.stop()
        r = srv.start()
        wire_verify(r, acked, f"{name}: restarted once more", with_queue=True)
    finally:
        srv.stop()


# ---------------------------------------------------------------- main

def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    server = os.path.abspath(sys.argv[1])
    base = os.environ.get("SYNAP_TEST_TMPDIR") or "/tmp"
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="enospc_test-", dir=base)
    fs = SmallFs(work)
    # meson's timeout sends SIGTERM: exit through the finally blocks, which unmount.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    why = fs.mount(os.environ.get("SYNAP_ENOSPC_FS", ""))
    if why:
        print(f"SKIP: {why}", flush=True)
        fs.unmount()
        shutil.rmtree(work, ignore_errors=True)
        return SKIP
    print(f"enospc_test: a {FS_BYTES // MiB} MiB {fs.kind} at {fs.mnt}", flush=True)
    t0 = time.monotonic()
    try:
        for mechanism in ("buffered", "direct"):
            for preallocate in ("auto", "none"):
                try:
                    in_process_case(fs, mechanism, preallocate)
                except Exception as e:  # noqa: BLE001 - a crash in a case fails it; the rest go on
                    check(f"in process {mechanism}/{preallocate}: unexpected exception", False, repr(e))
                    traceback.print_exc()
        for mechanism in ("direct", "buffered"):
            try:
                server_case(fs, server, work, mechanism)
            except Exception as e:  # noqa: BLE001
                check(f"synap-server {mechanism}: unexpected exception", False, repr(e))
                traceback.print_exc()
    finally:
        fs.unmount()
    if report("enospc_test", time.monotonic() - t0, work):
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
