"""Mounting and driving powerloss_fs (powerloss_fs.cc) from Python.

Mount(fs_binary, workdir) lays out <workdir>/{backing,trash,mnt,control.sock},
starts the file system in the foreground (its stderr to <workdir>/fs.log) and
waits for the mount. cut(tear, seed) and power_on() send the control
commands; stats() returns the counters as a dict. unmount() ends it.
"""
import os
import shutil
import socket
import subprocess
import time

SKIP = 77  # meson's exit status for a skipped test


class CannotMount(Exception):
    """The machine cannot run the test: no /dev/fuse, no fusermount3, or no
    permission to mount. The message says which."""


class MountFailed(Exception):
    """powerloss_fs failed to mount for another reason (a bug, not the machine)."""


# What libfuse and fusermount3 print when the machine does not let us mount.
NOT_PERMITTED = ("Permission denied", "Operation not permitted", "failed to open /dev/fuse",
                 "fuse device not found", "No such device")


def check_prerequisites(fs_binary):
    """Raises CannotMount naming what is missing."""
    if not fs_binary or not os.path.exists(fs_binary):
        raise CannotMount(f"powerloss_fs not built ({fs_binary or 'libfuse3-dev (fuse3) was not found at meson setup'})")
    if not os.path.exists("/dev/fuse"):
        raise CannotMount("/dev/fuse does not exist (no FUSE in this kernel or container)")
    if shutil.which("fusermount3") is None:
        raise CannotMount("fusermount3 is not installed (Debian package fuse3)")


class Mount:
    def __init__(self, fs_binary, workdir, direct_io=False):
        self.workdir = workdir
        self.backing = os.path.join(workdir, "backing")
        self.trash = os.path.join(workdir, "trash")
        self.mnt = os.path.join(workdir, "mnt")
        self.control = os.path.join(workdir, "control.sock")
        for d in (self.backing, self.trash, self.mnt):
            os.makedirs(d, exist_ok=True)
        self.log = os.path.join(workdir, "fs.log")
        args = [fs_binary] + (["--direct-io"] if direct_io else [])
        args += [self.backing, self.trash, self.control, self.mnt, "-f", "-o", "fsname=powerloss_fs"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._stop()
                with open(self.log, "rb") as f:
                    text = f.read().decode(errors="replace").strip()
                what = f"mounting powerloss_fs failed: {text or 'no message'} (exit status {self.proc.returncode})"
                if any(m in text for m in NOT_PERMITTED):
                    raise CannotMount(what)
                raise MountFailed(what)
            time.sleep(0.01)

    def command(self, line):
        """Sends one control line; returns the reply's words after "ok"."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.control)
            s.sendall(line.encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        words = reply.decode().split()
        if not words or words[0] != "ok":
            raise RuntimeError(f"powerloss_fs: {line!r} answered {reply!r}")
        return words[1:]

    def cut(self, tear, seed):
        """Power cut; returns the report as a dict of ints."""
        words = self.command("cut" + (" tear" if tear else "") + f" seed={seed}")
        return {k: int(v) for k, v in (w.split("=") for w in words)}

    def power_on(self):
        self.command("on")

    def stats(self):
        return {k: int(v) for k, v in (w.split("=") for w in self.command("stats"))}

    def _stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def unmount(self):
        subprocess.run(["fusermount3", "-u", "-z", self.mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._stop()


def self_test(m, cleanup=True):
    """Checks the file system's model on a few files in <mnt>/selftest;
    returns the failures (strings). Run before the rounds: a harness that
    kept unsynced data would pass every round and prove nothing."""
    d = os.path.join(m.mnt, "selftest")
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    def fsync_path(path, flags=os.O_RDONLY):
        fd = os.open(path, flags)
        os.fsync(fd)
        os.close(fd)

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    os.mkdir(d)
    fsync_path(m.mnt)
    # a: synced part stays, unsynced part goes.
    fd = os.open(os.path.join(d, "a"), os.O_CREAT | os.O_RDWR, 0o644)
    os.write(fd, b"durable")
    os.fsync(fd)
    os.write(fd, b" volatile")
    # c, e: synced with their entries; later renamed and unlinked without a
    # directory fsync.
    for name in ("c", "e"):
        with open(os.path.join(d, name), "wb") as f:
            f.write(name.encode())
            f.flush()
            os.fsync(f.fileno())
    # f: an RWF_DSYNC write inside the synced size is durable by itself.
    with open(os.path.join(d, "f"), "wb") as f:
        f.write(b"0" * 4096)
        f.flush()
        os.fsync(f.fileno())
    fsync_path(d)
    os.rename(os.path.join(d, "c"), os.path.join(d, "c2"))
    os.unlink(os.path.join(d, "e"))
    # b: data synced, entry not (no directory fsync after its create).
    fb = os.open(os.path.join(d, "b"), os.O_CREAT | os.O_RDWR, 0o644)
    os.write(fb, b"b")
    os.fsync(fb)
    ff = os.open(os.path.join(d, "f"), os.O_RDWR)
    os.pwritev(ff, [b"1" * 512], 512, os.RWF_DSYNC)
    os.pwrite(ff, b"2" * 512, 1024)
    # g: O_DIRECT opens are accepted.
    try:
        fg = os.open(os.path.join(d, "g"), os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o644)
        os.close(fg)
    except OSError as e:
        failures.append(f"O_DIRECT open refused: {e}")
    check(read(os.path.join(d, "a")) == b"durable volatile", "reads see unsynced writes")
    for fd_ in (fd, fb, ff):
        os.close(fd_)
    m.cut(tear=False, seed=1)
    m.power_on()
    check(read(os.path.join(d, "a")) == b"durable", "a: only the fsynced part survives")
    check(not os.path.exists(os.path.join(d, "b")), "b: a create without a directory fsync is undone")
    check(os.path.exists(os.path.join(d, "c")) and read(os.path.join(d, "c")) == b"c"
          and not os.path.exists(os.path.join(d, "c2")),
          "c: a rename without a directory fsync is undone")
    check(os.path.exists(os.path.join(d, "e")) and read(os.path.join(d, "e")) == b"e",
          "e: an unlink without a directory fsync is undone")
    check(read(os.path.join(d, "f")) == b"0" * 512 + b"1" * 512 + b"0" * 3072,
          "f: the RWF_DSYNC write survives, the plain one does not")
    # Tearing: a prefix of the last unsynced write, in whole 512-byte sectors.
    sizes = set()
    for seed in range(8):
        path = os.path.join(d, f"t{seed}")
        with open(path, "wb") as f:
            os.fsync(f.fileno())
        fsync_path(d)
        with open(path, "r+b") as f:
            f.write(b"x" * 4096)
        m.cut(tear=True, seed=seed)
        m.power_on()
        data = read(path)
        sizes.add(len(data))
        check(len(data) % 512 == 0 and data == b"x" * len(data), f"t{seed}: torn write is a sector prefix ({len(data)} bytes)")
    check(len(sizes) > 1, f"tearing keeps different prefixes (kept {sorted(sizes)})")
    if cleanup:
        shutil.rmtree(d, ignore_errors=True)
        fsync_path(m.mnt)
    return failures
