"""Non-blocking writes: tickets, wait, acked, event_fd and on_acked."""
import os
import select
import sys
import threading
import time

import pytest

import synap


def test_set_async_and_wait(db):
    t = db.set_async("k", "v")
    assert isinstance(t, int) and t > 0
    assert t.result is True
    db.wait(t)
    assert db.acked() >= t
    assert db.get("k") == b"v"


def test_tickets_grow_in_log_order(db):
    tickets = [db.set_async(f"k{i}", str(i)) for i in range(50)]
    assert tickets == sorted(tickets) and len(set(tickets)) == 50
    db.wait(tickets[-1])
    assert db.acked() >= tickets[-1]
    assert db.mget([f"k{i}" for i in range(50)]) == [str(i).encode() for i in range(50)]


def test_wait_for_ticket_zero_returns(db):
    db.wait(0)


def test_ticket_never_handed_out_is_invalid(db):
    t = db.set_async("k", "v")
    with pytest.raises(synap.InvalidArgument):
        db.wait(t + 1_000_000)
    with pytest.raises(synap.InvalidArgument):
        db.on_acked(t + 1_000_000, lambda ticket, error: None)
    from synap import _db
    assert not any(owner == id(db) for _, owner in _db._acked_pending.values())


def test_async_results(db):
    db.set("exists", "1")
    t = db.set_async("exists", "2", nx=True)
    assert t.result is False
    t = db.set_async("ttl", "v", ex=100)
    assert t.result is True
    t = db.incrby_async("n", 5)
    assert t.result == 5
    t = db.incrby_async("n", -2)
    assert t.result == 3
    t = db.mset_async({"a": "1", "b": "2"})
    assert t.result is True
    t = db.mset_async({"a": "x", "c": "3"}, nx=True)
    assert t.result is False
    t = db.delete_async("a", "b", "zz")
    assert t.result == 2
    assert db.delete_async().result == 0
    db.wait(t)
    assert db.get("exists") == b"1"
    assert 99 <= db.ttl("ttl") <= 100
    assert db.get("n") == b"3"
    assert db.mget(["a", "b", "c"]) == [None, None, None]
    assert "result=" in repr(t)


def test_async_errors_are_raised_at_once(db):
    db.set("s", "abc")
    with pytest.raises(synap.InvalidArgument):
        db.incrby_async("s", 1)
    with pytest.raises(synap.InvalidArgument):
        db.set_async("k", "v", ex=0)
    with pytest.raises(synap.OutOfRange):
        db.incrby_async("s", 2**64)


def test_event_fd_becomes_readable(db):
    fd = db.event_fd()
    assert fd >= 0
    assert db.event_fd() == fd  # owned by the handle: the same one each time
    t = db.set_async("k", "v")
    deadline = time.monotonic() + 10
    while db.acked() < t:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "acknowledgement never arrived"
        readable, _, _ = select.select([fd], [], [], remaining)
        if readable:
            try:
                assert len(os.read(fd, 8)) == 8
            except BlockingIOError:  # drained by a spurious wakeup's reader
                pass
    assert db.get("k") == b"v"


def test_event_fd_signals_each_ack(db):
    fd = db.event_fd()
    for i in range(5):
        t = db.set_async(f"k{i}", "v")
        readable, _, _ = select.select([fd], [], [], 10)
        assert readable
        try:
            os.read(fd, 8)
        except BlockingIOError:
            pass
        db.wait(t)
        assert db.acked() >= t


def test_on_acked_callback_fires(db):
    fired = threading.Event()
    results = []

    def cb(ticket, error):
        results.append((ticket, error))
        fired.set()

    t = db.set_async("k", "v")
    db.on_acked(t, cb)
    assert fired.wait(10)
    assert results == [(t, None)]
    assert db.get("k") == b"v"


def test_on_acked_for_acked_ticket_runs_at_once_on_this_thread(db):
    t = db.set_async("k", "v")
    db.wait(t)
    results = []
    db.on_acked(t, lambda ticket, error: results.append((ticket, error, threading.get_ident())))
    assert results == [(t, None, threading.get_ident())]


def test_many_on_acked_callbacks(db):
    lock = threading.Lock()
    done = []
    all_fired = threading.Event()
    n = 200

    def cb(ticket, error):
        with lock:
            done.append((ticket, error))
            if len(done) == n:
                all_fired.set()

    tickets = []
    for i in range(n):
        t = db.set_async(f"k{i}", str(i))
        tickets.append(t)
        db.on_acked(t, cb)  # the callable is kept alive by the bindings, not by the caller
    del cb
    assert all_fired.wait(10)
    assert sorted(t for t, _ in done) == sorted(tickets)
    assert all(e is None for _, e in done)
    from synap import _db
    assert not any(owner == id(db) for _, owner in _db._acked_pending.values())


def test_callback_exception_is_reported_and_ignored(db, monkeypatch):
    fired = threading.Event()
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)  # where ctypes reports it

    def bad(ticket, error):
        fired.set()
        raise RuntimeError("boom in callback")

    t = db.set_async("k", "v")
    db.on_acked(t, bad)
    assert fired.wait(10)
    db.wait(t)
    db.set("k2", "v2")
    assert db.get("k2") == b"v2"
    deadline = time.monotonic() + 5
    while not reported and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [type(r.exc_value) for r in reported] == [RuntimeError]


def test_close_flushes_pending_async_writes(open_db):
    db = open_db(fsync="never")
    last = None
    for i in range(500):
        last = db.set_async(f"k{i}", str(i))
    db.close()
    db = open_db()
    assert db.dbsize() == 500
    assert db.get("k499") == b"499"
    assert last > 0
