"""synap-cli dump, snapshot, compact and stats on prepared data directories.

A directory is prepared with the Python binding (KV sets, a delete, an
expiry, a binary key, an MSET; a queue's declare, publish, delivery and ack;
a compacted room and a plain one; a consumer group's commit), then dumped:
the parsed JSON lines are compared with what was written (exactly, where
nothing depends on the clock), through every filter. Then a snapshot, which
stats must show; compaction of a compacted room (twice: the second drops
nothing); a directory held open by this process; a missing directory; bad
flags.

Usage: cli_dump_test.py SYNAP_CLI [SYNAP_SERVER]
"""
import base64
import json
import os
import sys

import synap

from cli_harness import ENV, QUIET, check, check_eq, cli, fresh_dir, run, tree_digest

# QUIET: nothing in the background writes while the test prepares (no expiry
# sweep, no snapshot, no stream maintenance: compaction stays the test's).
FAR = 4102444800000  # 2100-01-01 in Unix ms: an expiry no test run reaches

STATE = {}


def prepare():
    d = fresh_dir("data")
    with synap.open(d, **QUIET) as db:
        db.set("user:1", "alice")                        # LSN 1
        db.set("user:2", "bob", pxat=FAR)                # 2
        db.delete("user:1")                              # 3
        db.set(b"bin\xff", b"\x00\x01")                  # 4: not UTF-8
        db.mset({"cfg:a": "1", "cfg:b": "2"})            # 5: one record, two operations
        db.queue_declare("jobs", ack_deadline_ms=3600000)  # 6
        ids = db.publish_batch("jobs", [b"j1", b"j2"])   # 7: one record, two messages
        got = db.consume("jobs", consumer="w1")          # 8
        got[0].ack()                                     # 9
        db.queue_declare("other")                        # 10
        db.stream_create("plain", "cleanup=delete")
        db.stream_append("plain", [synap.Event(b"p0", timestamp_ms=1000),
                                   synap.Event(b"p1", key="u7", headers={"src": "web"}, timestamp_ms=2000)])
        # Many keyed events over 64 KiB segments: several sealed segments to compact.
        db.stream_create("events", "cleanup=compact segment_bytes=65536 fsync=never")  # the close flushes it
        for n in range(1500):
            db.stream_append("events", synap.Event(b"v%05d" % n + b"." * 40, key="k%d" % (n % 7),
                                                   timestamp_ms=10000 + n))
        db.group_commit("billing", "plain", 1)
    STATE.update(dir=d, ids=ids, delivered=got[0].id)


def dump(*args, want_rc=0):
    """Runs dump; returns its lines parsed (after checking the exit status)."""
    rc, out, err = cli("dump", STATE["dir"], *args)
    check_eq(f"dump {' '.join(map(str, args))}: exit status (stderr: {err.strip()})", rc, want_rc)
    lines = []
    for line in out.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError as e:
            check(f"dump {args}: every line is JSON", False, f"{e}: {line!r}")
    return lines


def main_log():
    before = tree_digest(STATE["dir"])
    lines = dump()
    check_eq("dump changes nothing on disk", tree_digest(STATE["dir"]), before)
    kv = [line for line in lines if line["model"] == "kv"]
    check_eq("kv lines (golden)", kv, [
        {"lsn": 1, "model": "kv", "op": "set", "key": "user:1", "value": "alice", "expire_at_ms": 0},
        {"lsn": 2, "model": "kv", "op": "set", "key": "user:2", "value": "bob", "expire_at_ms": FAR},
        {"lsn": 3, "model": "kv", "op": "del", "key": "user:1"},
        {"lsn": 4, "model": "kv", "op": "set", "key": {"base64": "Ymlu/w=="}, "value": "\x00\x01",
         "expire_at_ms": 0},
        {"lsn": 5, "model": "kv", "op": "set", "key": "cfg:a", "value": "1", "expire_at_ms": 0,
         "op_index": 0, "op_count": 2},
        {"lsn": 5, "model": "kv", "op": "set", "key": "cfg:b", "value": "2", "expire_at_ms": 0,
         "op_index": 1, "op_count": 2},
    ])
    q = [line for line in lines if line["model"] == "queue"]
    check_eq("queue ops in log order", [(x["lsn"], x["op"], x["queue"]) for x in q], [
        (6, "declare", "jobs"), (7, "publish", "jobs"), (7, "publish", "jobs"), (8, "deliver", "jobs"),
        (9, "ack", "jobs"), (10, "declare", "other")])
    if len(q) == 6:
        check_eq("declare settings", q[0]["settings"]["ack_deadline_ms"], 3600000)
        check_eq("publish: ids and payloads", [(x["id"], x["payload"], x["op_index"]) for x in q[1:3]],
                 [(STATE["ids"][0], "j1", 0), (STATE["ids"][1], "j2", 1)])
        check_eq("deliver: consumer and message", (q[3]["consumer"], q[3]["messages"]),
                 ("w1", [{"id": STATE["delivered"], "delivery_count": 1}]))
        check("deliver: a deadline after the publish", q[3]["deadline_ms"] > q[1]["published_ms"] > 0, q[3])
        check_eq("ack: ids", q[4]["ids"], [STATE["delivered"]])
    check_eq("nothing but kv and queue by default", len(lines), len(kv) + len(q))


def filters():
    check_eq("--from-lsn/--to-lsn", [(x["lsn"], x.get("key")) for x in dump("--from-lsn", 3, "--to-lsn", 5)],
             [(3, "user:1"), (4, {"base64": "Ymlu/w=="}), (5, "cfg:a"), (5, "cfg:b")])
    check_eq("--prefix user:", [x["lsn"] for x in dump("--prefix", "user:")], [1, 2, 3])
    check_eq("--prefix with bytes needing escapes", [x["lsn"] for x in dump("--prefix", "cfg:b")], [5])
    check_eq("--queue jobs", [x["op"] for x in dump("--queue", "jobs")],
             ["declare", "publish", "publish", "deliver", "ack"])
    check_eq("--type queue", len(dump("--type", "queue")), 6)
    check_eq("--type kv", {x["model"] for x in dump("--type", "kv")}, {"kv"})
    check_eq("--type kv,queue equals the default", dump("--type", "kv,queue"), dump())
    meta = dump("--type", "stream-meta")
    check_eq("--type stream-meta: the group's commit",
             [(x["model"], x["op"], x["group"], x["room"], x["committed"]) for x in meta],
             [("stream-meta", "commit", "billing", "plain", 1)])
    check_eq("--room plain (golden)", dump("--room", "plain"), [
        {"offset": 0, "timestamp_ms": 1000, "key": None, "headers": [], "payload": "p0"},
        {"offset": 1, "timestamp_ms": 2000, "key": "u7", "headers": [["src", "web"]], "payload": "p1"},
    ])
    check_eq("--room with --from-offset/--to-offset",
             [x["offset"] for x in dump("--room", "events", "--from-offset", 100, "--to-offset", 102)],
             [100, 101, 102])
    b64 = dump("--from-lsn", 4, "--to-lsn", 4, "--base64")
    check_eq("--base64: bytes back exactly", [(base64.b64decode(x["key"]), base64.b64decode(x["value"]))
                                              for x in b64], [(b"bin\xff", b"\x00\x01")])
    rc, out, err = cli("dump", STATE["dir"], "--room", "missing")
    check_eq("a missing room: exit 1", rc, 1)
    check("a missing room: named", "missing" in err, err)
    rc, out, err = cli("dump", STATE["dir"], "--room", "plain", "--prefix", "x")
    check_eq("--room with --prefix: exit 2", rc, 2)
    check("--room with --prefix: says why", "room" in err and out == "", err)


def snapshot_then_stats():
    rc, out, err = cli("snapshot", STATE["dir"], "--json")
    if not check_eq(f"snapshot: exit status (stderr: {err.strip()})", rc, 0):
        return
    snap = json.loads(out)
    check("snapshot: the file exists", os.path.isfile(snap["path"]), snap)
    check_eq("snapshot: in the data directory", os.path.dirname(snap["path"]),
             os.path.join(STATE["dir"], "snapshots"))
    check_eq("snapshot: start LSN after the last record", snap["start_lsn"], 11)
    # 4 keys (user:2, bin, cfg:a, cfg:b) + the queue store + 2 queues + 1 message left in jobs.
    check_eq("snapshot: records", snap["records"], 8)
    check("snapshot: bytes", snap["file_bytes"] > 0, snap)
    rc, out, err = cli("snapshot", STATE["dir"])
    check_eq("snapshot (text): exit status", rc, 0)
    check("snapshot (text): path and records", out.startswith("snapshot " + snap["path"]) and "records" in out, out)

    rc, out, err = cli("stats", STATE["dir"], "--json")
    if not check_eq(f"stats --json: exit status (stderr: {err.strip()})", rc, 0):
        return
    s = json.loads(out)
    check_eq("stats: the open loaded the snapshot", s["stats"]["recovery"]["snapshot"], snap["path"])
    check_eq("stats: keys", s["stats"]["kv"]["keys"], 4)
    check_eq("stats: queues", sorted(q["queue"] for q in s["queues"]), ["jobs", "other"])
    jobs = [q for q in s["queues"] if q["queue"] == "jobs"]
    check_eq("stats: jobs has one ready message", jobs[0]["ready"] if jobs else None, 1)
    check_eq("stats: rooms", sorted(r["room"] for r in s["rooms"]), ["events", "plain"])
    rc, out, err = cli("stats", STATE["dir"])
    check_eq("stats (text): exit status", rc, 0)
    for want in ("kv:", "wal:", "snapshot:", "recovery:", snap["path"], "queue jobs", "room events", "cleanup"):
        check(f"stats (text) shows {want!r}", want in out, out[:2000])


def compact():
    before = dump("--room", "events")
    rc, out, err = cli("compact", STATE["dir"], "--json")
    if not check_eq(f"compact: exit status (stderr: {err.strip()})", rc, 0):
        return
    r = json.loads(out)
    rooms = {x["room"]: x for x in r["rooms"]}
    check("compact: a checkpoint snapshot", os.path.isfile(r["snapshot"]["path"]), r)
    ev = rooms.get("events", {})
    check("compact: the compacted room lost events", ev.get("compacted") and ev.get("dropped", 0) > 0, ev)
    check("compact: and bytes", ev.get("bytes_after", 0) < ev.get("bytes_before", 0), ev)
    check_eq("compact: a delete-policy room is left alone", rooms.get("plain", {}).get("compacted"), False)
    after = dump("--room", "events")
    check_eq("compact: events dropped = lines gone", len(before) - len(after), ev.get("dropped"))
    offsets = [x["offset"] for x in after]
    check("compact: offsets kept, in order", offsets == sorted(set(offsets)) and offsets[-1] == 1499, offsets[-5:])
    latest = {}
    for x in before:
        latest[x["key"]] = x
    for k, x in latest.items():
        check(f"compact: the latest event of {k} survives", x in after, x)
    kept = {x["key"]: 0 for x in after}
    check_eq("compact: every key still there", set(kept), set(latest))
    # Compacting a compacted room again changes nothing.
    rc, out, err = cli("compact", STATE["dir"], "--room", "events", "--json")
    check_eq("compact again: exit status", rc, 0)
    if rc == 0:
        check_eq("compact again: nothing dropped", json.loads(out)["rooms"][0]["dropped"], 0)
    check_eq("compact again: same events", dump("--room", "events"), after)
    rc, out, err = cli("compact", STATE["dir"], "--room", "plain")
    check_eq("compact --room of a delete-policy room: exit 1", rc, 1)
    check("compact --room plain: says why", "cleanup=delete" in err and "--force" in err, err)
    rc, out, err = cli("compact", STATE["dir"], "--room", "nope")
    check_eq("compact --room missing: exit 1", rc, 1)
    rc, out, err = cli("compact", STATE["dir"], "--room", "plain", "--force")
    check_eq(f"compact --room plain --force: exit 0 ({err.strip()})", rc, 0)
    check("compact (text): one line per room", "room plain (cleanup=delete): 0 event(s) dropped" in out, out)


def locked():
    d = STATE["dir"]
    with synap.open(d, **QUIET):
        for args in (["dump", d], ["dump", d, "--room", "plain"], ["snapshot", d], ["compact", d], ["stats", d]):
            rc, out, err = cli(*args)
            check_eq(f"{args[0]} on a held directory: exit 1", rc, 1)
            check(f"{args[0]} on a held directory: the message names it and the lock",
                  d in err and "in use" in err and "LOCK" in err, err)
            check_eq(f"{args[0]} on a held directory: no output", out, "")


def bad_command_lines():
    missing = os.path.join(ENV.work, "no-such-dir")
    for cmd in ("dump", "snapshot", "compact", "stats"):
        rc, out, err = cli(cmd, missing)
        check_eq(f"{cmd} of a missing directory: exit 2", rc, 2)
        check(f"{cmd} of a missing directory: named", missing in err, err)
        check(f"{cmd} of a missing directory: not created", not os.path.exists(missing), missing)
        rc, out, err = cli(cmd, STATE["dir"], "--bogus")
        check_eq(f"{cmd} --bogus: exit 2", rc, 2)
        rc, out, err = cli(cmd)
        check_eq(f"{cmd} without DIR: exit 2", rc, 2)
    for args in (["--from-lsn", "x"], ["--type", "nope"], ["--from-lsn", 5, "--to-lsn", 4], ["--from-offset", 1],
                 ["--type", "queue", "--prefix", "a"]):
        rc, out, err = cli("dump", STATE["dir"], *args)
        check_eq(f"dump {args}: exit 2", rc, 2)
        check(f"dump {args}: a message", err.strip() != "", err)
    empty = fresh_dir("empty")
    os.makedirs(empty)
    for cmd in ("dump", "snapshot", "compact", "stats"):
        rc, out, err = cli(cmd, empty)
        check_eq(f"{cmd} of a directory that is not a data directory: exit 2", rc, 2)
        check(f"{cmd} of a non-data directory: says so", "not a Synap data directory" in err, err)
        check_eq(f"{cmd} of a non-data directory: leaves it empty", os.listdir(empty), [])
    rc, out, err = cli("stats", STATE["dir"], "-o", "wal.fsync_mode=sometimes")
    check_eq("stats with a bad -o value: exit 2", rc, 2)


SECTIONS = [
    ("prepare a data directory with the Python binding", prepare),
    ("dump: the main log", main_log),
    ("dump: every filter", filters),
    ("snapshot, then stats shows it", snapshot_then_stats),
    ("compact: a compacted room, twice", compact),
    ("a directory held by this process", locked),
    ("missing directories and bad flags", bad_command_lines),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
