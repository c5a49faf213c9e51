#!/usr/bin/python3
"""synap-server under hostile clients: memory stays bounded, others are served.

  server_attack_test.py <path to synap-server>

Each section starts its own server with small limits (LIMITS below), lets
it settle, and runs one attack over raw sockets: huge bulk lengths, millions
of arguments, multibulk headers with no body, slowloris clients, subscribers
that never read, a client asking for a million subscriptions, pipelines of
blocking commands, pipelines that never read their replies. For each:

- the attack gets the documented answer (an "-ERR Protocol error ..." and a
  close, or a disconnect at client-output-buffer-limit), never a crash;
- the server's peak resident memory (VmHWM in /proc/<pid>/status, reset
  after the warm-up through /proc/<pid>/clear_refs) grows by no more than a
  bound computed from the configured limits and the number of attacking
  connections (bound() says how), while the attack sends far more than
  that bound;
- a fresh connection is served (PING, SET, GET) while the attack is under
  way, and after it.

Nothing here depends on timing for pass/fail: the slowloris clients send a
byte a second to look like one, but the checks are memory and answers.
"""
import os
import select
import socket
import sys
import threading
import time

from harness import Err, RawConn, Server, check, check_eq, encode, run

MiB = 1 << 20
KiB = 1 << 10

# The limits every attacked server runs with (docs/server.md names them).
LIMITS = {
    "proto-max-bulk-len": 2 * MiB,
    "client-query-buffer-limit": 8 * MiB,
    "client-output-buffer-limit": 4 * MiB,
    "maxclients": 300,
}
SUBSCRIPTION_MESSAGES = 10000  # each subscription's buffer (docs/server.md, Pub/sub)
# What a server's peak may grow by besides the attack's own bound: glibc
# arenas for the loop and engine threads, the loops' receive buffers
# (2 x 256 x 16 KiB), a few engine allocations. The attacks send at least
# several times (bound + SLACK), so unbounded growth cannot hide in it.
SLACK = 48 * MiB


def attack_server(name, extra=()):
    args = ["--fsync", "periodic"]
    for k, v in LIMITS.items():
        args += [f"--{k}", str(v)]
    srv = Server(name, extra=args + list(extra)).start()
    return srv


def status(srv):
    """VmRSS and VmHWM of the server, in bytes."""
    out = {}
    with open(f"/proc/{srv.proc.pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * KiB
    return out


def reset_peak(srv):
    """Resets VmHWM to the current RSS; returns that RSS."""
    try:
        with open(f"/proc/{srv.proc.pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError as e:  # not ours to reset: the peak then counts from the start
        print(f"   (cannot reset the peak RSS: {e}; the bound is checked against the whole run)")
    return status(srv)["VmRSS"]


def check_bounded(what, srv, base, bound, sent, must_exceed=True):
    st = status(srv)
    grew = st["VmHWM"] - base
    print(f"   {what}: base RSS {base / MiB:.1f} MiB, peak {st['VmHWM'] / MiB:.1f} MiB "
          f"(+{grew / MiB:.1f}), now {st['VmRSS'] / MiB:.1f} MiB; bound +{bound / MiB:.1f} MiB; "
          f"the attack sent or asked for {sent / MiB:.0f} MiB", flush=True)
    check(f"{what}: the peak RSS grew by at most {bound / MiB:.1f} MiB", grew <= bound,
          f"it grew by {grew / MiB:.1f} MiB")
    if must_exceed:
        check(f"{what}: the attack was larger than the bound (the check can fail)", sent > bound,
              f"sent {sent / MiB:.1f} MiB")


def served(srv, tag):
    """A fresh connection gets PING, SET, GET answered."""
    key = f"served:{tag}"
    try:
        c = srv.raw(timeout=30)
        got = (c.command("PING"), c.command("SET", key, tag), c.command("GET", key))
        c.close()
    except OSError as e:
        got = repr(e)
    return check_eq(f"a fresh client is served ({tag})", got, ("PONG", "OK", tag.encode()))


def alive(srv, what):
    check(f"the server is still running after {what}", srv.proc.poll() is None,
          f"exit status {srv.proc.returncode}: {srv.log_tail()}")


def expect_protocol_error(srv, data, what, fragment):
    c = srv.raw()
    try:
        c.send(data)
    except OSError:
        pass
    out, closed = c.read_until_close(timeout=10)
    c.close()
    check(f"{what}: '-ERR Protocol error' naming {fragment!r}",
          out.startswith(b"-ERR Protocol error") and fragment.encode() in out, repr(out[:120]))
    check(f"{what}: the connection is closed", closed, repr(out[:120]))


def sock(srv, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:  # before connect, so that the window stays small
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(30)
    s.connect(("127.0.0.1", srv.port))
    return s


def wrap(s):
    """A RawConn over a socket opened here (to read replies)."""
    c = RawConn.__new__(RawConn)
    c.s, c.buf = s, b""
    return c


def send_until_refused(s, chunks):
    """Sends the chunks; stops when the server closes. Returns bytes sent."""
    sent = 0
    try:
        for ch in chunks:
            s.sendall(ch)
            sent += len(ch)
    except OSError:
        pass
    return sent


def closed_by_server(s, timeout=30):
    """Reads (and drops) everything until EOF or reset: True if the server closed."""
    s.settimeout(timeout)
    try:
        while s.recv(1 << 20):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- huge bulk lengths

def test_huge_bulks():
    srv = attack_server("bulks")
    bulk, query = LIMITS["proto-max-bulk-len"], LIMITS["client-query-buffer-limit"]
    try:
        head = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"
        for length in (b"4000000000", b"%d" % (bulk + 1), b"9223372036854775807",
                       b"99999999999999999999999", b"-2"):
            expect_protocol_error(srv, head + b"$" + length + b"\r\n", f"a bulk length of {length.decode()}",
                                  "invalid bulk length")
        expect_protocol_error(srv, head + b"$" + b"9" * 40, "a bulk length of 40 digits without CRLF",
                              "invalid bulk length")
        c = srv.raw()
        check_eq(f"a bulk of exactly proto-max-bulk-len ({bulk}) is served",
                 c.command("ECHO", b"x" * bulk), b"x" * bulk)
        c.close()

        # Many clients each announce a bulk at the limit and send half of it.
        base = reset_peak(srv)
        holders = []
        for i in range(32):
            s = sock(srv)
            s.sendall(b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % bulk + b"y" * (bulk // 2))
            holders.append(s)
        served(srv, "half-sent bulks held by 32 clients")
        # The buffers hold what arrived; std::string may double its capacity.
        check_bounded("32 clients holding half of a max bulk", srv, base, 32 * 2 * (bulk // 2) + SLACK,
                      32 * bulk // 2, must_exceed=False)
        # The rest arrives: every one is answered.
        answers = 0
        for s in holders:
            s.sendall(b"y" * (bulk - bulk // 2) + b"\r\n")
            answers += wrap(s).reply() == b"y" * bulk
            s.close()
        check_eq("the 32 held bulks, completed, are echoed", answers, 32)

        # One request of many bulks (each under the bulk limit) outgrows the
        # query buffer limit: refused at that limit, not at the end.
        base = reset_peak(srv)
        s = sock(srv)
        n = 64
        chunks = [b"*%d\r\n$4\r\nECHO\r\n" % (n + 1)] + [b"$%d\r\n" % bulk + b"z" * bulk + b"\r\n"] * n
        sent = send_until_refused(s, chunks)
        s.settimeout(10)
        try:
            out = s.recv(200)
        except OSError as e:
            out = repr(e).encode()
        s.close()
        check("a request over client-query-buffer-limit gets an error naming the limit",
              b"client-query-buffer-limit" in out, repr(out[:120]))
        check(f"...and the server stopped reading it early (sent {sent / MiB:.0f} of {n * bulk / MiB:.0f} MiB)",
              sent < n * bulk, "")
        check_bounded("one request over the query buffer limit", srv, base, 2 * query + SLACK, n * bulk)
        served(srv, "after the query-buffer attack")
    finally:
        alive(srv, "huge bulk lengths")
        srv.stop()


# ---------------------------------------------------------------- millions of arguments

def cpu_seconds(srv):
    with open(f"/proc/{srv.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_many_arguments():
    srv = attack_server("args")
    try:
        for n in (5000000, 1048577, 2 ** 40):
            expect_protocol_error(srv, b"*%d\r\n" % n, f"a multibulk of {n} arguments", "too many arguments")
        expect_protocol_error(srv, b"*99999999999999999999999\r\n", "a multibulk length that overflows",
                              "invalid multibulk length")

        # A legal request of a million arguments (7 MB, under the query
        # buffer limit), sent in 16 KiB pieces as a network would: checked
        # once per argument, not once per piece (the parser resumes where it
        # stopped); the CPU it cost is printed, not judged.
        c = srv.raw(timeout=120)
        check_eq("SET a", c.command("SET", "a", "1"), "OK")
        n = 1000000
        req = b"*%d\r\n$6\r\nEXISTS\r\n" % n + b"$1\r\na\r\n" * (n - 1)
        cpu = cpu_seconds(srv)
        base = reset_peak(srv)
        for i in range(0, len(req), 16384):
            c.send(req[i:i + 16384])
        check_eq("EXISTS with 999,999 arguments counts them", c.reply(), n - 1)
        print(f"   a 1,000,000-argument request ({len(req) / MiB:.1f} MiB) cost the server "
              f"{cpu_seconds(srv) - cpu:.2f} s of CPU", flush=True)
        # The request itself, its arguments' views (16 bytes each) and the
        # engine's key copies for EXISTS (about 64 bytes each).
        check_bounded("a million-argument request", srv, base, 2 * len(req) + n * (16 + 64) + SLACK, len(req),
                      must_exceed=False)
        c.close()

        # Headers with no body: 100 clients announce the largest request
        # (max-args arguments) or the largest bulk and send nothing more.
        base = reset_peak(srv)
        idle = []
        for i in range(100):
            s = sock(srv)
            s.sendall(b"*1048576\r\n" if i % 2 else b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" %
                      LIMITS["proto-max-bulk-len"])
            idle.append(s)
        served(srv, "100 clients sent only a header")
        # What they announced: 100 x 2 MiB bulks or million-argument
        # requests; what they may cost: a connection each (64 KiB).
        check_bounded("100 headers with no body", srv, base, 100 * 64 * KiB + SLACK,
                      50 * LIMITS["proto-max-bulk-len"] + 50 * 1048576 * 6)
        for s in idle:
            s.close()

        # Four clients stream million-argument requests at once while a
        # fresh client asks for service.
        base = reset_peak(srv)
        done = []

        def stream():
            s = sock(srv)
            for i in range(0, len(req), 65536):
                s.sendall(req[i:i + 65536])
            s.settimeout(120)
            done.append(s.recv(100))
            s.close()

        threads = [threading.Thread(target=stream) for _ in range(4)]
        for t in threads:
            t.start()
        served(srv, "while 4 clients stream million-argument requests")
        for t in threads:
            t.join()
        check_eq("the 4 streamed requests are answered", done, [b":999999\r\n"] * 4)
        check_bounded("4 concurrent million-argument requests", srv, base,
                      4 * (2 * len(req) + n * (16 + 64)) + SLACK, 4 * len(req), must_exceed=False)
    finally:
        alive(srv, "millions of arguments")
        srv.stop()


# ---------------------------------------------------------------- slowloris

def test_slowloris():
    srv = attack_server("slowloris")
    maxclients = LIMITS["maxclients"]
    try:
        base = reset_peak(srv)
        n = 200
        request = encode("SET", "slow", "loris")
        slow = [sock(srv) for _ in range(n)]
        for step in range(6):  # six bytes each, one a second
            for s in slow:
                s.sendall(request[step:step + 1])
            served(srv, f"{n} slowloris clients, byte {step + 1}")
            time.sleep(1)
        # A connection's state and its few bytes: 64 KiB each is generous.
        check_bounded(f"{n} slowloris clients", srv, base, n * 64 * KiB + SLACK, 0, must_exceed=False)

        # They fill the rest of maxclients: the next is refused with the
        # documented error, and the count of connections is the bound.
        extra = [sock(srv) for _ in range(maxclients - n - 1)]
        c = srv.raw()
        check_eq("a fresh client when one slot is left", c.command("PING"), "PONG")
        # Each loop accepts on its own: wait until every connection is counted.
        for _ in range(600):
            info = c.command("INFO", "clients")
            if f"connected_clients:{maxclients}\r".encode() in info:
                break
            time.sleep(0.05)
        check("all maxclients connections are counted (INFO clients)",
              f"connected_clients:{maxclients}\r".encode() in info, repr(info))
        refused = srv.raw()
        out, closed = refused.read_until_close(timeout=10)
        check("past maxclients a client gets '-ERR max number of clients reached' and a close",
              out.startswith(b"-ERR max number of clients reached") and closed, repr(out))
        refused.close()
        check_eq("...while the connected ones are served", c.command("GET", "slow"), None)
        c.close()
        # The rest of the request completes it for every slow client.
        for s in slow:
            s.sendall(request[6:])
        answers = sum(s.recv(100) == b"+OK\r\n" for s in slow)
        check_eq("every slowloris request, completed, is answered", answers, n)
        for s in slow + extra:
            s.close()
        ok = False
        for _ in range(100):  # the server notices the closes on its next turn
            try:
                c = srv.raw()
                ok = c.command("GET", "slow") == b"loris"
                c.close()
                break
            except OSError:
                time.sleep(0.1)
        check("after they leave, a fresh client reads what they wrote", ok, "")
    finally:
        alive(srv, "slowloris clients")
        srv.stop()


# ---------------------------------------------------------------- subscribers that never read

def test_subscriber_never_reads():
    srv = attack_server("subscriber")
    out_limit = LIMITS["client-output-buffer-limit"]
    payload = b"p" * 1024
    try:
        base = reset_peak(srv)
        subs = []
        for cmd in (encode("SUBSCRIBE", "news"), encode("PSUBSCRIBE", "news.#")):
            s = sock(srv, rcvbuf=4096)
            s.sendall(cmd)
            time.sleep(0.05)
            subs.append(s)
        pub = srv.raw(timeout=60)
        check_eq("both subscribers are counted",
                 (pub.command("PUBSUB", "NUMSUB", "news"), pub.command("PUBSUB", "NUMPAT")), ([b"news", 1], 1))
        # Publish (pipelined, 256 at a time) until nobody receives, at most
        # 512 MiB: messages go to both subscribers.
        sent, last = 0, None
        batch = b"".join(encode("PUBLISH", ch, payload) for ch in ("news", "news.x") for _ in range(128))
        while sent < 512 * MiB:
            pub.send(batch)
            got = [pub.reply() for _ in range(256)]
            sent += len(batch)
            last = got
            if got[-1] == 0 and got[127] == 0:
                break
        check_eq("the publisher's last PUBLISH replies reach nobody (both subscribers were dropped)",
                 (last[127], last[-1]), (0, 0))
        served(srv, "after the subscribers fell behind")
        check_eq("no subscriber left", (pub.command("PUBSUB", "NUMSUB", "news"), pub.command("PUBSUB", "NUMPAT")),
                 ([b"news", 0], 0))
        for i, s in enumerate(subs):
            check(f"subscriber {i + 1} was disconnected", closed_by_server(s), "")
            s.close()
        pub.close()
        # Per subscriber: its output buffer (doubling) and its subscription's buffer.
        bound = 2 * (2 * out_limit + SUBSCRIPTION_MESSAGES * (len(payload) + 256)) + SLACK
        # The publisher stops at 512 MiB (more than the bound) if nobody is dropped.
        check_bounded("two subscribers that never read", srv, base, bound, sent, must_exceed=False)
    finally:
        alive(srv, "subscribers that never read")
        srv.stop()


# ---------------------------------------------------------------- a million subscriptions

MAX_SUBSCRIPTIONS = 100000  # channels and patterns per connection (commands_pubsub.cc)
SUBSCRIPTION_COST = 2 * KiB  # about 1.3 KiB measured: the engine's subscription, the maps


def test_many_subscriptions():
    # The default output limit: one SUBSCRIBE of 10,000 names replies ~400 KB.
    srv = Server("subscriptions", extra=["--fsync", "periodic"]).start()
    try:
        base = reset_peak(srv)
        c = srv.raw(timeout=120)
        total, batch, confirmed, refused = 1000000, 10000, 0, []
        for start in range(0, total, batch):
            c.send(encode("SUBSCRIBE", *[f"ch{i}" for i in range(start, start + batch)]))
            for _ in range(batch):
                rep = c.reply()
                if isinstance(rep, Err):
                    refused.append(rep)
                else:
                    confirmed += 1
        check_eq(f"of {total} SUBSCRIBEs, the first {MAX_SUBSCRIPTIONS} are confirmed", confirmed,
                 MAX_SUBSCRIPTIONS)
        check("the rest are refused with an error naming the limit",
              len(refused) == total - MAX_SUBSCRIPTIONS and "too many subscriptions" in refused[0]
              and str(MAX_SUBSCRIPTIONS) in refused[0], f"{len(refused)} errors, first {refused[:1]}")
        pong = c.command("PING")
        check("PING in subscribed mode still answers", pong in ("PONG", [b"pong", b""]), repr(pong))
        served(srv, "while one client holds 100,000 subscriptions")
        check_bounded(f"a client asking for {total} subscriptions", srv, base,
                      MAX_SUBSCRIPTIONS * SUBSCRIPTION_COST + SLACK, total * SUBSCRIPTION_COST)
        c.close()
    finally:
        alive(srv, "a million subscriptions")
        srv.stop()


# ---------------------------------------------------------------- pipelined blocking commands

def test_pipelined_blocking():
    srv = attack_server("blocking")
    try:
        c = srv.raw(timeout=60)
        check_eq("QCREATE", c.command("QCREATE", "bq"), "OK")
        base = reset_peak(srv)
        # 3 clients x 100,000 QCONSUME BLOCK 0 in one pipeline each (4 MB,
        # under the query buffer limit). A connection runs nothing after a
        # parked command (as Redis), so each parks one; the rest wait
        # unparsed, bounded by client-query-buffer-limit.
        blocked = []
        for k in range(3):
            s = sock(srv)
            s.sendall(encode("QCONSUME", "bq", f"c{k}", "BLOCK", "0") * 100000)
            blocked.append(s)
        served(srv, "while 3 clients pipeline 100,000 blocking QCONSUMEs each")
        check("QPUBLISH is served meanwhile", isinstance(c.command("QPUBLISH", "bq", "m1"), int), "")
        ready, _, _ = select.select(blocked, [], [], 30)
        got = ready[0].recv(200) if ready else b""
        check("one parked QCONSUME gets the message", b"m1" in got, repr(got[:80]))
        check_bounded("300,000 pipelined blocking commands", srv, base,
                      3 * 2 * LIMITS["client-query-buffer-limit"] + SLACK, 0, must_exceed=False)
        for s in blocked:
            s.close()

        # Parked, then over the query buffer limit: the error waits behind
        # the parked reply, once (it was queued again on every receive, a
        # slow leak while the client kept sending), then the close.
        query = LIMITS["client-query-buffer-limit"]
        check_eq("QCREATE bq2", c.command("QCREATE", "bq2"), "OK")
        base = reset_peak(srv)
        s = sock(srv)
        s.settimeout(5)
        sent = send_until_refused(s, [encode("QCONSUME", "bq2", "x", "BLOCK", "0")] +
                                  [encode("PING") * 10000] * (8 * query // 140000))
        check("QPUBLISH to the parked consumer's queue", isinstance(c.command("QPUBLISH", "bq2", "m2"), int), "")
        s.settimeout(30)
        w = wrap(s)
        first = w.reply()
        check("the parked QCONSUME answers first", isinstance(first, list) and first[1] == b"m2", repr(first))
        rest, closed = w.read_until_close(timeout=30)
        check("then one query-buffer error, and the close",
              rest.count(b"client-query-buffer-limit") == 1 and closed, f"closed={closed}, {rest[:200]!r}")
        s.close()
        check_bounded("a parked client sending past the query limit", srv, base, 2 * query + SLACK, sent,
                      must_exceed=False)
        c.close()
        served(srv, "after the blocked clients left")
    finally:
        alive(srv, "pipelined blocking commands")
        srv.stop()


# ---------------------------------------------------------------- pipelines that never read

def test_pipeline_never_reads():
    srv = attack_server("pipeline")
    out_limit = LIMITS["client-output-buffer-limit"]
    try:
        big = b"v" * MiB
        r = srv.raw()
        check_eq("SET big (1 MiB)", r.command("SET", "big", big), "OK")
        r.close()

        # GETs of a 1 MiB value: 2 GiB of replies asked for, none read.
        base = reset_peak(srv)
        s = sock(srv, rcvbuf=4096)
        n = 2048
        sent_box = []
        t = threading.Thread(target=lambda: sent_box.append(send_until_refused(s, [encode("GET", "big")] * n)))
        t.start()
        served(srv, "while a client pipelines GETs of 1 MiB and reads nothing")
        t.join()
        check("a pipeline of GETs that never reads is disconnected", closed_by_server(s), "")
        s.close()
        check_bounded("a pipeline of 1 MiB GETs never read", srv, base, 2 * out_limit + 2 * MiB + SLACK, n * MiB)

        # Writes (whose replies wait for the log) never read: a million SETs
        # of one key, 5 bytes of reply each.
        base = reset_peak(srv)
        s = sock(srv, rcvbuf=4096)
        n = 1000000
        one = encode("SET", "same", "x")
        sent = send_until_refused(s, [one * 10000] * (n // 10000))
        check("a pipeline of SETs that never reads is disconnected", closed_by_server(s), "")
        s.close()
        print(f"   the SET pipeline sent {sent / MiB:.1f} MiB before the close", flush=True)
        # Replies: held (at most 65,536 slots of ~100 bytes) and unsent
        # output; requests: unparsed input behind the held replies.
        bound = 2 * out_limit + 65536 * 256 + 2 * LIMITS["client-query-buffer-limit"] + SLACK
        check_bounded("a pipeline of SETs never read", srv, base, bound,
                      sent, must_exceed=False)
        served(srv, "after the pipelines")
    finally:
        alive(srv, "pipelines that never read")
        srv.stop()


SECTIONS = [
    ("huge bulk lengths", test_huge_bulks, False),
    ("millions of arguments, headers with no body", test_many_arguments, False),
    ("slowloris clients", test_slowloris, False),
    ("a subscriber that never reads", test_subscriber_never_reads, False),
    ("a client asking for a million subscriptions", test_many_subscriptions, False),
    ("pipelined blocking commands", test_pipelined_blocking, False),
    ("a pipeline that never reads its replies", test_pipeline_never_reads, False),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
