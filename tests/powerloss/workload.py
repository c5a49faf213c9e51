"""The power-loss workloads and their checks (used by powerloss_test.py).

Children (run as `workload.py capi-run ...` / `workload.py server-run ...`):
each worker thread writes in its own key space and, the moment a call
returns, writes one line to stdout (a pipe to the harness) with os.write, so
the line is in the pipe before anything later happens:

  <monotonic time> K <key>               KV SET acknowledged (value: value_for(key))
  <t> d <key>  /  <t> D <key>            DEL about to be sent / acknowledged
  <t> C <key> <n>                        counter key SET to n (n grows)
  <t> P <queue> <id> <payload>           queue publish acknowledged
  <t> a <queue> <id>  /  <t> A ...        ack about to be sent / acknowledged
  <t> S <room> <first> <count> <tag>     stream append: payloads <tag>:0.. at first..
  <t> G <group> <room> <offset>          consumer-group commit acknowledged

Expectations collects the lines of every round; check() compares them with
what a reopened engine holds, and then adopts what it holds, so that a round
that lost writes (periodic, never) starts the next one from the truth.
"""
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from resp_conn import Err, RawConn  # noqa: E402

THREADS = 4
QUEUES = ("q0", "q1")
ROOMS = ("r0", "r1")


def engine_options(mode, mechanism, interval_ms):
    """Small segments and snapshots, so a few hundred writes roll segments
    and take snapshots: the cut lands in those paths too."""
    return {
        "wal.mechanism": mechanism,
        "wal.fsync_interval_ms": str(interval_ms),
        "wal.segment_bytes": "64K",
        "wal.max_batch_bytes": "32K",
        "wal.max_record_bytes": "16K",
        "kv.shards": "4",
        "kv.max_key_bytes": "256",
        "kv.max_value_bytes": "4K",
        "queue.max_payload_bytes": "4K",
        "stream.fsync": mode,
        "stream.fsync_interval_ms": str(interval_ms),
        "stream.segment_bytes": "64K",
        "stream.max_append_bytes": "16K",
        "stream.max_event_bytes": "4K",
        "snapshot.interval_secs": "0",
        "snapshot.operation_threshold": "300",
        "snapshot.keep": "2",
    }


def value_for(key):
    """The value a K line's key must hold: derived from the key, a few
    hundred bytes so that batches cross 512-byte sectors."""
    return (key + "=" + "v" * (len(key) * 7 % 300)).encode()


def emit(*fields):
    os.write(1, (" ".join([f"{time.monotonic():.6f}"] + [str(f) for f in fields]) + "\n").encode())


# ---- the C ABI child ----

def capi_worker(db, rnd, t):
    """Runs until the engine fails (the cut) or the process is killed."""
    import synap
    rng = random.Random(rnd * 1000 + t)
    mine = []  # keys this thread set and may delete
    i = 0
    try:
        while True:
            i += 1
            x = rng.random()
            if x < 0.40:
                key = f"k{t}:{rnd}:{i}"
                db.set(key, value_for(key))
                emit("K", key)
                mine.append(key)
            elif x < 0.47 and mine:
                key = mine.pop(rng.randrange(len(mine)))
                emit("d", key)
                db.delete(key)
                emit("D", key)
            elif x < 0.55:
                n = rnd * 1_000_000 + i
                db.set(f"c{t}", str(n))
                emit("C", f"c{t}", n)
            elif x < 0.70:
                q = QUEUES[t % 2]
                payload = f"m:{rnd}:{t}:{i}"
                emit("P", q, db.publish(q, payload.encode()), payload)
            elif x < 0.78:
                q = QUEUES[rng.randrange(2)]
                for msg in db.consume(q, consumer=f"w{t}", max=2, wait_ms=0):
                    emit("a", q, msg.id)
                    db.ack(q, msg.id)
                    emit("A", q, msg.id)
            elif x < 0.93:
                room = ROOMS[t % 2]
                tag = f"e:{rnd}:{t}:{i}"
                n = rng.randint(1, 4)
                first = db.stream_append(room, [f"{tag}:{j}".encode() for j in range(n)])
                emit("S", room, first, n, tag)
            else:
                room = ROOMS[t % 2]
                try:
                    _, end = db.stream_bounds(room)
                except synap.NotFound:
                    continue  # no append to this room yet
                db.group_commit(f"g{t}", room, end)
                emit("G", f"g{t}", room, end)
    except synap.SynapError as e:  # the cut: the engine is poisoned
        sys.stderr.write(f"worker {t}: {type(e).__name__}: {e}\n")


def capi_run(path, mode, mechanism, rnd, interval_ms):
    import synap
    db = synap.open(path, fsync=mode, options=engine_options(mode, mechanism, interval_ms))
    mech = db.stats()["wal"]["mechanism"]
    emit("ready", mech)
    workers = [threading.Thread(target=capi_worker, args=(db, rnd, t), daemon=True) for t in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    os._exit(3)  # every worker failed: wait for the kill without closing


# ---- RESP over the wire ----

class Resp(RawConn):
    """A RESP connection whose call() raises RuntimeError on an error reply."""

    def __init__(self, port):
        super().__init__(port, timeout=30)

    def call(self, *args):
        reply = self.command(*args)
        if isinstance(reply, Err):
            raise RuntimeError(str(reply))
        return reply


def server_worker(port, rnd, t):
    """Over RESP: SET, DEL, counter SETs, QPUBLISH, QCONSUME + QACK, XADD
    (one event, its tag in field "e"); no consumer groups."""
    rng = random.Random(rnd * 1000 + t)
    mine = []
    try:
        c = Resp(port)
        i = 0
        while True:
            i += 1
            x = rng.random()
            if x < 0.45:
                key = f"k{t}:{rnd}:{i}"
                if c.call("SET", key, value_for(key)) != "OK":
                    return
                emit("K", key)
                mine.append(key)
            elif x < 0.55 and mine:
                key = mine.pop(rng.randrange(len(mine)))
                emit("d", key)
                c.call("DEL", key)
                emit("D", key)
            elif x < 0.65:
                n = rnd * 1_000_000 + i
                if c.call("SET", f"c{t}", n) != "OK":
                    return
                emit("C", f"c{t}", n)
            elif x < 0.78:
                q, payload = QUEUES[t % 2], f"m:{rnd}:{t}:{i}"
                emit("P", q, c.call("QPUBLISH", q, payload), payload)
            elif x < 0.86:
                q = QUEUES[rng.randrange(2)]
                try:
                    msgs = c.call("QCONSUME", q, f"w{t}", "COUNT", 2)
                except RuntimeError as e:
                    if "no such queue" in str(e):
                        continue
                    raise
                for m in msgs:
                    emit("a", q, m[0])
                    c.call("QACK", q, m[0])
                    emit("A", q, m[0])
            else:
                room, tag = ROOMS[t % 2], f"e:{rnd}:{t}:{i}"
                entry_id = c.call("XADD", room, "*", "e", f"{tag}:0")
                emit("S", room, int(entry_id.split(b"-")[0]) - 1, 1, tag)
    except (OSError, RuntimeError) as e:
        sys.stderr.write(f"worker {t}: {e}\n")


def server_run(port, rnd):
    emit("ready", "server")
    workers = [threading.Thread(target=server_worker, args=(port, rnd, t), daemon=True) for t in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    os._exit(3)


if __name__ == "__main__":
    if sys.argv[1] == "capi-run":
        capi_run(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif sys.argv[1] == "server-run":
        server_run(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
