#!/usr/bin/python3
"""End-to-end test of synap-server's configuration: the config file, the flags, --set, CONFIG.

  server_config_test.py <path to synap-server>

A config file with sections starts the server on the file's port with the
file's fsync mode; a flag overrides the file; --set reaches an engine option
(and wins over the file's key for it); an unknown key, a bad value or a bad
--set refuses to start with status 2 and a message naming it, before the data
directory exists; docs/synap-server.toml holds every key with its default.
CONFIG SET changes maxclients, timeout, requirepass, proto-max-bulk-len and
the client buffer limits live (seen by new connections), applies several
pairs all or none, and refuses restart-only settings. Each failed check
prints one "FAIL: ..." line; the exit status is non-zero if any failed.
"""
import os
import socket
import subprocess
import sys
import time
import tomllib

from harness import ENV, Err, Server, check, check_eq, encode, free_port, run

DOCS_TOML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "synap-server.toml")


def write(name, text):
    path = os.path.join(ENV.work, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class FileServer(Server):
    """A server started with exactly `extra` (no --port/--dir of its own): the file says where."""

    def start(self, timeout=15):
        self.starts += 1
        self.log = os.path.join(ENV.work, f"{self.name}-{self.starts}.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([ENV.server] + self.extra, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(100).startswith((b"+PONG", b"-NOAUTH")):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no PING reply on port {self.port} within {timeout} s: {self.log_tail()}")


def config_get(r, name):
    got = r.config_get(name)
    return got.get(name)


def info_field(r, section, field):
    return r.info(section).get(field)


def sample_file(port, data_dir):
    return write("sample.toml", f"""# a file with the seed's sections
[server]
host = "127.0.0.1"
port = {port}
threads = 2
requirepass = ""
maxclients = 500
[persistence]
dir = "{data_dir}"
[persistence.wal]
fsync_mode = "periodic"        # always | periodic | never
fsync_interval_ms = 25
[persistence.snapshot]
interval_secs = 300
[kv]
max_value_bytes = 4096
[streams]
max_rooms = 77
""")


# ---------------------------------------------------------------- the file, flags, --set

def test_file():
    port = free_port()
    data = os.path.join(ENV.work, "file-data")
    srv = FileServer("file", extra=["--config", sample_file(port, data)], port=port).start()
    try:
        r = srv.client(decode_responses=True)
        check_eq("the file's port: CONFIG GET port", config_get(r, "port"), str(port))
        check_eq("the file's dir", config_get(r, "dir"), data)
        check("the file's dir holds the data", os.path.isdir(data), data)
        check_eq("the file's fsync mode: INFO persistence", info_field(r, "persistence", "synap_fsync_mode"),
                 "periodic")
        check_eq("the file's fsync mode: CONFIG GET appendfsync", config_get(r, "appendfsync"), "everysec")
        check_eq("[persistence.wal] fsync_interval_ms reaches wal.fsync_interval_ms",
                 config_get(r, "wal.fsync_interval_ms"), "25")
        check_eq("[persistence.snapshot] interval_secs reaches snapshot.interval_secs",
                 config_get(r, "snapshot.interval_secs"), "300")
        check_eq("[streams] max_rooms reaches stream.max_rooms", config_get(r, "stream.max_rooms"), "77")
        check_eq("[server] maxclients", config_get(r, "maxclients"), "500")
        check_eq("[server] threads", config_get(r, "threads"), "2")
        check_eq("[kv] max_value_bytes is enforced: 4096 bytes pass", r.set("v", "x" * 4096), True)
        try:
            r.set("v", "x" * 4097)
            check("[kv] max_value_bytes is enforced: 4097 bytes refused", False, "SET succeeded")
        except Exception as e:  # noqa: BLE001 - any error reply
            check("[kv] max_value_bytes is enforced: 4097 bytes refused", "max_value_bytes" in str(e)
                  or "too" in str(e).lower(), str(e))
        r.close()
    finally:
        srv.stop()


def test_flags_override_file():
    file_port = free_port()
    path = sample_file(file_port, os.path.join(ENV.work, "unused"))
    # harness.Server passes --port, --dir and --threads 2 before extra
    srv = Server("override", extra=["--config", path, "--fsync", "never", "--maxclients", "9",
                                    "--set", "kv.max_value_bytes=100", "--set", "kv.allow_flushall=true"]).start()
    try:
        r = srv.client(decode_responses=True)
        check_eq("--port wins over the file's port", config_get(r, "port"), str(srv.port))
        check_eq("--dir wins over the file's dir", config_get(r, "dir"), srv.dir)
        check("the file's dir was not used", not os.path.exists(os.path.join(ENV.work, "unused")), "")
        check_eq("--fsync wins over the file's fsync_mode", info_field(r, "persistence", "synap_fsync_mode"),
                 "never")
        check_eq("--maxclients wins over the file", config_get(r, "maxclients"), "9")
        check_eq("the file's other keys still apply", config_get(r, "wal.fsync_interval_ms"), "25")
        check_eq("--set wins over the file's [kv] max_value_bytes", config_get(r, "kv.max_value_bytes"), "100")
        try:
            r.set("big", "x" * 101)
            check("--set kv.max_value_bytes=100 is enforced", False, "a 101-byte SET succeeded")
        except Exception as e:  # noqa: BLE001
            check("--set kv.max_value_bytes=100 is enforced", True, str(e))
        r.set("k", "v")
        check_eq("--set kv.allow_flushall=true: FLUSHALL works", r.flushall(), True)
        check_eq("FLUSHALL emptied it", r.dbsize(), 0)
        r.close()
    finally:
        srv.stop()
    # the long flag names are the file keys
    srv = Server("dotted", extra=["--persistence.wal.fsync_mode", "periodic", "--streams.max_rooms", "12"]).start()
    try:
        r = srv.client(decode_responses=True)
        check_eq("--persistence.wal.fsync_mode as a flag", info_field(r, "persistence", "synap_fsync_mode"),
                 "periodic")
        check_eq("--streams.max_rooms as a flag", config_get(r, "stream.max_rooms"), "12")
        r.close()
    finally:
        srv.stop()


def refused(title, args, must_name):
    """Starts the server with args; it must exit 2 naming `must_name`, and create no data directory."""
    d = os.path.join(ENV.work, "refused-" + str(abs(hash(title))))
    try:
        p = subprocess.run([ENV.server, "--port", str(free_port()), "--dir", d] + args,
                           capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        check(f"{title}: refused", False, "it kept running (killed after 20 s)")
        return
    msg = (p.stderr + p.stdout).decode(errors="replace")
    check_eq(f"{title}: exit status 2", p.returncode, 2)
    check(f"{title}: the message names {must_name!r}", must_name in msg, repr(msg))
    check(f"{title}: no data directory was made", not os.path.exists(d), d)


def test_refusals():
    refused("an unknown key in a section", ["--config", write("bad1.toml", "[queue]\nmax_depth = 1000000\n")],
            "queue.max_depth")
    refused("an unknown section", ["--config", write("bad2.toml", "[nosuch]\nport = 1\n")], "nosuch.port")
    refused("an unknown top-level key", ["--config", write("bad3.toml", "prot = 7000\n")], "prot")
    refused("a bad engine value in the file",
            ["--config", write("bad4.toml", '[persistence.wal]\nfsync_mode = "sometimes"\n')], "wal.fsync_mode")
    refused("a bad server value in the file", ["--config", write("bad5.toml", "[server]\nmaxclients = 0\n")],
            "maxclients")
    refused("a missing config file", ["--config", os.path.join(ENV.work, "nosuch.toml")], "nosuch.toml")
    refused("--set with an unknown option", ["--set", "wal.nope=1"], "wal.nope")
    refused("--set with a bad value", ["--set", "kv.shards=abc"], "kv.shards")
    refused("--set without '='", ["--set", "kv.shards"], "NAME=VALUE")
    refused("options bad together (kv.shards not a power of two)", ["--set", "kv.shards=3"], "kv.shards")
    refused("a bad --fsync", ["--fsync", "sometimes"], "wal.fsync_mode")
    refused("an unknown flag", ["--nosuch-flag", "1"], "nosuch-flag")
    refused("a quoted value without its closing quote",
            ["--config", write("bad6.toml", '[server]\nrequirepass = "abc\n')], "server.requirepass")
    refused("an unknown escape in a quoted value",
            ["--config", write("bad7.toml", '[server]\nrequirepass = "a\\qb"\n')], "unknown escape")


def test_quoted_values():
    """Quoted values are TOML strings: escapes, '#' inside the quotes, literal
    strings; --print-config writes them so that they read back the same."""
    password = 'p#1\\x"y\u00e9 \'z\''
    body = ('[server]\nrequirepass = "p#1\\\\x\\"y\\u00e9 \'z\'"   # a comment after the value\n'
            "bind = '127.0.0.1'\n")
    path = write("quoted.toml", body)
    check_eq("tomllib reads the test's file as intended", tomllib.loads(body)["server"]["requirepass"], password)
    p = subprocess.run([ENV.server, "--config", path, "--print-config"], capture_output=True, timeout=20)
    check_eq("--print-config of a file with escapes exits 0", p.returncode, 0)
    printed = p.stdout.decode()
    check_eq("--print-config writes the password as TOML reads it",
             tomllib.loads(printed)["server"]["requirepass"], password)
    again = subprocess.run([ENV.server, "--config", write("quoted-again.toml", printed), "--print-config"],
                           capture_output=True, timeout=20)
    check_eq("--print-config's output reads back the same", again.stdout.decode(), printed)
    srv = Server("quoted", extra=["--config", path]).start()
    try:
        r = srv.raw()
        check("without AUTH, a command is refused", str(r.command("GET", "k")).startswith("NOAUTH"))
        check_eq("AUTH with the password from the file", r.command("AUTH", password), "OK")
        check_eq("...then commands run", r.command("SET", "k", "v"), "OK")
    finally:
        srv.stop()


def test_docs_example():
    p = subprocess.run([ENV.server, "--print-config"], capture_output=True, timeout=20)
    check_eq("--print-config exits 0", p.returncode, 0)
    defaults = tomllib.loads(p.stdout.decode())
    with open(DOCS_TOML, "rb") as f:
        docs = tomllib.load(f)

    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(flat(v, prefix + k + "."))
            else:
                out[prefix + k] = v
        return out

    got, want = flat(docs), flat(defaults)
    check("docs/synap-server.toml has every key", set(want) <= set(got), sorted(set(want) - set(got)))
    check("docs/synap-server.toml has no key the server lacks", set(got) <= set(want), sorted(set(got) - set(want)))
    differ = {k: (got[k], want[k]) for k in set(got) & set(want) if got[k] != want[k]}
    check("docs/synap-server.toml holds the defaults", not differ, repr(differ))
    p = subprocess.run([ENV.server, "--config", DOCS_TOML, "--print-config"], capture_output=True, timeout=20)
    check_eq("the server reads docs/synap-server.toml", (p.returncode, tomllib.loads(p.stdout.decode())),
             (0, defaults))
    srv = Server("docs", extra=["--config", DOCS_TOML]).start()
    try:
        r = srv.client(decode_responses=True)
        check_eq("a server started with docs/synap-server.toml answers", r.ping(), True)
        r.close()
    finally:
        srv.stop()


# ---------------------------------------------------------------- CONFIG SET

def test_live_settings():
    srv = Server("live").start()
    try:
        admin = srv.raw()
        check_eq("CONFIG SET maxclients 2", admin.command("CONFIG", "SET", "maxclients", "2"), "OK")
        check_eq("CONFIG GET maxclients", admin.command("CONFIG", "GET", "maxclients"), [b"maxclients", b"2"])
        second = srv.raw()
        check_eq("a 2nd connection under maxclients 2", second.command("PING"), "PONG")
        third = srv.raw()
        out, closed = third.read_until_close(timeout=5)
        check("a 3rd connection gets '-ERR max number of clients reached'",
              out.startswith(b"-ERR max number of clients reached") and closed, repr(out))
        third.close()
        check_eq("INFO shows the new maxclients", admin.command("INFO", "clients").count(b"maxclients:2"), 1)
        check_eq("CONFIG SET maxclients 100", admin.command("CONFIG", "SET", "maxclients", "100"), "OK")
        third = srv.raw()
        check_eq("after raising maxclients a new connection is served", third.command("PING"), "PONG")
        third.close()
        second.close()

        # requirepass: new connections need it; open ones keep their state
        check_eq("CONFIG SET requirepass", admin.command("CONFIG", "SET", "requirepass", "pw1"), "OK")
        check_eq("the connection that set it still works", admin.command("PING"), "PONG")
        c = srv.raw()
        check("a new connection gets NOAUTH", str(c.command("GET", "x")).startswith("NOAUTH"), "")
        check("...and WRONGPASS with a wrong password", str(c.command("AUTH", "nope")).startswith("WRONGPASS"), "")
        check_eq("...and works after AUTH with the new password", c.command("AUTH", "pw1"), "OK")
        check_eq("CONFIG GET requirepass", admin.command("CONFIG", "GET", "requirepass"), [b"requirepass", b"pw1"])
        check_eq("CONFIG SET requirepass ''", admin.command("CONFIG", "SET", "requirepass", ""), "OK")
        d = srv.raw()
        check_eq("without a password a new connection needs no AUTH", d.command("PING"), "PONG")
        d.close()
        c.close()

        # proto-max-bulk-len, for the next request parsed
        check_eq("CONFIG SET proto-max-bulk-len 1kb", admin.command("CONFIG", "SET", "proto-max-bulk-len", "1kb"),
                 "OK")
        check_eq("CONFIG GET proto-max-bulk-len", admin.command("CONFIG", "GET", "proto-max-bulk-len"),
                 [b"proto-max-bulk-len", b"1024"])
        e = srv.raw()
        check_eq("a 1024-byte bulk passes", e.command("SET", "b", b"x" * 1024), "OK")
        e.send(encode("SET", "b", b"x" * 1025))
        out, closed = e.read_until_close(timeout=5)
        check("a 1025-byte bulk gets '-ERR Protocol error'", out.startswith(b"-ERR Protocol error") and closed,
              repr(out[:80]))
        e.close()

        # client-query-buffer-limit: unparsed input over it closes the connection
        check_eq("CONFIG SET client-query-buffer-limit 2048",
                 admin.command("CONFIG", "SET", "proto-max-bulk-len", "1mb", "client-query-buffer-limit", "2048"),
                 "OK")
        f = srv.raw()
        f.send(b"*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$100000\r\n" + b"y" * 4000)  # an unfinished 100 KB bulk
        out, closed = f.read_until_close(timeout=5)
        check("input over client-query-buffer-limit closes with an error",
              b"client-query-buffer-limit" in out and closed, repr(out[:100]))
        f.close()

        # Limits so small that no CONFIG SET could undo them are refused.
        for name, value in [("proto-max-bulk-len", "100"), ("client-query-buffer-limit", "1000"),
                            ("client-output-buffer-limit", "10"),
                            ("client-output-buffer-limit", "normal 100 0 0")]:
            err = admin.command("CONFIG", "SET", name, value)
            check(f"CONFIG SET {name} {value} is refused (a client could no longer undo it)",
                  isinstance(err, Err) and "at least" in err, repr(err))
        check_eq("CONFIG SET client-output-buffer-limit 0 (no limit) is taken",
                 admin.command("CONFIG", "SET", "client-output-buffer-limit", "0"), "OK")

        # client-output-buffer-limit: a byte count or Redis's class form
        check_eq("CONFIG SET client-output-buffer-limit 'normal 10mb 5mb 60'",
                 admin.command("CONFIG", "SET", "client-output-buffer-limit", "normal 10mb 5mb 60"), "OK")
        check_eq("CONFIG GET client-output-buffer-limit",
                 admin.command("CONFIG", "GET", "client-output-buffer-limit"),
                 [b"client-output-buffer-limit", b"normal 10485760 0 0"])
        check_eq("CONFIG SET client-output-buffer-limit 2048",
                 admin.command("CONFIG", "SET", "client-output-buffer-limit", "2048",
                               "client-query-buffer-limit", "1gb"), "OK")
        g = srv.raw()
        g.command("SET", "big", b"z" * 8192)
        g.send(encode("GET", "big"))
        out, closed = g.read_until_close(timeout=5)
        check("a reply over client-output-buffer-limit closes the connection", closed and len(out) < 8192,
              f"{len(out)} bytes, closed={closed}")
        g.close()
        rep = admin.command("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 1 1")
        check("client-output-buffer-limit: another class is refused", isinstance(rep, Err), repr(rep))
        check_eq("CONFIG SET client-output-buffer-limit 0 (no limit)",
                 admin.command("CONFIG", "SET", "client-output-buffer-limit", "0"), "OK")

        # timeout: an idle connection is closed once it is set
        idle = srv.raw()
        check_eq("a connection before CONFIG SET timeout", idle.command("PING"), "PONG")
        check_eq("CONFIG SET timeout 1", admin.command("CONFIG", "SET", "timeout", "1"), "OK")
        out, closed = idle.read_until_close(timeout=10)
        check("an idle connection is closed after CONFIG SET timeout 1", closed, repr(out))
        idle.close()
        admin.close()
    finally:
        srv.stop()


def test_protected_requirepass():
    srv = Server("protected", extra=["--bind", "0.0.0.0", "--requirepass", "pw"]).start()
    try:
        r = srv.raw()
        check_eq("AUTH", r.command("AUTH", "pw"), "OK")
        rep = r.command("CONFIG", "SET", "requirepass", "")
        check("protected mode: CONFIG SET requirepass '' on 0.0.0.0 is refused",
              isinstance(rep, Err) and "protected mode" in rep, repr(rep))
        check_eq("...and the password stays", r.command("CONFIG", "GET", "requirepass"), [b"requirepass", b"pw"])
        check_eq("another password is fine", r.command("CONFIG", "SET", "requirepass", "pw2"), "OK")
        r.close()
    finally:
        srv.stop()


def test_all_or_none(srv):
    r = srv.raw()
    before = r.command("CONFIG", "GET", "maxclients", "timeout")
    rep = r.command("CONFIG", "SET", "maxclients", "77", "timeout", "abc")
    check("a bad value in the 2nd pair is an error naming it", isinstance(rep, Err) and "'timeout'" in rep,
          repr(rep))
    check_eq("...and the 1st pair was not applied", r.command("CONFIG", "GET", "maxclients", "timeout"), before)
    rep = r.command("CONFIG", "SET", "maxclients", "77", "port", "1")
    check("a restart-only name in a pair refuses all", isinstance(rep, Err) and "needs a restart" in rep, repr(rep))
    check_eq("...and nothing was applied", r.command("CONFIG", "GET", "maxclients", "timeout"), before)
    rep = r.command("CONFIG", "SET", "maxclients", "77", "MAXCLIENTS", "78")
    check("a name given twice refuses all", isinstance(rep, Err) and "duplicate" in rep, repr(rep))
    check_eq("...and nothing was applied", r.command("CONFIG", "GET", "maxclients", "timeout"), before)
    check_eq("two valid pairs", r.command("CONFIG", "SET", "maxclients", "77", "timeout", "300"), "OK")
    got = r.command("CONFIG", "GET", "maxclients", "timeout")
    check_eq("...are both applied", dict(zip(got[::2], got[1::2])), {b"maxclients": b"77", b"timeout": b"300"})
    rep = r.command("CONFIG", "SET", "maxclients")
    check("CONFIG SET without a value", isinstance(rep, Err) and "wrong number of arguments" in rep, repr(rep))
    rep = r.command("CONFIG", "SET", "maxclients", "0")
    check("maxclients 0 is refused", isinstance(rep, Err) and "maxclients" in rep, repr(rep))
    check_eq("restore", r.command("CONFIG", "SET", "maxclients", before[1], "timeout", before[3]), "OK")
    r.close()


def test_restart_only(srv):
    r = srv.raw()
    for name, flag in [("port", "--port"), ("bind", "--bind"), ("dir", "--dir"), ("threads", "--threads"),
                       ("appendfsync", "--fsync"), ("protected-mode", "--protected-mode"),
                       ("max-args", "--max-args"), ("wal.fsync_mode", "--set wal.fsync_mode="),
                       ("kv.maxmemory", "--set kv.maxmemory=")]:
        rep = r.command("CONFIG", "SET", name, "1")
        want = f"ERR CONFIG SET '{name}' needs a restart: set it in the config file or with {flag}"
        check(f"CONFIG SET {name} needs a restart", isinstance(rep, Err) and rep.startswith(want), repr(rep))
    rep = r.command("CONFIG", "SET", "nosuch", "1")
    check_eq("CONFIG SET of an unknown name", rep,
             "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
    rep = r.command("CONFIG", "SET", "appendonly", "no")
    check("CONFIG SET appendonly cannot change", isinstance(rep, Err) and "cannot change" in rep, repr(rep))
    check_eq("CONFIG GET port is unchanged", r.command("CONFIG", "GET", "port"), [b"port", str(srv.port).encode()])
    got = r.command("CONFIG", "GET", "save", "appendonly")
    check_eq("CONFIG GET save appendonly (redis-benchmark asks)", dict(zip(got[::2], got[1::2])),
             {b"save": b"", b"appendonly": b"yes"})
    got = r.command("CONFIG", "GET", "wal.*")
    names = got[::2]
    check("CONFIG GET wal.* lists the log's engine options",
          b"wal.fsync_mode" in names and b"wal.segment_bytes" in names and all(n.startswith(b"wal.") for n in names),
          repr(names))
    got = r.command("CONFIG", "GET", "*")
    check("CONFIG GET * has no name twice", len(got[::2]) == len(set(got[::2])), "")
    r.command("PING")
    check_eq("CONFIG RESETSTAT", r.command("CONFIG", "RESETSTAT"), "OK")
    info = r.command("INFO", "stats").decode()
    n = int(info.split("total_commands_processed:")[1].split("\r\n")[0])
    check("RESETSTAT zeroed total_commands_processed (only INFO counted since)", n <= 2, info)
    r.close()


SECTIONS = [
    ("config file with sections", test_file, False),
    ("flags override the file; --set", test_flags_override_file, False),
    ("bad keys, values and --set refuse to start", test_refusals, False),
    ("docs/synap-server.toml", test_docs_example, False),
    ("quoted values: escapes, '#', literal strings", test_quoted_values, False),
    ("CONFIG SET of the live settings", test_live_settings, False),
    ("CONFIG SET requirepass under protected mode", test_protected_requirepass, False),
    ("CONFIG SET: all or none", test_all_or_none, True),
    ("CONFIG SET: restart-only settings", test_restart_only, True),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
