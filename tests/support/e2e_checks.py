"""Pass/fail bookkeeping for the Python end-to-end tests (cli, server,
ENOSPC): a check records one assertion and goes on, so a run reports every
failure rather than the first; a section runs a group of checks and turns an
exception into a failure; report() prints the summary and gives the exit
status.
"""
import time
import traceback

FAILURES = []
_passes = 0


def check(name, cond, detail=""):
    """Records one check; prints a line for each failure. Returns cond."""
    global _passes
    if cond:
        _passes += 1
        return True
    line = f"FAIL: {name}" + (f": {detail}" if detail else "")
    FAILURES.append(line)
    print(line, flush=True)
    return False


def check_eq(name, got, want):
    return check(name, got == want, f"expected {want!r}, got {got!r}")


def section(title, fn, *args):
    """Runs fn(*args) as one group of checks; an exception fails the group, the rest go on."""
    t = time.monotonic()
    print(f"== {title}", flush=True)
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - a crash in a section is a failure, not the end
        check(f"{title}: unexpected exception", False, f"{type(e).__name__}: {e}")
        traceback.print_exc()
    print(f"   ({time.monotonic() - t:.1f} s)", flush=True)


def report(name, took, work, extra=""):
    """Prints the summary line (and every failure again); 0 if all passed, else 1.
    `work` is the directory a failure keeps, `extra` more words for a failure's line."""
    if FAILURES:
        print(f"{name}: {len(FAILURES)} of {_passes + len(FAILURES)} checks FAILED in {took:.1f} s{extra}; "
              f"work directory kept: {work}", flush=True)
        for f in FAILURES:
            print(f"  {f}")
        return 1
    print(f"{name}: all {_passes} checks passed in {took:.1f} s", flush=True)
    return 0
