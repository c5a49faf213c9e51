#!/usr/bin/python3
"""Soak synap-server: a mixed workload, kill -9 at intervals, RSS sampled.

  tests/soak/soak.py [--server PATH] [--duration 60] [--kill-every 15]
                     [--maxmemory 16M] [--rss-limit-mib N] [--seed N]
                     [--dir DIR] [--keep]

Runs synap-server (fsync=always, kv.maxmemory, a snapshot every 50,000
writes) on one data directory for --duration seconds of workload (restarts
and checks not counted) while worker threads drive it:

- two KV workers: SET (no TTL, EX 3600, PX 200..3000 ms), DEL, and GETs
  checked against the model, on 20,000 keys each, values 100..4,000 bytes,
  so that kv.maxmemory (noeviction) is reached and SETs get -OOM, after
  which the worker DELs one of its keys;
- a queue producer (QPUBLISH) and a consumer (QCONSUME COUNT 50, then QACK);
- a stream producer (XADD), which also PUBLISHes to a pub/sub channel that
  a subscriber thread reads.

Every --kill-every seconds the server is killed with SIGKILL (workers stop
at their next failed call; an operation whose reply was lost is recorded as
"may or may not have happened"), restarted on the same directory, and
checked before the workers go on:

- every key holds a value one of its writes could have left (the last
  acknowledged write, or a later unacknowledged one; a key past its TTL is
  gone), so no acknowledged SET or DEL is lost;
- every acknowledged XADD is there with its payload (all of them, or a
  sample of 5,000 plus the last 500 when there are more), and XLEN is at
  least their count;
- the queue holds at least the acknowledged publishes not yet acked.

At the end the server is killed once more, restarted and checked, and the
queue is drained: every acknowledged publish that was not acked comes back,
and no message whose QACK was acknowledged is delivered again.

A thread samples the server's VmRSS every 0.2 s (and VmHWM before each
kill); the run fails if it exceeds --rss-limit-mib (default: 3 x maxmemory
+ 160 MiB: the KV table's estimate is not its whole footprint, and the
queue, stream indexes, loops and allocator arenas come on top).

Exit status: 0 all checks passed, 1 a check failed (each failure is printed
as "FAIL: ..."), 2 bad arguments or the server did not start.
The short run (CI, ~80 s): /usr/bin/python3 tests/soak/soak.py --duration 60 --kill-every 15
The long run (~72 min):   /usr/bin/python3 tests/soak/soak.py --duration 3600 --kill-every 60
Needs python3-redis (Debian's /usr/bin/python3 has it). The long run's data
directory reached 2.6 GB.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from resp_conn import free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MiB = 1 << 20
KEYS_PER_WORKER = 20000
STREAM = "soak.stream"
QUEUE = "soakq"
CHANNEL = "soak.news"

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print(f"FAIL: {msg}", flush=True)


def parse_size(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    s = s.strip().upper()
    return int(s[:-1]) * units[s[-1]] if s and s[-1] in units else int(s)


# ---------------------------------------------------------------- the server

class ServerProc:
    def __init__(self, binary, data_dir, log_dir, maxmemory):
        self.binary, self.dir, self.log_dir = binary, data_dir, log_dir
        self.port = free_port()
        self.args = [binary, "--port", str(self.port), "--dir", data_dir, "--threads", "2",
                     "--fsync", "always", "--set", f"kv.maxmemory={maxmemory}",
                     "--set", "snapshot.operation_threshold=50000"]
        self.proc = None
        self.starts = 0
        self.killed_by_us = False

    def start(self):
        self.starts += 1
        self.log = os.path.join(self.log_dir, f"server-{self.starts}.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)
        self.killed_by_us = False
        deadline = time.monotonic() + 120  # recovery replays the log since the last snapshot
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"synap-server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                redis.Redis(port=self.port, socket_timeout=5).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"synap-server did not answer PING within 120 s: {self.log_tail()}")

    def kill9(self):
        self.killed_by_us = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def log_tail(self):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-800:].decode(errors="replace")
        except OSError:
            return ""

    def memory(self):
        """(VmRSS, VmHWM) in bytes, or None once the process is gone."""
        try:
            out = {}
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "VmHWM"):
                        out[k] = int(v.split()[0]) * 1024
            return out["VmRSS"], out["VmHWM"]
        except (OSError, KeyError):
            return None


# ---------------------------------------------------------------- the model

class Model:
    """What the server must hold, from the replies the workers got."""

    def __init__(self):
        self.lock = threading.Lock()
        self.kv = {}                 # key -> [(value or None, expires_at or None)]: what it may hold
        self.stream = {}             # id -> payload, acknowledged XADDs
        self.stream_order = []       # acknowledged ids, in order
        self.published = set()       # queue payloads whose QPUBLISH was acknowledged
        self.acked = set()           # payloads whose QACK was acknowledged
        self.maybe_acked = set()     # payloads whose QACK reply was lost
        self.counts = {}

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def kv_done(self, key, value, exp, certain):
        with self.lock:
            if certain:
                self.kv[key] = [(value, exp)]
            else:
                self.kv.setdefault(key, [(None, None)]).append((value, exp))


def allowed(possible, t_send, t_recv):
    """Values a GET sent at t_send and answered at t_recv may return."""
    out = set()
    for value, exp in possible:
        if value is None or exp is None or t_recv < exp:
            out.add(value)
        elif t_send > exp + 2:  # the server set the expiry at or a little after our send
            out.add(None)
        else:
            out.update((value, None))
    return out


# ---------------------------------------------------------------- workers

class Soak:
    def __init__(self, args, server, model):
        self.args, self.server, self.model = args, server, model
        self.up = threading.Event()      # set while the server may be used
        self.stop = threading.Event()
        self.parked = 0
        self.parked_cv = threading.Condition()
        self.workers = []

    def client(self):
        return redis.Redis(port=self.server.port, socket_timeout=30, socket_connect_timeout=10)

    def park(self):
        """Waits (counted as parked) until the server is back or the run ends."""
        with self.parked_cv:
            self.parked += 1
            self.parked_cv.notify_all()
        while not self.up.is_set() and not self.stop.is_set():
            self.up.wait(0.1)
        with self.parked_cv:
            self.parked -= 1

    def wait_parked(self, n, timeout=60):
        with self.parked_cv:
            return self.parked_cv.wait_for(lambda: self.parked >= n, timeout)

    def run_worker(self, name, step):
        """Calls step(r, rng) until the run ends; a lost connection parks it."""
        rng = random.Random(f"{self.args.seed}:{name}")
        r = None
        while not self.stop.is_set():
            if not self.up.is_set():
                self.park()
                r = None
                continue
            try:
                if r is None:
                    r = self.client()
                step(r, rng)
            except (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError):
                r = None
                self.park()
            except redis.ResponseError as e:  # an error reply no step expects
                fail(f"{name}: unexpected error reply: {e}")
                time.sleep(0.5)
        with self.parked_cv:  # finished: counted as parked for the final check, for good
            self.parked += 1
            self.parked_cv.notify_all()

    # --- KV
    def kv_step(self, w):
        seq = [0]

        def step(r, rng):
            key = f"kv:{w}:{rng.randrange(KEYS_PER_WORKER)}"
            seq[0] += 1
            op = rng.random()
            if op < 0.1:
                with self.model.lock:
                    possible = list(self.model.kv.get(key, [(None, None)]))
                t0 = time.time()
                got = r.get(key)
                if got not in allowed(possible, t0, time.time()):
                    fail(f"GET {key} during the run: {got[:40] if got else got!r}, "
                         f"expected one of {[v[:40] if v else v for v, _ in possible]}")
                self.model.count("GET")
                return
            if op < 0.2:
                try:
                    r.delete(key)
                except (redis.ConnectionError, redis.TimeoutError):
                    self.model.kv_done(key, None, None, certain=False)
                    raise
                self.model.kv_done(key, None, None, certain=True)
                self.model.count("DEL")
                return
            value = (f"{key}:{seq[0]}:".encode() * 200)[:rng.randint(100, 4000)]
            if op < 0.6:
                ttl_ms, exp = None, None
            elif op < 0.8:
                ttl_ms = 3600 * 1000
                exp = time.time() + 3600
            else:
                ttl_ms = rng.randint(200, 3000)
                exp = time.time() + ttl_ms / 1000
            try:
                r.set(key, value, px=ttl_ms)
            except redis.ResponseError as e:
                if "OOM" not in str(e) and type(e).__name__ != "OutOfMemoryError":
                    fail(f"SET {key}: unexpected error {e}")
                self.model.count("SET refused (OOM)")
                # Over kv.maxmemory (noeviction): free room as a client would.
                victim = f"kv:{w}:{rng.randrange(KEYS_PER_WORKER)}"
                try:
                    r.delete(victim)
                except (redis.ConnectionError, redis.TimeoutError):
                    self.model.kv_done(victim, None, None, certain=False)
                    raise
                self.model.kv_done(victim, None, None, certain=True)
                self.model.count("DEL")
                return
            except (redis.ConnectionError, redis.TimeoutError):
                self.model.kv_done(key, value, exp, certain=False)
                raise
            self.model.kv_done(key, value, exp, certain=True)
            self.model.count("SET")
        return step

    # --- queue
    def producer_step(self):
        seq = [0]

        def step(r, rng):
            seq[0] += 1
            payload = f"q:{self.server.starts}:{seq[0]}:".encode() + b"x" * rng.randint(10, 500)
            r.execute_command("QPUBLISH", QUEUE, payload)  # a lost reply: maybe published, not required
            with self.model.lock:
                self.model.published.add(payload)
            self.model.count("QPUBLISH")
        return step

    def consumer_step(self):
        def step(r, rng):
            rep = r.execute_command("QCONSUME", QUEUE, "soak", "COUNT", "50", "BLOCK", "200")
            if not rep:
                return
            with self.model.lock:
                again = [m[1] for m in rep if m[1] in self.model.acked]
            if again:
                fail(f"QCONSUME delivered {len(again)} messages whose QACK was acknowledged: {again[:2]}")
            payloads = [m[1] for m in rep]
            try:
                r.execute_command("QACK", QUEUE, *[m[0] for m in rep])
            except (redis.ConnectionError, redis.TimeoutError):
                with self.model.lock:
                    self.model.maybe_acked.update(payloads)
                raise
            with self.model.lock:
                self.model.acked.update(payloads)
            self.model.count("QACK", len(rep))
        return step

    # --- stream and pub/sub
    def stream_step(self):
        seq = [0]

        def step(r, rng):
            seq[0] += 1
            payload = f"s:{self.server.starts}:{seq[0]}:".encode() + b"y" * rng.randint(10, 800)
            eid = r.xadd(STREAM, {"p": payload})
            with self.model.lock:
                self.model.stream[eid] = payload
                self.model.stream_order.append(eid)
            self.model.count("XADD")
            if seq[0] % 4 == 0:
                r.publish(CHANNEL, payload[:64])
                self.model.count("PUBLISH")
        return step

    def subscriber_step(self):
        state = {"ps": None}

        def step(r, rng):
            if state["ps"] is None or state["ps"].connection is None:
                state["ps"] = r.pubsub(ignore_subscribe_messages=True)
                state["ps"].subscribe(CHANNEL)
            try:
                m = state["ps"].get_message(timeout=0.2)
            except Exception:
                state["ps"] = None
                raise
            if m and m.get("type") == "message":
                self.model.count("pub/sub messages received")
        return step

    def start_workers(self):
        steps = [("kv0", self.kv_step(0)), ("kv1", self.kv_step(1)), ("producer", self.producer_step()),
                 ("consumer", self.consumer_step()), ("stream", self.stream_step()),
                 ("subscriber", self.subscriber_step())]
        for name, step in steps:
            t = threading.Thread(target=self.run_worker, args=(name, step), name=name, daemon=True)
            t.start()
            self.workers.append(t)


# ---------------------------------------------------------------- checks after a restart

def verify(soak, label, final=False):
    m = soak.model
    r = redis.Redis(port=soak.server.port, socket_timeout=120)
    with m.lock:
        kv = {k: list(v) for k, v in m.kv.items()}
        order = list(m.stream_order)
        stream = dict(m.stream)
        outstanding = m.published - m.acked - m.maybe_acked
    keys = list(kv)
    bad = 0
    for i in range(0, len(keys), 1000):
        chunk = keys[i:i + 1000]
        t0 = time.time()
        got = r.mget(chunk)
        t1 = time.time()
        for k, g in zip(chunk, got):
            if g not in allowed(kv[k], t0, t1):
                bad += 1
                if bad <= 3:
                    fail(f"{label}: {k} holds {g[:40] if g else g!r}, expected one of "
                         f"{[v[:40] if v else v for v, _ in kv[k]]}")
    if bad > 3:
        fail(f"{label}: {bad} keys in all hold a value no acknowledged write left")
    sample = order if len(order) <= 5500 else random.Random(label).sample(order[:-500], 5000) + order[-500:]
    missing = 0
    pipe = r.pipeline(transaction=False)
    for eid in sample:
        pipe.xrange(STREAM, eid, eid)
    for eid, rows in zip(sample, pipe.execute()):
        if not rows or rows[0][1].get(b"p") != stream[eid]:
            missing += 1
    if missing:
        fail(f"{label}: {missing} of {len(sample)} acknowledged XADDs checked are missing or differ")
    xlen = r.xlen(STREAM) if order else 0
    if xlen < len(order):
        fail(f"{label}: XLEN {xlen} < {len(order)} acknowledged XADDs")
    stats = r.execute_command("QSTATS", QUEUE) if m.published else None
    depth = None
    if stats:
        st = dict(zip(stats[::2], stats[1::2])) if isinstance(stats, list) else stats
        depth = sum(int(st.get(k, 0)) for k in (b"ready", b"in_flight", b"delayed"))
        if depth < len(outstanding):
            fail(f"{label}: the queue holds {depth} messages, fewer than the {len(outstanding)} "
                 f"acknowledged publishes not acked")
    print(f"   {label}: {len(keys)} keys, {len(sample)} of {len(order)} XADDs, queue depth {depth} "
          f"(>= {len(outstanding)} outstanding) checked", flush=True)
    if final:
        drain(r, m, outstanding)
    r.close()


def drain(r, m, outstanding):
    got = set()
    while True:
        rep = r.execute_command("QCONSUME", QUEUE, "drain", "COUNT", "1000")
        if not rep:
            break
        got.update(x[1] for x in rep)
        r.execute_command("QACK", QUEUE, *[x[0] for x in rep])
    dead = r.execute_command("QDLQ", QUEUE, "COUNT", "10000") or []
    got.update(x[1] for x in dead)
    lost = outstanding - got
    if lost:
        fail(f"final drain: {len(lost)} acknowledged publishes never came back: {sorted(lost)[:2]}")
    again = got & m.acked
    if again:
        fail(f"final drain: {len(again)} messages whose QACK was acknowledged came back")
    print(f"   final drain: {len(got)} messages ({len(dead)} dead letters), every one of the "
          f"{len(outstanding)} outstanding publishes among them: {not lost}", flush=True)


# ---------------------------------------------------------------- main

def sample_rss(soak, peak, stop):
    while not stop.is_set():
        mem = soak.server.memory()
        if mem:
            peak[0] = max(peak[0], mem[0])
        time.sleep(0.2)


def restart_and_verify(soak, peak, label, final=False):
    """Parks the workers, kills the server, restarts it, checks; the caller resumes them."""
    soak.up.clear()
    mem = soak.server.memory()
    if mem:
        peak[0] = max(peak[0], mem[1])  # VmHWM: a spike between samples
    if soak.server.proc.poll() is not None:
        fail(f"{label}: the server died on its own (exit status {soak.server.proc.returncode}): "
             f"{soak.server.log_tail()}")
    soak.server.kill9()
    if not soak.wait_parked(len(soak.workers)):
        fail(f"{label}: workers did not stop within 60 s after the kill")
    soak.server.start()
    verify(soak, label, final)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=os.path.join(ROOT, "build", "tools", "synap-server", "synap-server"))
    ap.add_argument("--duration", type=float, default=60, help="seconds of workload (default 60)")
    ap.add_argument("--kill-every", type=float, default=15, help="seconds between kill -9s (default 15)")
    ap.add_argument("--maxmemory", default="16M", help="kv.maxmemory (default 16M)")
    ap.add_argument("--rss-limit-mib", type=float, default=None,
                    help="fail above this RSS (default 3 x maxmemory + 160 MiB)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--dir", default=None, help="work directory (default: a new one under $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory on success")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = time.time_ns() % 1000000007
    if args.duration <= 0 or args.kill_every <= 0 or not os.access(args.server, os.X_OK):
        print(f"soak: need --duration > 0, --kill-every > 0 and an executable --server ({args.server})",
              file=sys.stderr)
        return 2
    maxmemory = parse_size(args.maxmemory)
    rss_limit = (args.rss_limit_mib * MiB) if args.rss_limit_mib else 3 * maxmemory + 160 * MiB
    work = args.dir or tempfile.mkdtemp(prefix="synap-soak-")
    os.makedirs(work, exist_ok=True)
    server = ServerProc(args.server, os.path.join(work, "data"), work, args.maxmemory)
    print(f"soak: {args.duration:.0f} s, kill -9 every {args.kill_every:.0f} s, kv.maxmemory {args.maxmemory}, "
          f"RSS limit {rss_limit / MiB:.0f} MiB, seed {args.seed}, work directory {work}", flush=True)
    try:
        server.start()
    except RuntimeError as e:
        print(f"soak: {e}", file=sys.stderr)
        return 2
    # Many kills may catch a message in flight many times: keep it out of the dead letters.
    redis.Redis(port=server.port).execute_command("QCREATE", QUEUE, "MAXRETRIES", "1000")
    model = Model()
    soak = Soak(args, server, model)
    soak.up.set()
    peak, stop_sampler = [0], threading.Event()
    threading.Thread(target=sample_rss, args=(soak, peak, stop_sampler), daemon=True).start()
    soak.start_workers()
    t0 = time.monotonic()
    kills = 0
    paused = 0.0  # seconds spent restarting and checking: not workload time

    def worked():
        return time.monotonic() - t0 - paused

    try:
        next_kill = args.kill_every
        while worked() < args.duration:
            time.sleep(0.2)
            if soak.server.proc.poll() is not None and not soak.server.killed_by_us:
                fail(f"the server died on its own (exit status {soak.server.proc.returncode}): "
                     f"{soak.server.log_tail()}")
                break
            if worked() >= next_kill and worked() < args.duration - 1:
                kills += 1
                t = time.monotonic()
                restart_and_verify(soak, peak, f"restart {kills} after {worked():.0f} s of workload")
                paused += time.monotonic() - t
                soak.up.set()
                next_kill = worked() + args.kill_every
        soak.stop.set()
        restart_and_verify(soak, peak, "final restart", final=True)
    except RuntimeError as e:
        fail(str(e))
    finally:
        soak.stop.set()
        soak.up.set()
        stop_sampler.set()
        server.kill9()
    took = time.monotonic() - t0
    if peak[0] > rss_limit:
        fail(f"the server's RSS reached {peak[0] / MiB:.1f} MiB, over the limit of {rss_limit / MiB:.0f} MiB")
    c = model.counts
    print(f"soak: {took:.0f} s ({took - paused:.0f} s of workload), {kills} kill -9 restarts (+1 final), peak RSS {peak[0] / MiB:.1f} MiB "
          f"(limit {rss_limit / MiB:.0f}); " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())), flush=True)
    if FAILURES:
        print(f"soak: {len(FAILURES)} failures (seed {args.seed}); work directory kept: {work}", flush=True)
        return 1
    print("soak: passed", flush=True)
    if not args.keep and not args.dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
