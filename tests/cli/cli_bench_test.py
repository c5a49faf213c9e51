"""synap-cli bench kv / queue / stream (and bench wal beside them), end to end.

Each bench runs a small count with fsync=never and --json; the checks are on
counts, on what the data directory holds afterwards (read back with the
Python binding), and on exit statuses. Nothing here depends on how fast the
machine is: throughputs are only checked to be positive.

Usage: cli_bench_test.py SYNAP_CLI [SYNAP_SERVER]
"""
import json
import sys

import synap

from cli_harness import ENV, check, check_eq, cli, fresh_dir, run

RECORDS = 2000
SMALL = ["--records", RECORDS, "--writers", 4, "--fsync", "never", "--no-progress"]


def bench(*args):
    """Runs `synap-cli bench ... --json`; returns the parsed object, or None after a failed check."""
    rc, out, err = cli("bench", *args, "--json")
    if not check_eq(f"bench {' '.join(map(str, args))}: exit status (stderr: {err.strip()})", rc, 0):
        return None
    try:
        return json.loads(out)
    except ValueError as e:
        check(f"bench {args[0]}: --json parses", False, f"{e}: {out!r}")
        return None


def check_common(name, r, records, writers=4, value_size=100):
    """The keys every bench's --json has, with the figures positive."""
    check_eq(f"{name}: records", r["records"], records)
    check_eq(f"{name}: writers", r["writers"], writers)
    check_eq(f"{name}: value_size", r["value_size"], value_size)
    check_eq(f"{name}: fsync", r["fsync"], "never")
    check(f"{name}: ops_per_sec > 0", r["ops_per_sec"] > 0, r["ops_per_sec"])
    check(f"{name}: mb_per_sec > 0", r["mb_per_sec"] > 0, r["mb_per_sec"])
    check(f"{name}: p50 <= p99 <= p999 <= max",
          0 <= r["p50_us"] <= r["p99_us"] <= r["p999_us"] <= r["max_us"], r)
    check_eq(f"{name}: stopped_by", r["stopped_by"], "records")
    check(f"{name}: recovery verified", r["recovery"]["verified"], r["recovery"])
    check_eq(f"{name}: recovery found", r["recovery"]["found"], r["recovery"]["expected"])


def kv_set():
    d = fresh_dir("kv-set")
    r = bench("kv", *SMALL, "--keys", 1000, "--dir", d)
    if r is None:
        return
    check_common("kv set", r, RECORDS)
    check_eq("kv set: bench/op", (r["bench"], r["op"]), ("kv", "set"))
    check_eq("kv set: one call per op", r["calls"], RECORDS)
    check_eq("kv set: keys", r["keys"], 1000)
    check_eq("kv set: expected keys", r["recovery"]["expected"], 1000)
    check_eq("kv set: option applied", r["options"]["wal.fsync_mode"], "never")
    # The directory holds the key space, each key with a value of --value-size bytes.
    with synap.open(d, fsync="never") as db:
        check_eq("kv set: dbsize", db.dbsize(), 1000)
        for i in (0, 1, 999):
            v = db.get(b"bench:%012d" % i)
            check(f"kv set: key {i} written", v is not None and len(v) == 100, repr(v)[:40])
        check_eq("kv set: key 1000 is outside the key space", db.get(b"bench:000000001000"), None)


def kv_async_get_mixed():
    r = bench("kv", *SMALL, "--async", "--window", 8, "--dir", fresh_dir("kv-async"))
    if r is not None:
        check_common("kv async", r, RECORDS)
        check_eq("kv async: async/window", (r["async"], r["window"]), (True, 8))
        check_eq("kv async: every key distinct", r["recovery"]["expected"], RECORDS)
    r = bench("kv", *SMALL, "--op", "get", "--keys", 500, "--dir", fresh_dir("kv-get"))
    if r is not None:
        check_common("kv get", r, RECORDS)
        check_eq("kv get: preloaded the key space", r["preloaded"], 500)
        check_eq("kv get: gets", r["gets"], RECORDS)
        check_eq("kv get: no misses", r["misses"], 0)
    r = bench("kv", *SMALL, "--op", "mixed", "--read-ratio", 0.25, "--keys", 500, "--dir", fresh_dir("kv-mixed"))
    if r is not None:
        check_common("kv mixed", r, RECORDS)
        lat = r.get("latency", {})
        check_eq("kv mixed: latency per kind", sorted(lat), ["get", "set"])
        if sorted(lat) == ["get", "set"]:
            check_eq("kv mixed: gets + sets", lat["get"]["calls"] + lat["set"]["calls"], RECORDS)
            check_eq("kv mixed: gets counted", r["gets"], lat["get"]["calls"])
        check_eq("kv mixed: read_ratio", r["read_ratio"], 0.25)
    # Only a duration: it ends the run, whatever the machine's speed.
    r = bench("kv", "--writers", 2, "--fsync", "never", "--no-progress", "--duration", 0.5,
              "--dir", fresh_dir("kv-duration"))
    if r is not None:
        check_eq("kv duration: stopped_by", r["stopped_by"], "duration")
        check("kv duration: some records", r["records"] > 0, r["records"])
        check("kv duration: recovery verified", r["recovery"]["verified"], r["recovery"])


def queue_ops():
    d = fresh_dir("queue-publish")
    r = bench("queue", *SMALL, "--queues", 2, "--batch", 10, "--dir", d)
    if r is not None:
        check_common("queue publish", r, RECORDS)
        check_eq("queue publish: calls", r["calls"], RECORDS // 10)
        check_eq("queue publish: published", r["published"], RECORDS)
        with synap.open(d, fsync="never") as db:
            ready = sum(db.queue_stats(q)["ready"] for q in ("bench-0", "bench-1"))
            check_eq("queue publish: messages ready", ready, RECORDS)
    r = bench("queue", *SMALL, "--op", "consume", "--queues", 3, "--batch", 7, "--dir", fresh_dir("queue-consume"))
    if r is not None:
        check_common("queue consume", r, RECORDS)
        check_eq("queue consume: preloaded", r["preloaded"], RECORDS)
        check_eq("queue consume: acked", r["acked"], RECORDS)
        check_eq("queue consume: nothing left", r["recovery"]["found"], 0)
        check_eq("queue consume: latency parts", sorted(r.get("latency", {})), ["ack", "consume"])
    d = fresh_dir("queue-roundtrip")
    r = bench("queue", *SMALL, "--op", "roundtrip", "--batch", 4, "--dir", d)
    if r is not None:
        check_common("queue roundtrip", r, RECORDS)
        check_eq("queue roundtrip: acked", r["acked"], RECORDS)
        check_eq("queue roundtrip: latency parts", sorted(r.get("latency", {})), ["ack", "consume", "publish"])
        with synap.open(d, fsync="never") as db:
            s = db.queue_stats("bench-0")
            check_eq("queue roundtrip: what is left", s["ready"] + s["in_flight"], r["published"] - r["acked"])


def stream_ops():
    d = fresh_dir("stream-append")
    r = bench("stream", *SMALL, "--rooms", 2, "--batch", 10, "--readers", 2, "--dir", d)
    if r is not None:
        check_common("stream append", r, RECORDS)
        check_eq("stream append: calls", r["calls"], RECORDS // 10)
        check_eq("stream append: appended", r["appended"], RECORDS)
        check_eq("stream append: tail readers read every event", r["tail_events"], RECORDS)
        check_eq("stream append: delivery latencies", r.get("latency", {}).get("delivery", {}).get("calls"), RECORDS)
        with synap.open(d, fsync="never") as db:
            total = sum(db.stream_bounds(f"bench-{i}")[1] for i in range(2))
            check_eq("stream append: events in the rooms", total, RECORDS)
    r = bench("stream", *SMALL, "--op", "read", "--rooms", 2, "--batch", 50, "--dir", fresh_dir("stream-read"))
    if r is not None:
        check_common("stream read", r, RECORDS)
        check_eq("stream read: preloaded", r["preloaded"], RECORDS)
        check_eq("stream read: one reader per room", r["readers"], 2)


def wal_and_human():
    r = bench("wal", *SMALL, "--dir", fresh_dir("wal"))
    if r is not None:
        check_eq("bench wal: records", r["records"], RECORDS)
        check("bench wal: recovery verified", r["recovery"]["verified"], r["recovery"])
    rc, out, err = cli("bench", "kv", *SMALL, "--dir", fresh_dir("kv-human"))
    check_eq(f"bench kv summary: exit status ({err.strip()})", rc, 0)
    for word in ("throughput", "ops/s", "MB/s", "p50", "p99.9", "verified"):
        check(f"bench kv summary mentions {word}", word in out, out)


def refusals():
    d = fresh_dir("refusals")
    rc, _, err = cli("bench", "kv", *SMALL, "--dir", d)
    check_eq(f"first run ({err.strip()})", rc, 0)
    bad = [
        ["kv", "--op", "bogus"],
        ["kv", "--writers", 0],
        ["kv", "--read-ratio", 0.5],                 # only with --op mixed
        ["kv", "--window", 4],                       # only with --async
        ["kv", "--op", "get", "--async"],
        ["kv", "--set", "no-equals-sign"],
        ["kv", "--set", "no.such.option=1"],
        ["kv", "--set", "wal.fsync_mode=sometimes"],
        ["kv", "--segment-bytes", 1000],             # under the engine's minimum
        ["kv", "--value-size", "5M"],                # over kv.max_value_bytes
        ["queue", "--op", "peek"],
        ["queue", "--queues", 5, "--writers", 4],    # a queue without a client
        ["stream", "--rooms", 3, "--writers", 2],
        ["stream", "--mechanism", "direct"],         # rooms have no mechanism
        ["wal", "--writers", 0],
    ]
    for args in bad:
        rc, _, err = cli("bench", *args, "--records", 10, "--no-progress", "--dir", fresh_dir("bad"), "--fresh")
        check_eq(f"bench {' '.join(map(str, args))}: exit status", rc, 2)
        check(f"bench {' '.join(map(str, args))}: says why", err.strip() != "", err)
    # Data in --dir without --fresh: refused, and nothing is touched.
    rc, _, err = cli("bench", "kv", *SMALL, "--dir", d)
    check_eq("data without --fresh: exit status", rc, 2)
    check("data without --fresh: says --fresh", "--fresh" in err, err)
    with synap.open(d, fsync="never") as db:
        check_eq("data without --fresh: keys kept", db.dbsize(), RECORDS)
        # A directory another process holds: --fresh deletes nothing.
        rc, _, err = cli("bench", "kv", *SMALL, "--dir", d, "--fresh")
        check_eq("held directory: exit status", rc, 1)
        check("held directory: says so", "in use" in err and d in err, err)
        check_eq("held directory: keys kept", db.dbsize(), RECORDS)


SECTIONS = [
    ("bench kv --op set, keys read back", kv_set),
    ("bench kv --async, get, mixed, --duration", kv_async_get_mixed),
    ("bench queue publish, consume, roundtrip", queue_ops),
    ("bench stream append (with tail readers), read", stream_ops),
    ("bench wal --json, human summary", wal_and_human),
    ("bad flags, data without --fresh, a held directory", refusals),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
