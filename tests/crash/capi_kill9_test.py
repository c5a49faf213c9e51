#!/usr/bin/python3
"""Kill -9 crash test through the C ABI (libsynap), driving capi_kill9_child.

For each round: start `capi_kill9_child run <dir> <round> <threads>` on the
same data directory (stdout -> that round's ack file), wait for its "ready"
line, let it write for a random 50-300 ms, SIGKILL it, then run
`capi_kill9_child verify <dir> <state> <ack files so far>`, which reopens the
directory through the C ABI and checks every acknowledged operation of every
round so far (see capi_kill9_child.c). Every 5th round kills the child instead
at a random 0-30 ms after spawn, with no wait for "ready": while it opens,
recovers, or writes its first records.

  capi_kill9_test.py <path to capi_kill9_child>

Environment: SYNAP_CRASH_SEED (default: time-derived, printed),
SYNAP_CAPI_CRASH_ROUNDS (default 30), SYNAP_CAPI_CRASH_THREADS (default 8),
SYNAP_TEST_TMPDIR (default /tmp). On a failure the directory is kept and its
path printed; on success it is removed (kept with SYNAP_CRASH_KEEP=1).
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


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    child = sys.argv[1]
    seed = int(os.environ.get("SYNAP_CRASH_SEED", time.time_ns() % 1000000007))
    rounds = int(os.environ.get("SYNAP_CAPI_CRASH_ROUNDS", "30"))
    threads = int(os.environ.get("SYNAP_CAPI_CRASH_THREADS", "8"))
    base = os.environ.get("SYNAP_TEST_TMPDIR") or "/tmp"
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="capi-kill9-", dir=base)
    data = os.path.join(work, "data")
    state = os.path.join(work, "state")
    rng = random.Random(seed)
    print(f"capi_kill9: seed {seed} (SYNAP_CRASH_SEED), {rounds} rounds, {threads} threads, dir {work}", flush=True)

    acks = []
    t0 = time.monotonic()
    for r in range(rounds):
        ack = os.path.join(work, f"acks-{r:03d}.log")
        err = os.path.join(work, f"child-{r:03d}.err")
        acks.append(ack)
        early = r % 5 == 4
        with open(ack, "wb") as out, open(err, "wb") as errf:
            p = subprocess.Popen([child, "run", data, str(r), str(threads)], stdout=out, stderr=errf)
        if early:
            delay = rng.uniform(0, 0.030)
            time.sleep(delay)
            when = f"{delay * 1000:.0f} ms after spawn"
        else:
            if not wait_ready(p, ack, 60):
                return fail(work, r, f"the child did not get ready (exit status {p.poll()})", err)
            delay = rng.uniform(0.050, 0.300)
            time.sleep(delay)
            when = f"{delay * 1000:.0f} ms after ready"
        why = kill9(p)
        if why:
            return fail(work, r, why, err)
        v = subprocess.run([child, "verify", data, state] + acks, capture_output=True, text=True)
        sys.stdout.write(f"round {r:2d}: killed {when}; {v.stdout}")
        if v.returncode != 0:
            sys.stdout.write(v.stderr[-20000:])
            return fail(work, r, f"verify failed (exit status {v.returncode})", err)
        sys.stdout.flush()

    print(f"capi_kill9: ok, {rounds} rounds in {time.monotonic() - t0:.1f} s", flush=True)
    if os.environ.get("SYNAP_CRASH_KEEP") != "1":
        shutil.rmtree(work)
    return 0


def fail(work, r, what, err):
    return kill9_common.fail("capi_kill9", work, r, what, err)


if __name__ == "__main__":
    sys.exit(main())
