"""Streams (synap.h "Streams", "Streams: consumer groups", "Streams:
partitioned topics") through the Python API, on the real library."""
import ctypes
import datetime
import os
import re
import threading
import time

import pytest

import synap
from synap import _lib

# Small segments, so that a megabyte of events spans several of them (a room
# caps its appends at segment_bytes - 8 KiB), and a small key limit to hit.
SMALL = {
    "stream.segment_bytes": "131072",
    "stream.max_append_bytes": "65536",
    "stream.max_event_bytes": "16384",
    "stream.max_key_bytes": "1024",
}
HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "..", "capi", "include", "synap", "synap.h")


def small_db(open_db, path=None, **extra):
    """open_db() with SMALL and `extra` options (synap.h names)."""
    if path is None:
        return open_db(options={**SMALL, **extra})
    return open_db(path, options={**SMALL, **extra})


def append_bulk(db, room, n, size, key=None, batch=50, base=0):
    """Appends n events of `size` bytes in batches; payload i starts with
    base + i, its offset when the room held `base` events."""
    first = None
    for start in range(base, base + n, batch):
        evs = []
        for i in range(start, min(base + n, start + batch)):
            payload = f"{i:08d}".encode().ljust(size, b"x")
            evs.append(synap.Event(payload, key=key(i) if key else None))
        off = db.stream_append(room, evs)
        first = off if first is None else first
    return first


def wait_until(cond, timeout=15.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


# -- the C ABI as declared -----------------------------------------------------


def test_every_function_of_the_header_is_declared():
    with open(HEADER) as f:
        text = f.read()
    names = set(re.findall(r"SYNAP_API\s+[\w\s\*]*?\b(synap_\w+)\s*\(", text))
    assert "synap_stream_read" in names and "synap_topic_produce" in names
    assert names - set(_lib.PROTOTYPES) == set()
    assert set(_lib.PROTOTYPES) - names == set()
    lib = _lib.load()
    for name in names:
        assert hasattr(lib, name), name


def test_struct_layouts_match_what_the_library_writes(db):
    # synap_stream_read returns one block: synap_events, then the synap_event
    # array, then the synap_header array, then the bytes. Where the library
    # put each part checks sizeof() of the ctypes structs against the C ones.
    assert ctypes.sizeof(_lib.synap_header) == 4 * 8
    assert ctypes.sizeof(_lib.synap_event_in) == 7 * 8
    assert ctypes.sizeof(_lib.synap_event) == 8 * 8
    assert ctypes.sizeof(_lib.synap_events) == 4 * 8
    db.stream_append("layout", [synap.Event(b"p0", key=b"k0", headers=[(b"a", b"1")], timestamp_ms=7),
                                synap.Event(b"p1", headers=[(b"b", b"2"), (b"c", b"3")], timestamp_ms=-5)])
    lib = _lib.load()
    out = _lib.events_p()
    assert lib.synap_stream_read(db._h, b"layout", 0, 0, 0, 0, ctypes.byref(out)) == 0
    try:
        base = ctypes.cast(out, ctypes.c_void_p).value
        blk = out.contents
        assert (blk.count, blk.next_offset, blk.high_watermark) == (2, 2, 2)
        evs = ctypes.cast(blk.events, ctypes.c_void_p).value
        assert evs == base + ctypes.sizeof(_lib.synap_events)
        hdrs = evs + 2 * ctypes.sizeof(_lib.synap_event)
        e0, e1 = blk.events[0], blk.events[1]
        assert (e0.offset, e0.timestamp_ms, e1.offset, e1.timestamp_ms) == (0, 7, 1, -5)
        assert ctypes.cast(e0.headers, ctypes.c_void_p).value == hdrs
        assert ctypes.cast(e1.headers, ctypes.c_void_p).value == hdrs + ctypes.sizeof(_lib.synap_header)
        assert (e0.header_count, e1.header_count, e0.key_len, e1.key_len) == (1, 2, 2, 0)
        data = hdrs + 3 * ctypes.sizeof(_lib.synap_header)
        assert all(p >= data for p in (e0.key, e0.payload, e1.payload, e1.headers[1].value))
        assert ctypes.string_at(e1.headers[1].key, e1.headers[1].key_len) == b"c"
    finally:
        lib.synap_free(ctypes.cast(out, ctypes.c_void_p))


def test_error_codes():
    err = synap.error_from_code(-15, "room r already exists")
    assert type(err) is synap.AlreadyExists and err.code == -15 == synap.AlreadyExists.code
    assert "SYNAP_EEXIST" in str(err)
    assert b"unknown" not in _lib.load().synap_strerror(-15)
    assert synap.OutOfRange.earliest is None and synap.error_from_code(-13).earliest is None
    assert synap.option_name("stream_segment_bytes") == "stream.segment_bytes"


def test_a_library_without_streams_raises_unsupported(db, monkeypatch):
    # Streams came within 0.3.0: an earlier 0.3.0 build lacks them (_lib.OPTIONAL).
    real = db._lib

    class NoStreams:
        def __getattr__(self, name):
            if name.startswith(("synap_stream_", "synap_group_", "synap_topic_")):
                raise AttributeError(name)
            return getattr(real, name)

    assert {"synap_stream_read", "synap_group_commit", "synap_topic_produce"} <= _lib.OPTIONAL
    monkeypatch.setattr(db, "_lib", NoStreams())
    for call in (lambda: db.stream_append("r", b"x"), lambda: db.stream_read("r", 0), db.stream_list,
                 lambda: db.group_lag(), lambda: db.topic_create("t", 1)):
        with pytest.raises(synap.Unsupported, match="no streams"):
            call()
    db.set("k", "v")  # the rest works


# -- rooms and events ----------------------------------------------------------


def test_offsets_start_at_zero_and_batches_are_consecutive(db):
    assert db.stream_append("r", b"a") == 0
    assert db.stream_append("r", "b") == 1
    assert db.stream_append("r", [b"c", b"d", b"e"]) == 2
    assert db.stream_append("r", (e for e in [b"f", b"g"])) == 5  # any iterable is a batch
    assert db.stream_append("other", b"x") == 0  # each room counts from 0
    assert db.stream_bounds("r") == (0, 7)
    got = db.stream_read("r", 0)
    assert [e.offset for e in got] == list(range(7))
    assert [e.payload for e in got] == [b"a", b"b", b"c", b"d", b"e", b"f", b"g"]
    assert all(e.room == "r" and e.key is None and e.headers == [] for e in got)
    assert (got.next_offset, got.high_watermark) == (7, 7)
    assert db.stream_list() == ["other", "r"] == db.streams()
    info = db.stream_info("r")
    assert info["room"] == "r" and info["earliest_offset"] == 0 and info["next_offset"] == 7
    assert info["settings"]["cleanup"] == "delete"


def test_create_with_settings(db):
    db.stream_create("a", "retention_bytes=1000000 cleanup=compact,delete", segment_bytes=8 << 20)
    db.stream_create("b", {"retention_ms": datetime.timedelta(hours=1), "codec": "zstd"}, fsync="never")
    db.stream_create("c", cleanup=("compact", "delete"))
    sa, sb, sc = (db.stream_info(r)["settings"] for r in "abc")
    assert (sa["retention_bytes"], sa["cleanup"], sa["segment_bytes"]) == (1000000, "compact,delete", 8 << 20)
    assert (sb["retention_ms"], sb["codec"], sb["fsync"]) == (3600000, "zstd", "never")
    assert sc["cleanup"] == "compact,delete"
    assert db.stream_bounds("a") == (0, 0)
    assert db.stream_read("a", 0) == []
    for bad in ["no_such_setting=1", "segment_bytes=1000", "codec=lz5", "retention_bytes"]:
        with pytest.raises(synap.InvalidArgument):
            db.stream_create("d", bad)
    with pytest.raises(synap.InvalidArgument):
        db.stream_create("d", retention_bytes="1 codec=zstd")  # one keyword is one pair
    with pytest.raises(TypeError):
        db.stream_create("d", retention_bytes=1.5)
    assert "d" not in db.stream_list()


def test_round_trip_of_key_headers_and_timestamp(db):
    before = int(time.time() * 1000)
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    first = db.stream_append("r", [
        synap.Event(b"\x00bin\xff", key=b"\x00k", headers={"trace": "t1", b"n\x00": b"\x00\x01"},
                    timestamp_ms=1700000000123),
        synap.Event("text", key="", headers=[("dup", "1"), ("dup", "2"), ("e", "")]),  # key "": no key
        (b"tuple-key", b"tuple-payload", {"h": 5}, when),
        {"key": "m", "payload": b"", "timestamp_ms": 1},
        b"",
    ])
    assert first == 0
    db.stream_append("r", "kw", key="kk", headers=[("x", "y")], timestamp_ms=42)
    after = int(time.time() * 1000)
    a, b, c, d, e, f = db.stream_read("r", 0)
    assert (a.key, a.payload, a.timestamp_ms) == (b"\x00k", b"\x00bin\xff", 1700000000123)
    assert a.headers == [(b"trace", b"t1"), (b"n\x00", b"\x00\x01")]
    assert a.header("trace") == b"t1" and a.header(b"n\x00") == b"\x00\x01" and a.header("nope", 0) == 0
    assert b.key is None and b.payload == b"text"
    assert b.headers == [(b"dup", b"1"), (b"dup", b"2"), (b"e", b"")] and b.header("dup") == b"2"
    assert before <= b.timestamp_ms <= after  # 0: the append time
    assert (c.key, c.payload, c.headers) == (b"tuple-key", b"tuple-payload", [(b"h", b"5")])
    assert c.timestamp_ms == int(when.timestamp() * 1000)
    assert (d.key, d.payload, d.timestamp_ms) == (b"m", b"", 1)
    assert (e.key, e.payload, e.headers) == (None, b"", [])
    assert (f.key, f.payload, f.headers, f.timestamp_ms) == (b"kk", b"kw", [(b"x", b"y")], 42)
    # Events read back can be appended elsewhere as they are.
    db.stream_append("copy", [a, c])
    a2, c2 = db.stream_read("copy", 0)
    assert (a2.key, a2.payload, a2.headers, a2.timestamp_ms) == (a.key, a.payload, a.headers, a.timestamp_ms)
    assert (c2.offset, c2.room, c2.payload) == (1, "copy", c.payload)
    assert "offset=0" in repr(a2) and "room='copy'" in repr(a2)


def test_reads_with_limits(db):
    db.stream_append("r", [f"event-{i}".ljust(100, ".") for i in range(20)])
    got = db.stream_read("r", 0, max_records=3)
    assert [e.offset for e in got] == [0, 1, 2] and got.next_offset == 3 and got.high_watermark == 20
    got = db.stream_read("r", 5, max_records=0)  # 0: libsynap's default (1000)
    assert [e.offset for e in got] == list(range(5, 20))
    got = db.stream_read("r", 4, max_bytes=1)  # at least one event when any is there
    assert [e.offset for e in got] == [4] and got.next_offset == 5
    got = db.stream_read("r", 0, max_bytes=350)  # about max_bytes
    assert 1 <= len(got) < 20 and got.next_offset == len(got)
    assert db.stream_read("r", 19)[0].payload.startswith(b"event-19")
    at_end = db.stream_read("r", 20)
    assert at_end == [] and at_end.next_offset == 20 and at_end.high_watermark == 20
    assert [e.offset for e in db.stream_read("r", "earliest", max_records=1)] == [0]
    assert db.stream_read("r", "latest") == []
    with pytest.raises(synap.OutOfRange) as e:
        db.stream_read("r", 21)
    assert (e.value.earliest, e.value.next_offset) == (0, 20) and "beyond" in e.value.message
    for bad in [{"max_records": -1}, {"max_records": 1 << 32}, {"wait_ms": -1}, {"max_bytes": -1}]:
        with pytest.raises(synap.InvalidArgument):
            db.stream_read("r", 0, **bad)
    with pytest.raises(synap.InvalidArgument):
        db.stream_read("r", -1)
    with pytest.raises(synap.InvalidArgument):
        db.stream_read("r", "middle")


def test_iteration_across_segments(open_db):
    db = small_db(open_db)
    n = 2500
    append_bulk(db, "big", n, 500)  # ~1.3 MB in ~130 KiB segments
    info = db.stream_info("big")
    assert info["segments"] >= 5, info
    it = db.iter_stream("big", max_records=97)
    seen = [(e.offset, e.payload[:8]) for e in it]
    assert seen == [(i, f"{i:08d}".encode()) for i in range(n)]
    assert it.position == n
    assert list(it) == []  # exhausted
    # From the middle, with a byte limit rather than a record limit.
    it = db.iter_stream("big", offset=1234, max_bytes=20000)
    assert [e.offset for e in it] == list(range(1234, n))
    # Leaving early: position says where to resume.
    it = db.iter_stream("big", offset="earliest")
    for e in it:
        if e.offset == 99:
            break
    assert it.position == 100
    assert next(it).offset == 100
    it.close()
    assert list(it) == []
    # Across a reopen: the segments (and their index files) come back.
    path = db.path
    db.close()
    db = small_db(open_db, path=path)
    assert db.stream_bounds("big") == (0, n)
    assert [e.offset for e in db.iter_stream("big", offset=2000)] == list(range(2000, n))
    assert db.stream_read("big", 777, max_records=1)[0].payload.startswith(b"00000777")


def test_blocking_read_is_woken_by_an_append(db):
    db.stream_append("r", b"first")
    got = {}

    def reader():
        start = time.monotonic()
        got["events"] = db.stream_read("r", 1, wait_ms=20000)
        got["elapsed"] = time.monotonic() - start

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.2)
    assert t.is_alive()  # waiting, not polling the end
    db.stream_append("r", b"second")
    t.join(10)
    assert not t.is_alive()
    assert [(e.offset, e.payload) for e in got["events"]] == [(1, b"second")]
    assert got["elapsed"] < 10
    start = time.monotonic()
    assert db.stream_read("r", 2, wait_ms=100) == []  # the wait ends with nothing
    assert time.monotonic() - start >= 0.08


def test_iter_stream_follows_new_events(db):
    db.stream_append("r", [b"0", b"1"])
    received = []

    def consumer():
        for e in db.iter_stream("r", stop_at_end=False, wait_ms=5000):
            received.append(e.payload)
            if len(received) == 5:
                break

    t = threading.Thread(target=consumer)
    t.start()
    for p in [b"2", b"3", b"4"]:
        time.sleep(0.05)
        db.stream_append("r", p)
    t.join(10)
    assert not t.is_alive()
    assert received == [b"0", b"1", b"2", b"3", b"4"]
    with pytest.raises(synap.InvalidArgument):
        db.iter_stream("r", stop_at_end=False, wait_ms=0)
    # stop_at_end with a wait: an event appended during the wait is still read.
    threading.Timer(0.1, lambda: db.stream_append("r", b"5")).start()
    assert [e.payload for e in db.iter_stream("r", offset=5, wait_ms=1000)] == [b"5"]


def test_iter_stream_raises_closed_when_the_database_closes(open_db):
    db = open_db()
    db.stream_append("r", b"x")
    outcome = {}

    def consumer():
        try:
            for _ in db.iter_stream("r", stop_at_end=False, wait_ms=100):
                pass
        except synap.Closed as e:
            outcome["closed"] = e

    t = threading.Thread(target=consumer)
    t.start()
    time.sleep(0.2)
    db.close()
    t.join(10)
    assert not t.is_alive() and "closed" in outcome


def test_retention_moves_earliest_and_out_of_range_carries_it(open_db):
    db = small_db(open_db, **{"stream.maintenance_ms": "50"})
    db.stream_create("ret", "retention_bytes=200000")
    n = 1000
    append_bulk(db, "ret", n, 1000)  # ~1 MB
    assert wait_until(lambda: db.stream_bounds("ret")[0] > 0), db.stream_info("ret")
    assert wait_until(lambda: db.stream_info("ret")["bytes"] <= 200000 + 131072)
    earliest, nxt = db.stream_bounds("ret")
    assert 0 < earliest < nxt == n
    with pytest.raises(synap.OutOfRange) as e:
        db.stream_read("ret", 0)
    assert e.value.code == -13 and isinstance(e.value, ValueError)
    assert e.value.earliest >= earliest and e.value.next_offset == n
    assert "earliest" in e.value.message
    # A Kafka-like consumer seeks to the earliest kept offset and goes on.
    got = db.stream_read("ret", e.value.earliest, max_records=1)
    assert got[0].offset == e.value.earliest
    assert got[0].payload.startswith(f"{e.value.earliest:08d}".encode())
    with pytest.raises(synap.OutOfRange):
        list(db.iter_stream("ret", offset=0))
    offsets = [ev.offset for ev in db.iter_stream("ret", offset="earliest")]
    assert offsets == list(range(offsets[0], n)) and offsets[0] >= earliest
    assert db.stream_offset_for_time("ret", 0) >= earliest
    # Across a reopen, the room starts at its oldest segment left.
    earliest, _ = db.stream_bounds("ret")
    path = db.path
    db.close()
    db = small_db(open_db, path=path, **{"stream.maintenance_ms": "3600000"})
    assert db.stream_bounds("ret") == (earliest, n)
    assert [ev.offset for ev in db.iter_stream("ret", offset=earliest)] == list(range(earliest, n))
    assert db.stream_append("ret", b"more") == n


def test_trim_deletes_whole_segments_below_an_offset(open_db, db_path):
    db = small_db(open_db, **{"stream.maintenance_ms": "3600000"})
    n = 1000
    append_bulk(db, "t", n, 1000)  # ~1 MB: several 128 KiB segments
    assert db.stream_trim("t", 0) == (0, 0)
    removed, earliest = db.stream_trim("t", 500)
    # Whole segments only: some of the events below 500 may stay, none above go.
    assert 0 < earliest <= 500 and removed == earliest
    assert db.stream_bounds("t") == (earliest, n)
    assert db.stream_read("t", earliest, max_records=1)[0].payload.startswith(f"{earliest:08d}".encode())
    with pytest.raises(synap.OutOfRange) as e:
        db.stream_read("t", earliest - 1)
    assert e.value.earliest == earliest
    assert db.stream_trim("t", earliest) == (0, earliest)  # nothing wholly below it is left
    removed, last = db.stream_trim("t", 2 ** 64 - 1)  # past the end: all but the newest segment
    assert removed == last - earliest and earliest < last < n
    db.close()
    db = small_db(open_db, path=db_path)
    assert db.stream_bounds("t") == (last, n)
    assert [ev.offset for ev in db.iter_stream("t", offset="earliest")] == list(range(last, n))
    with pytest.raises(synap.NotFound):
        db.stream_trim("missing", 5)
    with pytest.raises(synap.InvalidArgument):
        db.stream_trim("__meta", 5)
    with pytest.raises(synap.InvalidArgument):
        db.stream_trim("t", -1)


def test_seek_by_time(open_db):
    db = small_db(open_db)
    n = 1500
    for start in range(0, n, 50):
        db.stream_append("t", [synap.Event(b"x" * 300, timestamp_ms=1_000_000 + 10 * i)
                               for i in range(start, start + 50)])
    assert db.stream_info("t")["segments"] >= 3
    for i in [0, 1, 499, 500, 777, 1400, n - 1]:
        ts = 1_000_000 + 10 * i
        assert db.stream_offset_for_time("t", ts) == i
        assert db.stream_offset_for_time("t", ts - 5) == i
        assert db.stream_offset_for_time("t", ts + 1) == i + 1
    assert db.stream_offset_for_time("t", 0) == 0
    assert db.stream_offset_for_time("t", 10 ** 12) == n  # none: the high watermark
    assert db.stream_offset_for_time("t", datetime.datetime.fromtimestamp(1000.0, datetime.timezone.utc)) == 0
    # Timestamps are a running maximum, as in Kafka's time index.
    db.stream_append("u", [synap.Event(b"a", timestamp_ms=100), synap.Event(b"b", timestamp_ms=300),
                           synap.Event(b"c", timestamp_ms=200), synap.Event(b"d", timestamp_ms=400)])
    assert [db.stream_offset_for_time("u", t) for t in (50, 250, 300, 350, 401)] == [0, 1, 1, 3, 4]
    with pytest.raises(synap.NotFound):
        db.stream_offset_for_time("nope", 0)


def test_compaction_keeps_the_latest_event_of_each_key(open_db):
    # Maintenance would compact a cleanup=compact room on its own; keep it
    # away so that stream_compact() does all of it here.
    db = small_db(open_db, **{"stream.maintenance_ms": "3600000"})
    db.stream_create("c", cleanup="compact")
    keys = [f"key-{k}" for k in range(10)]
    n = 600
    append_bulk(db, "c", n, 1000, key=lambda i: None if i % 7 == 0 else keys[i % 10].encode())
    # Keyless filler fills more than a segment: every keyed event above is sealed.
    append_bulk(db, "c", 200, 1000, base=n)
    total = n + 200
    assert db.stream_info("c")["segments"] >= 6
    latest = {}
    for i in range(n):
        if i % 7:
            latest[keys[i % 10].encode()] = i
    keyed = sum(1 for i in range(n) if i % 7)
    dropped = db.stream_compact("c")
    assert dropped == keyed - len(latest)

    def check(db):
        events = list(db.iter_stream("c", max_records=33))
        by_key = {}
        for e in events:
            assert e.payload.startswith(f"{e.offset:08d}".encode())  # offsets did not change
            if e.key is not None:
                assert e.key not in by_key, f"{e.key} kept twice"
                by_key[e.key] = e.offset
        assert by_key == latest
        keyless = [e.offset for e in events if e.key is None]
        assert keyless == [i for i in range(n) if i % 7 == 0] + list(range(n, total))
        assert db.stream_bounds("c") == (0, total)

    check(db)
    # A read from a dropped offset starts at the next kept one.
    assert db.stream_read("c", 1, max_records=1)[0].offset == min(o for o in list(latest.values()) + [7] if o >= 1)
    assert db.stream_compact("c") == 0  # nothing more to drop
    path = db.path
    db.close()
    check(small_db(open_db, path=path, **{"stream.maintenance_ms": "3600000"}))


# -- consumer groups -------------------------------------------------------------


def test_consumer_groups_survive_a_reopen(open_db, db_path):
    db = open_db()
    db.stream_append("r1", [b"a", b"b", b"c", b"d", b"e"])
    db.stream_append("r2", [b"x", b"y"])
    assert db.group_committed("g1", "r1") is None
    db.group_commit("g1", "r1", 1)
    db.group_commit("g1", "r1", 3)  # the latest commit wins
    db.group_commit("g2", "r1", 5)
    db.group_commit("g1", "r2", 0)
    assert db.group_committed("g1", "r1") == 3
    assert db.group_committed("g2", "r2") is None
    with pytest.raises(synap.OutOfRange):
        db.group_commit("g1", "r1", 6)  # beyond the high watermark
    with pytest.raises(synap.NotFound):
        db.group_commit("g1", "nope", 0)
    with pytest.raises(synap.InvalidArgument):
        db.group_commit("", "r1", 0)
    with pytest.raises(synap.InvalidArgument):
        db.group_commit("g" * 256, "r1", 0)
    with pytest.raises(synap.InvalidArgument):
        db.group_lag("")

    def lag_of(group=None):
        return sorted((d["group"], d["room"], d["committed"], d["next_offset"], d["lag"])
                      for d in db.group_lag(group))

    expected = [("g1", "r1", 3, 5, 2), ("g1", "r2", 0, 2, 2), ("g2", "r1", 5, 5, 0)]
    assert lag_of() == expected
    assert lag_of("g1") == expected[:2]
    assert lag_of("nobody") == []
    db.close()
    db = open_db(db_path)
    assert db.group_committed("g1", "r1") == 3 and db.group_committed("g2", "r1") == 5
    assert lag_of() == expected
    db.stream_append("r2", b"z")
    db.group_commit("g1", "r1", 4)
    assert lag_of("g1") == [("g1", "r1", 4, 5, 1), ("g1", "r2", 0, 3, 3)]
    db.close()
    db = open_db(db_path)
    assert db.group_committed("g1", "r1") == 4
    assert lag_of("g1") == [("g1", "r1", 4, 5, 1), ("g1", "r2", 0, 3, 3)]


def test_group_delete_forgets_a_commit(open_db, db_path):
    db = open_db()
    db.stream_append("r1", [b"a", b"b", b"c"])
    db.group_commit("g1", "r1", 2)
    db.group_commit("g2", "r1", 1)
    assert db.group_delete("g1", "r1") is True
    assert db.group_committed("g1", "r1") is None
    assert db.group_delete("g1", "r1") is False  # nothing left to delete
    assert db.group_delete("g1", "no-such-room") is False
    assert [(d["group"], d["committed"]) for d in db.group_lag()] == [("g2", 1)]
    with pytest.raises(synap.InvalidArgument):
        db.group_delete("", "r1")
    with pytest.raises(synap.InvalidArgument):
        db.group_delete("g1", "../x")
    db.close()
    db = open_db(db_path)
    assert db.group_committed("g1", "r1") is None  # the delete is durable
    assert db.group_committed("g2", "r1") == 1
    db.group_commit("g1", "r1", 3)  # afresh
    assert db.group_committed("g1", "r1") == 3


def test_a_consumer_resumes_from_its_commit(db):
    db.stream_append("r", [str(i) for i in range(10)])
    it = db.iter_stream("r", offset=db.group_committed("workers", "r") or 0)
    handled = [next(it).payload for _ in range(4)]
    db.group_commit("workers", "r", it.position)
    assert handled == [b"0", b"1", b"2", b"3"] and db.group_committed("workers", "r") == 4
    rest = [e.payload for e in db.iter_stream("r", offset=db.group_committed("workers", "r"))]
    assert rest == [str(i).encode() for i in range(4, 10)]


# -- partitioned topics ------------------------------------------------------------


def test_topics(db):
    db.topic_create("orders", 4)
    assert db.topic_partitions("orders") == 4
    assert [r for r in db.stream_list() if r.startswith("orders")] == [f"orders-{p}" for p in range(4)]
    placed = [db.topic_produce("orders", f"o{i}", key="customer-42") for i in range(10)]
    partition = placed[0][0]
    assert all(p == partition for p, _ in placed)  # one key, one partition, in order
    assert [o for _, o in placed] == list(range(10))
    room = f"orders-{partition}"
    got = db.stream_read(room, 0)
    assert [e.payload for e in got] == [f"o{i}".encode() for i in range(10)]
    assert all(e.key == b"customer-42" for e in got)
    # Keys spread over partitions; keyless events go round-robin.
    assert len({db.topic_produce("orders", b"k", key=f"c{i}")[0] for i in range(64)}) > 1
    spread = [db.topic_produce("orders", b"free")[0] for _ in range(8)]
    assert sorted(set(spread)) == [0, 1, 2, 3]
    assert all(spread.count(p) == 2 for p in range(4))
    p, off = db.topic_produce("orders", synap.Event(b"ev", key="customer-42", headers={"h": "1"},
                                                    timestamp_ms=5))
    e = db.stream_read(f"orders-{p}", off)[0]
    assert (p, e.key, e.headers, e.timestamp_ms) == (partition, b"customer-42", [(b"h", b"1")], 5)
    with pytest.raises(TypeError):
        db.topic_produce("orders", synap.Event(b"ev"), key="k")
    with pytest.raises(synap.AlreadyExists):
        db.topic_create("orders", 4)
    db.stream_create("taken-1")
    with pytest.raises(synap.AlreadyExists):
        db.topic_create("taken", 2)  # one of its rooms exists
    db.topic_create("settled", 2, "cleanup=compact", retention_ms=5)
    assert db.stream_info("settled-1")["settings"]["cleanup"] == "compact"
    with pytest.raises(synap.NotFound):
        db.topic_partitions("nope")
    with pytest.raises(synap.NotFound):
        db.topic_produce("nope", b"x")
    with pytest.raises(synap.InvalidArgument):
        db.topic_create("zero", 0)
    with pytest.raises(synap.InvalidArgument):
        db.topic_create("a/b", 2)


def test_topics_survive_a_reopen(open_db, db_path):
    db = open_db()
    db.topic_create("t", 3)
    placed = db.topic_produce("t", b"v", key="k")
    db.close()
    db = open_db(db_path)
    assert db.topic_partitions("t") == 3
    assert db.topic_produce("t", b"v2", key="k") == (placed[0], placed[1] + 1)


# -- errors ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", "a/b", "", "__meta", ".hidden", "a..b", "sp ace", "x" * 201, "é"])
def test_bad_room_names_are_invalid_argument(db, name):
    calls = [
        lambda: db.stream_create(name),
        lambda: db.stream_append(name, b"x"),
        lambda: db.stream_read(name, 0),
        lambda: db.stream_bounds(name),
        lambda: db.stream_info(name),
        lambda: db.stream_delete(name),
        lambda: db.stream_compact(name),
        lambda: db.stream_trim(name, 0),
        lambda: db.stream_offset_for_time(name, 0),
        lambda: db.group_commit("g", name, 0),
        lambda: db.topic_create(name, 1),
    ]
    for call in calls:
        with pytest.raises(synap.InvalidArgument) as e:
            call()
        assert e.value.code == -1 and e.value.message
    assert db.stream_list() == []
    assert not os.path.exists(os.path.join(db.path, "x"))


def test_room_name_limits(db):
    db.stream_create("x" * 200)
    db.stream_create("Aa0._-:z")
    assert db.stream_list() == ["Aa0._-:z", "x" * 200]
    with pytest.raises(synap.InvalidArgument):
        db.stream_create("a\0b")  # caught in Python: C strings end at NUL
    with pytest.raises(TypeError):
        db.stream_create(42)


def test_create_delete_and_missing_rooms(db):
    db.stream_create("r")
    with pytest.raises(synap.AlreadyExists) as e:
        db.stream_create("r")
    assert e.value.code == -15 and "r" in str(e.value)
    for call in (lambda: db.stream_read("missing", 0), lambda: db.stream_bounds("missing"),
                 lambda: db.stream_info("missing"), lambda: db.stream_delete("missing"),
                 lambda: db.stream_compact("missing"), lambda: db.iter_stream("missing", offset="earliest")):
        with pytest.raises(synap.NotFound) as e:
            call()
        assert isinstance(e.value, KeyError) and e.value.code == 1 and "missing" in str(e.value)
    with pytest.raises(synap.NotFound):
        list(db.iter_stream("missing"))
    assert "missing" not in db.stream_list()  # a read does not create
    assert db.stream_append("missing", b"x") == 0  # an append does (stream.auto_create)
    assert db.stream_list() == ["missing", "r"]
    db.stream_delete("missing")
    assert db.stream_list() == ["r"]
    with pytest.raises(synap.NotFound):
        db.stream_read("missing", 0)
    assert db.stream_append("missing", b"again") == 0  # a new room, from 0


def test_auto_create_off(open_db):
    db = open_db(stream_auto_create=False)
    with pytest.raises(synap.NotFound):
        db.stream_append("r", b"x")
    db.stream_create("r")
    assert db.stream_append("r", b"x") == 0


def test_append_limits_and_bad_events(open_db):
    db = small_db(open_db, **{"stream.max_headers": "2"})
    db.stream_append("r", b"x" * 16000)
    with pytest.raises(synap.TooLarge):
        db.stream_append("r", b"x" * 16384)  # over stream.max_event_bytes once encoded
    with pytest.raises(synap.TooLarge):
        db.stream_append("r", [b"x" * 15000] * 5)  # over stream.max_append_bytes
    with pytest.raises(synap.TooLarge):
        db.stream_append("r", b"x", key=b"k" * 1025)
    with pytest.raises(synap.TooLarge):
        db.stream_append("r", b"x", headers={"a": 1, "b": 2, "c": 3})
    assert db.stream_bounds("r") == (0, 1)  # all or none
    with pytest.raises(synap.InvalidArgument):
        db.stream_append("r", [])
    with pytest.raises(TypeError):
        db.stream_append("r", [b"a"], key="k")  # keywords go with one payload
    with pytest.raises(TypeError):
        db.stream_append("r", None)
    with pytest.raises(TypeError):
        db.stream_append("r", [object()])
    with pytest.raises(TypeError):
        db.stream_append("r", (b"only-one",))
    with pytest.raises(TypeError):
        db.stream_append("r", {"key": "k"})  # no payload
    with pytest.raises(TypeError):
        db.stream_append("r", synap.Event(["not", "bytes"]))
    assert db.stream_bounds("r") == (0, 1)


def test_closed_database_raises_closed(open_db):
    db = open_db()
    db.stream_append("r", b"x")
    db.close()
    for call in (lambda: db.stream_append("r", b"y"), lambda: db.stream_read("r", 0), db.stream_list,
                 lambda: db.group_lag(), lambda: db.topic_partitions("t")):
        with pytest.raises(synap.Closed):
            call()


# -- engine bugs found while writing these bindings ---------------------------------
# All three failed at 7708a83; c54aefb and 103c46c fixed them.


def test_a_refused_room_create_leaves_nothing_behind(open_db, db_path):
    db = open_db()
    with pytest.raises(synap.InvalidArgument) as e:
        db.stream_create("a", segment_bytes=1000)  # below the 64 KiB minimum
    assert "segment_bytes" in e.value.message
    assert db.stream_list() == []
    assert not os.path.exists(os.path.join(db_path, "streams", "a"))
    db.close()
    db = open_db(db_path)  # used to fail: the ROOM file of the refused room was read at open
    assert db.stream_list() == []
    db.stream_create("a", segment_bytes=8 << 20)


def test_deleting_a_room_forgets_its_commits(open_db, db_path):
    db = open_db()
    db.stream_append("r", [b"a", b"b", b"c"])
    db.group_commit("g", "r", 3)
    db.stream_append("kept", b"k")
    db.group_commit("g", "kept", 1)
    db.stream_delete("r")
    kept = [{"group": "g", "room": "kept", "committed": 1, "next_offset": 1, "lag": 0}]
    assert db.group_committed("g", "r") is None and db.group_lag() == kept
    db.close()
    db = open_db(db_path)
    assert db.group_committed("g", "r") is None  # used to come back from __meta
    assert db.group_lag() == kept
    db.stream_append("r", b"new room, same name")
    assert db.group_committed("g", "r") is None


def test_a_refused_topic_create_leaves_no_topic(open_db, db_path):
    # At 7708a83 the topic was logged before its rooms' settings were checked:
    # it stayed registered without rooms, a retry was SYNAP_EEXIST, and produce
    # or the next open made the partitions with the store's default settings.
    db = open_db()
    with pytest.raises(synap.InvalidArgument):
        db.topic_create("t", 2, segment_bytes=1000)
    assert db.stream_list() == []
    with pytest.raises(synap.NotFound):
        db.topic_partitions("t")
    with pytest.raises(synap.NotFound):
        db.topic_produce("t", b"x")
    db.close()
    db = open_db(db_path)
    assert db.stream_list() == []
    db.topic_create("t", 2, segment_bytes=8 << 20)
    assert db.stream_info("t-1")["settings"]["segment_bytes"] == 8 << 20
