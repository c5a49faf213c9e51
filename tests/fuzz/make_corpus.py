#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz (corpus/<target>/seed-*).

  SYNAP_LIBRARY=build/capi/libsynap.so.1 PYTHONPATH=bindings/python \\
      /usr/bin/python3 tests/fuzz/make_corpus.py

Real files come from the engine itself, through the Python bindings: the
log segments and snapshots of small data directories (KV, queues, streams,
consumer groups; codecs none, lz4 and zstd). Synthetic log segments (small
header, 8-byte alignment, several segments in one input, a torn tail, a
compacted segment) are written here with their hashes left zero: the
targets fix hashes up (fuzz_support.h), so those seeds reach the checks
behind the hashes at once. RESP requests, config files and C ABI programs
are written by hand below.

Only files named seed-* are rewritten; crash-* regression inputs (crashes
the fuzzers found, kept forever) are left alone.
"""
import os
import random
import shutil
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def reset(target):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name.startswith("seed-"):
            os.remove(os.path.join(d, name))
    return d


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(CORPUS, target, "seed-" + name), "wb") as f:
        f.write(data)


# ---- real files, written by the engine ----

SMALL = {
    "wal.segment_bytes": "64K", "wal.max_record_bytes": "16K", "wal.max_batch_bytes": "16K",
    "kv.max_key_bytes": "1K", "kv.max_value_bytes": "8K", "wal.preallocate": "none",
    "stream.preallocate": "none", "stream.segment_bytes": "64K", "snapshot.interval_secs": "0",
    "snapshot.operation_threshold": "0",
}


def engine_files(codec):
    """A small data directory's files: {relative path: bytes}."""
    import synap
    d = tempfile.mkdtemp(prefix="synap-corpus-")
    try:
        opts = dict(SMALL, **{"wal.codec": codec, "wal.compress_min_bytes": "32", "stream.codec": codec})
        db = synap.open(os.path.join(d, "db"), options=opts)
        for i in range(12):
            db.set("key:%d" % i, "value-%d-" % i + "x" * (i * 7))
        db.incr("counter")
        if codec == "zstd":  # enough alike keys for the snapshot's block to be stored compressed
            for i in range(100):
                db.set("bulk:%d" % i, "b" * 40)
        db.set("ttl", "soon", px=500000)
        db.delete("key:3")
        db.mset({"a": "1", "b": "2"})
        db.queue_declare("jobs")
        db.publish("jobs", b"job-1")
        db.publish("jobs", b"job-2", priority=5)
        db.stream_append("room", [b"event-1", b"event-2" * 20])
        db.group_commit("g", "room", 1)
        db.snapshot()
        db.set("after-snapshot", "y" * 100)
        db.close()
        out = {}
        for base, _, files in os.walk(os.path.join(d, "db")):
            for n in files:
                p = os.path.join(base, n)
                if os.path.getsize(p) > 0 and (n.endswith(".log") or n.endswith(".snap")):
                    with open(p, "rb") as f:
                        out[os.path.relpath(p, d)] = f.read()
        return out
    finally:
        shutil.rmtree(d)


def real_seeds():
    for codec in ("none", "lz4", "zstd"):
        for path, data in sorted(engine_files(codec).items()):
            tag = codec + "-" + path.replace("/", "_").replace("db_", "")
            if path.endswith(".snap"):
                put("snapshot", tag, data)
            else:
                put("log_recovery", tag, data)
                put("log_batch", tag, data)


# ---- synthetic log segments (hashes zero: the targets fix them up) ----

def segment(seg_id, base, batches, flags=0, align=8):
    """A segment: 64-byte header (data at 64), then the batches."""
    h = struct.pack("<IHHQQQIII", 0x534E5953, 1, 64, seg_id, base, 0, 64, align, flags)
    out = bytearray(h.ljust(64, b"\0"))
    for first_lsn, records, watermark, codec in batches:
        raw = b"".join(struct.pack("<I", len(r)) + r for r in records)
        stored = raw
        bh = struct.pack("<IHHIIIIQQQQQQ", 0x424E5953, 1, codec, len(stored), len(raw), len(records), 0,
                         first_lsn, seg_id, 0, watermark, 0, 0)
        out += bh + stored
        out += b"\0" * (-len(out) % align)
    return bytes(out)


def synthetic_seeds():
    recs = lambda n, tag: [("%s-%d" % (tag, i)).encode() * (i + 1) for i in range(n)]
    one = segment(1, 1, [(1, recs(3, "a"), 0, 0), (4, recs(2, "b"), 3, 0), (6, recs(1, "c"), 5, 0)])
    put("log_recovery", "synthetic-one-segment", one)
    put("log_batch", "synthetic-one-segment", one)
    two = one + segment(2, 7, [(7, recs(2, "d"), 6, 0), (9, recs(4, "e"), 8, 0)])
    put("log_recovery", "synthetic-two-segments", two)
    torn = two[:-5] + b"\xff" * 5
    put("log_recovery", "synthetic-torn-tail", torn)
    gap = segment(1, 1, [(1, recs(2, "a"), 0, 0), (5, recs(2, "b"), 2, 0)], flags=2) + \
        segment(2, 9, [(9, recs(1, "c"), 8, 0)])
    put("log_recovery", "synthetic-compacted", gap)
    damaged = bytearray(two)
    damaged[64 + 80] ^= 0x55  # inside the first batch's payload
    put("log_recovery", "synthetic-damaged-first-segment", bytes(damaged))
    put("log_batch", "synthetic-wide-alignment",
        segment(5, 100, [(100, recs(5, "w"), 0, 0), (105, [b""], 104, 0)], align=64))


# ---- RESP requests ----

def mb(*args):
    return "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args)


def resp_seeds():
    put("resp", "set-get", mb("SET", "k", "v") + mb("GET", "k"))
    put("resp", "pipeline", mb("PING") + mb("INCR", "n") * 3 + mb("MGET", "a", "b", "c"))
    put("resp", "inline", 'SET k "a b\\x41\\n"\r\nGET k\r\nPING\n\r\n')
    put("resp", "inline-single-quotes", "SET 'it''s' 'x\\'y'\r\n")
    put("resp", "empty-multibulk", "*0\r\n*-1\r\n" + mb("PING"))
    put("resp", "binary-bulk", b"*2\r\n$3\r\nGET\r\n$4\r\n\x00\r\n\xff\r\n")
    put("resp", "xadd", mb("XADD", "room", "*", "f", "v") + mb("XREAD", "COUNT", "1", "STREAMS", "room", "0"))
    put("resp", "bad-length", "*2\r\n$-5\r\nGET\r\n")
    put("resp", "huge-length", "*1\r\n$99999999999\r\n")
    put("resp", "partial", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nva")
    put("resp", "unbalanced-quote", 'SET "k v\r\n')


# ---- config files ----

def config_seeds():
    with open(os.path.join(ROOT, "docs", "synap-server.toml")) as f:
        put("server_config", "synap-server.toml", f.read())
    put("server_config", "minimal.toml", '[server]\nport = 7001\n[persistence.wal]\nfsync_mode = "periodic"\n')
    put("server_config", "ini.ini",
        "[server]\nport=7002\nrequirepass=secret\n[kv]\nmaxmemory=64M\nmaxmemory_policy=allkeys-lru\n")
    put("server_config", "sizes.toml",
        '[server]\nproto_max_bulk_len = "1M"\nclient_query_buffer_limit = "1G"\n'
        '[streams]\nsegment_bytes = "64M"\ncodec = "zstd"\n')
    put("server_config", "bad-key.toml", "[server]\nno_such_key = 1\n")
    put("server_config", "bad-value.toml", "[persistence.wal]\nfsync_mode = \"sometimes\"\n")
    put("server_config", "quoted.toml", '[server]\nrequirepass = "a \\"quoted\\" \\\\ word"\nbind = \'0.0.0.0\'\n')


# ---- C ABI programs ----

def capi_seeds():
    rng = random.Random(8)
    for i in range(24):
        put("capi", "random-%02d" % i, bytes(rng.randrange(256) for _ in range(rng.choice([16, 64, 256, 512]))))
    # set k0, get k0, close, get k0 (reopen), incr, queue publish + consume, stream append + read
    put("capi", "set-reopen-get", bytes([0, 0, 5]) + b"hello" + bytes([20, 0, 8, 20, 0, 40, 1, 1, 0, 0, 0, 0, 0, 0, 0]))
    put("capi", "queue", bytes([3, 0, 13, 0, 4]) + b"job!" + bytes([1, 0, 0, 0, 23, 0, 0, 1, 0, 33, 0, 0, 0, 0]))
    put("capi", "stream", bytes([5, 0, 0, 0, 15, 0, 2]) + b"k1" + bytes([3]) + b"abc" + bytes([0, 0, 2, 25, 0, 0, 3, 0]))


def main():
    for t in ("log_recovery", "log_batch", "snapshot", "resp", "server_config", "capi"):
        reset(t)
    try:
        real_seeds()
    except ImportError as e:
        sys.exit("make_corpus.py: the Python bindings did not load (%s); see the usage at the top" % e)
    synthetic_seeds()
    resp_seeds()
    config_seeds()
    capi_seeds()
    for t in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, t))
        size = sum(os.path.getsize(os.path.join(CORPUS, t, f)) for f in files)
        print("%-14s %3d files, %7d bytes" % (t, len(files), size))


if __name__ == "__main__":
    main()
