#!/usr/bin/python3
"""End-to-end test of synap-server over the Redis protocol: connection and KV.

  server_test.py <path to synap-server>

Drives synap-server (harness.py starts it on free ports with fresh data
directories) with redis-py (python3-redis), raw sockets, redis-cli and
redis-benchmark: connection commands, the KV commands, pipelining, inline
commands, malformed input, pub/sub, streams, the limits (requirepass,
maxclients, proto-max-bulk-len), protected mode, SIGTERM, and a
redis-benchmark smoke run (kill -9 durability is server_crash_test.py).
Each failed check prints one "FAIL: ..." line; the exit status is non-zero
if any failed.
"""
import os
import random
import subprocess
import sys
import threading
import time

import redis

from harness import ENV, Err, Server, check, check_eq, encode, free_port, redis_cli, run

# ---------------------------------------------------------------- connection commands

def test_connection(srv):
    r = srv.client(decode_responses=True)
    check_eq("PING", r.ping(), True)
    # redis-py turns the replies of PING and SELECT into booleans: raw replies
    c = srv.raw()
    check_eq("PING (raw)", c.command("PING"), "PONG")
    check_eq("PING msg (raw)", c.command("PING", "hello"), b"hello")
    rep = c.command("PING", "a", "b")
    check("PING with 2 args is an error", isinstance(rep, Err), repr(rep))
    check_eq("SELECT 0 (raw)", c.command("SELECT", "0"), "OK")
    c.close()
    check_eq("ECHO", r.echo("echo me"), "echo me")
    check_eq("SELECT 0", r.execute_command("SELECT", "0"), True)
    try:
        r.execute_command("SELECT", "1")
        check("SELECT 1 is an error", False, "got a success reply")
    except redis.ResponseError as e:
        check("SELECT 1 error says out of range", "out of range" in str(e), str(e))

    c = srv.raw()
    check_eq("QUIT replies +OK", c.command("QUIT"), "OK")
    rest, closed = c.read_until_close()
    check("QUIT closes the connection", closed and rest == b"", f"closed={closed}, then {rest!r}")
    c.close()

    check_eq("CLIENT SETNAME", r.client_setname("tester-1"), True)
    check_eq("CLIENT GETNAME", r.client_getname(), "tester-1")
    cid = r.client_id()
    check("CLIENT ID is a positive integer", isinstance(cid, int) and cid > 0, repr(cid))
    r2 = srv.client(decode_responses=True)
    cid2 = r2.client_id()
    check("CLIENT ID differs per connection", cid2 != cid, f"{cid} and {cid2}")
    lst = r.client_list()
    mine = [x for x in lst if str(x.get("id")) == str(cid)]
    check("CLIENT LIST shows this client by id", len(mine) == 1, repr(lst))
    if mine:
        check_eq("CLIENT LIST shows its name", mine[0].get("name"), "tester-1")
    check("CLIENT LIST shows the other client", any(str(x.get("id")) == str(cid2) for x in lst), repr(lst))
    try:
        r.client_setname("bad name")
        check("CLIENT SETNAME with a space is an error", False, "accepted")
    except redis.ResponseError:
        check("CLIENT SETNAME with a space is an error", True)
    r2.close()

    # HELLO 3: a RESP3 map ('%') over a raw socket; later replies in RESP3 too.
    c = srv.raw()
    c.send(encode("HELLO", "3"))
    c._fill()
    check("HELLO 3 replies with a RESP3 map", c.buf.startswith(b"%"), repr(c.buf[:40]))
    hello = c.reply()
    check("HELLO 3 map has proto 3", isinstance(hello, dict) and hello.get(b"proto") == 3, repr(hello))
    c.send(encode("GET", "no-such-key-hello3"))
    c._fill()
    check("RESP3 null after HELLO 3 is '_'", c.buf.startswith(b"_\r\n"), repr(c.buf[:20]))
    c.reply()
    c.send(encode("HELLO", "2"))
    c._fill()
    check("HELLO 2 switches back (array reply)", c.buf.startswith(b"*"), repr(c.buf[:20]))
    c.close()
    rc, out, err = redis_cli(srv.port, "HELLO", "3", extra=["-3"])
    check("redis-cli -3 HELLO 3", rc == 0 and "proto" in out and "3" in out, f"rc={rc} out={out!r} err={err!r}")
    rc, out, err = redis_cli(srv.port, "PING", extra=["-3"])
    check("redis-cli -3 PING", rc == 0 and out.strip() == "PONG", f"rc={rc} out={out!r} err={err!r}")

    n = r.command_count()
    check("COMMAND COUNT > 0", isinstance(n, int) and n > 0, repr(n))
    check_eq("CONFIG GET maxclients", r.config_get("maxclients"), {"maxclients": "10000"})

    r.set("info-key", "1")
    rc, out, err = redis_cli(srv.port, "INFO")
    check("INFO has '# Server'", rc == 0 and "# Server" in out, f"rc={rc} {out[:200]!r} {err!r}")
    check("INFO has 'db0:keys=' after a SET", "db0:keys=" in out, out[-300:])
    keys = r.keys("*")
    check_eq("DBSIZE equals the number of keys", r.dbsize(), len(keys))
    r.set("info-key-2", "1")
    check_eq("DBSIZE grows by one after a new SET", r.dbsize(), len(keys) + 1)
    r.close()


# ---------------------------------------------------------------- KV

def test_kv(srv):
    r = srv.client(decode_responses=True)
    p = "kv:"
    check_eq("SET", r.set(p + "a", "hello"), True)
    check_eq("GET", r.get(p + "a"), "hello")
    check_eq("GET missing", r.get(p + "missing"), None)

    # SET options
    r.set(p + "ex", "v", ex=100)
    t = r.ttl(p + "ex")
    check("SET EX sets a TTL", 98 <= t <= 100, repr(t))
    r.set(p + "px", "v", px=50000)
    t = r.pttl(p + "px")
    check("SET PX sets a PTTL", 48000 <= t <= 50000, repr(t))
    check_eq("SET NX on an existing key", r.set(p + "a", "x", nx=True), None)
    check_eq("SET NX kept the value", r.get(p + "a"), "hello")
    check_eq("SET NX on a new key", r.set(p + "nx", "1", nx=True), True)
    check_eq("SET XX on a missing key", r.set(p + "xx", "1", xx=True), None)
    check_eq("SET XX did not create it", r.exists(p + "xx"), 0)
    check_eq("SET XX on an existing key", r.set(p + "a", "world", xx=True), True)
    check_eq("SET XX wrote", r.get(p + "a"), "world")
    check_eq("SET GET returns the old value", r.set(p + "a", "again", get=True), "world")
    check_eq("SET GET wrote the new value", r.get(p + "a"), "again")
    check_eq("SET GET on a missing key", r.set(p + "get-new", "v", get=True), None)
    check_eq("SET GET on a missing key wrote", r.get(p + "get-new"), "v")
    r.set(p + "keep", "v1", ex=100)
    r.set(p + "keep", "v2", keepttl=True)
    t = r.ttl(p + "keep")
    check("SET KEEPTTL keeps the TTL", 98 <= t <= 100, repr(t))
    check_eq("SET KEEPTTL wrote", r.get(p + "keep"), "v2")
    r.set(p + "keep", "v3")
    check_eq("plain SET clears the TTL", r.ttl(p + "keep"), -1)
    for bad in (["EX", "10", "PX", "10"], ["NX", "XX"], ["EX", "0"], ["EX", "abc"], ["KEEPTTL", "EX", "5"],
                ["BOGUS"]):
        try:
            r.execute_command("SET", p + "bad", "v", *bad)
            check(f"SET {' '.join(bad)} is an error", False, "accepted")
        except redis.ResponseError:
            check(f"SET {' '.join(bad)} is an error", True)
    check_eq("erroneous SETs wrote nothing", r.exists(p + "bad"), 0)
    r.set(p + "short", "v", px=150)
    time.sleep(0.3)
    check_eq("a key past its PX is gone", r.get(p + "short"), None)

    check_eq("SETNX new", r.setnx(p + "sn", "1"), True)
    check_eq("SETNX existing", r.setnx(p + "sn", "2"), False)
    check_eq("SETNX kept", r.get(p + "sn"), "1")
    check_eq("SETEX", r.setex(p + "se", 100, "v"), True)
    t = r.ttl(p + "se")
    check("SETEX TTL", 98 <= t <= 100, repr(t))
    check_eq("PSETEX", r.psetex(p + "pse", 50000, "v"), True)
    t = r.pttl(p + "pse")
    check("PSETEX PTTL", 48000 <= t <= 50000, repr(t))
    check_eq("PSETEX value", r.get(p + "pse"), "v")
    check_eq("GETSET missing", r.getset(p + "gs", "one"), None)
    check_eq("GETSET existing", r.getset(p + "gs", "two"), "one")
    check_eq("GETSET wrote", r.get(p + "gs"), "two")
    check_eq("GETDEL", r.getdel(p + "gs"), "two")
    check_eq("GETDEL deleted", r.exists(p + "gs"), 0)
    check_eq("GETDEL missing", r.getdel(p + "gs"), None)

    check_eq("MSET", r.mset({p + "m1": "1", p + "m2": "2", p + "m3": "3"}), True)
    check_eq("MGET", r.mget([p + "m1", p + "missing", p + "m3", p + "m2"]), ["1", None, "3", "2"])
    check_eq("MSETNX with an existing key", r.msetnx({p + "mn1": "x", p + "m1": "x"}), False)
    check_eq("MSETNX set none", (r.exists(p + "mn1"), r.get(p + "m1")), (0, "1"))
    check_eq("MSETNX all new", r.msetnx({p + "mn1": "a", p + "mn2": "b"}), True)
    check_eq("MSETNX wrote", r.mget(p + "mn1", p + "mn2"), ["a", "b"])
    try:
        r.execute_command("MSET", p + "odd1", "v", p + "odd2")
        check("MSET with an odd count is an error", False, "accepted")
    except redis.ResponseError:
        check("MSET with an odd count is an error", True)

    check_eq("EXISTS counts", r.exists(p + "m1", p + "m2", p + "missing"), 2)
    check_eq("EXISTS counts repeats", r.exists(p + "m1", p + "m1"), 2)
    check_eq("DEL", r.delete(p + "m1", p + "m2", p + "missing"), 2)
    check_eq("DEL deleted", r.exists(p + "m1", p + "m2"), 0)
    check_eq("UNLINK", r.unlink(p + "m3", p + "missing"), 1)
    check_eq("UNLINK deleted", r.exists(p + "m3"), 0)
    check_eq("DEL missing", r.delete(p + "missing"), 0)

    check_eq("INCR missing", r.incr(p + "n"), 1)
    check_eq("INCR", r.incr(p + "n"), 2)
    check_eq("INCRBY", r.incrby(p + "n", 10), 12)
    check_eq("DECR", r.decr(p + "n"), 11)
    check_eq("DECRBY", r.decrby(p + "n", 20), -9)
    check_eq("INCRBY negative", r.incrby(p + "n", -1), -10)
    check_eq("GET after INCR", r.get(p + "n"), "-10")
    r.set(p + "big", str(2 ** 63 - 1))
    try:
        r.incr(p + "big")
        check("INCR overflow is an error", False, "accepted")
    except redis.ResponseError:
        check("INCR overflow is an error", True)
    r.set(p + "str", "abc")
    for name, fn in (("INCR", lambda: r.incr(p + "str")), ("DECRBY", lambda: r.decrby(p + "str", 2)),
                     ("INCRBY bad delta", lambda: r.execute_command("INCRBY", p + "n", "1x"))):
        try:
            fn()
            check(f"{name} on a non-integer is an error", False, "accepted")
        except redis.ResponseError as e:
            check(f"{name} on a non-integer says 'not an integer'", "not an integer" in str(e), str(e))
    check_eq("failed INCR left the value", r.get(p + "str"), "abc")

    check_eq("APPEND missing", r.append(p + "ap", "Hello"), 5)
    check_eq("APPEND", r.append(p + "ap", " World"), 11)
    check_eq("APPEND value", r.get(p + "ap"), "Hello World")
    check_eq("STRLEN", r.strlen(p + "ap"), 11)
    check_eq("STRLEN missing", r.strlen(p + "missing"), 0)

    # the expire family
    k = p + "e"
    r.set(k, "v")
    check_eq("TTL without expiry", r.ttl(k), -1)
    check_eq("PTTL without expiry", r.pttl(k), -1)
    check_eq("TTL missing", r.ttl(p + "missing"), -2)
    check_eq("PTTL missing", r.pttl(p + "missing"), -2)
    check_eq("EXPIRE missing", r.expire(p + "missing", 10), False)
    check_eq("EXPIRE XX without expiry", r.expire(k, 100, xx=True), False)
    check_eq("EXPIRE NX without expiry", r.expire(k, 100, nx=True), True)
    check_eq("EXPIRE NX with expiry", r.expire(k, 200, nx=True), False)
    check_eq("EXPIRE XX with expiry", r.expire(k, 200, xx=True), True)
    check_eq("EXPIRE GT smaller", r.expire(k, 50, gt=True), False)
    check_eq("EXPIRE GT larger", r.expire(k, 300, gt=True), True)
    check_eq("EXPIRE LT larger", r.expire(k, 400, lt=True), False)
    check_eq("EXPIRE LT smaller", r.expire(k, 150, lt=True), True)
    t = r.ttl(k)
    check("TTL after EXPIRE", 148 <= t <= 150, repr(t))
    check_eq("PERSIST", r.persist(k), True)
    check_eq("PERSIST without expiry", r.persist(k), False)
    check_eq("PERSIST missing", r.persist(p + "missing"), False)
    check_eq("TTL after PERSIST", r.ttl(k), -1)
    check_eq("EXPIRE GT without expiry (infinite)", r.expire(k, 100, gt=True), False)
    check_eq("EXPIRE LT without expiry (infinite)", r.expire(k, 100, lt=True), True)
    check_eq("PEXPIRE", r.pexpire(k, 80000), True)
    t = r.pttl(k)
    check("PTTL after PEXPIRE", 78000 <= t <= 80000, repr(t))
    check_eq("EXPIREAT", r.expireat(k, int(time.time()) + 1000), True)
    t = r.ttl(k)
    check("TTL after EXPIREAT", 997 <= t <= 1000, repr(t))
    check_eq("PEXPIREAT", r.pexpireat(k, int(time.time() * 1000) + 500000), True)
    t = r.ttl(k)
    check("TTL after PEXPIREAT", 497 <= t <= 500, repr(t))
    try:
        r.execute_command("EXPIRE", k, "10", "BOGUS")
        check("EXPIRE with a bad option is an error", False, "accepted")
    except redis.ResponseError:
        check("EXPIRE with a bad option is an error", True)
    check_eq("EXPIREAT in the past", r.expireat(k, 1), True)
    check_eq("EXPIREAT in the past deletes", r.exists(k), 0)
    r.set(k, "v")
    r.expire(k, -5)
    check_eq("EXPIRE negative deletes", r.get(k), None)

    # KEYS, SCAN, TYPE
    for i in range(50):
        r.set(f"sc:{i}", str(i))
    r.set("scx:0", "not me")
    want = sorted(f"sc:{i}" for i in range(50))
    check_eq("KEYS pattern", sorted(r.keys("sc:*")), want)
    check_eq("KEYS ?-pattern", sorted(r.keys("sc:?")), sorted(f"sc:{i}" for i in range(10)))
    got = list(r.scan_iter(match="sc:*", count=7))
    check_eq("SCAN MATCH (scan_iter) finds every key", sorted(set(got)), want)
    check("SCAN MATCH returns no key twice (no rehash happened)", len(got) == len(set(got)), f"{len(got)} keys")
    all_keys = set(r.scan_iter(count=1000))
    check("SCAN without MATCH sees every KEYS key", all_keys == set(r.keys("*")), f"{len(all_keys)} keys")
    check_eq("TYPE string", r.type("sc:1"), "string")
    check_eq("TYPE none", r.type(p + "missing"), "none")

    # binary safety
    rb = srv.client()
    val = bytes(range(256))
    key = b"bin:\x00\xff\r\n key" + bytes(range(0, 256, 7))
    check_eq("SET binary", rb.set(key, val), True)
    check_eq("GET binary (all 256 byte values)", rb.get(key), val)
    check_eq("STRLEN binary", rb.strlen(key), 256)
    check_eq("MGET binary", rb.mget([key, b"bin:missing"]), [val, None])
    check_eq("APPEND binary", rb.append(key, b"\r\n\x00"), 259)
    check_eq("GET after APPEND binary", rb.get(key), val + b"\r\n\x00")
    check("KEYS finds the binary key", key in rb.keys(b"bin:*"), repr(rb.keys(b"bin:*")))
    big = bytes(random.Random(1).getrandbits(8) for _ in range(300000))
    rb.set(b"bin:big", big)
    check("GET of a 300 KB value", rb.get(b"bin:big") == big, "value differs")
    check_eq("empty value", (rb.set(b"bin:empty", b""), rb.get(b"bin:empty"), rb.strlen(b"bin:empty")),
             (True, b"", 0))
    rb.close()
    r.close()


# ---------------------------------------------------------------- pipelining

def test_pipeline(srv):
    r = srv.client(decode_responses=True)
    for i in range(50):
        r.set(f"pre:{i}", f"pre-{i}")
    r.delete("pl:ctr")
    pipe = r.pipeline(transaction=False)
    want = []
    ctr = 0
    for i in range(1000):
        m = i % 5
        if m == 0:
            pipe.set(f"pl:{i}", f"v{i}")
            want.append(True)
        elif m == 1:
            pipe.get(f"pre:{i % 50}")
            want.append(f"pre-{i % 50}")
        elif m == 2:
            ctr += 1
            pipe.incr("pl:ctr")
            want.append(ctr)
        elif m == 3:
            pipe.echo(f"e{i}")
            want.append(f"e{i}")
        else:
            pipe.exists(f"pre:{i % 50}", "pl:nothing")
            want.append(1)
    got = pipe.execute()
    check_eq("pipeline of 1000: reply count", len(got), 1000)
    bad = [(i, w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g]
    check("pipeline of 1000: replies in order", not bad, f"{len(bad)} differ, first {bad[:3]}")
    check_eq("pipeline writes landed", r.mget("pl:0", "pl:995", "pl:ctr"), ["v0", "v995", str(ctr)])

    # Read-your-writes inside one pipeline: a command must see the effect of
    # every earlier command of the same connection (Redis executes in order).
    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"ryw:{i}", f"x{i}")
        pipe.get(f"ryw:{i}")
        pipe.strlen(f"ryw:{i}")
        pipe.exists(f"ryw:{i}")
    got = pipe.execute()
    bad = [(i, got[4 * i + 1], got[4 * i + 2], got[4 * i + 3]) for i in range(100)
           if (got[4 * i + 1], got[4 * i + 2], got[4 * i + 3]) != (f"x{i}", len(f"x{i}"), 1)]
    check("pipelined SET k v; GET k; STRLEN k; EXISTS k sees the SET", not bad,
          f"{len(bad)}/100 wrong, first (i, GET, STRLEN, EXISTS) = {bad[:3]}")
    pipe = r.pipeline(transaction=False)
    pipe.set("ryw:del", "1")
    pipe.delete("ryw:del")
    pipe.get("ryw:del")
    pipe.mset({"ryw:m": "mv"})
    pipe.mget("ryw:m")
    pipe.incr("ryw:i")
    pipe.get("ryw:i")
    got = pipe.execute()
    check_eq("pipelined SET; DEL; GET sees the DEL, MSET; MGET and INCR; GET see the writes", got,
             [True, 1, None, True, ["mv"], 1, "1"])

    # 100 pipelined commands in one send() over a raw socket
    c = srv.raw()
    r.delete("raw:ctr")
    data = b""
    want = []
    for i in range(100):
        if i % 4 == 0:
            data += encode("ECHO", f"raw{i}")
            want.append(f"raw{i}".encode())
        elif i % 4 == 1:
            data += encode("INCR", "raw:ctr")
            want.append(i // 4 + 1)
        elif i % 4 == 2:
            data += encode("SET", f"raw:{i}", f"r{i}")
            want.append("OK")
        else:
            data += b"PING\r\n"
            want.append("PONG")
    c.send(data)
    got = [c.reply() for _ in range(100)]
    bad = [(i, w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g]
    check("raw socket: 100 pipelined commands in one send, replies in order", not bad,
          f"{len(bad)} differ, first {bad[:3]}")
    c.close()

    # a command split across many sends, byte by byte
    c = srv.raw()
    for b in encode("SET", "split", "a value sent byte by byte"):
        c.send(bytes([b]))
    check_eq("a command sent one byte at a time", c.reply(), "OK")
    check_eq("...and read back", c.command("GET", "split"), b"a value sent byte by byte")
    c.close()
    r.close()


# ---------------------------------------------------------------- inline and malformed

def test_inline(srv):
    c = srv.raw()
    c.send(b"PING\r\n")
    check_eq("inline PING", c.reply(), "PONG")
    c.send(b"SET inl:a b\r\n")
    check_eq("inline SET a b", c.reply(), "OK")
    c.send(b"GET inl:a\r\n")
    check_eq("inline GET", c.reply(), b"b")
    c.send(b'SET "inl:hello world" "x y  z"\r\n')
    check_eq("inline SET with quoted args", c.reply(), "OK")
    c.send(b'GET "inl:hello world"\r\n')
    check_eq("inline quoted args keep their spaces", c.reply(), b"x y  z")
    c.send(b'ECHO ""\r\n')
    check_eq("inline empty quoted arg", c.reply(), b"")
    c.send(b"  ECHO   spaced  \r\n")
    check_eq("inline extra spaces", c.reply(), b"spaced")
    c.send(b"ECHO\t\ttabbed\r\n")
    check_eq("inline tabs separate words", c.reply(), b"tabbed")
    c.send(b"\r\nPING\n")
    check_eq("inline: an empty line is skipped, a bare \\n ends a line", c.reply(), "PONG")
    # resp.cc says \" and \\ escapes work inside double quotes (Redis too)
    c.send(b'SET inl:q "a\\"b\\\\c"\r\n')
    rep = c.reply()
    check_eq('inline escaped quote: SET inl:q "a\\"b\\\\c"', rep, "OK")
    check_eq('inline escaped quote: value is a"b\\c', c.command("GET", "inl:q"), b'a"b\\c')
    c.close()


def test_malformed(srv):
    c = srv.raw()
    c.send(b"*1\r\n$abc\r\n")
    out, closed = c.read_until_close()
    check('"*1\\r\\n$abc\\r\\n" gets "-ERR Protocol error"', out.startswith(b"-ERR Protocol error"), repr(out))
    check('"*1\\r\\n$abc\\r\\n" closes the connection', closed, f"still open after {out!r}")
    c.close()
    for name, data in (("bulk not followed by CRLF", b"*2\r\n$4\r\nECHO\r\n$3\r\nabcXY"),
                       ("'$' expected", b"*2\r\n$4\r\nECHO\r\n:3\r\n"),
                       ("bad multibulk length", b"*x\r\n"),
                       ("unbalanced quotes", b'SET "a b\r\n'),
                       ("negative bulk length $-1", b"*1\r\n$-1\r\n"),
                       ("negative bulk length $-5", b"*1\r\n$-5\r\n")):
        c = srv.raw()
        c.send(data)
        out, closed = c.read_until_close(timeout=1.5)
        check(f"malformed ({name}): {data!r} gets -ERR Protocol error and a close",
              out.startswith(b"-ERR Protocol error") and closed, f"got {out!r}, closed={closed}")
        c.close()
    # Redis skips a multibulk of length <= 0 ("*-1", "*0") and goes on.
    for data in (b"*0\r\nPING\r\n", b"*-1\r\nPING\r\n"):
        c = srv.raw()
        c.send(data)
        out, closed = c.read_until_close(timeout=1.5)
        check(f"{data!r} is skipped and PING answered", out == b"+PONG\r\n" and not closed,
              f"got {out!r}, closed={closed}")
        c.close()
    c = srv.raw()
    check_eq("unknown command", c.command("NOSUCHCMD", "a").startswith("ERR unknown command"), True)
    check_eq("wrong arity", c.command("GET").startswith("ERR wrong number of arguments"), True)
    check_eq("still serves after errors", c.command("PING"), "PONG")
    c.close()
    r = srv.client()
    check_eq("the server still serves other clients after malformed input", r.ping(), True)
    r.close()


# ---------------------------------------------------------------- limits

def test_limits():
    srv = Server("limits", extra=["--requirepass", "secret", "--maxclients", "3",
                                  "--proto-max-bulk-len", "1024"]).start()
    try:
        a = srv.raw()
        check("NOAUTH before AUTH", str(a.command("GET", "x")).startswith("NOAUTH"), "")
        check("NOAUTH for SET before AUTH", str(a.command("SET", "x", "1")).startswith("NOAUTH"), "")
        rep = a.command("AUTH", "wrong")
        check("WRONGPASS on a bad password", isinstance(rep, Err) and rep.startswith("WRONGPASS"), repr(rep))
        rep = a.command("AUTH", "default", "wrong")
        check("WRONGPASS on a bad user/password", isinstance(rep, Err) and rep.startswith("WRONGPASS"), repr(rep))
        rep = a.command("AUTH", "someone", "secret")
        check("WRONGPASS on a bad user", isinstance(rep, Err) and rep.startswith("WRONGPASS"), repr(rep))
        check("still NOAUTH after bad AUTHs", str(a.command("GET", "x")).startswith("NOAUTH"), "")
        check_eq("AUTH secret", a.command("AUTH", "secret"), "OK")
        check_eq("SET after AUTH", a.command("SET", "x", "1"), "OK")
        check_eq("GET after AUTH", a.command("GET", "x"), b"1")

        b = srv.raw()
        rep = b.command("HELLO", "3")
        check("HELLO 3 without AUTH is NOAUTH", isinstance(rep, Err) and rep.startswith("NOAUTH"), repr(rep))
        b.send(encode("HELLO", "3", "AUTH", "default", "secret"))
        b._fill()
        check("HELLO 3 AUTH default secret replies a '%' map", b.buf.startswith(b"%"), repr(b.buf[:30]))
        rep = b.reply()
        check("HELLO 3 AUTH: proto 3", isinstance(rep, dict) and rep.get(b"proto") == 3, repr(rep))
        check_eq("authenticated by HELLO AUTH", b.command("GET", "x"), b"1")

        c = srv.raw()
        rep = c.command("HELLO", "3", "AUTH", "default", "nope")
        check("HELLO 3 AUTH with a bad password: WRONGPASS", isinstance(rep, Err) and rep.startswith("WRONGPASS"),
              repr(rep))
        check_eq("PING is NOAUTH", str(c.command("PING")).startswith("NOAUTH"), True)

        # three connections are open: the fourth is refused
        d = srv.raw()
        out, closed = d.read_until_close(timeout=3)
        check("a 4th connection gets '-ERR max number of clients reached'",
              out.startswith(b"-ERR max number of clients reached"), repr(out))
        check("a 4th connection is closed", closed, "")
        d.close()
        check_eq("the first 3 connections still work", (a.command("PING"), b.command("PING")), ("PONG", "PONG"))

        # proto-max-bulk-len 1024
        ok = a.command("SET", "b1024", b"x" * 1024)
        check_eq("a 1024-byte bulk is accepted", ok, "OK")
        check_eq("STRLEN of the 1024-byte value", a.command("STRLEN", "b1024"), 1024)
        a.send(encode("SET", "b1025", b"x" * 1025))
        out, closed = a.read_until_close(timeout=3)
        check("a 1025-byte bulk gets '-ERR Protocol error'", out.startswith(b"-ERR Protocol error"), repr(out[:80]))
        check("the connection is closed after it", closed, "")
        a.close()
        b.close()
        c.close()

        # after the closes, room again (the server notices asynchronously)
        ok = False
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not ok:
            try:
                r = srv.client(password="secret")
                ok = r.get("b1025") is None and r.get("x") == b"1"
                r.close()
            except redis.ConnectionError:
                time.sleep(0.1)
        check("after closes, new clients (redis-py with password) are served; 1025 bytes not written", ok, "")
        try:
            r = srv.client(password="bad")
            r.ping()
            check("redis-py with a bad password fails", False, "ping worked")
        except redis.AuthenticationError:
            check("redis-py with a bad password fails", True)
        except redis.ResponseError as e:
            check("redis-py with a bad password fails", "WRONGPASS" in str(e) or "invalid" in str(e), str(e))
    finally:
        srv.stop()


def test_protected_mode():
    d = os.path.join(ENV.work, "protected")
    args = [ENV.server, "--bind", "0.0.0.0", "--port", str(free_port()), "--dir", d]
    try:
        p = subprocess.run(args, capture_output=True, timeout=10)
        msg = (p.stderr + p.stdout).decode(errors="replace")
        check("--bind 0.0.0.0 without --requirepass exits non-zero", p.returncode != 0, f"rc={p.returncode}")
        check("...with a message about protected mode", "protected" in msg or "requirepass" in msg, repr(msg))
    except subprocess.TimeoutExpired:
        check("--bind 0.0.0.0 without --requirepass exits non-zero", False, "it kept running (killed after 10 s)")


# ---------------------------------------------------------------- durability

def test_sigterm():
    srv = Server("sigterm", extra=["--fsync", "periodic"]).start()
    r = srv.client(decode_responses=True)
    r.mset({f"st:{i}": f"v{i}" for i in range(200)})
    r.set("st:ttl", "t", ex=1000)
    idle = srv.raw()        # an idle client must not hold the shutdown back
    idle.command("PING")
    rc = srv.sigterm()
    check("SIGTERM: the server exits 0", rc == 0, f"exit status {rc}: {srv.log_tail()}")
    out, closed = idle.read_until_close(timeout=2)
    check("SIGTERM: an idle client is disconnected", closed, repr(out))
    idle.close()
    r.close()
    srv.start()
    r = srv.client(decode_responses=True)
    got = r.mget([f"st:{i}" for i in range(200)])
    check("SIGTERM: a restart keeps the data", got == [f"v{i}" for i in range(200)],
          f"{sum(1 for i, g in enumerate(got) if g != f'v{i}')} of 200 differ")
    t = r.ttl("st:ttl")
    check("SIGTERM: a restart keeps the TTL", 990 <= t <= 1000, repr(t))
    # SHUTDOWN as a command too
    try:
        r.execute_command("SHUTDOWN")
    except redis.ConnectionError:
        pass
    try:
        rc = srv.proc.wait(15)
    except subprocess.TimeoutExpired:
        rc = None
        srv.kill9()
    check("SHUTDOWN: the server exits 0", rc == 0, f"exit status {rc}")
    r.close()
    srv.stop()


# ---------------------------------------------------------------- redis-benchmark

def test_benchmark(srv):
    r = srv.client(decode_responses=True)
    r.delete("counter:__rand_int__")
    p = subprocess.run(["redis-benchmark", "-p", str(srv.port), "-n", "2000", "-c", "10", "-P", "4",
                        "-t", "set,get,incr", "-q", "--csv"], capture_output=True, timeout=60)
    out = p.stdout.decode(errors="replace")
    check("redis-benchmark exits 0", p.returncode == 0, f"rc={p.returncode} {p.stderr.decode(errors='replace')}")
    rows = {}
    for line in out.splitlines():
        cells = [x.strip('"') for x in line.split(",")]
        if len(cells) >= 2 and cells[0] != "test":
            rows[cells[0]] = cells[1]
    for t in ("SET", "GET", "INCR"):
        v = rows.get(t)
        try:
            ok = v is not None and float(v) > 0
        except ValueError:
            ok = False
        check(f"redis-benchmark reports a number for {t}", ok, f"row {v!r} in {out!r}")
    check_eq("redis-benchmark: 2000 INCRs counted", r.get("counter:__rand_int__"), "2000")
    check_eq("redis-benchmark: SET wrote its 3-byte value", r.strlen("key:__rand_int__"), 3)
    check_eq("server answers after redis-benchmark", r.ping(), True)
    r.close()


# ---------------------------------------------------------------- pub/sub

def test_pubsub(srv):
    r = srv.client(decode_responses=True)
    exact = r.pubsub()
    exact.subscribe("news.eu")
    pat = r.pubsub()
    pat.psubscribe("news.#")
    star = r.pubsub()
    star.psubscribe("news.*")

    def next_data(ps, timeout=3.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = ps.get_message(timeout=0.2)
            if m and m["type"] in ("message", "pmessage"):
                return m
        return None

    for ps in (exact, pat, star):  # the confirmations
        m = ps.get_message(timeout=2)
        check("subscribe is confirmed", m is not None and m["type"] in ("subscribe", "psubscribe"), repr(m))
    check_eq("PUBLISH reaches the channel and both patterns", r.publish("news.eu", "hello"), 3)
    check_eq("PUBLISH to a deeper topic reaches only '#'", r.publish("news.eu.west", "deep"), 1)
    check_eq("PUBLISH with no subscriber", r.publish("sports", "x"), 0)
    m = next_data(exact)
    check("SUBSCRIBE delivers", m is not None and m["channel"] == "news.eu" and m["data"] == "hello", repr(m))
    m = next_data(pat)
    check("PSUBSCRIBE '#' delivers with its pattern", m is not None and m["pattern"] == "news.#" and
          m["channel"] == "news.eu" and m["data"] == "hello", repr(m))
    m = next_data(pat)
    check("'#' matches several levels", m is not None and m["channel"] == "news.eu.west", repr(m))
    m = next_data(star)
    check("'*' matches one level", m is not None and m["channel"] == "news.eu", repr(m))
    check("'*' does not match two levels", next_data(star, 0.5) is None)
    check_eq("PUBSUB NUMSUB", r.pubsub_numsub("news.eu", "none"), [("news.eu", 1), ("none", 0)])
    check_eq("PUBSUB NUMPAT", r.pubsub_numpat(), 2)
    check("PUBSUB CHANNELS", "news.eu" in r.pubsub_channels(), repr(r.pubsub_channels()))
    # RESP2 subscribed mode refuses other commands.
    c = srv.raw()
    c.command("SUBSCRIBE", "a.b")
    rep = c.command("GET", "x")
    check("RESP2 subscribed mode refuses GET", isinstance(rep, Err) and "only" in str(rep), repr(rep))
    c.close()
    exact.unsubscribe("news.eu")
    time.sleep(0.2)
    check_eq("UNSUBSCRIBE stops delivery", r.publish("news.eu", "after"), 2)
    for ps in (exact, pat, star):
        ps.close()
    time.sleep(0.2)
    check_eq("closed connections drop their subscriptions", r.publish("news.eu", "gone"), 0)
    check_eq("PUBSUB NUMPAT after close", r.pubsub_numpat(), 0)


# ---------------------------------------------------------------- streams

def test_streams(srv):
    r = srv.client(decode_responses=True)
    ids = [r.xadd("orders", {"item": f"i{n}", "qty": str(n)}) for n in range(5)]
    check_eq("XADD ids follow offsets", ids, ["1-0", "2-0", "3-0", "4-0", "5-0"])
    check_eq("XLEN", r.xlen("orders"), 5)
    check_eq("XLEN of a missing stream", r.xlen("nosuch"), 0)
    rng = r.xrange("orders")
    check_eq("XRANGE - + ids", [e[0] for e in rng], ids)
    check_eq("XRANGE fields", rng[2][1], {"item": "i2", "qty": "2"})
    check_eq("XRANGE start end COUNT", [e[0] for e in r.xrange("orders", "2-0", "4-0", count=2)], ["2-0", "3-0"])
    check_eq("XRANGE exclusive start", [e[0] for e in r.xrange("orders", "(2-0", "+")], ["3-0", "4-0", "5-0"])
    check_eq("XREVRANGE COUNT", [e[0] for e in r.xrevrange("orders", count=2)], ["5-0", "4-0"])
    got = r.xread({"orders": "3-0"})
    check("XREAD after an id", got and got[0][0] == "orders" and [e[0] for e in got[0][1]] == ["4-0", "5-0"], repr(got))
    check_eq("XREAD from 0 with COUNT", [e[0] for e in r.xread({"orders": "0"}, count=2)[0][1]], ["1-0", "2-0"])
    check("XREAD at the end is nil", not r.xread({"orders": "5-0"}), "")
    for bad in (["XADD", "orders", "7-0", "a", "b"], ["XADD", "../x", "*", "a", "b"], ["XADD", "orders", "*", "a"],
                ["XRANGE", "orders", "x", "+"]):
        try:
            r.execute_command(*bad)
            check(f"{bad} is refused", False, "no error")
        except redis.ResponseError as e:
            check(f"{bad} is refused", "ERR" in str(e) or str(e), str(e))
    # XREAD BLOCK: times out with nil; wakes as soon as another client adds.
    t0 = time.monotonic()
    got = r.xread({"orders": "$"}, block=300)
    took = time.monotonic() - t0
    check("XREAD BLOCK times out with nil", not got and took >= 0.25, f"{got!r} after {took:.2f} s")
    result = {}

    def blocked_reader():
        rr = srv.client(decode_responses=True)
        result["got"] = rr.xread({"orders": "$"}, block=5000)
        result["at"] = time.monotonic()

    th = threading.Thread(target=blocked_reader)
    th.start()
    time.sleep(0.3)
    added_at = time.monotonic()
    new_id = r.xadd("orders", {"late": "yes"})
    th.join(6)
    got = result.get("got")
    check("XREAD BLOCK wakes on XADD", got and got[0][1][0][0] == new_id and got[0][1][0][1] == {"late": "yes"},
          repr(got))
    check("... promptly", "at" in result and result["at"] - added_at < 2.0, repr(result.get("at")))
    # Pipelined XADDs keep their order and a read after them sees them all.
    c = srv.raw()
    c.send(b"".join(encode("XADD", "p", "*", "n", str(n)) for n in range(50)) + encode("XLEN", "p"))
    reps = [c.reply() for _ in range(51)]
    check_eq("pipelined XADD ids", reps[:50], [f"{n + 1}-0".encode() for n in range(50)])
    check_eq("XLEN after pipelined XADDs", reps[50], 50)
    c.close()


# ---------------------------------------------------------------- main

SECTIONS = [
    ("connection", test_connection, True),
    ("kv", test_kv, True),
    ("pipelining", test_pipeline, True),
    ("inline commands", test_inline, True),
    ("malformed input", test_malformed, True),
    ("pub/sub", test_pubsub, True),
    ("streams", test_streams, True),
    ("redis-benchmark", test_benchmark, True),
    ("limits", test_limits, False),
    ("protected mode", test_protected_mode, False),
    ("SIGTERM", test_sigterm, False),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
