#!/usr/bin/env python3
"""Kill -9 of the streams through the C ABI (libsynap), driving
capi_stream_kill9_child.

For each round on the same data directory (so restarts accumulate): start
`capi_stream_kill9_child run <dir> <round> <writers>` (stdout -> that
round's run log), wait for its "ready" line, let it append, commit and
tail-read for a random 50-450 ms (now and then only a few ms), SIGKILL it,
then run `capi_stream_kill9_child verify <dir> <writers>`, which reopens the
directory, reads every room from offset 0 (checking on its own that offsets
are contiguous from 0, every event is whole and self-consistent and every
append is all or none) and prints the appends it found ("B"), each room's
high watermark ("E") and each group's committed offsets ("G"). Then this
script checks, against every round's run log so far:

  - every acknowledged append ("A <room> <first> <n> ...", printed only
    after synap_stream_append returned SYNAP_OK), of this round or an
    earlier one, is there at exactly its offset, whole, with its payloads
    (the child regenerates each payload from its identity);
  - the appends found tile [0, high watermark) with no gap or overlap;
  - nothing is there that was never appended: an append found but not
    acknowledged was begun ("a" line) in the round just killed (in flight
    at the kill), or was already found by an earlier verify;
  - no append is there twice; at most one in flight per writer;
  - what an earlier verify found stays, at the same offsets (the rooms'
    content only grows by appends at the end);
  - every event a tail reader read ("H <room> <offset>": readable below it)
    survives: the high watermark is at least that;
  - every acknowledged group commit ("C <group> <room> <offset>") reads
    back with synap_group_committed >= that offset, and no committed offset
    is one that no commit began ("c" lines), nor beyond the room's end.

  capi_stream_kill9_test.py <path to capi_stream_kill9_child>

Environment: SYNAP_CRASH_SEED (default: time-derived, printed),
SYNAP_STREAM_CRASH_ROUNDS (default 25), SYNAP_STREAM_CRASH_WRITERS (6),
SYNAP_STREAM_CRASH_BUDGET_S (40: no new round starts after it, but at least
3 run), SYNAP_TEST_TMPDIR (default /tmp). On a failure the directory is kept
and its path printed; on success it is removed (kept with SYNAP_CRASH_KEEP=1).
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import kill9_common
from kill9_common import kill9, wait_ready


class State:
    """What every round so far acknowledged, began and saw."""

    def __init__(self):
        self.acked = {}         # (room, first) -> (n, round, w, q)
        self.acked_ids = {}     # (round, w, q) -> (room, first, n)
        self.begun = {}         # (round, w, q) -> (room, n), from "a"
        self.found = {}         # room -> [(first, n, round, w, q)] of the last verify
        self.hw_seen = {}       # room -> highest "H" offset
        self.commit_acked = {}  # (group, room) -> highest acknowledged commit
        self.commit_begun = {}  # (group, room) -> set of offsets begun


class Round:
    def __init__(self, r):
        self.r = r
        self.errors = []
        self.lines = 0
        self.partial = 0
        self.acks = 0
        self.commits = 0
        self.begun_here = set()  # (round, w, q) begun in this round's run

    def err(self, text):
        if len(self.errors) < 50:
            self.errors.append(text)
        elif len(self.errors) == 50:
            self.errors.append("... (more violations not shown)")


def parse_run(path, rd, st):
    with open(path, "rb") as f:
        data = f.read().decode(errors="replace")
    lines = data.split("\n")
    if lines and lines[-1] != "":
        rd.partial += 1  # cut by the kill: never written whole
    lines = lines[:-1]
    for no, line in enumerate(lines):
        rd.lines += 1
        f = line.split(" ")
        kind = f[0]
        where = f"run {rd.r} line {no + 1}"
        try:
            if kind == "ready":
                continue
            if kind == "a" and len(f) == 6:
                room, ident, n = f[1], (int(f[2]), int(f[3]), int(f[4])), int(f[5])
                if ident in st.begun:
                    rd.err(f"{where}: append {ident} begun twice")
                st.begun[ident] = (room, n)
                rd.begun_here.add(ident)
            elif kind == "A" and len(f) == 7:
                room, first, n = f[1], int(f[2]), int(f[3])
                ident = (int(f[4]), int(f[5]), int(f[6]))
                if st.begun.get(ident) != (room, n):
                    rd.err(f"{where}: A without its a line: {line}")
                if (room, first) in st.acked:
                    rd.err(f"{where}: two appends acknowledged at {room} offset {first}: {st.acked[(room, first)]} "
                           f"and {(n,) + ident}")
                if ident in st.acked_ids:
                    rd.err(f"{where}: append {ident} acknowledged twice")
                st.acked[(room, first)] = (n,) + ident
                st.acked_ids[ident] = (room, first, n)
                rd.acks += 1
            elif kind == "c" and len(f) == 4:
                st.commit_begun.setdefault((f[1], f[2]), set()).add(int(f[3]))
            elif kind == "C" and len(f) == 4:
                key, off = (f[1], f[2]), int(f[3])
                if off not in st.commit_begun.get(key, ()):
                    rd.err(f"{where}: C without its c line: {line}")
                st.commit_acked[key] = max(st.commit_acked.get(key, 0), off)
                rd.commits += 1
            elif kind == "H" and len(f) == 3:
                st.hw_seen[f[1]] = max(st.hw_seen.get(f[1], 0), int(f[2]))
            else:
                rd.err(f"{where}: unparsable: {line!r}")
        except ValueError:
            rd.err(f"{where}: unparsable: {line!r}")
    # Acknowledged appends within one room never overlap.
    by_room = {}
    for (room, first), (n, *_rest) in st.acked.items():
        by_room.setdefault(room, []).append((first, n))
    for room, spans in by_room.items():
        spans.sort()
        for (a, an), (b, _bn) in zip(spans, spans[1:]):
            if a + an > b:
                rd.err(f"acknowledged appends overlap in {room}: [{a}, {a + an}) and one at {b}")


def check_verify(text, rd, st, rooms):
    found = {}   # room -> [(first, n, round, w, q)]
    ends = {}    # room -> next offset, or None when the room is missing
    groups = {}  # (group, room) -> offset or None
    for line in text.split("\n"):
        if not line:
            continue
        f = line.split(" ")
        try:
            if f[0] == "B" and len(f) == 7:
                found.setdefault(f[1], []).append((int(f[2]), int(f[3]), int(f[4]), int(f[5]), int(f[6])))
            elif f[0] == "E" and len(f) == 3:
                ends[f[1]] = None if f[2] == "missing" else int(f[2])
            elif f[0] == "G" and len(f) == 4:
                groups[(f[1], f[2])] = None if f[3] == "-" else int(f[3])
            else:
                rd.err(f"verify: unparsable: {line!r}")
        except ValueError:
            rd.err(f"verify: unparsable: {line!r}")

    in_flight = 0
    seen_ids = {}
    for room in rooms:
        if room not in ends:
            rd.err(f"verify: no E line for room {room}")
            continue
        end = ends[room]
        batches = found.get(room, [])
        if end is None:
            end = 0
            if any(r == room for (r, _f) in st.acked):
                rd.err(f"verify: room {room} is missing, but appends to it were acknowledged")
        # Tiling: [0, end), no gap, no overlap.
        at = 0
        for (first, n, *_i) in batches:
            if first != at:
                rd.err(f"verify: {room}: an append found at {first}, where {at} was due")
            at = first + n
        if at != end:
            rd.err(f"verify: {room}: the appends found end at {at}, the high watermark is {end}")
        # Readers saw events below hw_seen: they must survive.
        if st.hw_seen.get(room, 0) > end:
            rd.err(f"verify: {room}: a reader read up to offset {st.hw_seen[room]} before a kill, but the room now "
                   f"ends at {end} (an event was readable before it was durable)")
        # Earlier verifies' content stays.
        prev = st.found.get(room, [])
        if batches[:len(prev)] != prev:
            for i, (a, b) in enumerate(zip(prev, batches)):
                if a != b:
                    rd.err(f"verify: {room}: an earlier verify found {a} as append #{i}, now {b}")
                    break
            else:
                rd.err(f"verify: {room}: an earlier verify found {len(prev)} appends, now {len(batches)}")
        prev_set = set(prev)
        for b in batches:
            first, n, ident = b[0], b[1], tuple(b[2:])
            if ident in seen_ids:
                rd.err(f"verify: append {ident} found twice: {seen_ids[ident]} and {room} at {first}")
            seen_ids[ident] = (room, first)
            acked = st.acked.get((room, first))
            if acked is not None:
                if acked != (n,) + ident:
                    rd.err(f"verify: {room} offset {first}: found append {ident} of {n} events, but "
                           f"{acked[1:]} of {acked[0]} events was acknowledged there")
                continue
            if ident in st.acked_ids:
                rd.err(f"verify: append {ident} found in {room} at {first}, but it was acknowledged at "
                       f"{st.acked_ids[ident]}")
                continue
            if b in prev_set:
                continue  # in flight at an earlier kill, and found then
            if ident in rd.begun_here and st.begun.get(ident) == (room, n):
                in_flight += 1  # in flight at this kill: allowed
                continue
            rd.err(f"verify: {room} offset {first}: append {ident} of {n} events was never begun in this round "
                   f"(nor found by an earlier verify)")
        st.found[room] = batches

    missing = 0
    at = {(room, b[0]): tuple(b[1:]) for room, bs in found.items() for b in bs}
    for (room, first), want in st.acked.items():
        if at.get((room, first)) != want:
            n, ident = want[0], want[1:]
            missing += 1
            if missing <= 10:
                rd.err(f"verify: acknowledged append {ident} of {n} events at {room} offset {first} is lost "
                       f"(found there: {at.get((room, first))})")
    if missing > 10:
        rd.err(f"verify: {missing} acknowledged appends lost in all")

    writers = {w for (_r, w, _q) in rd.begun_here}
    if in_flight > max(1, len(writers)):
        rd.err(f"verify: {in_flight} unacknowledged appends found, more than the {len(writers)} writers had in flight")

    # Group commits.
    for key, off in groups.items():
        group, room = key
        want = st.commit_acked.get(key)
        end = ends.get(room) or 0
        if want is not None and (off is None or off < want):
            rd.err(f"verify: group {group} room {room}: committed {off}, but a commit of {want} was acknowledged")
        if off is not None:
            if off not in st.commit_begun.get(key, ()):
                rd.err(f"verify: group {group} room {room}: committed {off}, which no commit began")
            if off > end:
                rd.err(f"verify: group {group} room {room}: committed {off}, beyond the room's end {end}")
    for key in st.commit_acked:
        if key not in groups:
            rd.err(f"verify: no G line for acknowledged commits of {key}")

    total = sum(e or 0 for e in ends.values())
    return f"{rd.acks} appends and {rd.commits} commits acknowledged; rooms hold {total} events; " \
           f"{in_flight} unacknowledged appends found (in flight at the kill)"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    child = sys.argv[1]
    seed = int(os.environ.get("SYNAP_CRASH_SEED", time.time_ns() % 1000000007))
    rounds = int(os.environ.get("SYNAP_STREAM_CRASH_ROUNDS", "25"))
    writers = int(os.environ.get("SYNAP_STREAM_CRASH_WRITERS", "6"))
    budget = float(os.environ.get("SYNAP_STREAM_CRASH_BUDGET_S", "40"))
    base = os.environ.get("SYNAP_TEST_TMPDIR") or "/tmp"
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="capi-stream-kill9-", dir=base)
    data = os.path.join(work, "data")
    rng = random.Random(seed)
    rooms = ["s0", "s1", "s2", "s3"]
    print(f"capi_stream_kill9: seed {seed} (SYNAP_CRASH_SEED), {rounds} rounds, {writers} writers, dir {work}",
          flush=True)

    st = State()
    t0 = time.monotonic()
    done = 0
    for r in range(rounds):
        if r >= 3 and time.monotonic() - t0 > budget:
            print(f"capi_stream_kill9: time budget of {budget:.0f} s spent; stopping after {r} rounds", flush=True)
            break
        log = os.path.join(work, f"run-{r:03d}.log")
        err = os.path.join(work, f"child-{r:03d}.err")
        with open(log, "wb") as out, open(err, "wb") as errf:
            p = subprocess.Popen([child, "run", data, str(r), str(writers)], stdout=out, stderr=errf)
        if not wait_ready(p, log, 30):
            return fail(work, r, f"the child did not get ready (exit status {p.poll()})", err)
        delay = rng.uniform(0.001, 0.010) if rng.random() < 0.15 else rng.uniform(0.050, 0.450)
        time.sleep(delay)
        why = kill9(p)
        if why:
            return fail(work, r, why, err)
        vt = time.monotonic()
        v = subprocess.run([child, "verify", data, str(writers)], capture_output=True, text=True, timeout=120)
        vt = time.monotonic() - vt
        with open(os.path.join(work, f"verify-{r:03d}.log"), "w") as f:
            f.write(v.stdout)
            f.write(v.stderr)
        rd = Round(r)
        parse_run(log, rd, st)
        summary = check_verify(v.stdout, rd, st, rooms)
        print(f"round {r:2d}: killed {delay * 1000:.0f} ms after ready; {rd.lines} lines; {summary}; "
              f"verify {vt * 1000:.0f} ms", flush=True)
        if v.returncode != 0:
            sys.stdout.write(v.stderr[-20000:])
            for e in rd.errors:
                print(f"  VIOLATION: {e}")
            return fail(work, r, f"verify failed (exit status {v.returncode})", err)
        if rd.errors:
            for e in rd.errors:
                print(f"  VIOLATION: {e}")
            return fail(work, r, f"{len(rd.errors)} violation(s)", err)
        done += 1

    print(f"capi_stream_kill9: ok, {done} rounds in {time.monotonic() - t0:.1f} s; "
          f"{len(st.acked)} acknowledged appends, {sum(len(b) for b in st.found.values())} appends in the rooms",
          flush=True)
    if os.environ.get("SYNAP_CRASH_KEEP") != "1":
        shutil.rmtree(work)
    return 0


def fail(work, r, what, err):
    return kill9_common.fail("capi_stream_kill9", work, r, what, err)


if __name__ == "__main__":
    sys.exit(main())
