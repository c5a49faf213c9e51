#!/usr/bin/python3
"""Kill -9 crash test of the queues through the C ABI (libsynap), driving
capi_queue_kill9_child.

For each round on the same data directory: start
`capi_queue_kill9_child run <dir> <round> <producers> <consumers>` (stdout ->
that round's run log), wait for its "ready" line, let it publish, consume,
ack, nack and snapshot for a random 100-400 ms, SIGKILL it, then run
`capi_queue_kill9_child verify <dir>`, which reopens the directory, drains
the queue (consume + ack everything, then the dead letters) and prints what
it found. Then this script checks the round's run log against the drain:

  - every message whose publish returned SYNAP_OK ("P"), and every message
    delivered before the kill ("D"), was either acked before the kill ("A"),
    or is back after the restart (drained, or a dead letter); a message
    whose ack was begun but not acknowledged ("a" without "A") may be
    either;
  - no acked message ("A") is ever delivered again: not after the restart,
    nor later in the run that acked it;
  - a message keeps its payload and priority (publish, deliveries, drain);
  - nothing unknown appears: every delivered or drained payload was begun
    ("p" printed before the publish call; a publish that is durable but was
    killed before its "P" line is allowed);
  - a batch (one publish_batch record) is all or none;
  - delivery counts of one message only grow within a run, and a message
    whose nack was acknowledged ("N" after a delivery with count c) comes
    back with a count above c and redelivered = 1 (a dead letter: >= c);
  - ids are unique across restarts: an id seen durable in an earlier round
    never names another message later.
Soft (printed, not failed): a message delivered before the kill that comes
back with redelivered == 0 or a delivery count not above the last one
printed (its delivery record, which publish/ack do not wait for, was lost).

  capi_queue_kill9_test.py <path to capi_queue_kill9_child>

Environment: SYNAP_CRASH_SEED (default: time-derived, printed),
SYNAP_QUEUE_CRASH_ROUNDS (default 20), SYNAP_QUEUE_CRASH_PRODUCERS (4),
SYNAP_QUEUE_CRASH_CONSUMERS (3), SYNAP_TEST_TMPDIR (default /tmp). On a
failure the directory is kept and its path printed; on success it is removed
(kept with SYNAP_CRASH_KEEP=1).
"""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

import kill9_common
from kill9_common import kill9, wait_ready

BATCH = re.compile(r"^(.*)-b\d+$")


class Round:
    def __init__(self, r):
        self.r = r
        self.errors = []
        self.maybe = set()        # payloads begun ("p")
        self.pub = {}             # id -> (priority, payload), "P"
        self.pub_by_payload = {}  # payload -> id
        self.known = {}           # id -> (priority, payload), from P and D
        self.delivered = {}       # id -> highest delivery count printed ("D")
        self.ack_begun = set()    # "a"
        self.acked = {}           # id -> line number of its "A"
        self.nacked = {}          # id -> delivery count when its nack returned SYNAP_OK ("N")
        self.soft_examples = []   # redeliveries not marked (soft)
        self.lines = 0
        self.partial = 0

    def err(self, text):
        if len(self.errors) < 50:
            self.errors.append(text)
        elif len(self.errors) == 50:
            self.errors.append("... (more violations not shown)")

    def learn(self, mid, prio, payload, where):
        """Records id <-> (priority, payload); a contradiction is a violation."""
        if payload not in self.maybe:
            self.err(f"{where}: message {mid} has payload {payload!r}, which no publish began")
        old = self.known.get(mid)
        if old is not None and old != (prio, payload):
            self.err(f"{where}: message {mid} is (priority {prio}, {payload!r}), earlier (priority {old[0]}, {old[1]!r})")
        other = self.pub_by_payload.get(payload)
        if other is not None and other != mid:
            self.err(f"{where}: payload {payload!r} came as message {mid}, but its publish returned id {other}")
        if old is None:
            self.known[mid] = (prio, payload)


def parse_run(path, rd):
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
        try:
            if kind == "ready":
                continue
            if kind == "p" and len(f) == 2:
                rd.maybe.add(f[1])
            elif kind == "P" and len(f) == 4:
                mid, prio, payload = int(f[1]), int(f[2]), f[3]
                if payload not in rd.maybe:
                    rd.err(f"run line {no + 1}: P without its p line: {line}")
                if mid in rd.pub:
                    rd.err(f"run: two publishes returned id {mid}: {rd.pub[mid]} and {(prio, payload)}")
                rd.learn(mid, prio, payload, f"run line {no + 1}")
                rd.pub[mid] = (prio, payload)
                rd.pub_by_payload[payload] = mid
            elif kind == "D" and len(f) == 6:
                mid, count, redel, prio, payload = int(f[1]), int(f[2]), int(f[3]), int(f[4]), f[5]
                rd.learn(mid, prio, payload, f"run line {no + 1}")
                if mid in rd.acked:
                    rd.err(f"run line {no + 1}: message {mid} delivered again after its ack (line {rd.acked[mid] + 1})")
                prev = rd.delivered.get(mid, 0)
                if count <= prev:
                    rd.err(f"run line {no + 1}: message {mid} delivered with count {count} after count {prev}")
                if (redel != 0) != (count > 1):
                    rd.err(f"run line {no + 1}: message {mid}: redelivered {redel} with delivery count {count}")
                rd.delivered[mid] = max(prev, count)
            elif kind == "a" and len(f) == 2:
                rd.ack_begun.add(int(f[1]))
            elif kind == "A" and len(f) == 2:
                mid = int(f[1])
                if mid not in rd.ack_begun:
                    rd.err(f"run line {no + 1}: A without its a line: {line}")
                if mid not in rd.delivered:
                    rd.err(f"run line {no + 1}: message {mid} acked but never delivered")
                if mid in rd.acked:
                    rd.err(f"run line {no + 1}: message {mid} acked twice")
                rd.acked[mid] = no
            elif kind == "N" and len(f) == 3:
                # An acknowledged nack is durable, and so is every record
                # before it: the delivery with this count included.
                mid, count = int(f[1]), int(f[2])
                if rd.delivered.get(mid, 0) < count:
                    rd.err(f"run line {no + 1}: message {mid} nacked at count {count}, never delivered with it")
                rd.nacked[mid] = max(rd.nacked.get(mid, 0), count)
            else:
                rd.err(f"run line {no + 1}: unparsable: {line!r}")
        except ValueError:
            rd.err(f"run line {no + 1}: unparsable: {line!r}")


def check_verify(text, rd, durable_ids):
    """Checks the drain (V and X lines); returns a summary."""
    back = {}  # id -> (prio, count, redelivered, payload)
    drained = dead = soft = 0
    reasons = {}
    for line in text.split("\n"):
        if not line or line.startswith("S "):
            continue
        f = line.split(" ")
        try:
            if f[0] == "V" and len(f) == 6:
                mid, prio, count, redel, payload = int(f[1]), int(f[2]), int(f[3]), int(f[4]), f[5]
                drained += 1
            elif f[0] == "X" and len(f) == 6:
                mid, prio, count, reason, payload = int(f[1]), int(f[2]), int(f[3]), f[4], f[5]
                redel = None
                dead += 1
                reasons[reason] = reasons.get(reason, 0) + 1
                if reason != "max_retries":
                    rd.err(f"verify: dead letter {mid} has reason {reason!r}; only nacks with requeue ran")
            else:
                rd.err(f"verify: unparsable: {line!r}")
                continue
        except ValueError:
            rd.err(f"verify: unparsable: {line!r}")
            continue
        if mid in back:
            rd.err(f"verify: message {mid} drained twice")
        back[mid] = (prio, count, redel, payload)
        if mid in rd.acked:
            rd.err(f"verify: message {mid} is back after the restart, but its ack returned SYNAP_OK before the kill")
        rd.learn(mid, prio, payload, "verify")
        if count < 1:
            rd.err(f"verify: message {mid} delivered with count {count}")
        floor = rd.nacked.get(mid)
        if floor is not None:
            if redel is not None and (redel != 1 or count <= floor):
                rd.err(f"verify: message {mid} was delivered {floor} time(s) and nacked (acknowledged) before the "
                       f"kill, but comes back with count {count}, redelivered {redel}")
            if redel is None and count < floor:
                rd.err(f"verify: dead letter {mid} has count {count}, but was delivered {floor} time(s)")
        if redel is not None and mid in rd.delivered and mid not in rd.ack_begun:
            if redel != 1 or count <= rd.delivered[mid]:
                soft += 1
                if len(rd.soft_examples) < 3:
                    rd.soft_examples.append(f"message {mid}: delivered with count {rd.delivered[mid]} before the "
                                            f"kill, back with count {count}, redelivered {redel}")

    # Every message acknowledged as published, or delivered, is acked or back.
    ambiguous = 0
    for mid in set(rd.pub) | set(rd.delivered):
        if mid in rd.acked or mid in back:
            continue
        if mid in rd.ack_begun:
            ambiguous += 1  # its ack may have become durable before the kill
            continue
        what = "published (P)" if mid in rd.pub else "delivered (D)"
        rd.err(f"verify: message {mid} {rd.known.get(mid)} was {what} and never acked, but is gone after the restart")

    # Batches: all or none.
    present_payloads = {p for (_, p) in rd.known.values()} | {v[3] for v in back.values()}
    batches = {}
    for p in rd.maybe:
        m = BATCH.match(p)
        if m:
            batches.setdefault(m.group(1), []).append(p)
    for name, members in batches.items():
        there = [p for p in members if p in present_payloads]
        if there and len(there) != len(members):
            rd.err(f"batch {name}: only {sorted(there)} of {sorted(members)} exist (a batch is all or none)")

    # Ids unique across restarts.
    for mid, (prio, payload) in rd.known.items():
        old = durable_ids.get(mid)
        if old is not None and old != payload:
            rd.err(f"id {mid} names {payload!r} now, and named {old!r} in an earlier round")
    for mid, (prio, payload) in rd.known.items():
        if mid in rd.pub or mid in rd.delivered or mid in back:
            durable_ids[mid] = payload

    maybe_pub = sum(1 for mid in back if mid not in rd.pub)
    return (f"P {len(rd.pub)}, delivered {len(rd.delivered)}, acked {len(rd.acked)}; back after restart "
            f"{drained} + {dead} dead {reasons or ''}; ack in flight at kill {ambiguous}, publish durable "
            f"without P {maybe_pub}; redelivery not marked {soft}"), soft


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    child = sys.argv[1]
    seed = int(os.environ.get("SYNAP_CRASH_SEED", time.time_ns() % 1000000007))
    rounds = int(os.environ.get("SYNAP_QUEUE_CRASH_ROUNDS", "20"))
    producers = int(os.environ.get("SYNAP_QUEUE_CRASH_PRODUCERS", "4"))
    consumers = int(os.environ.get("SYNAP_QUEUE_CRASH_CONSUMERS", "3"))
    base = os.environ.get("SYNAP_TEST_TMPDIR") or "/tmp"
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="capi-queue-kill9-", dir=base)
    data = os.path.join(work, "data")
    rng = random.Random(seed)
    print(f"capi_queue_kill9: seed {seed} (SYNAP_CRASH_SEED), {rounds} rounds, {producers} producers, "
          f"{consumers} consumers, dir {work}", flush=True)

    durable_ids = {}
    soft_total = 0
    t0 = time.monotonic()
    for r in range(rounds):
        log = os.path.join(work, f"run-{r:03d}.log")
        err = os.path.join(work, f"child-{r:03d}.err")
        with open(log, "wb") as out, open(err, "wb") as errf:
            p = subprocess.Popen([child, "run", data, str(r), str(producers), str(consumers)], stdout=out,
                                 stderr=errf)
        if not wait_ready(p, log, 30):
            return fail(work, r, f"the child did not get ready (exit status {p.poll()})", err)
        delay = rng.uniform(0.100, 0.400)
        time.sleep(delay)
        why = kill9(p)
        if why:
            return fail(work, r, why, err)
        v = subprocess.run([child, "verify", data], capture_output=True, text=True, timeout=120)
        with open(os.path.join(work, f"verify-{r:03d}.log"), "w") as f:
            f.write(v.stdout)
            f.write(v.stderr)
        rd = Round(r)
        parse_run(log, rd)
        summary, soft = check_verify(v.stdout, rd, durable_ids)
        soft_total += soft
        print(f"round {r:2d}: killed {delay * 1000:.0f} ms after ready; {rd.lines} lines; {summary}", flush=True)
        for e in rd.soft_examples:
            print(f"  soft: {e}")
        if v.returncode != 0:
            sys.stdout.write(v.stderr[-20000:])
            return fail(work, r, f"verify failed (exit status {v.returncode})", err)
        if rd.errors:
            for e in rd.errors:
                print(f"  VIOLATION: {e}")
            return fail(work, r, f"{len(rd.errors)} violation(s)", err)

    print(f"capi_queue_kill9: ok, {rounds} rounds in {time.monotonic() - t0:.1f} s; "
          f"{soft_total} redeliveries after a kill not marked redelivered (soft)", flush=True)
    if os.environ.get("SYNAP_CRASH_KEEP") != "1":
        shutil.rmtree(work)
    return 0


def fail(work, r, what, err):
    return kill9_common.fail("capi_queue_kill9", work, r, what, err)


if __name__ == "__main__":
    sys.exit(main())
