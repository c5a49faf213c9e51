"""synap-cli's data commands (kv, queue, stream, pubsub), ping, info and the
interactive prompt, end to end: offline on data directories that synap-cli
writes and the Python binding reads back, and online against a synap-server
on a free port, cross-checked with redis-py.

Usage: cli_data_test.py SYNAP_CLI SYNAP_SERVER
"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_harness import ENV, check, check_eq, cli, fresh_dir, run  # noqa: E402
from resp_conn import free_port  # noqa: E402

import redis  # noqa: E402
import synap  # noqa: E402


# ---------------------------------------------------------------- a server

class Server:
    """A synap-server on a free port and a fresh data directory."""

    def __init__(self, name, extra=()):
        self.dir = fresh_dir(name)
        self.port = free_port()
        self.log = os.path.join(ENV.work, name + ".log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([ENV.server, "--port", str(self.port), "--dir", self.dir, "--threads", "1",
                                          *extra], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name}: synap-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(100)[:1] in (b"+", b"-"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{name}: no answer on port {self.port}")

    def client(self, **kw):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10, **kw)

    def cli(self, *args, **kw):
        return cli("-p", self.port, *args, **kw)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def ok(name, result):
    """Checks exit 0; returns stdout."""
    code, out, err = result
    check(f"{name}: exit 0", code == 0, f"exit {code}, stderr {err.strip()!r}")
    return out


def fails(name, result, code, *words):
    """Checks the exit code and that stderr says each of `words`."""
    got, out, err = result
    check_eq(f"{name}: exit {code}", got, code)
    for w in words:
        check(f"{name}: stderr says {w!r}", w in err, f"stderr {err.strip()!r}")
    return err


def as_json(name, text):
    try:
        return json.loads(text)
    except ValueError as e:
        check(f"{name}: output is JSON", False, f"{e}: {text[:200]!r}")
        return None


# ---------------------------------------------------------------- offline

def kv_offline():
    d = fresh_dir("kv")
    check_eq("set", ok("set", cli("kv", "set", "--dir", d, "user:1", "alice", "--ex", "60")), "OK\n")
    ok("set user:2", cli("kv", "set", "--dir", d, "user:2", "bob"))
    ok("set other", cli("kv", "set", "--dir", d, "other", "x"))
    ok("set utf8", cli("kv", "set", "--dir", d, "user:3", "zoë\ttab"))
    check_eq("incr", ok("incr", cli("kv", "incr", "--dir", d, "counter", "--by", "5")), "5\n")
    check_eq("incr again", ok("incr", cli("kv", "incr", "--dir", d, "counter", "--by", "-2")), "3\n")
    check_eq("get", ok("get", cli("kv", "get", "--dir", d, "user:1")), "alice\n")
    check_eq("get --json", as_json("get", ok("get --json", cli("kv", "get", "--dir", d, "user:1", "--json"))),
             {"key": "user:1", "value": "alice"})
    fails("get missing", cli("kv", "get", "--dir", d, "nope"), 1, "no such key")
    fails("set --nx on an existing key", cli("kv", "set", "--dir", d, "user:1", "x", "--nx"), 1, "not set")
    scan = as_json("scan", ok("scan", cli("kv", "scan", "--dir", d, "--prefix", "user:", "--json")))
    check_eq("scan --prefix --json", scan, [{"key": "user:1"}, {"key": "user:2"}, {"key": "user:3"}])
    text = ok("scan --values", cli("kv", "scan", "--dir", d, "--match", "user:[13]", "--values"))
    check_eq("scan --match --values", text, "user:1\talice\nuser:3\tzoë\\ttab\n")
    check_eq("scan --limit", ok("scan", cli("kv", "scan", "--dir", d, "--limit", "2")), "counter\nother\n")
    check_eq("del", ok("del", cli("kv", "del", "--dir", d, "user:2", "nope")), "deleted 1 of 2\n")
    check_eq("del --json", as_json("del", ok("del", cli("kv", "del", "--dir", d, "other", "--json"))), {"deleted": 1})
    with synap.open(d) as db:
        check_eq("binding reads user:1", db.get("user:1"), b"alice")
        ttl = db.ttl("user:1")
        check("binding sees the --ex 60 expiry", 0 < ttl <= 60, f"ttl {ttl}")
        check_eq("binding reads the counter", db.get("counter"), b"3")
        check_eq("binding reads the UTF-8 value", db.get("user:3"), "zoë\ttab".encode())
        check_eq("user:2 deleted", db.get("user:2"), None)
        db.set("bin", b"\x00\xff")
    j = as_json("binary get", ok("binary get", cli("kv", "get", "--dir", d, "bin", "--json")))
    check_eq("binary value as base64 in JSON", j and j["value"], {"base64": "AP8="})
    raw = subprocess.run([ENV.cli, "kv", "get", "--dir", d, "bin"], capture_output=True)
    check_eq("binary value raw in text", (raw.returncode, raw.stdout), (0, b"\x00\xff\n"))


def queue_offline():
    d = fresh_dir("queue")
    check_eq("publish", ok("publish", cli("queue", "publish", "--dir", d, "jobs", "low")), "1\n")
    j = as_json("publish", ok("publish", cli("queue", "publish", "--dir", d, "jobs", "payload", "--priority", "5",
                                          "--json")))
    check_eq("publish --json", j, {"queue": "jobs", "id": 2})
    ok("publish 3", cli("queue", "publish", "--dir", d, "jobs", "third"))
    st = as_json("stats", ok("stats", cli("queue", "stats", "--dir", d, "jobs", "--json")))
    check_eq("stats ready", st and st["ready"], 3)
    check("stats settings", st and st["settings"]["max_depth"] > 0, str(st))
    msgs = as_json("consume", ok("consume", cli("queue", "consume", "--dir", d, "jobs", "--count", "2", "--ack",
                                             "--json")))
    check_eq("consume --ack: priority 5 first", [(m["id"], m["payload"], m["priority"]) for m in msgs or []],
             [(2, "payload", 5), (1, "low", 0)])
    text = ok("consume text", cli("queue", "consume", "--dir", d, "jobs"))
    check_eq("consume text", text, "3  priority=0 deliveries=1  third\n")
    # That run closed the directory with message 3 in flight: recovery requeued it.
    fails("ack of a message consumed by an earlier run", cli("queue", "ack", "--dir", d, "jobs", "3"), 1,
          "not in flight", "--ack")
    fails("nack likewise", cli("queue", "nack", "--dir", d, "jobs", "3"), 1, "not in flight")
    fails("stats of a missing queue", cli("queue", "stats", "--dir", d, "nope"), 1, "no such queue 'nope'")
    with synap.open(d) as db:
        st = db.queue_stats("jobs")
        check_eq("binding: only the message not acked is left", (st["ready"], st["in_flight"]), (1, 0))
        check_eq("binding: it is message 3", [m.id for m in db.consume("jobs")], [3])
        db.publish("dead", b"bad")
        m = db.consume("dead")[0]
        db.nack("dead", m.id, requeue=False)
    dl = as_json("dlq", ok("dlq", cli("queue", "dlq", "--dir", d, "dead", "--json")))
    check_eq("dlq --json", [{k: v for k, v in m.items() if k != "id"} for m in dl or []],
             [{"payload": "bad", "priority": 0, "delivery_count": 1, "reason": "rejected"}])
    everything = as_json("stats all", ok("stats all", cli("queue", "stats", "--dir", d, "--json")))
    check_eq("stats of every queue", sorted(everything or {}), ["dead", "jobs"])
    text = ok("stats text", cli("queue", "stats", "--dir", d))
    check("stats text names the queues and fields", "# jobs" in text and "settings.max_depth" in text, text)


def stream_offline():
    d = fresh_dir("stream")
    check_eq("append", ok("append", cli("stream", "append", "--dir", d, "orders", "--key", "k", "--header", "a=b",
                                        "payload")), "0\n")
    ok("append 2", cli("stream", "append", "--dir", d, "orders", "second", "--timestamp", "1700000000000"))
    ok("append 3", cli("stream", "append", "--dir", d, "orders", "third", "--header", "x=1", "--header", "y=2"))
    doc = as_json("read", ok("read", cli("stream", "read", "--dir", d, "orders", "--from", "0", "--count", "100",
                                     "--json")))
    ev = (doc or {}).get("events", [])
    check_eq("read: three events", [e["offset"] for e in ev], [0, 1, 2])
    if len(ev) == 3:
        check_eq("event 0", (ev[0]["key"], ev[0]["headers"], ev[0]["payload"]), ("k", [["a", "b"]], "payload"))
        check_eq("event 1 timestamp", ev[1]["timestamp_ms"], 1700000000000)
        check_eq("event 1 has no key", ev[1]["key"], None)
        check_eq("event 2 headers", ev[2]["headers"], [["x", "1"], ["y", "2"]])
    check_eq("next_offset", doc and doc["next_offset"], 3)
    text = ok("read text", cli("stream", "read", "--dir", d, "orders", "--from", "1", "--count", "1"))
    check_eq("read text line", text, "1  2023-11-14T22:13:20.000Z  second\n")
    fails("read of a missing room", cli("stream", "read", "--dir", d, "nope"), 1, "no such room 'nope'")
    with synap.open(d) as db:
        got = db.stream_read("orders", 0)
        check_eq("binding reads the events", [(e.key, e.payload) for e in got],
                 [(b"k", b"payload"), (None, b"second"), (None, b"third")])
        check_eq("binding reads the headers", got[0].headers, [(b"a", b"b")])
        db.stream_append("clicks", b"c")
        db.group_commit("billing", "orders", 1)
        db.group_commit("billing", "clicks", 1)
        db.group_commit("audit", "orders", 3)
    rows = as_json("groups", ok("groups", cli("stream", "groups", "--dir", d, "orders", "--json")))
    check_eq("groups of a room", sorted((r["group"], r["position"], r["next_offset"], r["lag"], r["pending"])
                                        for r in rows or []), [("audit", 3, 3, 0, None), ("billing", 1, 3, 2, None)])
    every = as_json("groups all", ok("groups all", cli("stream", "groups", "--dir", d, "--json")))
    check_eq("groups of every room", len(every or []), 3)
    text = ok("lag", cli("stream", "lag", "--dir", d, "billing"))
    check("lag text: a table and the total", text.startswith("GROUP") and text.endswith("total lag 2\n"), text)
    rows = as_json("lag --room", ok("lag --room", cli("stream", "lag", "--dir", d, "billing", "--room", "clicks",
                                                  "--json")))
    check_eq("lag --room", [(r["room"], r["lag"]) for r in rows or []], [("clicks", 0)])
    fails("lag of an unknown group", cli("stream", "lag", "--dir", d, "nobody"), 1, "no position")


def pubsub_offline():
    d = fresh_dir("pubsub")
    fails("pubsub publish --dir", cli("pubsub", "publish", "--dir", d, "news.eu", "hi"), 2, "online only")
    fails("pubsub subscribe --dir", cli("pubsub", "subscribe", "--dir", d, "news.#"), 2, "online only")


# ---------------------------------------------------------------- online

def online():
    srv = Server("server")
    try:
        r = srv.client()
        online_kv(srv, r)
        online_queue(srv, r)
        online_stream(srv, r)
        online_pubsub(srv, r)
        online_ping_info(srv)
        prompt(srv)
        held_directory(srv)
    finally:
        srv.stop()


def online_kv(srv, r):
    check_eq("set", ok("set", srv.cli("kv", "set", "user:1", "alice", "--ex", "60")), "OK\n")
    check_eq("redis-py reads it", r.get("user:1"), b"alice")
    check("with its expiry", 0 < r.ttl("user:1") <= 60, str(r.ttl("user:1")))
    r.set("user:2", "bob")
    check_eq("get", ok("get", srv.cli("kv", "get", "user:2")), "bob\n")
    check_eq("get -p after the subcommand", ok("get", cli("kv", "get", "user:2", "-p", srv.port)), "bob\n")
    check_eq("get --resp3", ok("get", srv.cli("--resp3", "kv", "get", "user:2")), "bob\n")
    fails("get missing", srv.cli("kv", "get", "nope"), 1, "no such key")
    scan = as_json("scan", ok("scan", srv.cli("kv", "scan", "--prefix", "user:", "--values", "--json")))
    check_eq("scan --json", scan, [{"key": "user:1", "value": "alice"}, {"key": "user:2", "value": "bob"}])
    check_eq("incr", ok("incr", srv.cli("kv", "incr", "n", "--by", "7")), "7\n")
    check_eq("redis-py sees the counter", r.get("n"), b"7")
    fails("set --xx on a missing key", srv.cli("kv", "set", "ghost", "v", "--xx"), 1, "not set")
    check_eq("del", as_json("del", ok("del", srv.cli("kv", "del", "user:2", "n", "--json"))), {"deleted": 2})
    check_eq("redis-py: deleted", r.exists("user:2", "n"), 0)


def online_queue(srv, r):
    check_eq("publish", ok("publish", srv.cli("queue", "publish", "jobs", "payload", "--priority", "5")), "1\n")
    r.execute_command("QPUBLISH", "jobs", "from-redis")
    msgs = as_json("consume", ok("consume", srv.cli("queue", "consume", "jobs", "--count", "10", "--block", "1000",
                                                 "--json")))
    check_eq("consume", [(m["id"], m["payload"], m["priority"]) for m in msgs or []],
             [(1, "payload", 5), (2, "from-redis", 0)])
    check_eq("ack (the server keeps them in flight)", ok("ack", srv.cli("queue", "ack", "jobs", "1")), "acked 1\n")
    check_eq("nack --dead-letter", ok("nack", srv.cli("queue", "nack", "jobs", "2", "--dead-letter")),
             "dead-lettered 2\n")
    fails("ack again", srv.cli("queue", "ack", "jobs", "1"), 1, "not in flight")
    dl = as_json("dlq", ok("dlq", srv.cli("queue", "dlq", "jobs", "--json")))
    check_eq("dlq", [(m["id"], m["reason"]) for m in dl or []], [(2, "rejected")])
    st = as_json("stats", ok("stats", srv.cli("queue", "stats", "jobs", "--json")))
    check_eq("stats", st and (st["acked"], st["dead_lettered"], st["ready"]), (1, 1, 0))
    check("stats settings nested", st and "max_depth" in st.get("settings", {}), str(st))
    st3 = as_json("stats resp3", ok("stats", srv.cli("--resp3", "queue", "stats", "--json")))
    check_eq("stats of every queue, RESP3", st3 and st3["jobs"]["acked"], 1)
    code, out, err = srv.cli("queue", "consume", "jobs")
    check_eq("consume of an empty queue: nothing, exit 0", (code, out), (0, ""))
    stats = r.execute_command("QSTATS", "jobs")
    check("redis-py's QSTATS agrees", b"acked" in stats, str(stats))


def online_stream(srv, r):
    check_eq("append", ok("append", srv.cli("stream", "append", "orders", "--header", "a=b")), "0\n")
    check_eq("redis-py XRANGE sees the fields", r.xrange("orders"), [(b"1-0", {b"a": b"b"})])
    r.xadd("orders", {"x": "1"})
    doc = as_json("read", ok("read", srv.cli("stream", "read", "orders", "--from", "0", "--count", "100", "--json")))
    check_eq("read", [(e["offset"], e["headers"], e["payload"]) for e in (doc or {}).get("events", [])],
             [(0, [["a", "b"]], None), (1, [["x", "1"]], None)])
    check_eq("read text", ok("read", srv.cli("stream", "read", "orders", "--from", "1")), "1  x=1\n")
    fails("append with a payload online", srv.cli("stream", "append", "orders", "--key", "k", "--header", "a=b",
                                                  "payload"), 2, "--dir")
    fails("append without headers online", srv.cli("stream", "append", "orders"), 2, "--header")
    r.xgroup_create("orders", "billing", id="0")
    r.xreadgroup("billing", "c1", {"orders": ">"}, count=1)
    rows = as_json("groups", ok("groups", srv.cli("stream", "groups", "orders", "--json")))
    check_eq("groups", [(x["group"], x["position"], x["next_offset"], x["lag"], x["pending"]) for x in rows or []],
             [("billing", 1, 2, 1, 1)])
    rows = as_json("lag", ok("lag", srv.cli("stream", "lag", "billing", "--room", "orders", "--json")))
    check_eq("lag", [(x["room"], x["lag"]) for x in rows or []], [("orders", 1)])
    fails("groups online without a room", srv.cli("stream", "groups"), 2, "name the room")
    fails("lag of a missing room", srv.cli("stream", "lag", "billing", "--room", "nope"), 1, "no such room")


def online_pubsub(srv, r):
    p = subprocess.Popen([ENV.cli, "-p", str(srv.port), "pubsub", "subscribe", "news.#", "--count", "2", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()  # written once the server confirmed the subscription
        check("subscribe says it is subscribed", "subscribed" in line, line)
        check_eq("redis-py: one pattern subscriber", r.execute_command("PUBSUB", "NUMPAT"), 1)
        r.publish("news.eu", "one")
        r.publish("sports.eu", "not for it")
        r.publish("news.eu.west", "two")
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check_eq("subscribe exit", p.returncode, 0)
    got = [json.loads(x) for x in out.splitlines()]
    check_eq("subscribe --json lines", [(m["topic"], m["payload"], m["pattern"]) for m in got],
             [("news.eu", "one", "news.#"), ("news.eu.west", "two", "news.#")])
    check_eq("publish", ok("publish", srv.cli("pubsub", "publish", "news.eu", "hi")), "delivered to 0 subscriber(s)\n")


def online_ping_info(srv):
    check_eq("ping", ok("ping", srv.cli("ping")), "PONG\n")
    j = as_json("ping", ok("ping", srv.cli("ping", "--json")))
    check("ping --json", j and j["reply"] == "PONG" and j["latency_ms"] >= 0, str(j))
    text = ok("info", srv.cli("info"))
    check("info prints the sections", "# Server" in text and "synap_version:" in text and "\r" not in text, text[:200])
    j = as_json("info", ok("info", srv.cli("info", "server", "--json")))
    check_eq("info server --json", j and j["server"]["tcp_port"], str(srv.port))


def prompt(srv):
    script = "PING\nSET k \"two words\"\nGET k\nINCR n\nMGET k missing\nNOSUCHCOMMAND x\n" \
             "set 'q' \"unbalanced\nhelp\nhelp queue\nquit\nPING\n"
    out = ok("prompt", srv.cli(input=script))
    lines = out.splitlines()
    check_eq("prompt: the replies", lines[:7], [
        "PONG", "OK", '"two words"', "(integer) 1", '1) "two words"', "2) (nil)",
        "(error) ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' "])
    check("prompt: bad quotes", "Invalid argument(s)" in lines, out)
    check("prompt: help lists the families", any(x.strip().startswith("queue") for x in lines), out)
    check("prompt: help queue", any("QPUBLISH name payload" in x for x in lines), out)
    check_eq("prompt: nothing after quit", lines[-1].startswith("  QDLQ"), True)
    out = ok("prompt resp3", srv.cli("--resp3", input="HELLO 3\nXINFO STREAM orders\n"))
    check("prompt RESP3: a map", "1# " in out and '"server" => "redis"' in out, out[:300])


def held_directory(srv):
    fails("offline on the server's directory", cli("kv", "get", "--dir", srv.dir, "user:1"), 1,
          srv.dir, "held by another process", "without --dir")


# ---------------------------------------------------------------- every reply type

# (reply the fake server sends, what the prompt prints for it)
REPLIES = [
    (b",3.14\r\n", "(double) 3.14"),
    (b"#f\r\n", "(false)"),
    (b"(12345678901234567890\r\n", "(big number) 12345678901234567890"),
    (b"!21\r\nSYNTAX invalid syntax\r\n", "(error) SYNTAX invalid syntax"),
    (b"=15\r\ntxt:Some string\r\n", "Some string"),
    (b"~2\r\n+a\r\n:1\r\n", "1~ a\n2~ (integer) 1"),
    (b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n:42\r\n", "(integer) 42"),
    (b"$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;2\r\nld\r\n;0\r\n", '"Hello world"'),
    (b"*?\r\n:1\r\n$2\r\na\n\r\n.\r\n", '1) (integer) 1\n2) "a\\n"'),
    (b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n+OK\r\n", "OK"),  # a push before the reply
    (b"_\r\n", "(nil)"),
    (b"%2\r\n+first\r\n:1\r\n+second\r\n*2\r\n:2\r\n:3\r\n",
     "1# first => (integer) 1\n2# second => 1) (integer) 2\n             2) (integer) 3"),
    (b"*0\r\n", "(empty array)"),
    (b"~0\r\n", "(empty set)"),
    (b"%0\r\n", "(empty hash)"),
    (b"*-1\r\n", "(nil)"),
    (b"*11\r\n" + b":0\r\n" * 10 + b"*1\r\n*1\r\n$0\r\n\r\n",
     "\n".join(f"{i:2d}) (integer) 0" for i in range(1, 11)) + '\n11) 1) 1) ""'),
]


def fake_server(replies):
    """A server on a free port that answers each command with the next
    canned reply, then closes. Returns (port, thread)."""
    import threading
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)

    def serve():
        conn, _ = lsock.accept()
        f = conn.makefile("rb")
        for reply in replies:
            n = int(f.readline()[1:])  # *<n>, then n bulk strings
            for _ in range(n):
                f.read(int(f.readline()[1:]) + 2)
            conn.sendall(reply)
        conn.close()
        lsock.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return lsock.getsockname()[1], t


def reply_types():
    port, t = fake_server([r for r, _ in REPLIES])
    out = ok("prompt", cli("-p", port, input="".join(f"CMD{i}\n" for i in range(len(REPLIES)))))
    t.join(10)
    want = "".join(text + "\n" for _, text in REPLIES)
    check_eq("every RESP3 type printed as redis-cli prints it", out, want)
    port, t = fake_server([b"?what\r\n"])
    fails("a malformed reply", cli("-p", port, "ping"), 1, "protocol error")
    t.join(10)
    port, t = fake_server([b"$5\r\nab\r\n"])  # the server hangs up inside a bulk string
    fails("a reply cut short", cli("-p", port, "kv", "get", "k"), 1, "closed the connection")
    t.join(10)


# ---------------------------------------------------------------- errors

def errors():
    fails("kv get without a key", cli("kv", "get"), 2)
    fails("unknown flag", cli("kv", "get", "k", "--bogus"), 2)
    fails("--ex 0", cli("kv", "set", "k", "v", "--ex", "0"), 2)
    fails("--ex and --px", cli("kv", "set", "k", "v", "--ex", "1", "--px", "5"), 2)
    fails("--count 0", cli("queue", "consume", "q", "--count", "0"), 2)
    fails("--priority 10", cli("queue", "publish", "q", "p", "--priority", "10"), 2)
    fails("bad --header", cli("stream", "append", "--dir", fresh_dir("h"), "r", "--header", "novalue"), 2, "NAME=VALUE")
    fails("a group without its subcommand", cli("kv"), 2)
    missing = os.path.join(ENV.work, "does-not-exist")
    fails("offline read of a missing directory", cli("kv", "get", "--dir", missing, "k"), 2, "no data directory")
    check("the missing directory was not created", not os.path.exists(missing))
    port = free_port()
    fails("no server there", cli("-p", port, "kv", "get", "k"), 1, f"127.0.0.1:{port}", "cannot connect",
          "--dir")
    fails("no server for the prompt", cli("-p", port, input="PING\n"), 1, "cannot connect")
    fails("no server for ping", cli("-p", port, "ping"), 1, "cannot connect")
    code, out, _ = cli("--help")
    check("--help works and shows -h,--host", code == 0 and "-h,--host" in out, out[:300])


def auth():
    srv = Server("auth", extra=["--requirepass", "s3cret"])
    try:
        check_eq("-a", ok("-a", srv.cli("-a", "s3cret", "ping")), "PONG\n")
        check_eq("$SYNAP_CLI_AUTH", ok("env", srv.cli("ping", env={**os.environ, "SYNAP_CLI_AUTH": "s3cret"})),
                 "PONG\n")
        check_eq("-a with --resp3 (HELLO 3 AUTH)", ok("resp3", srv.cli("-a", "s3cret", "--resp3", "kv", "set",
                                                                      "k", "v")), "OK\n")
        fails("a wrong password", srv.cli("-a", "nope", "ping"), 1, "authentication failed")
        fails("no password", srv.cli("kv", "get", "k"), 1, "NOAUTH")
    finally:
        srv.stop()


SECTIONS = [
    ("kv offline", kv_offline),
    ("queue offline", queue_offline),
    ("stream offline", stream_offline),
    ("pubsub offline is refused", pubsub_offline),
    ("online: kv, queue, stream, pubsub, ping, info, prompt, held directory", online),
    ("password", auth),
    ("every RESP3 reply type", reply_types),
    ("bad command lines and missing servers", errors),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
