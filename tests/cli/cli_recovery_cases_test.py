"""synap-cli verify and repair on each of the foundation's recovery cases.

Every case of docs/format.md §10 (the ones tests/unit/log_recovery_test.cc
drives through the log layer) is made here on a real data directory: a copy
of one prepared with the Python binding (200 KV sets, one per batch, over
four 64 KiB segments: key k<i> has LSN i+1). For each, damage is done with plain file writes, then:

 - `verify --json` must name the problem, where it is and what recovery
   does (trims, refuses, skips, rebuilds), and exit 0 for nothing but torn
   tails, 1 otherwise;
 - its verdict must be the engine's own: "opens" true if and only if the
   Python binding's open of a copy succeeds;
 - `repair --yes --json` must leave a directory that verifies without a
   problem recovery refuses and opens, with every key before the first LSN
   it reports lost intact and every key from it on gone (or, where it
   reports nothing lost, every key intact); what it cannot mend (a newer
   format version) it must leave alone and exit 1.

Also: a damaged snapshot, damage below the snapshot an open loads (repair
removes the old segments and loses nothing), and a stream room's damaged
segment and index file.

Usage: cli_recovery_cases_test.py SYNAP_CLI [SYNAP_SERVER]
"""
import ctypes
import json
import os
import shutil
import struct
import sys

import synap

from cli_harness import BATCH_HEADER, DATA_OFFSET, QUIET, SMALL, check, check_eq, cli, flip, fresh_dir, run, value

KEYS = 200
SEGS = []                  # base LSNs of the template's segments (prepare)
TEMPLATE = {}


def seg_path(d, base):
    return os.path.join(d, "wal", "%020d.log" % base)


def segments(d):
    return sorted(int(n[:20]) for n in os.listdir(os.path.join(d, "wal")) if n.endswith(".log"))


def used_bytes(d, base):
    rc, out, err = cli("inspect", d, "--json")
    name = "%020d.log" % base
    for s in json.loads(out)["log"]["segments"]:
        if s["name"] == name:
            return s["used_bytes"]
    raise AssertionError(f"inspect does not list {name}: {out} {err}")


def write_at(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def prepare():
    d = fresh_dir("template")
    with synap.open(d, **SMALL, **QUIET) as db:
        for i in range(KEYS):
            db.set("k%d" % i, value(i))
    SEGS.extend(segments(d))
    check_eq("the template's log has four segments", len(SEGS), 4)
    TEMPLATE["dir"] = d


def opens(d, **extra):
    """Opens a copy of d the way an application would; returns (ok, error text)."""
    probe = d + ".probe"
    shutil.rmtree(probe, ignore_errors=True)
    shutil.copytree(d, probe)
    try:
        with synap.open(probe, **SMALL, **QUIET, **extra):
            return True, ""
    except synap.SynapError as e:
        return False, str(e)
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def verify(name, d, problems, rc_want):
    """problems: [(file, offset or None, what, recovery)] in verify's order."""
    rc, out, err = cli("verify", d, "--json")
    check_eq(f"{name}: verify exit status ({err.strip()})", rc, rc_want)
    r = json.loads(out)
    got = [(p["file"], p["offset"] if off is not None else None, p["what"], p["recovery"])
           for p, (_, off, _, _) in zip(r["problems"], problems)]
    check_eq(f"{name}: verify's problems", (len(r["problems"]), got), (len(problems), problems))
    ok, why = opens(d)
    check_eq(f"{name}: verify's 'opens' is what an open does ({why})", r["opens"], ok)
    return r


def keys_after(name, d, lost_from, n=KEYS):
    """Every key with LSN < lost_from intact, every one from it on gone."""
    with synap.open(d, **SMALL, **QUIET) as db:
        bad = [i for i in range(n) if db.get("k%d" % i) != (value(i) if i + 1 < lost_from else None)]
    check_eq(f"{name}: keys below LSN {lost_from} intact, the rest gone", bad, [])


def repair(name, d, lost_from):
    """Repairs d; lost_from is the first LSN the main log loses (None: none)."""
    rc, out, err = cli("repair", d, "--yes", "--json", "--backup", d + ".bak")
    check_eq(f"{name}: repair exit status ({err.strip()})", rc, 0)
    r = json.loads(out)
    wal = [x["from"] for x in r["lost"] if x["log"] == "wal"]
    check_eq(f"{name}: repair reports the first LSN lost", wal, [] if lost_from is None else [lost_from])
    check(f"{name}: every removed byte is in the backup",
          all(os.path.exists(os.path.join(d + ".bak", a["backup"])) for a in r["actions"]), r["actions"])
    check_eq(f"{name}: after the repair the directory opens", (r["after"] or {}).get("opens"), True)
    rc, out, err = cli("verify", d)
    check_eq(f"{name}: verify after the repair exits 0 ({out.strip()})", rc, 0)
    keys_after(name, d, lost_from or KEYS + 1)
    return r


def case_dir(name):
    d = fresh_dir(name)
    shutil.copytree(TEMPLATE["dir"], d)
    return d


def clean():
    d = case_dir("clean")
    verify("clean", d, [], 0)
    rc, out, err = cli("repair", d, "--yes", "--json", "--backup", d + ".bak")
    check_eq("clean: repair has nothing to do: exit 0", rc, 0)
    check_eq("clean: no action", json.loads(out)["actions"], [])
    check("clean: no backup made", not os.path.exists(d + ".bak"))


def torn_tails():
    last = SEGS[-1]
    rel = "wal/%020d.log" % last
    # A write cut short: the end of the last batch never reached the disk.
    d = case_dir("truncated-batch")
    used = used_bytes(d, last)
    write_at(seg_path(d, last), used - 500, bytes(500))
    verify("batch truncated midway", d, [(rel, None, "torn tail", "trims")], 0)
    rc, out, err = cli("verify", d)
    check("a torn tail: verify's last line says nothing acknowledged is lost",
          "nothing acknowledged is lost" in out, out)
    repair("batch truncated midway", d, KEYS)
    # Bytes after the last batch that are not zero (a preallocated tail overwritten).
    d = case_dir("garbage-after-tail")
    used = used_bytes(d, last)
    write_at(seg_path(d, last), used + 100, os.urandom(200))
    verify("garbage after the tail", d, [(rel, used, "torn tail", "trims")], 0)
    r = repair("garbage after the tail", d, KEYS + 1)
    check_eq("garbage after the tail: truncated at the end of the data",
             [(a["action"], a["file"], a["offset"]) for a in r["actions"]], [("truncate", rel, used)])
    # A flipped byte in the last batch: no later batch vouches for it.
    d = case_dir("flipped-last-batch")
    used = used_bytes(d, last)
    flip(seg_path(d, last), used - 10)
    verify("a flipped byte in the last batch", d, [(rel, None, "torn tail", "trims")], 0)
    repair("a flipped byte in the last batch", d, KEYS)
    # A final segment created but whose header never became durable.
    d = case_dir("headerless-final")
    with open(seg_path(d, KEYS + 1), "wb") as f:
        f.write(bytes(65536))
    verify("an all-zero final segment", d, [("wal/%020d.log" % (KEYS + 1), 0, "torn tail", "trims")], 0)
    r = repair("an all-zero final segment", d, None)  # no cut: nothing of the log is lost
    check_eq("an all-zero final segment: removed",
             [(a["action"], a["file"]) for a in r["actions"]], [("remove", "wal/%020d.log" % (KEYS + 1))])


def corruption():
    # Damage in the final segment that a later batch proves durable: not a torn tail.
    d = case_dir("proven-durable")
    rel = "wal/%020d.log" % SEGS[-1]
    flip(seg_path(d, SEGS[-1]), DATA_OFFSET + BATCH_HEADER + 10)
    verify("damage a later batch vouches for", d, [(rel, DATA_OFFSET, "checksum mismatch", "refuses")], 1)
    repair("damage a later batch vouches for", d, SEGS[-1])
    # Mid-log: a sealed segment's first batch.
    d = case_dir("mid-log")
    rel = "wal/%020d.log" % SEGS[1]
    flip(seg_path(d, SEGS[1]), DATA_OFFSET + BATCH_HEADER + 10)
    verify("a flipped byte mid-log", d, [(rel, DATA_OFFSET, "checksum mismatch", "refuses")], 1)
    r = repair("a flipped byte mid-log", d, SEGS[1])
    check_eq("mid-log: later segments removed, the damaged one truncated",
             sorted((a["action"], a["file"]) for a in r["actions"]),
             [("remove", "wal/%020d.log" % SEGS[2]), ("remove", "wal/%020d.log" % SEGS[3]), ("truncate", rel)])
    # A bad header on a segment that is not the last.
    d = case_dir("bad-header")
    rel = "wal/%020d.log" % SEGS[2]
    flip(seg_path(d, SEGS[2]), 20)
    verify("a bad header mid-log", d, [(rel, 0, "bad header", "refuses")], 1)
    repair("a bad header mid-log", d, SEGS[2])
    # A segment file lost from the middle of the log.
    d = case_dir("missing-segment")
    os.remove(seg_path(d, SEGS[1]))
    verify("a missing middle segment", d, [("wal/%020d.log" % SEGS[2], 0, "LSN gap", "refuses")], 1)
    repair("a missing middle segment", d, SEGS[1])
    # A segment whose name disagrees with its header (renamed by hand).
    d = case_dir("renamed-segment")
    os.rename(seg_path(d, SEGS[3]), seg_path(d, SEGS[3] + 1))
    rel = "wal/%020d.log" % (SEGS[3] + 1)
    verify("a segment named for another LSN", d, [(rel, 0, "bad header", "refuses")], 1)
    repair("a segment named for another LSN", d, SEGS[3])


def newer_version():
    """A header of format version 2 with a valid hash: unsupported, never damage."""
    d = case_dir("newer-version")
    path = seg_path(d, SEGS[2])
    with open(path, "r+b") as f:
        head = bytearray(f.read(64))
        head[4:6] = struct.pack("<H", 2)
        xxh = ctypes.CDLL("libxxhash.so.0")
        xxh.XXH3_64bits_withSeed.restype = ctypes.c_uint64
        xxh.XXH3_64bits_withSeed.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]
        head[56:64] = struct.pack("<Q", xxh.XXH3_64bits_withSeed(bytes(head[:56]), 56, 0))
        f.seek(0)
        f.write(head)
    rel = "wal/%020d.log" % SEGS[2]
    verify("a newer format version", d, [(rel, 0, "unsupported version", "refuses")], 1)
    before = open(path, "rb").read()
    rc, out, err = cli("repair", d, "--yes", "--json", "--backup", d + ".bak")
    check_eq("a newer format version: repair exits 1 (nothing it may mend)", rc, 1)
    r = json.loads(out)
    check_eq("a newer format version: no action", r["actions"], [])
    check_eq("a newer format version: listed as not repaired",
             [(p["file"], p["what"]) for p in r["unrepaired"]], [(rel, "unsupported version")])
    check_eq("a newer format version: the file is left alone", open(path, "rb").read(), before)


def snapshots():
    # Two snapshots (the log is kept back to the older), then more writes.
    d = fresh_dir("snapshots")
    with synap.open(d, **SMALL, **QUIET) as db:
        for i in range(KEYS):
            db.set("k%d" % i, value(i))
            if i in (99, 179):
                db.snapshot()
        for i in range(KEYS, KEYS + 20):
            db.set("k%d" % i, value(i))
    snaps = sorted(os.listdir(os.path.join(d, "snapshots")))
    segs = segments(d)
    check_eq("snapshots: two snapshot files", len(snaps), 2)
    check("snapshots: two log segments older than the newer snapshot are kept",
          len(segs) >= 3 and segs[0] > 1 and segs[2] <= 181, segs)
    template = d
    # A damaged newest snapshot: an open falls back to the older one.
    d = fresh_dir("snapshot-damaged")
    shutil.copytree(template, d)
    snap = os.path.join(d, "snapshots", snaps[-1])
    flip(snap, os.path.getsize(snap) // 2)
    rel = "snapshots/" + snaps[-1]
    rc, out, err = cli("verify", d, "--json")
    r = json.loads(out)
    check_eq("a damaged snapshot: verify exits 1", rc, 1)
    check_eq("a damaged snapshot: found, and an open skips it",
             [(p["file"], p["recovery"]) for p in r["problems"]], [(rel, "skips")])
    check_eq("a damaged snapshot: opens", (r["opens"], opens(d)[0]), (True, True))
    r = repair("a damaged snapshot", d, None)
    check_eq("a damaged snapshot: removed", [(a["action"], a["file"]) for a in r["actions"]], [("remove", rel)])
    keys_after("a damaged snapshot (all 220 keys)", d, KEYS + 21, KEYS + 20)
    # Damage in a segment the newest snapshot covers: repair loses nothing.
    d = fresh_dir("below-snapshot")
    shutil.copytree(template, d)
    flip(seg_path(d, segs[1]), DATA_OFFSET + BATCH_HEADER + 10)
    rc, out, err = cli("verify", d, "--json")
    check_eq("damage below the snapshot: verify exits 1", rc, 1)
    check_eq("damage below the snapshot: an open refuses it", (json.loads(out)["opens"], opens(d)[0]),
             (False, False))
    rc, out, err = cli("repair", d, "--yes", "--json", "--backup", d + ".bak")
    check_eq(f"damage below the snapshot: repair exit 0 ({err.strip()})", rc, 0)
    r = json.loads(out)
    check_eq("damage below the snapshot: the old segments go, oldest first",
             [(a["action"], a["file"]) for a in r["actions"]],
             [("remove", "wal/%020d.log" % segs[0]), ("remove", "wal/%020d.log" % segs[1])])
    check_eq("damage below the snapshot: nothing lost", r["lost"], [])
    check("damage below the snapshot: both removed files backed up",
          all(os.path.exists(os.path.join(d + ".bak", a["backup"])) for a in r["actions"]))
    keys_after("damage below the snapshot (all 220 keys)", d, KEYS + 21, KEYS + 20)


def rooms():
    d = fresh_dir("room")
    with synap.open(d, **SMALL, **QUIET) as db:
        db.stream_create("clicks", segment_bytes=65536)
        for i in range(300):
            db.stream_append("clicks", [synap.Event(value(i))])
    room = os.path.join(d, "streams", "clicks")
    sealed = sorted(n for n in os.listdir(room) if n.endswith(".log"))
    check("room: several segments", len(sealed) >= 3, sealed)
    template = d
    # A sealed room segment damaged: the room is cut there; the main log is untouched.
    d = fresh_dir("room-segment")
    shutil.copytree(template, d)
    second = sorted(n for n in os.listdir(os.path.join(d, "streams", "clicks")) if n.endswith(".log"))[1]
    flip(os.path.join(d, "streams", "clicks", second), DATA_OFFSET + BATCH_HEADER + 10)
    rel = "streams/clicks/" + second
    rc, out, err = cli("verify", d, "--json")
    r = json.loads(out)
    check_eq("a damaged room segment: verify exits 1", rc, 1)
    # Recovery takes a sealed segment whose index holds on the index's word, unread.
    check_eq("a damaged sealed room segment: found; an open accepts it unread",
             [(p["file"], p["offset"], p["recovery"]) for p in r["problems"]], [(rel, DATA_OFFSET, "accepts")])
    check_eq("a damaged sealed room segment: opens", (r["opens"], opens(d)[0]), (True, True))
    rc, out, err = cli("repair", d, "--yes", "--json", "--backup", d + ".bak")
    check_eq(f"a damaged room segment: repair exit 0 ({err.strip()})", rc, 0)
    r = json.loads(out)
    first_lost = int(second[:20])  # a room's segment is named by its first offset
    check_eq("a damaged room segment: the room loses from that segment's first offset",
             [(x["log"], x["unit"], x["from"]) for x in r["lost"]], [("streams/clicks", "offset", first_lost)])
    with synap.open(d, **SMALL, **QUIET) as db:
        got = []
        off = 0
        while True:
            evs = db.stream_read("clicks", off, max_records=1000)
            if not evs:
                break
            got += [e.payload for e in evs]
            off = evs.next_offset
        check_eq("a damaged room segment: events before it intact", got, [value(i) for i in range(first_lost)])
    # A damaged index file: an open rebuilds it.
    d = fresh_dir("room-index")
    shutil.copytree(template, d)
    index = sorted(n for n in os.listdir(os.path.join(d, "streams", "clicks")) if n.endswith(".index"))[0]
    flip(os.path.join(d, "streams", "clicks", index), 20)
    rc, out, err = cli("verify", d, "--json")
    r = json.loads(out)
    check_eq("a damaged room index: verify exits 1", rc, 1)
    check_eq("a damaged room index: an index mismatch the open rebuilds",
             [(p["file"], p["what"], p["recovery"]) for p in r["problems"]],
             [("streams/clicks/" + index, "index mismatch", "rebuilds")])
    check_eq("a damaged room index: opens", (r["opens"], opens(d)[0]), (True, True))
    rc, out, err = cli("repair", d, "--yes", "--json", "--backup", d + ".bak")
    check_eq(f"a damaged room index: repair exit 0 ({err.strip()})", rc, 0)
    check("a damaged room index: the index files removed",
          ("remove", "streams/clicks/" + index) in [(a["action"], a["file"]) for a in json.loads(out)["actions"]],
          out)
    with synap.open(d, **SMALL, **QUIET) as db:
        evs = db.stream_read("clicks", 150, max_records=1)
        check_eq("a damaged room index: a read in the middle is right", [e.payload for e in evs], [value(150)])


SECTIONS = [
    ("prepare the template directory", prepare),
    ("a clean log", clean),
    ("torn tails: verify exits 0, repair cuts them", torn_tails),
    ("corruption: verify exits 1, repair truncates the log", corruption),
    ("a newer format version: never repaired", newer_version),
    ("snapshots: damaged, and damage below one", snapshots),
    ("a stream room's segment and index", rooms),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
