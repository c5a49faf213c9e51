#!/usr/bin/python3
"""Power-loss crash rounds: Synap on powerloss_fs, power cut at random moments.

Each round: a child runs a mixed workload on a data directory inside the
powerloss_fs mount (workload.py: KV SET/DEL, queue publish/ack, stream
appends, consumer-group commits through the C ABI; or KV over RESP against
synap-server) and writes every acknowledged operation to a pipe the moment
it is acknowledged. At a random moment the harness cuts the power (the file
system drops every write no fsync covered, tearing each file's last unsynced
write at a 512-byte boundary in half the rounds, and undoes directory
entries no directory fsync covered) and SIGKILLs the engine's process at
once. Power back on, the directory is reopened and every acknowledged
operation is checked (checks.py). The directory is kept across rounds, so
recoveries pile up, and replaced every --fresh-every rounds.

Scenarios: fsync=always through the C ABI with wal.mechanism buffered and
direct, and through synap-server (both mechanisms, alternating): no loss
allowed. fsync=periodic (interval 20 ms): losses allowed only for writes
acknowledged within --periodic-slack-ms (1000) before the cut; the promise
is about one interval plus the fsync itself, and the summary prints the
oldest loss seen. Every mode: the reopen must
succeed. Negative control: fsync=never (--control-rounds rounds) must lose
acknowledged writes, or the harness is blind and the test fails.

  powerloss_test.py [--rounds 50] [--control-rounds 5] [--seed N]
                    [--fs PATH] [--server PATH] [--fs-direct-io] [--only NAME]
                    [--keep] [--verbose]

SIGINT (Ctrl-C) or SIGTERM stops a long run and prints the summary of the
rounds done.
Exit status 0 ok, 1 a violation (or a blind negative control), 77 skipped:
no /dev/fuse, no fusermount3, or mounting not permitted.
Environment: SYNAP_LIBRARY (default <repo>/build/capi/libsynap.so.1),
SYNAP_TEST_TMPDIR (default /tmp), POWERLOSS_CHILD_PRELOAD (an LD_PRELOAD for
the C ABI workload child only: a fault injected into the engine, to show the
harness catches it), POWERLOSS_FS_TRACE (see powerloss_fs.cc).
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
os.environ.setdefault("SYNAP_LIBRARY", os.path.join(REPO, "build", "capi", "libsynap.so.1"))
os.environ["PYTHONPATH"] = os.pathsep.join([os.path.join(REPO, "bindings", "python"), os.environ.get("PYTHONPATH", "")])

import checks  # noqa: E402
import plfs  # noqa: E402
import workload  # noqa: E402
from resp_conn import free_port  # noqa: E402 - tests/support, on the path through workload

INTERVAL_MS = 20  # wal.fsync_interval_ms / stream.fsync_interval_ms in every scenario
LIVE = set()  # processes started and not yet reaped: killed if the run is interrupted


class Scenario:
    def __init__(self, name, api, mode, mechanisms, weight):
        self.name, self.api, self.mode, self.mechanisms, self.weight = name, api, mode, mechanisms, weight
        self.rounds = self.acks = self.losses = self.epoch = 0
        self.oldest_loss_ms = 0.0  # the longest a lost write had been acknowledged before the cut
        self.violations = []
        self.mechanisms_seen = set()
        self.kinds = {}  # acknowledged operations by kind, over every data directory
        self.expect = None
        self.dir = None


def scenarios():
    return [
        Scenario("capi-always-buffered", "capi", "always", ["buffered"], 3),
        Scenario("capi-always-direct", "capi", "always", ["direct"], 3),
        Scenario("server-always", "server", "always", ["buffered", "direct"], 2),
        Scenario("capi-periodic", "capi", "periodic", ["buffered", "direct"], 2),
    ]


class Child:
    """A process whose stdout (ack lines) a thread collects."""

    def __init__(self, args, err_path):
        env = dict(os.environ)
        if os.environ.get("POWERLOSS_CHILD_PRELOAD"):  # a fault injected into the engine's process only
            env["LD_PRELOAD"] = os.environ["POWERLOSS_CHILD_PRELOAD"]
        with open(err_path, "ab") as err:
            self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, env=env)
        LIVE.add(self.p)
        self.lines = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            if " ready" in line:
                self.ready.set()
        self.ready.set()

    def kill(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait()
        LIVE.discard(self.p)
        self.reader.join()


def start_server(args, data_dir, mode, mechanism, log):
    """Starts synap-server on data_dir; returns (process, port)."""
    port = free_port()
    cmd = [args.server, "--port", str(port), "--dir", data_dir, "--threads", "1", "--fsync", mode,
           "--persistence.wal.mechanism", mechanism]
    for name, value in workload.engine_options(mode, mechanism, INTERVAL_MS).items():
        if name != "wal.mechanism":
            cmd += ["--set", f"{name}={value}"]
    with open(log, "ab") as f:
        p = subprocess.Popen(cmd, stdout=f, stderr=f)
    LIVE.add(p)
    return p, port


def wait_port(p, port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        try:
            c = workload.Resp(port)
            c.call("PING")
            c.close()
            return True
        except (OSError, RuntimeError):
            time.sleep(0.02)
    return False


def stop_server(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    LIVE.discard(p)


def run_round(args, mnt, sc, r, rng, work):
    """One round of scenario sc; returns a one-line summary. Violations go to sc."""
    if sc.expect is None or sc.rounds % args.fresh_every == 0:
        sc.epoch += 1
        if sc.dir and not args.keep:
            shutil.rmtree(sc.dir, ignore_errors=True)
        sc.dir = os.path.join(mnt.mnt, f"{sc.name}-{sc.epoch}")
        sc.expect = checks.Expectations()
    k = sc.rounds  # this scenario's round number: picks the mechanism and the early cuts
    sc.rounds += 1
    mech = sc.mechanisms[k % len(sc.mechanisms)]
    early = k % 5 == 4
    err = os.path.join(work, f"{sc.name}.err")
    child, server, problem = spawn(args, sc, r, mech, early, err)
    if problem is None:
        when, problem = wait_for_cut_moment(child, early, rng)
    if problem is not None:
        for p in (child.p if child else None, server):
            if p is not None:
                p.kill()
                p.wait()
                LIVE.discard(p)
        sc.violations.append(f"round {r}: {problem} (see {err})")
        return problem
    tear = rng.random() < 0.5
    t_cut = time.monotonic()
    cut = mnt.cut(tear, rng.randrange(1 << 62))
    if server:  # the engine's process dies with the power
        server.send_signal(signal.SIGKILL)
        server.wait()
        LIVE.discard(server)
    lines = []
    if child:
        child.kill()
        lines = child.lines
    mnt.power_on()
    note_mechanism(sc, r, mech, early, lines)
    before = sc.expect.acks_seen
    kinds_before = dict(sc.expect.kinds)
    sc.expect.add(lines)
    acks = sc.expect.acks_seen - before
    for kind, n in sc.expect.kinds.items():
        sc.kinds[kind] = sc.kinds.get(kind, 0) + n - kinds_before.get(kind, 0)
    sc.acks += acks
    lossy_after = {"always": None, "periodic": t_cut - args.periodic_slack_ms / 1000, "never": float("-inf")}[sc.mode]
    losses, violations = verify(args, sc, mech, lossy_after, err)
    sc.losses += len(losses)
    ages = [(t_cut - t) * 1000 for t, _ in losses if t is not None]
    sc.oldest_loss_ms = max([sc.oldest_loss_ms] + ages)
    if args.verbose:
        for t, what in losses:
            print(f"    lost ({(t_cut - t) * 1000 if t is not None else float('nan'):.1f} ms before the cut): {what}")
    sc.violations += [f"round {r}: {v}" for v in violations]
    return (f"cut {when}{' (torn)' if tear else ''}: {acks} acks, dropped {cut['pages']} pages of {cut['files']} files, "
            f"kept {cut['torn_sectors']} torn sectors, undid {cut['dirops_undone']} dir ops; "
            f"{len(losses)} lost, {len(violations)} violations")


def spawn(args, sc, r, mech, early, err):
    """Starts the round's processes: (workload child or None, server or None,
    a problem or None). An early round of the server has no client: the cut
    lands while the server opens."""
    workload_py = os.path.join(HERE, "workload.py")
    if sc.api == "capi":
        return Child([sys.executable, workload_py, "capi-run", sc.dir, sc.mode, mech, str(r), str(INTERVAL_MS)],
                     err), None, None
    server, port = start_server(args, sc.dir, sc.mode, mech, err)
    if early:
        return None, server, None
    if not wait_port(server, port, 60):
        return None, server, "synap-server did not start"
    return Child([sys.executable, workload_py, "server-run", str(port), str(r)], err), server, None


def wait_for_cut_moment(child, early, rng):
    """Sleeps until the cut: 0..80 ms after spawn in an early round, else
    50..400 ms after the child's ready line. Returns (when, problem)."""
    if early:
        delay = rng.uniform(0, 0.08)
        time.sleep(delay)
        return f"{delay * 1000:.0f} ms after spawn", None
    if not child.ready.wait(60) or (child.p.poll() is not None and not child.lines):
        return None, "the child did not get ready"
    delay = rng.uniform(0.05, 0.4)
    time.sleep(delay)
    return f"{delay * 1000:.0f} ms after ready", None


def note_mechanism(sc, r, mech, early, lines):
    """Records the mechanism the round ran; a C ABI child reports it in its
    ready line, and a fallback from the one asked for is a violation."""
    if sc.api == "server":
        if not early:
            sc.mechanisms_seen.add(mech)
        return
    ready = lines[0].split() if lines else []
    if ready[1:2] == ["ready"]:
        sc.mechanisms_seen.add(ready[2])
        if ready[2] != mech:
            sc.violations.append(f"round {r}: asked for wal.mechanism={mech}, the engine runs {ready[2]}")


def verify(args, sc, mech, lossy_after, err):
    """Reopens sc.dir and checks sc.expect; returns (losses, violations)."""
    import synap
    if sc.api == "capi":
        try:
            db = synap.open(sc.dir, fsync=sc.mode, options=workload.engine_options(sc.mode, mech, INTERVAL_MS))
        except synap.SynapError as e:
            return [], [f"reopen failed: {type(e).__name__}: {e}"]
        try:
            result = sc.expect.check(checks.CapiReader(db), workload.value_for, lossy_after)
        except BaseException:  # an interrupt: close quietly, the mount may be going away
            try:
                db.close()
            except synap.SynapError:
                pass
            raise
        db.close()
        return result
    server, port = start_server(args, sc.dir, sc.mode, mech, err)
    try:
        if not wait_port(server, port, 60):
            return [], [f"synap-server failed to reopen the directory (exit status {server.poll()}; see {err})"]
        return sc.expect.check(checks.RespReader(workload.Resp(port)), workload.value_for, lossy_after)
    finally:
        stop_server(server)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    build = os.path.join(REPO, "build")
    ap.add_argument("--rounds", type=int, default=50, help="rounds over the checked scenarios (default 50)")
    ap.add_argument("--control-rounds", type=int, default=5, help="negative-control rounds, fsync=never (default 5)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time-derived, printed)")
    ap.add_argument("--fs", default=os.path.join(build, "tests", "powerloss", "powerloss_fs"))
    ap.add_argument("--server", default=os.path.join(build, "tools", "synap-server", "synap-server"))
    ap.add_argument("--fresh-every", type=int, default=25, help="rounds per data directory (default 25)")
    ap.add_argument("--periodic-slack-ms", type=float, default=1000,
                    help="periodic: losses allowed for writes acknowledged this close to the cut (default 1000)")
    ap.add_argument("--only", default=None, help="run only the scenarios whose name contains this")
    ap.add_argument("--fs-direct-io", action="store_true",
                    help="mount with FOPEN_DIRECT_IO on every open (no kernel page cache)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--verbose", action="store_true", help="print every loss with its age at the cut")
    return ap.parse_args()


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    # Explicit: a shell starts background jobs with SIGINT ignored, and
    # Python then keeps ignoring it.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    args = parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() % 1000000007
    rng = random.Random(seed)
    try:
        plfs.check_prerequisites(args.fs)
    except plfs.CannotMount as e:
        print(f"SKIP: {e}", flush=True)
        return plfs.SKIP
    base = os.environ.get("SYNAP_TEST_TMPDIR") or "/tmp"
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="powerloss-", dir=base)
    try:
        mnt = plfs.Mount(args.fs, work, direct_io=args.fs_direct_io)
    except plfs.CannotMount as e:
        print(f"SKIP: {e}", flush=True)
        shutil.rmtree(work, ignore_errors=True)
        return plfs.SKIP
    except plfs.MountFailed as e:
        print(f"powerloss: FAILED: {e}; work directory kept: {work}", flush=True)
        return 1
    print(f"powerloss: seed {seed} (--seed), {args.rounds} rounds + {args.control_rounds} control, work {work}", flush=True)
    try:
        failures = plfs.self_test(mnt)
        if failures:
            print("powerloss: the file system's self-test FAILED:\n  " + "\n  ".join(failures), flush=True)
            args.keep = True
            return 1
        print("powerloss: file system self-test ok (unsynced data, directory entries, RWF_DSYNC, O_DIRECT, tearing)")
        return run_all(args, mnt, rng, work)
    finally:
        for p in list(LIVE):
            p.kill()
            p.wait()
        mnt.unmount()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run_all(args, mnt, rng, work):
    scs = [sc for sc in scenarios() if args.only is None or args.only in sc.name]
    control = Scenario("capi-never-control", "capi", "never", ["buffered", "direct"], 0)
    schedule = make_schedule(scs, control, args.rounds, args.control_rounds)
    t0 = time.monotonic()
    try:
        for r, sc in enumerate(schedule):
            summary = run_round(args, mnt, sc, r, rng, work)
            print(f"round {r:4d} {sc.name:22s} {summary}", flush=True)
            if sc is not control and sc.violations:
                args.keep = True
                break
    except KeyboardInterrupt:  # SIGINT: report what ran (the round in progress is not checked)
        print("powerloss: interrupted", flush=True)
    return report(args, scs, control, mnt, time.monotonic() - t0, work)


def make_schedule(scs, control, rounds, control_rounds):
    """The scenarios in weighted turns, with the control rounds spread
    evenly among them, so that a long run stopped early has had some."""
    plan = [sc for sc in scs for _ in range(sc.weight)]
    schedule = [plan[i % len(plan)] for i in range(rounds)] if plan else []
    for j in range(control_rounds):
        schedule.insert(len(schedule) * (2 * j + 1) // (2 * control_rounds) + j, control)
    return schedule


def report(args, scs, control, mnt, elapsed, work):
    print(f"\npowerloss: {elapsed:.1f} s; file system counters: {mnt.stats()}")
    failed = False
    for sc in scs + [control]:
        if sc.rounds == 0:
            continue
        print(f"  {sc.name:22s} {sc.rounds:5d} rounds {sc.acks:8d} acks checked {sc.losses:6d} lost "
              f"{len(sc.violations):3d} violations  mechanisms {sorted(sc.mechanisms_seen) or '-'}"
              + (f"  oldest loss {sc.oldest_loss_ms:.0f} ms before the cut" if sc.losses else ""))
        names = {"K": "SET", "D": "DEL", "C": "counter SET", "P": "publish", "A": "ack", "S": "append", "G": "commit"}
        print("    " + ", ".join(f"{names.get(k, k)} {n}" for k, n in sorted(sc.kinds.items())))
        for v in sc.violations[:20]:
            print(f"    {v}")
        if sc.violations:
            failed = True
    if control.rounds:
        if control.losses == 0:
            print("  NEGATIVE CONTROL FAILED: fsync=never lost nothing; the harness cannot see lost writes")
            failed = True
    if failed:
        print(f"powerloss: FAILED; work directory kept: {work}")
        args.keep = True
        return 1
    print("powerloss: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
