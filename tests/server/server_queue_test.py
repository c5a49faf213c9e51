#!/usr/bin/python3
"""End-to-end test of synap-server's queue commands (QCREATE ... QDLQPURGE).

  server_queue_test.py <path to synap-server>

Drives synap-server (harness.py starts it) with redis-py's execute_command
and raw RESP2/RESP3 sockets: declaring and listing queues, priorities and
FIFO order, ack/nack and redelivery counts, the dead-letter list (read,
requeue, purge), QSTATS as a map, QPURGE, QDELETE, QCONSUME BLOCK woken by a
publish on another connection, timing out, and shared by two blocked
consumers, pipelined publishes, malformed arguments, and a restart that keeps
every message (unacked ones come back, ids keep growing). Each failed check
prints one "FAIL: ..." line; the exit status is non-zero if any failed.
"""
import sys
import threading
import time

import redis

from harness import Server, check, check_eq, run


def q(r, *args):
    return r.execute_command(*args)


def err_of(fn):
    try:
        fn()
    except redis.ResponseError as e:
        return str(e)
    return None


def test_basics(srv):
    r = srv.client()
    check_eq("QCREATE", q(r, "QCREATE", "jobs", "MAXDEPTH", 100, "DEADLINE", 60000, "MAXRETRIES", 2), b"OK")
    check_eq("QCREATE again with the same settings", q(r, "QCREATE", "jobs", "MAXDEPTH", 100, "DEADLINE", 60000,
                                                       "MAXRETRIES", 2), b"OK")
    e = err_of(lambda: q(r, "QCREATE", "jobs", "MAXDEPTH", 5))
    check("QCREATE with other settings is an error", e is not None and "settings" in e, e)
    check("QLIST names the queue", b"jobs" in q(r, "QLIST"))
    ids = [q(r, "QPUBLISH", "jobs", f"low{i}", "PRIORITY", 1) for i in range(3)]
    hi = q(r, "QPUBLISH", "jobs", "high", "PRIORITY", 9)
    check("QPUBLISH returns growing integer ids", all(isinstance(i, int) for i in ids + [hi]) and
          ids == sorted(ids) and hi > ids[-1], f"{ids} {hi}")
    m = q(r, "QCONSUME", "jobs")
    check_eq("QCONSUME: priority 9 first, as [id, payload, priority, delivery_count]", m, [hi, b"high", 9, 1])
    many = q(r, "QCONSUME", "jobs", "worker-1", "COUNT", 10)
    check_eq("QCONSUME COUNT: the rest, FIFO within a priority", [x[1] for x in many], [b"low0", b"low1", b"low2"])
    check_eq("QCONSUME on an empty queue: null", q(r, "QCONSUME", "jobs"), None)
    check_eq("QCONSUME COUNT on an empty queue: empty array", q(r, "QCONSUME", "jobs", "COUNT", 5), [])
    check_eq("QACK two ids", q(r, "QACK", "jobs", many[0][0], many[1][0]), 2)
    e = err_of(lambda: q(r, "QACK", "jobs", many[0][0]))
    check("QACK of an acked id is an error", e is not None and "not in flight" in e, e)
    check_eq("QNACK (requeue by default)", q(r, "QNACK", "jobs", many[2][0]), b"OK")
    again = q(r, "QCONSUME", "jobs")
    check_eq("a nacked message comes back with delivery_count 2", again, [many[2][0], b"low2", 1, 2])
    check_eq("QNACK REQUEUE 0 dead-letters", q(r, "QNACK", "jobs", again[0], "REQUEUE", 0), b"OK")
    check_eq("QNACK REQUEUE 1 of the high one", q(r, "QNACK", "jobs", hi, "REQUEUE", 1), b"OK")
    dl = q(r, "QDLQ", "jobs")
    check_eq("QDLQ: [id, payload, priority, delivery_count, reason]", dl, [[again[0], b"low2", 1, 2, b"rejected"]])
    check_eq("QDLQREQUEUE one id", q(r, "QDLQREQUEUE", "jobs", again[0]), 1)
    check_eq("QDLQ is empty after the requeue", q(r, "QDLQ", "jobs", "COUNT", 10), [])
    back = q(r, "QCONSUME", "jobs", "COUNT", 10)
    check_eq("the requeued dead letter is ready again, its count reset", sorted((x[1], x[3]) for x in back),
             [(b"high", 2), (b"low2", 1)])
    for x in back:
        q(r, "QNACK", "jobs", x[0], "REQUEUE", 0)
    check_eq("QDLQ COUNT 1", len(q(r, "QDLQ", "jobs", "COUNT", 1)), 1)
    check_eq("QDLQ OFFSET 1", len(q(r, "QDLQ", "jobs", "OFFSET", 1)), 1)
    check_eq("QDLQREQUEUE (all)", q(r, "QDLQREQUEUE", "jobs"), 2)
    for x in q(r, "QCONSUME", "jobs", "COUNT", 10):
        q(r, "QNACK", "jobs", x[0], "REQUEUE", 0)
    check_eq("QDLQPURGE", q(r, "QDLQPURGE", "jobs"), 2)
    for i in range(4):
        q(r, "QPUBLISH", "jobs", f"p{i}", "DELAY", 0)
    st = q(r, "QSTATS", "jobs")
    stats = dict(zip(st[::2], st[1::2]))
    check_eq("QSTATS ready (RESP2 flat map)", stats.get(b"ready"), 4)
    check_eq("QSTATS settings.max_depth", stats.get(b"settings.max_depth"), 100)
    check_eq("QPURGE removes the ready ones", q(r, "QPURGE", "jobs"), 4)
    check_eq("QDELETE", q(r, "QDELETE", "jobs"), 1)
    check_eq("QDELETE of a missing queue: 0", q(r, "QDELETE", "jobs"), 0)
    check("QLIST no longer names it", b"jobs" not in q(r, "QLIST"))
    e = err_of(lambda: q(r, "QCONSUME", "jobs"))
    check("QCONSUME of a missing queue is an error", e is not None and "jobs" in e, e)
    # An unknown queue is created by its first publish (queue.auto_create).
    check("QPUBLISH creates a queue", isinstance(q(r, "QPUBLISH", "auto", "x"), int))
    r3 = srv.raw()
    r3.command("HELLO", "3")
    st3 = r3.command("QSTATS", "auto")
    check("QSTATS under RESP3 is a map", isinstance(st3, dict) and st3.get(b"ready") == 1, repr(st3))
    every = r3.command("QSTATS")
    check("QSTATS without a name maps each queue", isinstance(every, dict) and b"auto" in every, repr(every))
    r3.close()
    q(r, "QDELETE", "auto")


def test_delay_and_limits(srv):
    r = srv.client()
    q(r, "QCREATE", "small", "MAXDEPTH", 2)
    q(r, "QPUBLISH", "small", "a")
    q(r, "QPUBLISH", "small", "b")
    e = err_of(lambda: q(r, "QPUBLISH", "small", "c"))
    check("a publish past MAXDEPTH is refused with BUSY", e is not None and e.startswith("BUSY"), e)
    q(r, "QCREATE", "later")
    q(r, "QPUBLISH", "later", "soon", "DELAY", 300)
    check_eq("a delayed message is not ready at once", q(r, "QCONSUME", "later"), None)
    t = time.monotonic()
    got = q(r, "QCONSUME", "later", "BLOCK", 5000)
    waited = time.monotonic() - t
    check("QCONSUME BLOCK gets the delayed message once it falls due", got is not None and got[1] == b"soon",
          repr(got))
    check("... not before its delay", waited >= 0.15, f"{waited:.3f} s")
    for bad, why in [(("QPUBLISH", "small", "x", "PRIORITY", 10), "priority 10"),
                     (("QPUBLISH", "small", "x", "PRIORITY", -1), "priority -1"),
                     (("QPUBLISH", "small", "x", "BOGUS", 1), "unknown option"),
                     (("QPUBLISH", "small", "x", "DELAY"), "option without value"),
                     (("QCONSUME", "small", "COUNT", 0), "COUNT 0"),
                     (("QCONSUME", "small", "COUNT", 10001), "COUNT over 10000"),
                     (("QCONSUME", "small", "c1", "BLOCK", "soon"), "BLOCK not a number"),
                     (("QACK", "small", "abc"), "QACK id not a number"),
                     (("QACK", "small", 0), "QACK id 0"),
                     (("QNACK", "small", 1, "REQUEUE", 2), "REQUEUE 2"),
                     (("QNACK", "small", 1, "REQUEUE"), "REQUEUE without value"),
                     (("QCREATE", "z", "MAXDEPTH", 0), "MAXDEPTH 0"),
                     (("QCREATE", "z", "PRIORITY", 12), "default priority 12"),
                     (("QCREATE", "z" * 300), "a 300-byte name"),
                     (("QSTATS", "a", "b"), "QSTATS with two names"),
                     (("QDLQ", "small", "COUNT", 0), "QDLQ COUNT 0"),
                     (("QPUBLISH", "small"), "QPUBLISH without payload")]:
        e = err_of(lambda: q(r, *bad))
        check(f"bad input is an error reply: {why}", e is not None, f"{bad} answered without error")
    check("the server still answers", r.ping())
    q(r, "QDELETE", "small")
    q(r, "QDELETE", "later")


def test_block(srv):
    r = srv.client()
    q(r, "QCREATE", "waitq")
    result = {}

    def consumer(name):
        c = srv.client(socket_timeout=15)
        result[name] = q(c, "QCONSUME", "waitq", name, "BLOCK", 10000)

    th = threading.Thread(target=consumer, args=("c1",))
    th.start()
    time.sleep(0.3)
    check("QCONSUME BLOCK waits while the queue is empty", th.is_alive())
    mid = q(r, "QPUBLISH", "waitq", "wake")
    th.join(10)
    check_eq("QCONSUME BLOCK is woken by a publish on another connection", result.get("c1"), [mid, b"wake", 0, 1])
    t = time.monotonic()
    check_eq("QCONSUME BLOCK times out with null", q(r, "QCONSUME", "waitq", "BLOCK", 200), None)
    took = time.monotonic() - t
    check("... after about its timeout, not a tick later", 0.15 <= took < 0.29, f"{took:.3f} s")
    check_eq("QCONSUME COUNT n BLOCK times out with an empty array",
             q(r, "QCONSUME", "waitq", "COUNT", 5, "BLOCK", 50), [])
    # BLOCK near INT64_MAX waits (it must not wrap into the past).
    th_far = threading.Thread(target=lambda: result.__setitem__(
        "far", q(srv.client(socket_timeout=15), "QCONSUME", "waitq", "far", "BLOCK", 9223372036854775807)))
    th_far.start()
    time.sleep(0.3)
    check("QCONSUME BLOCK 9223372036854775807 waits", th_far.is_alive())
    mfar = q(r, "QPUBLISH", "waitq", "far")
    th_far.join(10)
    check_eq("... and is woken by a publish", result.get("far"), [mfar, b"far", 0, 1])
    # Two blocked consumers, two messages one at a time: each gets exactly one.
    ths = [threading.Thread(target=consumer, args=(n,)) for n in ("a", "b")]
    for x in ths:
        x.start()
    time.sleep(0.3)
    m1 = q(r, "QPUBLISH", "waitq", "one")
    time.sleep(0.2)
    m2 = q(r, "QPUBLISH", "waitq", "two")
    for x in ths:
        x.join(10)
    got = sorted(v[0] for k, v in result.items() if k in ("a", "b") and v)
    check_eq("two blocked consumers share two messages, one each", got, sorted([m1, m2]))
    # A blocked consumer whose connection closes leaves the server sound.
    raw = srv.raw()
    raw.send(b"*5\r\n$8\r\nQCONSUME\r\n$5\r\nwaitq\r\n$1\r\nz\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n")
    time.sleep(0.1)
    raw.close()
    time.sleep(0.1)
    m3 = q(r, "QPUBLISH", "waitq", "after-close")
    check_eq("after a blocked client left, the message goes to the next consumer",
             q(r, "QCONSUME", "waitq", "BLOCK", 2000), [m3, b"after-close", 0, 1])
    q(r, "QDELETE", "waitq")


def test_pipeline(srv):
    r = srv.client()
    q(r, "QCREATE", "pipe")
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.execute_command("QPUBLISH", "pipe", f"m{i}")
    p.execute_command("QSTATS", "pipe")
    out = p.execute()
    ids = out[:-1]
    check("500 pipelined publishes answer ids in order", ids == sorted(ids) and len(set(ids)) == 500)
    stats = dict(zip(out[-1][::2], out[-1][1::2]))
    check_eq("a read after pipelined publishes sees them all", stats.get(b"ready"), 500)
    got = []
    while True:
        batch = q(r, "QCONSUME", "pipe", "COUNT", 200)
        if not batch:
            break
        got += batch
        q(r, "QACK", "pipe", *[m[0] for m in batch])
    check_eq("every pipelined message is consumed once, in order", [m[1] for m in got], [f"m{i}".encode()
                                                                                       for i in range(500)])
    q(r, "QDELETE", "pipe")


def test_held_replies():
    """Pipelined writes behind a parked command: past kMaxHeldReplies (65536)
    the loop stops parsing, and resumes once replies leave; every reply
    arrives, in order."""
    srv = Server("held", extra=["--fsync", "never"])
    srv.start()
    r = srv.client()
    q(r, "QCREATE", "hq")
    raw = srv.raw(timeout=30)
    n = 70000
    batch = [b"*5\r\n$8\r\nQCONSUME\r\n$2\r\nhq\r\n$1\r\nz\r\n$5\r\nBLOCK\r\n$3\r\n500\r\n"]
    batch += [b"*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$1\r\nv\r\n" % (len(str(i)) + 1, i) for i in range(n)]
    batch.append(b"*2\r\n$3\r\nGET\r\n$6\r\nk69999\r\n")
    raw.send(b"".join(batch))
    first = raw.reply()
    check_eq("the parked QCONSUME answers first (null after its timeout)", first, None)
    oks = 0
    for _ in range(n):
        if raw.reply() == "OK":
            oks += 1
    check_eq(f"all {n} pipelined SETs behind it are answered, in order", oks, n)
    check_eq("and the GET after them reads the last one", raw.reply(), b"v")
    raw.close()
    check("the server is still running", srv.proc.poll() is None)
    srv.stop()


def test_shutdown_with_blocked_clients():
    srv = Server("blocked-shutdown")
    srv.start()
    r = srv.client()
    q(r, "QCREATE", "never-fed")
    got = {}

    def block(name, *cmd):
        try:
            got[name] = q(srv.client(socket_timeout=20), *cmd)
        except Exception as e:  # noqa: BLE001
            got[name] = e

    ths = [threading.Thread(target=block, args=("q", "QCONSUME", "never-fed", "BLOCK", 0)),
           threading.Thread(target=block, args=("x", "XREAD", "BLOCK", 0, "STREAMS", "s0", "$"))]
    r.xadd("s0", {"f": "v"})
    for th in ths:
        th.start()
    time.sleep(0.3)
    t = time.monotonic()
    code = srv.sigterm(timeout=10)
    took = time.monotonic() - t
    for th in ths:
        th.join(5)
    check_eq("SIGTERM with clients blocked forever (BLOCK 0) exits cleanly", code, 0)
    check("... promptly", took < 3, f"{took:.2f} s")
    check_eq("the blocked QCONSUME got its null reply", got.get("q"), None)
    check("the blocked XREAD got its null reply (redis-py shows it as [])", got.get("x") in (None, []),
          repr(got.get("x")))


def test_restart():
    srv = Server("restart")
    srv.start()
    r = srv.client()
    q(r, "QCREATE", "keep", "DEADLINE", 60000)
    ids = [q(r, "QPUBLISH", "keep", f"k{i}") for i in range(5)]
    first = q(r, "QCONSUME", "keep", "COUNT", 2)
    q(r, "QACK", "keep", first[0][0])  # k0 acked; k1 in flight (unacked)
    code = srv.sigterm()
    check_eq("SIGTERM stops the server cleanly", code, 0)
    srv.start()
    r = srv.client()
    back = q(r, "QCONSUME", "keep", "COUNT", 10)
    check_eq("after a restart every unacked message is there, the acked one is not",
             sorted(m[1] for m in back), [b"k1", b"k2", b"k3", b"k4"])
    k1 = [m for m in back if m[1] == b"k1"]
    check("the one in flight comes back redelivered", k1 and k1[0][3] >= 2, repr(k1))
    new = q(r, "QPUBLISH", "keep", "later")
    check("ids keep growing across the restart", new > max(ids), f"{new} after {ids}")
    srv.stop()


SECTIONS = [
    ("queue basics", test_basics, True),
    ("delays and limits", test_delay_and_limits, True),
    ("QCONSUME BLOCK", test_block, True),
    ("pipelined publishes", test_pipeline, True),
    ("replies held behind a parked command", test_held_replies, False),
    ("SIGTERM with blocked clients", test_shutdown_with_blocked_clients, False),
    ("restart", test_restart, False),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
