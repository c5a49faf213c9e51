"""What the C ABI kill -9 drivers share: waiting for a child's "ready" line,
the kill itself, and the failure report (child stderr, where the data was
kept). Imported by capi_kill9_test.py, capi_queue_kill9_test.py and
capi_stream_kill9_test.py (their directory is on sys.path)."""
import signal
import sys
import time


def wait_ready(p, log, timeout):
    """True once the child's first output line starts with "ready "; on a
    timeout or an early exit, kills what is left of it and returns False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        with open(log, "rb") as f:
            if f.readline().startswith(b"ready "):
                return True
        time.sleep(0.002)
    if p.poll() is None:
        p.kill()
        p.wait()
    return False


def kill9(p):
    """SIGKILLs the child; returns None, or why the kill was not what ended it."""
    p.send_signal(signal.SIGKILL)
    status = p.wait()
    if status != -signal.SIGKILL:
        return f"the child ended by itself with status {status} before the kill"
    return None


def fail(name, work, r, what, err):
    """Prints the child's stderr tail and where the data is kept; returns 1."""
    try:
        with open(err, "rb") as f:
            text = f.read().decode(errors="replace")
        if text:
            sys.stdout.write(f"child stderr:\n{text[-4000:]}\n")
    except OSError:
        pass
    print(f"{name}: FAILED in round {r}: {what}; data kept in {work} (rerun with SYNAP_CRASH_SEED)", flush=True)
    return 1
