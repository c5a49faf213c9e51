#!/usr/bin/python3
"""End-to-end test of synap-server's stream admin commands: XTRIM and XINFO.

  server_stream_admin_test.py <path to synap-server>

XTRIM runs on a server started with --set stream.segment_bytes=65536, so a
few thousand entries span several segments and trimming (whole segments
only) is visible on the wire: MAXLEN and MINID, '~' and '=', LIMIT, the
errors, a missing key, and the trim surviving a restart. XINFO STREAM is
checked on empty, non-empty and missing streams, plain and FULL (with each
group's pending entries and consumers), with redis-py (RESP2) and a raw
connection in RESP2 and RESP3, plus XINFO HELP and malformed subcommands;
XINFO GROUPS and XINFO CONSUMERS through redis-py's own parsers (xinfo_groups,
xinfo_consumers) and in RESP3. Each failed check prints one "FAIL: ..." line;
the exit status is non-zero if any failed.
"""
import sys
import time

import redis

from harness import Err, Server, check, check_eq, run

SMALL_SEGMENTS = ["--set", "stream.segment_bytes=65536"]
FIELD = "v" * 100  # about 54 KB of room per segment: some 450 entries each


def fill(r, key, n):
    """n pipelined XADDs of key; entry i (offset i) has field n = i."""
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.xadd(key, {"f": FIELD, "n": str(i)})
    p.execute()


def first_id(r, key):
    got = r.xrange(key, count=1)
    return got[0][0] if got else None


def error_of(r, *args):
    try:
        r.execute_command(*args)
    except redis.ResponseError as e:
        return str(e)
    return None


# ---------------------------------------------------------------- XTRIM

def test_xtrim_maxlen(srv):
    r = srv.client(decode_responses=True)
    fill(r, "s", 2000)
    info = r.xinfo_stream("s")
    check("2000 entries span several 64 KiB segments", info["synap-segments"] >= 4, repr(info))
    check_eq("nothing deleted yet", (info["synap-earliest-offset"], info["max-deleted-entry-id"]), (0, "0-0"))

    removed = r.xtrim("s", maxlen=500, approximate=True)
    # Whole segments: at least one goes, and never an entry of the newest 500.
    check("MAXLEN ~ 500 removes whole segments below the last 500", 0 < removed <= 1500, repr(removed))
    check_eq("XLEN drops by the reply", r.xlen("s"), 2000 - removed)
    check_eq("the first entry left is the one after the removed ones", first_id(r, "s"), f"{removed + 1}-0")
    info = r.xinfo_stream("s")
    check_eq("XINFO after the trim",
             (info["length"], info["synap-earliest-offset"], info["max-deleted-entry-id"],
              info["recorded-first-entry-id"], info["entries-added"], info["last-generated-id"]),
             (2000 - removed, removed, f"{removed}-0", f"{removed + 1}-0", 2000, "2000-0"))
    check_eq("the same trim again finds no whole segment below", r.xtrim("s", maxlen=500, approximate=True), 0)
    check_eq("IDs do not change", r.xrange("s", "2000-0", "+")[0][1]["n"], "1999")
    got = r.xread({"s": "0"}, count=1)
    check_eq("XREAD from 0 starts at the first entry left", got[0][1][0][0], f"{removed + 1}-0")

    # '=' is accepted and approximate as well: MAXLEN = 0 keeps the newest segment.
    before = r.xlen("s")
    removed = r.execute_command("XTRIM", "s", "MAXLEN", "=", "0")
    left = r.xlen("s")
    check("MAXLEN = 0 keeps the newest segment", removed > 0 and 0 < left == before - removed,
          f"removed {removed}, left {left} of {before}")
    check_eq("... whose last entry is the stream's", r.xrevrange("s", count=1)[0][0], "2000-0")
    check_eq("MAXLEN larger than the stream removes nothing", r.xtrim("s", maxlen=10**9), 0)
    check_eq("XADD goes on at the next ID", r.xadd("s", {"a": "b"}), "2001-0")


def test_xtrim_minid_and_limit(srv):
    r = srv.client(decode_responses=True)
    fill(r, "m", 2000)
    removed = r.execute_command("XTRIM", "m", "MINID", "~", "1001-0")
    check("MINID 1001-0 removes whole segments of entries below it", 0 < removed <= 1000, repr(removed))
    check_eq("every entry from 1001-0 on is kept", len(r.xrange("m", "1001-0", "+")), 1000)
    check_eq("MINID 0 removes nothing", r.execute_command("XTRIM", "m", "MINID", "0"), 0)

    fill(r, "l", 2000)
    check_eq("LIMIT 1: no whole segment within one entry", r.execute_command("XTRIM", "l", "MAXLEN", "~", "0",
                                                                               "LIMIT", "1"), 0)
    removed = r.execute_command("XTRIM", "l", "MAXLEN", "~", "0", "LIMIT", "600")
    check("LIMIT 600 bounds the entries removed", 0 < removed <= 600, repr(removed))
    more = r.execute_command("XTRIM", "l", "MAXLEN", "~", "0", "LIMIT", "0")
    check("LIMIT 0 is no limit: all but the newest segment", more > 0 and r.xlen("l") == 2000 - removed - more,
          f"{more}, XLEN {r.xlen('l')}")


def test_xtrim_errors(srv):
    r = srv.client(decode_responses=True)
    r.xadd("e", {"a": "b"})
    check_eq("XTRIM of a missing key is 0", r.execute_command("XTRIM", "nosuch", "MAXLEN", "0"), 0)
    check_eq("a missing key stays missing", r.exists("nosuch"), 0)
    check_eq("a stream of one segment loses nothing", r.execute_command("XTRIM", "e", "MAXLEN", "0"), 0)
    for args, want in [
        (["XTRIM", "e", "SIZE", "1"], "syntax error"),
        (["XTRIM", "e", "MAXLEN"], "wrong number of arguments"),
        (["XTRIM", "e", "MAXLEN", "~"], "syntax error"),
        (["XTRIM", "e", "MAXLEN", "x"], "not an integer"),
        (["XTRIM", "e", "MAXLEN", "-1"], "must be >= 0"),
        (["XTRIM", "e", "MINID", "x-y"], "Invalid stream ID"),
        (["XTRIM", "e", "MAXLEN", "1", "LIMIT"], "syntax error"),
        (["XTRIM", "e", "MAXLEN", "1", "LIMIT", "x"], "not an integer"),
        (["XTRIM", "e", "MAXLEN", "~", "1", "LIMIT", "-1"], "must be >= 0"),
        (["XTRIM", "e", "MAXLEN", "1", "LIMIT", "10"], "LIMIT cannot be used without the special ~ option"),
        (["XTRIM", "e", "MAXLEN", "=", "1", "LIMIT", "10"], "LIMIT cannot be used without the special ~ option"),
        (["XTRIM", "e", "MAXLEN", "~", "1", "junk"], "syntax error"),
        (["XTRIM", "__meta", "MAXLEN", "0"], "reserved"),
        (["XTRIM", "e"], "wrong number of arguments"),
        (["XADD", "e", "MAXLEN", "5", "*", "a", "b"], "XTRIM"),
    ]:
        got = error_of(r, *args)
        check(f"{' '.join(args)} -> an error with '{want}'", got is not None and want in got, repr(got))
    check_eq("the refused commands changed nothing", r.xlen("e"), 1)


def test_xtrim_survives_restart(srv):
    r = srv.client(decode_responses=True)
    fill(r, "d", 2000)
    removed = r.xtrim("d", maxlen=300, approximate=True)
    check("the trim removed something", removed > 0, repr(removed))
    check_eq("SIGTERM exits cleanly", srv.sigterm(), 0)
    srv.start()
    r = srv.client(decode_responses=True)
    check_eq("after a restart the stream starts where the trim left it",
             (r.xlen("d"), first_id(r, "d"), r.xinfo_stream("d")["synap-earliest-offset"]),
             (2000 - removed, f"{removed + 1}-0", removed))


def test_xtrim():
    """XTRIM on a server of its own, with 64 KiB segments."""
    srv = Server("trim", extra=SMALL_SEGMENTS).start()
    try:
        for part in (test_xtrim_maxlen, test_xtrim_minid_and_limit, test_xtrim_errors, test_xtrim_survives_restart):
            print(f"   {part.__name__}", flush=True)
            part(srv)
    finally:
        srv.stop()


# ---------------------------------------------------------------- XINFO

def test_xinfo_redis_py(srv):
    r = srv.client(decode_responses=True)
    ids = [r.xadd("x", {"k": f"v{n}", "n": str(n)}) for n in range(3)]
    info = r.xinfo_stream("x")
    check_eq("XINFO STREAM fields, in Redis's order then Synap's", list(info), [
        "length", "radix-tree-keys", "radix-tree-nodes", "last-generated-id", "max-deleted-entry-id",
        "entries-added", "recorded-first-entry-id", "groups", "first-entry", "last-entry",
        "synap-earliest-offset", "synap-segments", "synap-bytes", "synap-readable-waiters"])
    check_eq("XINFO STREAM values",
             {k: info[k] for k in ("length", "radix-tree-keys", "radix-tree-nodes", "last-generated-id",
                                   "max-deleted-entry-id", "entries-added", "recorded-first-entry-id", "groups",
                                   "synap-earliest-offset", "synap-segments")},
             {"length": 3, "radix-tree-keys": 0, "radix-tree-nodes": 0, "last-generated-id": ids[-1],
              "max-deleted-entry-id": "0-0", "entries-added": 3, "recorded-first-entry-id": ids[0], "groups": 0,
              "synap-earliest-offset": 0, "synap-segments": 1})
    check_eq("nobody blocked on it", info["synap-readable-waiters"], 0)
    check_eq("first-entry", info["first-entry"], (ids[0], {"k": "v0", "n": "0"}))
    check_eq("last-entry", info["last-entry"], (ids[2], {"k": "v2", "n": "2"}))
    check("synap-bytes counts the segment's bytes", info["synap-bytes"] > 0, repr(info["synap-bytes"]))

    full = r.xinfo_stream("x", full=True)
    check_eq("FULL entries", full["entries"], {ids[n]: {"k": f"v{n}", "n": str(n)} for n in range(3)})
    check_eq("FULL without groups", full["groups"], [])
    check_eq("FULL shares the plain fields", (full["length"], full["last-generated-id"]), (3, ids[-1]))
    for n in range(20):
        r.xadd("x", {"n": str(n + 3)})
    check_eq("FULL lists 10 entries by default", len(r.xinfo_stream("x", full=True)["entries"]), 10)
    flat = r.execute_command("XINFO", "STREAM", "x", "FULL", "COUNT", "0")
    check_eq("FULL COUNT 0 lists them all", len(flat[flat.index("entries") + 1]), 23)

    # An empty stream (XGROUP CREATE ... MKSTREAM makes one), with a group on it.
    r.xgroup_create("empty", "g1", id="$", mkstream=True)
    info = r.xinfo_stream("empty")
    check_eq("XINFO STREAM of an empty stream",
             (info["length"], info["last-generated-id"], info["recorded-first-entry-id"], info["entries-added"],
              info["first-entry"], info["last-entry"], info["groups"]),
             (0, "0-0", "0-0", 0, None, None, 1))
    full = r.xinfo_stream("empty", full=True)
    check_eq("FULL of an empty stream with a group", (full["entries"], full["groups"]),
             ({}, [{"name": "g1", "last-delivered-id": "0-0", "entries-read": 0, "lag": 0, "pel-count": 0,
                    "pending": [], "consumers": []}]))
    r.xgroup_create("x", "readers", id="0")
    t0 = int(time.time() * 1000)
    r.xreadgroup("readers", "alice", {"x": ">"}, count=2)
    t1 = int(time.time() * 1000)
    groups = r.xinfo_stream("x", full=True)["groups"]
    check_eq("FULL groups: the cursor and the pending count",
             [{k: v for k, v in g.items() if k not in ("pending", "consumers")} for g in groups],
             [{"name": "readers", "last-delivered-id": ids[1], "entries-read": 2, "lag": 21, "pel-count": 2}])
    pending = groups[0]["pending"] if groups else []
    check_eq("FULL groups: pending entries [ID, consumer, delivery time, deliveries]",
             [(p[0], p[1], p[3]) for p in pending], [(ids[0], "alice", 1), (ids[1], "alice", 1)])
    check("... delivery times are Unix ms of the read", all(t0 - 1000 <= p[2] <= t1 + 1000 for p in pending),
          f"{pending} not within [{t0}, {t1}]")
    consumers = groups[0]["consumers"] if groups else []
    check("FULL groups: one consumer", len(consumers) == 1, repr(consumers))
    if len(consumers) == 1:
        alice = dict(zip(consumers[0][0::2], consumers[0][1::2]))  # RESP2: a flat name/value list
        check_eq("FULL consumer fields", list(alice), ["name", "seen-time", "active-time", "pel-count", "pending"])
        check_eq("FULL consumer: name, pending count, pending [ID, delivery time, deliveries]",
                 (alice["name"], alice["pel-count"], [(p[0], p[2]) for p in alice["pending"]]),
                 ("alice", 2, [(ids[0], 1), (ids[1], 1)]))
        check("FULL consumer: seen and active times are Unix ms of the read",
              t0 - 1000 <= alice["seen-time"] <= t1 + 1000 and t0 - 1000 <= alice["active-time"] <= t1 + 1000,
              repr(alice))
    flat = r.execute_command("XINFO", "STREAM", "x", "FULL", "COUNT", "1")
    grp = flat[flat.index("groups") + 1][0]
    check_eq("FULL COUNT 1 lists one pending entry per group", len(grp[grp.index("pending") + 1]), 1)
    check_eq("groups counts the groups with a commit on the stream", r.xinfo_stream("x")["groups"], 1)

    check("XINFO STREAM of a missing key is an error", "no such key" in (error_of(r, "XINFO", "STREAM", "nosuch") or ""),
          repr(error_of(r, "XINFO", "STREAM", "nosuch")))
    help_lines = r.execute_command("XINFO", "HELP")
    check("XINFO HELP lists the subcommands", isinstance(help_lines, list) and
          any(line.startswith("STREAM") for line in help_lines), repr(help_lines))
    for args, want in [
        (["XINFO", "NOPE", "x"], "Try XINFO HELP"),
        (["XINFO", "STREAM"], "Try XINFO HELP"),
        (["XINFO", "HELP", "extra"], "Try XINFO HELP"),
        (["XINFO", "STREAM", "x", "PARTIAL"], "syntax error"),
        (["XINFO", "STREAM", "x", "FULL", "COUNT", "-1"], "not an integer"),
        (["XINFO", "STREAM", "x", "FULL", "COUNT"], "syntax error"),
        (["XINFO", "STREAM", "../x"], "bad room name"),
        (["XINFO"], "wrong number of arguments"),
    ]:
        got = error_of(r, *args)
        check(f"{' '.join(args)} -> an error with '{want}'", got is not None and want in got, repr(got))


def test_xinfo_groups_consumers(srv):
    """XINFO GROUPS and XINFO CONSUMERS, parsed by redis-py's own parsers."""
    r = srv.client(decode_responses=True)
    ids = [r.xadd("xg", {"n": str(n)}) for n in range(6)]
    check_eq("XINFO GROUPS of a stream without groups", r.xinfo_groups("xg"), [])
    r.xgroup_create("xg", "workers", id="0")
    r.xgroup_create("xg", "auditors", id="$")
    r.xreadgroup("workers", "alice", {"xg": ">"}, count=3)
    r.xreadgroup("workers", "bob", {"xg": ">"}, count=1)
    r.xack("xg", "workers", ids[0])
    r.xgroup_createconsumer("xg", "workers", "carol")
    groups = r.xinfo_groups("xg")
    check_eq("XINFO GROUPS: every group, by name, with Redis's fields", groups, [
        {"name": "auditors", "consumers": 0, "pending": 0, "last-delivered-id": "6-0", "entries-read": 6, "lag": 0},
        {"name": "workers", "consumers": 3, "pending": 3, "last-delivered-id": ids[3], "entries-read": 4, "lag": 2},
    ])
    consumers = r.xinfo_consumers("xg", "workers")
    check_eq("XINFO CONSUMERS: names and pending counts",
             [(c["name"], c["pending"]) for c in consumers], [("alice", 2), ("bob", 1), ("carol", 0)])
    check("XINFO CONSUMERS: Redis's fields", all(list(c) == ["name", "pending", "idle", "inactive"]
                                                 for c in consumers), repr(consumers))
    check("... idle: ms since a command named it, small",
          all(isinstance(c["idle"], int) and 0 <= c["idle"] < 60000 for c in consumers), repr(consumers))
    check("... inactive: ms since a read delivered entries; -1 for carol, who never got any",
          [c["inactive"] >= 0 for c in consumers[:2]] == [True, True] and consumers[2]["inactive"] == -1,
          repr(consumers))
    check_eq("XINFO CONSUMERS of a group without consumers", r.xinfo_consumers("xg", "auditors"), [])
    for args, want in [
        (["XINFO", "GROUPS", "nosuch"], "no such key"),
        (["XINFO", "CONSUMERS", "nosuch", "workers"], "no such key"),
        (["XINFO", "CONSUMERS", "xg", "nogroup"], "NOGROUP No such consumer group 'nogroup' for key name 'xg'"),
        (["XINFO", "GROUPS"], "Try XINFO HELP"),
        (["XINFO", "GROUPS", "xg", "extra"], "Try XINFO HELP"),
        (["XINFO", "CONSUMERS", "xg"], "Try XINFO HELP"),
        (["XINFO", "GROUPS", "../x"], "bad room name"),
        (["XINFO", "CONSUMERS", "xg", "a\0b"], "NUL"),
    ]:
        got = error_of(r, *args)
        check(f"{' '.join(args)!r} -> an error with '{want}'", got is not None and want in got, repr(got))
    r.xgroup_destroy("xg", "auditors")
    check_eq("a destroyed group is gone from XINFO GROUPS", [g["name"] for g in r.xinfo_groups("xg")], ["workers"])
    c = srv.raw()
    c.command("HELLO", "3")
    check_eq("RESP3 XINFO GROUPS: an array of maps", c.command("XINFO", "GROUPS", "xg"), [
        {b"name": b"workers", b"consumers": 3, b"pending": 3, b"last-delivered-id": ids[3].encode(),
         b"entries-read": 4, b"lag": 2}])
    got = c.command("XINFO", "CONSUMERS", "xg", "workers")
    check("RESP3 XINFO CONSUMERS: an array of maps",
          isinstance(got, list) and len(got) == 3 and all(isinstance(m, dict) for m in got) and
          [m.get(b"name") for m in got] == [b"alice", b"bob", b"carol"], repr(got))
    c.close()


def test_xinfo_raw(srv):
    r = srv.client()
    r.xadd("raw", {"f": "v"})
    r.xadd("raw", {"g": "w", "h": "x"})
    r.xgroup_create("raw-empty", "g", id="$", mkstream=True)
    c = srv.raw()
    flat = c.command("XINFO", "STREAM", "raw")
    check("RESP2: a flat array of 14 name/value pairs", isinstance(flat, list) and len(flat) == 28, repr(flat))
    check_eq("RESP2: names at even places", flat[0:28:2][:3], [b"length", b"radix-tree-keys", b"radix-tree-nodes"])
    check_eq("RESP2: first-entry as XRANGE gives it", flat[flat.index(b"first-entry") + 1], [b"1-0", [b"f", b"v"]])
    empty = c.command("XINFO", "STREAM", "raw-empty")
    check_eq("RESP2: an empty stream's first-entry is nil", empty[empty.index(b"first-entry") + 1], None)
    c.send(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n")
    c.reply()
    m = c.command("XINFO", "STREAM", "raw")
    check("RESP3: a map", isinstance(m, dict) and len(m) == 14, repr(m))
    if isinstance(m, dict):
        check_eq("RESP3: values", (m.get(b"length"), m.get(b"last-generated-id"), m.get(b"groups")), (2, b"2-0", 0))
        check_eq("RESP3: last-entry", m.get(b"last-entry"), [b"2-0", [b"g", b"w", b"h", b"x"]])
    m = c.command("XINFO", "STREAM", "raw-empty")
    check("RESP3: an empty stream's entries are null",
          isinstance(m, dict) and m.get(b"first-entry") is None and b"first-entry" in m and m.get(b"last-entry") is None,
          repr(m))
    full = c.command("XINFO", "STREAM", "raw-empty", "FULL")
    check("RESP3 FULL: entries an array, groups an array of maps",
          isinstance(full, dict) and full.get(b"entries") == [] and
          full.get(b"groups") == [{b"name": b"g", b"last-delivered-id": b"0-0", b"entries-read": 0, b"lag": 0,
                                   b"pel-count": 0, b"pending": [], b"consumers": []}], repr(full))
    check("RESP3: a missing key is an error", isinstance(c.command("XINFO", "STREAM", "nope"), Err))
    c.close()


SECTIONS = [
    ("XINFO STREAM (redis-py)", test_xinfo_redis_py, True),
    ("XINFO GROUPS / CONSUMERS (redis-py, RESP3)", test_xinfo_groups_consumers, True),
    ("XINFO STREAM (raw RESP2/RESP3)", test_xinfo_raw, True),
    ("XTRIM: MAXLEN, MINID, LIMIT, errors, a restart (64 KiB segments)", test_xtrim, False),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
