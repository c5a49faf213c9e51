"""Expiry: SET's expiry options, the EXPIRE family, TTL/PTTL conventions, PERSIST."""
import datetime
import time

import pytest

import synap


def now_ms():
    return int(time.time() * 1000)


def test_ttl_conventions(db):
    assert db.ttl("absent") == -2
    assert db.pttl("absent") == -2
    db.set("k", "v")
    assert db.ttl("k") == -1
    assert db.pttl("k") == -1


def test_set_ex_px(db):
    db.set("s", "v", ex=100)
    assert 99 <= db.ttl("s") <= 100
    assert 98_000 < db.pttl("s") <= 100_000
    db.set("m", "v", px=5000)
    assert 4000 < db.pttl("m") <= 5000
    db.set("td", "v", ex=datetime.timedelta(minutes=2))
    assert 119 <= db.ttl("td") <= 120
    db.set("tdp", "v", px=datetime.timedelta(seconds=3))
    assert 2000 < db.pttl("tdp") <= 3000


def test_set_exat_pxat(db):
    db.set("a", "v", exat=int(time.time()) + 100)
    assert 98 <= db.ttl("a") <= 100
    db.set("b", "v", pxat=now_ms() + 50_000)
    assert 48_000 < db.pttl("b") <= 50_000
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
    db.set("c", "v", exat=when)
    assert 28 <= db.ttl("c") <= 30


def test_absolute_time_in_the_past_deletes(db):
    db.set("k", "old")
    assert db.set("k", "new", exat=int(time.time()) - 10) is True
    assert db.get("k") is None
    assert db.exists("k") == 0
    assert db.ttl("k") == -2
    db.set("p", "v", pxat=1)
    assert db.get("p") is None


def test_ttl_rounds_like_redis(db):
    # Redis answers TTL with (pttl + 500) / 1000: 1.9 s left reads as 2, not 1.
    db.set("k", "v", px=1900)
    ms = db.pttl("k")
    if ms >= 1500:  # true unless this machine stalled for 400 ms
        assert db.ttl("k") == 2


def test_expired_key_is_absent(db):
    db.set("k", "v", px=50)
    db.set("keep", "v")
    time.sleep(0.1)
    assert db.get("k") is None
    assert db.exists("k") == 0
    assert db.pttl("k") == -2
    assert db.ttl("k") == -2
    assert db.strlen("k") == 0
    assert db.mget(["k", "keep"]) == [None, b"v"]
    assert b"k" not in db.keys()
    assert db.getdel("k") is None
    assert db.set("k", "again", xx=True) is False  # absent for XX too
    assert db.incr("k") == 1  # absent counts as 0


def test_invalid_expire_times(db):
    for kwargs in [{"ex": 0}, {"ex": -1}, {"px": 0}, {"px": -5}]:
        with pytest.raises(synap.InvalidArgument):
            db.set("k", "v", **kwargs)
    with pytest.raises(synap.InvalidArgument):
        db.set("k", "v", ex=10, px=10)
    with pytest.raises(synap.InvalidArgument):
        db.set("k", "v", ex=10, keepttl=True)
    with pytest.raises(synap.InvalidArgument):
        db.set("k", "v", ex=2**63)  # outside int64: refused in Python
    assert db.get("k") is None


def test_set_removes_expiry_unless_keepttl(db):
    db.set("k", "v", ex=100)
    db.set("k", "v2", keepttl=True)
    assert 99 <= db.ttl("k") <= 100
    assert db.get("k") == b"v2"
    db.set("k", "v3")
    assert db.ttl("k") == -1


def test_incr_and_append_keep_expiry(db):
    db.set("n", "1", ex=100)
    db.incr("n")
    assert 99 <= db.ttl("n") <= 100
    db.append("n", "0")
    assert 99 <= db.ttl("n") <= 100
    assert db.get("n") == b"20"


def test_mset_removes_expiry(db):
    db.set("k", "v", ex=100)
    db.mset({"k": "w"})
    assert db.ttl("k") == -1


def test_expire_family(db):
    assert db.expire("absent", 10) is False
    db.set("k", "v")
    assert db.expire("k", 100) is True
    assert 99 <= db.ttl("k") <= 100
    assert db.pexpire("k", 50_000) is True
    assert 48_000 < db.pttl("k") <= 50_000
    assert db.expireat("k", int(time.time()) + 200) is True
    assert 198 <= db.ttl("k") <= 200
    assert db.pexpireat("k", now_ms() + 300_000) is True
    assert 298 <= db.ttl("k") <= 300
    assert db.expire("k", datetime.timedelta(seconds=400)) is True
    assert 398 <= db.ttl("k") <= 400
    assert db.expireat("k", datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=500))
    assert 498 <= db.ttl("k") <= 500


def test_expire_in_the_past_deletes(db):
    db.mset({"a": "1", "b": "2", "c": "3"})
    assert db.expire("a", 0) is True
    assert db.pexpire("b", -100) is True
    assert db.expireat("c", 1) is True
    assert db.mget(["a", "b", "c"]) == [None, None, None]
    assert db.exists("a", "b", "c") == 0


def test_expire_conditions(db):
    db.set("k", "v")
    assert db.expire("k", 100, xx=True) is False  # no expiry yet
    assert db.ttl("k") == -1
    assert db.expire("k", 100, gt=True) is False  # no expiry counts as infinite
    assert db.expire("k", 100, lt=True) is True
    assert db.expire("k", 200, nx=True) is False  # has one now
    assert db.expire("k", 50, gt=True) is False
    assert 99 <= db.ttl("k") <= 100
    assert db.expire("k", 200, gt=True) is True
    assert 199 <= db.ttl("k") <= 200
    assert db.expire("k", 300, lt=True) is False
    assert db.expire("k", 30, lt=True) is True
    assert 29 <= db.ttl("k") <= 30
    assert db.expire("k", 60, xx=True) is True
    assert 59 <= db.ttl("k") <= 60
    db.set("fresh", "v")
    assert db.expire("fresh", 60, nx=True) is True
    with pytest.raises(synap.InvalidArgument):
        db.expire("k", 10, nx=True, xx=True)


def test_persist(db):
    assert db.persist("absent") is False
    db.set("k", "v")
    assert db.persist("k") is False  # no expiry to remove
    db.expire("k", 100)
    assert db.persist("k") is True
    assert db.ttl("k") == -1
    assert db.get("k") == b"v"


def test_expiry_survives_reopen(open_db, db_path):
    db = open_db()
    db.set("t", "v", ex=100)
    db.set("gone", "v", px=40)
    db.close()
    time.sleep(0.06)
    db = open_db()
    assert 95 <= db.ttl("t") <= 100
    assert db.get("gone") is None
