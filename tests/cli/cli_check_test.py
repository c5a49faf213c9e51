"""synap-cli verify, repair and inspect on a prepared data directory.

A directory is prepared with the Python binding (KV sets over several 64 KiB
log segments, a queue with a message in flight, a room, a consumer group's
commit). verify finds it clean (exit 0, and --json says so); inspect's
--json counts what was written. Then a byte of a middle segment's first
batch is flipped: verify exits 1 naming the file and the byte offset;
repair --dry-run shows the plan and changes nothing; repair without --yes
and without a terminal refuses; repair --yes cuts the log there, backs the
bytes up (the default DIR.repair-<time>) and the directory opens with every
key before the damage. Last: a directory held open by this process (exit 1,
named), a missing directory (exit 2), bad flags (exit 2).

Usage: cli_check_test.py SYNAP_CLI [SYNAP_SERVER]
"""
import glob
import json
import os
import sys

import synap

from cli_harness import (BATCH_HEADER, DATA_OFFSET, ENV, QUIET, SMALL, check, check_eq, cli, flip, fresh_dir, run,
                         tree_digest, value)

KEYS = 200
STATE = {}


def prepare():
    d = fresh_dir("data")
    with synap.open(d, **SMALL, **QUIET) as db:
        for i in range(KEYS):                      # LSN i + 1, one batch each
            db.set("k%d" % i, value(i))
        db.queue_declare("jobs", ack_deadline_ms=3600000)
        db.publish_batch("jobs", [b"j1", b"j2", b"j3", b"j4"])
        db.consume("jobs", consumer="w1")          # one message in flight
        db.stream_create("clicks")
        db.stream_append("clicks", [synap.Event(b"a"), synap.Event(b"b"), synap.Event(b"c")])
        db.group_commit("billing", "clicks", 2)
    segs = sorted(glob.glob(os.path.join(d, "wal", "*.log")))
    check("the log spans several segments", len(segs) >= 4, segs)
    STATE.update(dir=d, segs=segs)


def verify_clean():
    d = STATE["dir"]
    before = tree_digest(d)
    rc, out, err = cli("verify", d)
    check_eq(f"verify of a clean directory: exit 0 ({err.strip()})", rc, 0)
    check("verify says clean", "clean: no problem found" in out, out)
    rc, out, err = cli("verify", d, "--json")
    check_eq("verify --json: exit 0", rc, 0)
    r = json.loads(out)
    check_eq("verify --json: clean", r["clean"], True)
    check_eq("verify --json: no problems", r["problems"], [])
    check_eq("verify --json: every record checked", r["checked"]["log_records"], KEYS + 3)
    rc, out, err = cli("verify", d, "--quiet")
    check_eq("verify --quiet: exit 0", rc, 0)
    check_eq("verify --quiet: prints nothing", out, "")
    check_eq("verify --quiet: no progress bar off a terminal", err, "")
    check_eq("verify changed nothing", tree_digest(d), before)


def inspect():
    d = STATE["dir"]
    before = tree_digest(d)
    rc, out, err = cli("inspect", d, "--json")
    check_eq(f"inspect --json: exit 0 ({err.strip()})", rc, 0)
    r = json.loads(out)
    segs = r["log"]["segments"]
    check_eq("inspect: one entry per segment file", len(segs), len(STATE["segs"]))
    check_eq("inspect: records over the segments", sum(s["records"] for s in segs), KEYS + 3)
    check_eq("inspect: the log's LSNs", (r["log"]["first_lsn"], r["log"]["last_lsn"]), (1, KEYS + 3))
    check_eq("inspect: the first segment starts at LSN 1", segs[0]["first_lsn"], 1)
    check_eq("inspect: the queue", r["queues"], [{"name": "jobs", "ready": 3, "in_flight": 1, "delayed": 0, "dead": 0}])
    rooms = {x["name"]: x for x in r["rooms"]}
    check_eq("inspect: one room", sorted(rooms), ["clicks"])
    check_eq("inspect: the room's offsets", (rooms["clicks"]["earliest_offset"], rooms["clicks"]["next_offset"]), (0, 3))
    check_eq("inspect: the room's settings", rooms["clicks"]["settings"]["cleanup"], "delete")
    check_eq("inspect: the group", r["groups"], [{"group": "billing", "room": "clicks", "committed": 2}])
    check_eq("inspect: no problem", r["problems"], 0)
    rc, out, err = cli("inspect", d)
    check_eq("inspect (tables): exit 0", rc, 0)
    for part in ("Log (wal/)", "SEGMENT", "jobs", "clicks", "billing"):
        check(f"inspect (tables) shows {part!r}", part in out, out)
    check_eq("inspect changed nothing", tree_digest(d), before)


def corrupt_and_verify():
    d, seg = STATE["dir"], STATE["segs"][1]
    flip(seg, DATA_OFFSET + BATCH_HEADER + 10)
    first_lost = int(os.path.basename(seg)[:20])  # the segment's base LSN: its first batch is damaged
    STATE.update(first_lost=first_lost)
    rel = "wal/" + os.path.basename(seg)
    rc, out, err = cli("verify", d)
    check_eq("verify of a flipped byte: exit 1", rc, 1)
    check("verify names the file and the byte offset",
          f"{rel}:{DATA_OFFSET}: checksum mismatch: batch payload hash mismatch (recovery refuses)" in out, out)
    check("verify says an open refuses it", "an open refuses it" in out, out)
    rc, out, err = cli("verify", d, "--json")
    check_eq("verify --json of a flipped byte: exit 1", rc, 1)
    r = json.loads(out)
    check_eq("verify --json: one problem", len(r["problems"]), 1)
    p = r["problems"][0]
    check_eq("verify --json: where and what", (p["file"], p["offset"], p["what"], p["recovery"]),
             (rel, DATA_OFFSET, "checksum mismatch", "refuses"))
    check_eq("verify --json: the directory does not open", r["opens"], False)


def repair():
    d = STATE["dir"]
    before = tree_digest(d)
    rc, out, err = cli("repair", d, "--dry-run")
    check_eq(f"repair --dry-run: exit 0 ({err.strip()})", rc, 0)
    check("repair --dry-run shows the truncation", "truncate wal/" + os.path.basename(STATE["segs"][1]) in out, out)
    check("repair --dry-run shows a removal", "remove wal/" in out, out)
    check_eq("repair --dry-run changed nothing", tree_digest(d), before)
    check_eq("repair --dry-run made no backup", glob.glob(d + ".repair-*"), [])
    rc, out, err = cli("repair", d, input="y\n")
    check_eq("repair without --yes off a terminal: exit 1", rc, 1)
    check("repair without --yes says why", "--yes" in err, err)
    check_eq("repair without --yes changed nothing", tree_digest(d), before)
    rc, out, err = cli("repair", d, "--yes")
    check_eq(f"repair --yes: exit 0 ({err.strip()})", rc, 0)
    backups = glob.glob(d + ".repair-*")
    check_eq("repair: one backup directory, named DIR.repair-<time>", len(backups), 1)
    if not backups:
        return
    b = backups[0]
    check("repair: the plan is in the backup", os.path.exists(os.path.join(b, "REPAIR.json")), os.listdir(b))
    seg1 = "wal/" + os.path.basename(STATE["segs"][1])
    tail = os.path.join(b, seg1 + ".from-%d" % DATA_OFFSET)
    check("repair: the cut bytes are in the backup", os.path.exists(tail), tail)
    for s in STATE["segs"][2:]:
        check(f"repair: {os.path.basename(s)} removed", not os.path.exists(s))
        check(f"repair: {os.path.basename(s)} backed up whole",
              os.path.exists(os.path.join(b, "wal", os.path.basename(s))))
    check("repair: says what it truncated", "truncated " + seg1 + " at byte %d" % DATA_OFFSET in out, out)
    check("repair: says what the log loses", "wal loses LSN %d on" % STATE["first_lost"] in out, out)
    check("repair: the directory opens afterwards", "the directory opens" in out, out)
    rc, out, err = cli("verify", d)
    check_eq(f"verify after the repair: exit 0 ({out.strip()})", rc, 0)
    with synap.open(d, **SMALL, **QUIET) as db:
        intact = STATE["first_lost"] - 1  # keys k0 .. k(intact-1) have LSNs below the damage
        bad = [i for i in range(intact) if db.get("k%d" % i) != value(i)]
        check_eq("every key before the damage is intact", bad, [])
        check_eq("the keys from the damage on are gone", db.get("k%d" % intact), None)


def locked():
    d = STATE["dir"]
    with synap.open(d, **SMALL, **QUIET):
        for cmd in ("verify", "inspect", "repair"):
            args = [cmd, d] + (["--yes"] if cmd == "repair" else [])
            rc, out, err = cli(*args)
            check_eq(f"{cmd} of a held directory: exit 1", rc, 1)
            check(f"{cmd} of a held directory: names it and says it is in use", d in err and "in use" in err, err)


def bad_command_lines():
    missing = os.path.join(ENV.work, "no-such-dir")
    for cmd in ("verify", "inspect", "repair"):
        rc, out, err = cli(cmd, missing)
        check_eq(f"{cmd} of a missing directory: exit 2", rc, 2)
        check(f"{cmd} of a missing directory: named", missing in err, err)
        check(f"{cmd} of a missing directory: not created", not os.path.exists(missing))
        rc, out, err = cli(cmd, STATE["dir"], "--bogus")
        check_eq(f"{cmd} --bogus: exit 2", rc, 2)
        rc, out, err = cli(cmd)
        check_eq(f"{cmd} without DIR: exit 2", rc, 2)
    empty = fresh_dir("not-a-data-dir")
    os.makedirs(empty)
    rc, out, err = cli("verify", empty)
    check_eq("verify of a directory that is not a data directory: exit 2", rc, 2)
    check("... says so", "not a Synap data directory" in err, err)
    backup = fresh_dir("full-backup")
    os.makedirs(backup)
    with open(os.path.join(backup, "x"), "w") as f:
        f.write("x")
    rc, out, err = cli("repair", STATE["dir"], "--yes", "--backup", backup)
    check_eq("repair into a non-empty backup directory: exit 2", rc, 2)
    check("... says why", "not empty" in err, err)


SECTIONS = [
    ("prepare a data directory with the Python binding", prepare),
    ("verify: a clean directory", verify_clean),
    ("inspect: tables and --json", inspect),
    ("verify: a flipped byte mid-log", corrupt_and_verify),
    ("repair: dry run, refusal, then --yes", repair),
    ("a directory held by this process", locked),
    ("missing directories and bad flags", bad_command_lines),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
