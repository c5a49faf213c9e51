"""synap-server end to end: Redis consumer groups (XGROUP, XREADGROUP, XACK,
XPENDING) over Synap groups, with redis-py and raw RESP.

  create / destroy / BUSYGROUP / NOGROUP, CREATECONSUMER / DELCONSUMER /
  SETID; delivery to two consumers without overlap; the pending entries
  (summary and extended XPENDING, IDLE, per consumer); XACK counts;
  re-reading a consumer's own pending entries with an ID; NOACK; RESP3;
  XREADGROUP BLOCK woken by another connection's XADD, timing out, and two
  consumers blocked on one group; malformed arguments; the consumer limit,
  and a read over two keys whose second is refused changing neither;
  blocked XREAD / XREADGROUP giving their wake-up registrations back (timed
  out, connection closed, woken by another key: synap-readable-waiters
  returns to 0); XREAD BLOCK on a key that does not exist yet woken by its
  first XADD; a restart (SIGTERM, start) redelivering every entry from the
  committed offset (the lowest unacknowledged one) on, and nothing before
  it; XGROUP DESTROY racing another connection's XREADGROUPs not bringing
  the group back, before or after a restart.

Usage: server_stream_group_test.py <path to synap-server>
"""
import sys
import threading
import time

import redis

from harness import Err, Server, check, check_eq, encode, run


def ids_of(reply, key):
    """The entry IDs XREADGROUP returned for `key` (redis-py's RESP2 shape)."""
    for k, entries in reply or []:
        if k == key:
            return [e[0] for e in entries]
    return []


def raw_err(conn, *args):
    """The error text a raw command got, or '' when it did not fail."""
    rep = conn.command(*args)
    return str(rep) if isinstance(rep, Err) else ""


# ---------------------------------------------------------------- sections

def test_create_destroy(srv):
    r = srv.client(decode_responses=True)
    c = srv.raw()
    err = raw_err(c, "XGROUP", "CREATE", "nokey", "g", "$")
    check("CREATE on a missing key is refused", err.startswith("ERR The XGROUP subcommand requires the key to exist"),
          err)
    check_eq("... and creates nothing", r.exists("nokey") + r.xlen("nokey"), 0)
    check("CREATE MKSTREAM", r.xgroup_create("cd", "g", id="$", mkstream=True) is True)
    check_eq("MKSTREAM made an empty stream", r.xlen("cd"), 0)
    check_eq("a second CREATE is BUSYGROUP", raw_err(c, "XGROUP", "CREATE", "cd", "g", "$"),
             "BUSYGROUP Consumer Group name already exists")
    check_eq("... also with MKSTREAM", raw_err(c, "XGROUP", "CREATE", "cd", "g", "0", "MKSTREAM"),
             "BUSYGROUP Consumer Group name already exists")
    for n in range(5):
        r.xadd("cd", {"n": str(n)})
    # Where a group starts: 0 = the first entry, an ID = after it, $ = the end.
    r.xgroup_create("cd", "from0", id="0")
    r.xgroup_create("cd", "after2", id="2-0")
    r.xgroup_create("cd", "atend", id="$", entries_read=5)
    r.xgroup_create("cd", "beyond", id="99-0")  # placed at the end (a Synap group cannot be past it)
    check_eq("group at 0 reads from the first entry", ids_of(r.xreadgroup("from0", "c", {"cd": ">"}), "cd"),
             ["1-0", "2-0", "3-0", "4-0", "5-0"])
    check_eq("group at 2-0 reads after it", ids_of(r.xreadgroup("after2", "c", {"cd": ">"}), "cd"),
             ["3-0", "4-0", "5-0"])
    check("group at $ has nothing yet", not r.xreadgroup("atend", "c", {"cd": ">"}))
    check("group past the end has nothing yet", not r.xreadgroup("beyond", "c", {"cd": ">"}))
    r.xadd("cd", {"n": "5"})
    check_eq("... and gets what comes next", ids_of(r.xreadgroup("atend", "c", {"cd": ">"}), "cd"), ["6-0"])
    check_eq("... the one placed past the end too", ids_of(r.xreadgroup("beyond", "c", {"cd": ">"}), "cd"), ["6-0"])

    # CREATECONSUMER / DELCONSUMER / SETID
    check_eq("CREATECONSUMER new", r.xgroup_createconsumer("cd", "from0", "zed"), 1)
    check_eq("CREATECONSUMER again", r.xgroup_createconsumer("cd", "from0", "zed"), 0)
    check_eq("DELCONSUMER drops its pending entries", r.xgroup_delconsumer("cd", "from0", "c"), 5)
    check_eq("... which are no longer pending", r.xpending("cd", "from0")["pending"], 0)
    check_eq("DELCONSUMER of nobody", r.xgroup_delconsumer("cd", "from0", "nobody"), 0)
    check_eq("CREATECONSUMER on a missing group",
             raw_err(c, "XGROUP", "CREATECONSUMER", "cd", "nog", "x"),
             "NOGROUP No such consumer group 'nog' for key name 'cd'")
    check("SETID back to 0", r.xgroup_setid("cd", "from0", "0") is True)
    check_eq("... redelivers from the first entry", ids_of(r.xreadgroup("from0", "d", {"cd": ">"}, count=2), "cd"),
             ["1-0", "2-0"])
    check("SETID $", r.xgroup_setid("cd", "from0", "$") is True)
    check("... skips to the end", not r.xreadgroup("from0", "d", {"cd": ">"}))

    check_eq("DESTROY an existing group", r.xgroup_destroy("cd", "after2"), 1)
    check_eq("DESTROY it again", r.xgroup_destroy("cd", "after2"), 0)
    check_eq("DESTROY a group never made", r.xgroup_destroy("cd", "never"), 0)
    err = raw_err(c, "XGROUP", "DESTROY", "nokey", "g")
    check("DESTROY on a missing key is refused", err.startswith("ERR The XGROUP subcommand requires the key"), err)
    check_eq("XREADGROUP on the destroyed group is NOGROUP",
             raw_err(c, "XREADGROUP", "GROUP", "after2", "c", "STREAMS", "cd", ">"),
             "NOGROUP No such key 'cd' or consumer group 'after2' in XREADGROUP with GROUP option")
    check_eq("XREADGROUP on a missing key is NOGROUP",
             raw_err(c, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "nokey", ">"),
             "NOGROUP No such key 'nokey' or consumer group 'g' in XREADGROUP with GROUP option")
    check_eq("XPENDING on a missing group is NOGROUP", raw_err(c, "XPENDING", "cd", "after2"),
             "NOGROUP No such key 'cd' or consumer group 'after2'")
    check_eq("XACK on a missing group is 0", r.xack("cd", "after2", "1-0"), 0)
    check_eq("XACK on a missing key is 0", r.xack("nokey", "g", "1-0"), 0)
    check("a destroyed group can be created again", r.xgroup_create("cd", "after2", id="0") is True)
    check_eq("... afresh, with nothing pending", r.xpending("cd", "after2")["pending"], 0)
    check_eq("... reading from its new start", len(ids_of(r.xreadgroup("after2", "c", {"cd": ">"}), "cd")), 6)
    c.close()


def test_delivery(srv):
    r = srv.client(decode_responses=True)
    for n in range(10):
        r.xadd("dl", {"n": str(n)})
    r.xgroup_create("dl", "g", id="0")
    alice, bob = [], []
    while True:  # the two consumers take turns, three entries at a time
        a = ids_of(r.xreadgroup("g", "alice", {"dl": ">"}, count=3), "dl")
        b = ids_of(r.xreadgroup("g", "bob", {"dl": ">"}, count=3), "dl")
        alice += a
        bob += b
        if not a and not b:
            break
    everything = [f"{n}-0" for n in range(1, 11)]
    check("two consumers get disjoint entries", not set(alice) & set(bob), f"{alice} / {bob}")
    check_eq("... and together every entry once, in order", sorted(alice + bob, key=lambda i: int(i[:-2])),
             everything)
    check_eq("alice's share", alice, ["1-0", "2-0", "3-0", "7-0", "8-0", "9-0"])

    p = r.xpending("dl", "g")
    check_eq("XPENDING summary count", p["pending"], 10)
    check_eq("XPENDING summary min / max", (p["min"], p["max"]), ("1-0", "10-0"))
    check_eq("XPENDING summary per consumer", sorted((x["name"], x["pending"]) for x in p["consumers"]),
             [("alice", 6), ("bob", 4)])
    rng = r.xpending_range("dl", "g", "-", "+", 100)
    check_eq("XPENDING range: every entry in ID order", [x["message_id"] for x in rng], everything)
    check_eq("XPENDING range: owners", {x["message_id"]: x["consumer"] for x in rng}["4-0"], "bob")
    check("XPENDING range: delivered once each", all(x["times_delivered"] == 1 for x in rng), repr(rng))
    check("XPENDING range: idle times are small and not negative",
          all(0 <= x["time_since_delivered"] < 60000 for x in rng), repr(rng))
    check_eq("XPENDING range with a consumer",
             [x["message_id"] for x in r.xpending_range("dl", "g", "-", "+", 100, consumername="bob")],
             ["4-0", "5-0", "6-0", "10-0"])
    check_eq("XPENDING range with start, end, count",
             [x["message_id"] for x in r.xpending_range("dl", "g", "3-0", "8-0", 3)], ["3-0", "4-0", "5-0"])
    check_eq("XPENDING range with exclusive bounds",
             [x["message_id"] for x in r.xpending_range("dl", "g", "(3-0", "(6-0", 10)], ["4-0", "5-0"])
    check_eq("XPENDING range of an unknown consumer",
             r.xpending_range("dl", "g", "-", "+", 10, consumername="nobody"), [])
    check_eq("XPENDING IDLE far in the future matches nothing",
             r.xpending_range("dl", "g", "-", "+", 10, idle=3600000), [])
    check_eq("XPENDING IDLE 0 matches everything",
             len(r.xpending_range("dl", "g", "-", "+", 100, idle=0)), 10)
    check_eq("XPENDING count 0", r.xpending_range("dl", "g", "-", "+", 0), [])

    # XACK: counts only what was pending.
    check_eq("XACK three of alice's, one unknown, one not an entry", r.xack("dl", "g", "1-0", "2-0", "8-0", "77-0",
                                                                          "3-5"), 3)
    check_eq("XACK the same again", r.xack("dl", "g", "1-0", "2-0"), 0)
    check_eq("XACK one of bob's", r.xack("dl", "g", "4-0"), 1)
    p = r.xpending("dl", "g")
    check_eq("XPENDING after XACK", (p["pending"], p["min"], p["max"]), (6, "3-0", "10-0"))

    # A consumer reads its own pending entries again with an ID.
    got = r.xreadgroup("g", "alice", {"dl": "0"})
    check_eq("alice re-reads her pending entries from 0", ids_of(got, "dl"), ["3-0", "7-0", "9-0"])
    check_eq("... with their fields", got[0][1][0][1], {"n": "2"})
    check_eq("... after an ID", ids_of(r.xreadgroup("g", "alice", {"dl": "3-0"}), "dl"), ["7-0", "9-0"])
    check_eq("... with COUNT", ids_of(r.xreadgroup("g", "alice", {"dl": "0"}, count=1), "dl"), ["3-0"])
    times = {x["message_id"]: x["times_delivered"] for x in r.xpending_range("dl", "g", "-", "+", 100)}
    check_eq("re-reading counts deliveries", (times["3-0"], times["7-0"], times["9-0"], times["5-0"]), (3, 3, 3, 1))
    got = r.xreadgroup("g", "alice", {"dl": "9-0"})
    check_eq("history past the last pending entry: the key with no entries", got, [["dl", []]])
    check_eq("a consumer with nothing pending", r.xreadgroup("g", "carol", {"dl": "0"}), [["dl", []]])

    # NOACK: delivered, never pending.
    r.xadd("dl", {"n": "10"})
    r.xadd("dl", {"n": "11"})
    got = r.xreadgroup("g", "alice", {"dl": ">"}, noack=True)
    check_eq("NOACK delivers", ids_of(got, "dl"), ["11-0", "12-0"])
    check_eq("... without making them pending", r.xpending("dl", "g")["pending"], 6)

    # RESP3: a map of key -> entries; the nil entry shape and summary nils over raw RESP.
    c = srv.raw()
    c.command("HELLO", "3")
    r.xadd("dl", {"n": "12"})
    rep = c.command("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "dl", ">")
    check_eq("RESP3 XREADGROUP is a map", rep, {b"dl": [[b"13-0", [b"n", b"12"]]]})
    check_eq("RESP3 nothing new is a null", c.command("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "dl", ">"), None)
    c.close()
    r.xgroup_create("dl", "empty", id="$")
    c = srv.raw()
    check_eq("XPENDING summary of an empty group (RESP2)", c.command("XPENDING", "dl", "empty"), [0, None, None, None])
    c.close()

    # Two keys in one call; one of them with nothing new is left out.
    r.xadd("dl2", {"x": "1"})
    r.xgroup_create("dl2", "g", id="0")
    got = r.xreadgroup("g", "bob", {"dl": ">", "dl2": ">"})
    check_eq("two keys: only the one with entries answers", [k for k, _ in got], ["dl2"])


def test_blocking(srv):
    r = srv.client(decode_responses=True)
    r.xgroup_create("bl", "g", id="$", mkstream=True)
    t0 = time.monotonic()
    got = r.xreadgroup("g", "c", {"bl": ">"}, block=300)
    took = time.monotonic() - t0
    check("BLOCK times out with nil", got is None or got == [], repr(got))
    check("... not before its time", took >= 0.25, f"{took:.2f} s")

    result = {}

    def blocked(name, consumer):
        rr = srv.client(decode_responses=True, socket_timeout=30)
        result[name] = rr.xreadgroup("g", consumer, {"bl": ">"}, block=20000)

    th = threading.Thread(target=blocked, args=("one", "c1"))
    th.start()
    time.sleep(0.3)
    new_id = r.xadd("bl", {"late": "yes"})
    th.join(25)
    got = result.get("one")
    check_eq("BLOCK is woken by another connection's XADD", ids_of(got, "bl"), [new_id])
    check_eq("... and the entry is pending for it", r.xpending("bl", "g")["consumers"], [{"name": "c1", "pending": 1}])

    # Two consumers blocked on one group: one XADD wakes both; the one that
    # finds nothing left waits on (it must not answer nil early).
    ths = [threading.Thread(target=blocked, args=(f"b{i}", f"w{i}")) for i in range(2)]
    for t in ths:
        t.start()
    time.sleep(0.3)
    first = r.xadd("bl", {"k": "1"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not ("b0" in result or "b1" in result):
        time.sleep(0.02)
    time.sleep(0.3)
    check("one XADD answers exactly one of two blocked consumers", ("b0" in result) != ("b1" in result),
          repr(result))
    second = r.xadd("bl", {"k": "2"})
    for t in ths:
        t.join(25)
    got = sorted(ids_of(result.get("b0"), "bl") + ids_of(result.get("b1"), "bl"), key=lambda i: int(i[:-2]))
    check_eq("... and the next XADD the other", got, [first, second])

    # A blocked XREADGROUP on a key with a history ID does not block.
    check_eq("a history read never blocks", r.xreadgroup("g", "nobody", {"bl": "0"}, block=5000), [["bl", []]])


def test_malformed(srv):
    c = srv.raw()
    r = srv.client(decode_responses=True)
    r.xadd("mf", {"a": "1"})
    r.xgroup_create("mf", "g", id="0")
    cases = [
        (("XGROUP",), "ERR wrong number of arguments for 'xgroup' command"),
        (("XGROUP", "CREATE", "mf"), "ERR wrong number of arguments for 'xgroup|create' command"),
        (("XGROUP", "CREATE", "mf", "g2", "0", "MKSTREAM", "ENTRIESREAD", "1", "x"),
         "ERR wrong number of arguments for 'xgroup|create' command"),
        (("XGROUP", "DESTROY", "mf"), "ERR wrong number of arguments for 'xgroup|destroy' command"),
        (("XGROUP", "FROB", "mf", "g"), "ERR unknown subcommand 'FROB'. Try XGROUP HELP."),
        (("XGROUP", "CREATE", "mf", "g2", "abc"), "ERR Invalid stream ID specified as stream command argument"),
        (("XGROUP", "CREATE", "mf", "g2", "1-x"), "ERR Invalid stream ID specified as stream command argument"),
        (("XGROUP", "CREATE", "mf", "g2", "0", "BOGUS"), "ERR syntax error"),
        (("XGROUP", "CREATE", "mf", "g2", "0", "ENTRIESREAD", "-5"),
         "ERR value for ENTRIESREAD must be positive or -1"),
        (("XGROUP", "SETID", "mf", "g", "0", "ENTRIESREAD"), "ERR syntax error"),
        (("XACK", "mf", "g"), "ERR wrong number of arguments for 'xack' command"),
        (("XACK", "mf", "g", "1-0", "nope"), "ERR Invalid stream ID specified as stream command argument"),
        (("XPENDING", "mf"), "ERR wrong number of arguments for 'xpending' command"),
        (("XPENDING", "mf", "g", "-", "+"), "ERR syntax error"),
        (("XPENDING", "mf", "g", "-", "+", "ten"), "ERR value is not an integer or out of range"),
        (("XPENDING", "mf", "g", "x", "+", "10"), "ERR Invalid stream ID specified as stream command argument"),
        (("XPENDING", "mf", "g", "IDLE", "soon", "-", "+", "10"), "ERR value is not an integer or out of range"),
        (("XPENDING", "mf", "g", "IDLE", "10"), "ERR syntax error"),
        (("XREADGROUP", "GROUP", "g", "c", "STREAMS", "mf"),
         "ERR wrong number of arguments for 'xreadgroup' command"),
        (("XREADGROUP", "GROUP", "g", "c", "STREAMS", "mf", "mf2", ">"),
         "ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified."),
        (("XREADGROUP", "COUNT", "1", "BLOCK", "1", "STREAMS", "mf", ">"), "ERR Missing GROUP option for XREADGROUP"),
        (("XREADGROUP", "GROUP", "g", "c", "COUNT", "-1", "STREAMS", "mf", ">"),
         "ERR value is not an integer or out of range"),
        (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "-1", "STREAMS", "mf", ">"),
         "ERR timeout is not an integer or out of range"),
        (("XREADGROUP", "GROUP", "g", "c", "FAST", "STREAMS", "mf", ">"), "ERR syntax error"),
        (("XREADGROUP", "GROUP", "g", "c", "STREAMS", "mf", "zz"),
         "ERR Invalid stream ID specified as stream command argument"),
        (("XREADGROUP", "GROUP", "g", "c", "STREAMS", "mf", "$"),
         "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer "
         "by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty "
         "result set."),
    ]
    for args, want in cases:
        check_eq(f"{' '.join(args)[:60]} is refused", raw_err(c, *args), want)
    err = raw_err(c, "XREADGROUP", "GROUP", "g", "c" * 256, "STREAMS", "mf", ">")
    check("a 256-byte consumer name is refused", "255 bytes" in err, err)
    check("a 255-byte consumer name is fine", not raw_err(c, "XREADGROUP", "GROUP", "g", "c" * 255, "STREAMS", "mf",
                                                        ">"))
    err = raw_err(c, "XGROUP", "CREATE", "mf", "g" * 256, "0")
    check("a 256-byte group name is refused", err.startswith("ERR") and "255" in err, err)
    err = raw_err(c, "XGROUP", "CREATE", "mf", "a\0b", "0")
    check("a group name with NUL is refused", err.startswith("ERR") and "NUL" in err, err)
    err = raw_err(c, "XGROUP", "CREATE", "../x", "g", "0", "MKSTREAM")
    check("a bad key name is refused", err.startswith("ERR"), err)
    check("XGROUP HELP", isinstance(c.command("XGROUP", "HELP"), list))
    check_eq("the connection still works", c.command("PING"), "PONG")
    check_eq("nothing was created by the refused commands", r.xpending("mf", "g")["pending"], 1)
    c.close()


def test_consumer_limit(srv):
    """StreamGroups::kMaxConsumersPerGroup (10,000) consumers, then a clear error."""
    r = srv.client(decode_responses=True)
    r.xgroup_create("lim", "g", id="$", mkstream=True)
    c = srv.raw(timeout=60)
    n = 10000
    c.send(b"".join(encode("XGROUP", "CREATECONSUMER", "lim", "g", f"c{i}") for i in range(n)))
    reps = [c.reply() for _ in range(n)]
    check_eq("10,000 consumers are created", sum(1 for x in reps if x == 1), n)
    err = raw_err(c, "XGROUP", "CREATECONSUMER", "lim", "g", "one-more")
    check("the next consumer is refused, naming the limit", "10000 consumers" in err, err)
    err = raw_err(c, "XREADGROUP", "GROUP", "g", "one-more", "STREAMS", "lim", ">")
    check("... also by XREADGROUP", "10000 consumers" in err, err)
    check_eq("an existing consumer still reads", c.command("XREADGROUP", "GROUP", "g", "c5", "STREAMS", "lim", ">"),
             None)

    # A read over two keys whose second refuses the consumer changes neither:
    # no entry of the first becomes pending unsent, no consumer joins it.
    for n in range(3):
        r.xadd("lim0", {"n": str(n)})
    r.xgroup_create("lim0", "g", id="0")
    err = raw_err(c, "XREADGROUP", "GROUP", "g", "one-more", "STREAMS", "lim0", "lim", ">", ">")
    check("two keys, the second refusing the consumer: the error", "10000 consumers" in err, err)
    check_eq("... the first key's group delivered nothing",
             [(x["name"], x["pending"], x["entries-read"], x["consumers"]) for x in r.xinfo_groups("lim0")],
             [("g", 0, 0, 0)])
    err = raw_err(c, "XREADGROUP", "GROUP", "g", "one-more", "NOACK", "STREAMS", "lim0", "lim", ">", ">")
    check("... also with NOACK (nothing would stay pending to show it)", "10000 consumers" in err, err)
    check_eq("... whose cursor did not move", r.xinfo_groups("lim0")[0]["last-delivered-id"], "0-0")
    err = raw_err(c, "XREADGROUP", "GROUP", "g", "one-more", "STREAMS", "lim0", "nokey", ">", ">")
    check("a missing second key: NOGROUP", err.startswith("NOGROUP No such key 'nokey'"), err)
    check_eq("... and the first key's group is untouched", r.xinfo_groups("lim0")[0]["pending"], 0)
    got = r.xreadgroup("g", "c5", {"lim0": ">", "lim": ">"})
    check_eq("an existing consumer reads both keys", ids_of(got, "lim0"), ["1-0", "2-0", "3-0"])

    check_eq("DELCONSUMER makes room", c.command("XGROUP", "DELCONSUMER", "lim", "g", "c0"), 0)
    check_eq("... for one more", c.command("XGROUP", "CREATECONSUMER", "lim", "g", "one-more"), 1)
    c.close()


def waiters(r, key):
    """How many blocked readers' wake-ups are registered on `key` (libsynap's count)."""
    return r.xinfo_stream(key)["synap-readable-waiters"]


def wait_for(what, fn, want, timeout=15):
    """Polls fn() until it returns want (a hang fails after `timeout` s; never a pass by time)."""
    deadline = time.monotonic() + timeout
    got = fn()
    while got != want and time.monotonic() < deadline:
        time.sleep(0.01)
        got = fn()
    return check_eq(what, got, want)


def test_block_registrations(srv):
    """Every blocked XREAD / XREADGROUP gives its wake-ups back: on a timeout,
    on a closed connection, and, for the keys that did not wake it, when
    another key did."""
    r = srv.client(decode_responses=True)
    r.xgroup_create("quiet", "g", id="$", mkstream=True)
    r.xgroup_create("quiet2", "g", id="$", mkstream=True)
    conns = [srv.raw(timeout=60) for _ in range(16)]
    per_conn = 8
    one = (encode("XREAD", "BLOCK", "1", "STREAMS", "quiet", "quiet2", "$", "$") +
           encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "1", "STREAMS", "quiet", "quiet2", ">", ">") +
           encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "1", "STREAMS", "quiet", ">"))
    for c in conns:
        c.send(one * per_conn)
    replies = [c.reply() for c in conns for _ in range(3 * per_conn)]
    check_eq("every BLOCK on the quiet streams timed out with nil", [x for x in replies if x is not None], [])
    check_eq("... and gave every wake-up back", (waiters(r, "quiet"), waiters(r, "quiet2")), (0, 0))
    for c in conns:
        c.close()

    # One blocked without a deadline is counted; closing its connection gives it back.
    c = srv.raw(timeout=30)
    c.send(encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "quiet", ">"))
    wait_for("a blocked XREADGROUP is one wake-up", lambda: waiters(r, "quiet"), 1)
    c.close()
    wait_for("... given back when its connection closes", lambda: waiters(r, "quiet"), 0)

    # Woken by one key: the other key's wake-up goes at once, for XREAD and XREADGROUP.
    for cmd in (("XREAD", "BLOCK", "0", "STREAMS", "quiet", "quiet2", "$", "$"),
                ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "quiet", "quiet2", ">", ">")):
        r.xgroup_setid("quiet2", "g", "$")  # past the entry the round before added
        c = srv.raw(timeout=30)
        c.send(encode(*cmd))
        wait_for(f"{cmd[0]} blocked on two keys: a wake-up on each",
                 lambda: (waiters(r, "quiet"), waiters(r, "quiet2")), (1, 1))
        new_id = r.xadd("quiet2", {"wake": "up"})
        got = c.reply()
        check_eq(f"{cmd[0]}: woken by the second key", got, [[b"quiet2", [[new_id.encode(), [b"wake", b"up"]]]]])
        check_eq(f"{cmd[0]}: ... and the first key's wake-up is gone", (waiters(r, "quiet"), waiters(r, "quiet2")),
                 (0, 0))
        c.close()


def test_block_new_key(srv):
    """XREAD BLOCK on a key that does not exist yet waits for it (as Redis)."""
    r = srv.client(decode_responses=True)
    r.xadd("anchor", {"a": "1"})
    c = srv.raw(timeout=30)
    # newkey first: once anchor's wake-up is registered, newkey's is too.
    c.send(encode("XREAD", "BLOCK", "10000", "STREAMS", "newkey", "anchor", "$", "$"))
    wait_for("the XREAD is blocked", lambda: waiters(r, "anchor"), 1)
    check_eq("waiting made no stream", r.exists("newkey") + r.xlen("newkey"), 0)
    new_id = r.xadd("newkey", {"hello": "world"})
    check_eq("XADD of the new key from another connection wakes it", c.reply(),
             [[b"newkey", [[new_id.encode(), [b"hello", b"world"]]]]])
    check_eq("... and anchor's wake-up is given back", waiters(r, "anchor"), 0)
    c.close()
    got = r.xread({"never": "$"}, block=50)
    check("a BLOCK on a key that never comes times out with nil", not got, repr(got))


def test_destroy_race():
    """XGROUP DESTROY while another connection's XREADGROUPs run (NOACK, so
    each moves the group's commit): no read loads the group again before the
    delete is durable, so nothing commits after it, and the group stays
    destroyed, also across a restart."""
    srv = Server("destroy-race")
    srv.start()
    try:
        r = srv.client(decode_responses=True)
        p = r.pipeline(transaction=False)
        for n in range(3000):
            p.xadd("dr", {"n": str(n)})
        p.execute()
        rounds, batch = 16, 100
        for i in range(rounds):
            r.xgroup_create("dr", f"g{i}", id="0")
        reader, destroyer = srv.raw(timeout=60), srv.raw(timeout=60)
        nogroup = "NOGROUP No such key 'dr' or consumer group '{}' in XREADGROUP with GROUP option"
        for i in range(rounds):
            g = f"g{i}"
            reads = b"".join(encode("XREADGROUP", "GROUP", g, "c", "COUNT", "1", "NOACK", "STREAMS", "dr", ">")
                             for _ in range(batch))
            # Half the rounds send the reads first, half the DESTROY first.
            if i % 2:
                destroyer.send(encode("XGROUP", "DESTROY", "dr", g))
                reader.send(reads)
            else:
                reader.send(reads)
                destroyer.send(encode("XGROUP", "DESTROY", "dr", g))
            check_eq(f"{g}: DESTROY answers 1", destroyer.reply(), 1)
            reps = [reader.reply() for _ in range(batch)]
            first_err = next((k for k, x in enumerate(reps) if isinstance(x, Err)), batch)
            check(f"{g}: the reads answer entries, then only NOGROUP",
                  all(isinstance(x, list) for x in reps[:first_err]) and
                  all(x == nogroup.format(g) for x in reps[first_err:]), repr(reps[first_err:first_err + 2]))
            check_eq(f"{g}: gone after the DESTROY", raw_err(destroyer, "XPENDING", "dr", g),
                     f"NOGROUP No such key 'dr' or consumer group '{g}'")
        check_eq("XINFO GROUPS: every destroyed group is gone", r.xinfo_groups("dr"), [])
        reader.close()
        destroyer.close()
        check_eq("SIGTERM exits cleanly", srv.sigterm(), 0)
        srv.start()
        r = srv.client(decode_responses=True)
        check_eq("after a restart no destroyed group is back", r.xinfo_groups("dr"), [])
        check("... and each can be made again", all(r.xgroup_create("dr", f"g{i}", id="$") for i in range(rounds)))
        check_eq("SIGTERM again", srv.sigterm(), 0)
    finally:
        srv.stop()


def test_restart():
    """The PEL is memory; the committed offset (its floor) is durable."""
    srv = Server("restart")
    srv.start()
    try:
        r = srv.client(decode_responses=True)
        for n in range(8):
            r.xadd("rs", {"n": str(n)})
        r.xgroup_create("rs", "partial", id="0")
        r.xgroup_create("rs", "alldone", id="0")
        r.xgroup_create("rs", "noack", id="0")
        r.xgroup_create("rs", "none", id="0")
        r.xgroup_create("rs", "gone", id="0")
        check_eq("partial: all eight delivered", len(ids_of(r.xreadgroup("partial", "a", {"rs": ">"}), "rs")), 8)
        # Acknowledged: 1-0, 2-0, 4-0, 5-0. The lowest unacknowledged is 3-0.
        check_eq("partial: four acknowledged", r.xack("rs", "partial", "1-0", "2-0", "4-0", "5-0"), 4)
        r.xreadgroup("alldone", "a", {"rs": ">"}, count=5)
        check_eq("alldone: five acknowledged", r.xack("rs", "alldone", *[f"{n}-0" for n in range(1, 6)]), 5)
        r.xreadgroup("noack", "a", {"rs": ">"}, count=6, noack=True)
        r.xreadgroup("none", "a", {"rs": ">"}, count=3)
        check_eq("gone destroyed", r.xgroup_destroy("rs", "gone"), 1)
        check_eq("SIGTERM exits cleanly", srv.sigterm(), 0)
        srv.start()
        r = srv.client(decode_responses=True)
        check_eq("after the restart nothing is pending", r.xpending("rs", "partial")["pending"], 0)
        got = ids_of(r.xreadgroup("partial", "b", {"rs": ">"}), "rs")
        # From the committed offset on: 3-0 (never acknowledged) and what came
        # after it, 4-0 and 5-0 included (acknowledged, but above the floor:
        # at-least-once, as documented); never 1-0 or 2-0.
        check_eq("partial: redelivered from the lowest unacknowledged entry", got,
                 ["3-0", "4-0", "5-0", "6-0", "7-0", "8-0"])
        check_eq("alldone: only the entries never delivered", ids_of(r.xreadgroup("alldone", "b", {"rs": ">"}), "rs"),
                 ["6-0", "7-0", "8-0"])
        check_eq("noack: NOACK reads are not delivered again", ids_of(r.xreadgroup("noack", "b", {"rs": ">"}), "rs"),
                 ["7-0", "8-0"])
        check_eq("none: delivered, unacknowledged: all again", len(ids_of(r.xreadgroup("none", "b", {"rs": ">"}),
                                                                          "rs")), 8)
        check_eq("a destroyed group stays destroyed", raw_err(srv.raw(), "XPENDING", "rs", "gone"),
                 "NOGROUP No such key 'rs' or consumer group 'gone'")
        check_eq("... and can be made again", r.xgroup_create("rs", "gone", id="$"), True)
        # The redelivered entries are pending again, with one delivery each.
        p = r.xpending_range("rs", "partial", "-", "+", 100)
        check_eq("redelivered entries are pending for their new consumer",
                 [(x["message_id"], x["consumer"], x["times_delivered"]) for x in p][:2],
                 [("3-0", "b", 1), ("4-0", "b", 1)])
        check_eq("SIGTERM again", srv.sigterm(), 0)
    finally:
        srv.stop()


SECTIONS = [
    ("XGROUP create / destroy", test_create_destroy, True),
    ("delivery, XPENDING, XACK", test_delivery, True),
    ("XREADGROUP BLOCK", test_blocking, True),
    ("malformed arguments", test_malformed, True),
    ("consumer limit; a refused key changes no other", test_consumer_limit, True),
    ("blocked readers give their wake-ups back", test_block_registrations, True),
    ("XREAD BLOCK waits for a new key", test_block_new_key, True),
    ("restart redelivers from the committed offset", test_restart, False),
    ("DESTROY racing XREADGROUP stays destroyed across a restart", test_destroy_race, False),
]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
