"""Reads and writes through the real libsynap: every KV method, bytes and str."""
import pytest

import synap


def test_set_get_roundtrip(db):
    assert db.set(b"k", b"v") is True
    assert db.get(b"k") == b"v"
    assert db.get("k") == b"v"
    assert db.get("absent") is None


def test_str_keys_and_values_are_utf8(db):
    db.set("ключ", "значение ✓")
    assert db.get("ключ".encode()) == "значение ✓".encode()
    assert db.get(bytearray("ключ".encode())) == "значение ✓".encode()
    assert db.get(memoryview("ключ".encode())) == "значение ✓".encode()
    assert db.keys() == ["ключ".encode()]


def test_binary_keys_and_values_with_nuls(db):
    key = b"\x00k\x00ey\xff"
    value = bytes(range(256)) + b"\x00\x00"
    db.set(key, value)
    assert db.get(key) == value
    assert db.strlen(key) == len(value)
    assert db.get(b"\x00k") is None  # no C-string truncation anywhere
    assert db.get(b"\x00k\x00ey") is None
    assert db.keys() == [key]
    assert db.mget([key]) == [value]


def test_empty_value_is_not_absent(db):
    db.set("e", b"")
    assert db.get("e") == b""
    assert db.exists("e") == 1
    assert db.strlen("e") == 0
    assert db.mget(["e", "nope"]) == [b"", None]


def test_empty_key(db):
    db.set(b"", b"v")
    assert db.get(b"") == b"v"
    assert db.exists(b"") == 1
    assert b"" in db.keys()
    assert db.delete(b"") == 1


def test_large_value(db):
    value = bytes(range(256)) * 4096  # 1 MiB, under the 4 MiB default limit
    db.set("big", value)
    assert db.get("big") == value
    assert db.strlen("big") == len(value)


def test_int_and_float_values_are_written_in_decimal(db):
    db.set("i", 42)
    db.set("f", 1.5)
    assert db.get("i") == b"42"
    assert db.get("f") == b"1.5"
    assert db.incr("i") == 43


def test_wrong_python_types_fail_in_python(db):
    with pytest.raises(TypeError):
        db.set(1, b"v")
    with pytest.raises(TypeError):
        db.set("k", None)
    with pytest.raises(TypeError):
        db.set("k", True)
    with pytest.raises(TypeError):
        db.get(None)
    with pytest.raises(TypeError):
        db.expire("k", 1.5)
    assert db.dbsize() == 0


def test_nx_xx(db):
    assert db.set("k", "1", xx=True) is False
    assert db.get("k") is None
    assert db.set("k", "1", nx=True) is True
    assert db.set("k", "2", nx=True) is False
    assert db.get("k") == b"1"
    assert db.set("k", "3", xx=True) is True
    assert db.get("k") == b"3"


def test_nx_and_xx_together_is_invalid(db):
    with pytest.raises(synap.InvalidArgument):
        db.set("k", "v", nx=True, xx=True)
    assert db.get("k") is None


def test_set_get_flag_and_getset(db):
    assert db.set("k", "a", get=True) is None
    assert db.set("k", "b", get=True) == b"a"
    assert db.get("k") == b"b"
    assert db.getset("k", "c") == b"b"
    assert db.getset("new", "x") is None
    assert db.get("k") == b"c"
    # GET with NX on an existing key: not written, old value returned (Redis 7).
    assert db.set("k", "d", nx=True, get=True) == b"c"
    assert db.get("k") == b"c"


def test_getdel(db):
    db.set("k", "v")
    assert db.getdel("k") == b"v"
    assert db.getdel("k") is None
    assert db.exists("k") == 0


def test_delete_and_exists(db):
    db.mset({"a": "1", "b": "2", "c": "3"})
    assert db.exists("a", "b", "zz") == 2
    assert db.exists("a", "a") == 2  # counted twice, as in Redis
    assert db.exists() == 0
    assert db.delete("a", "zz") == 1
    assert db.delete("a") == 0
    assert db.delete() == 0
    assert db.exists("a", "b", "c") == 2


def test_incr_family(db):
    assert db.incr("n") == 1
    assert db.incrby("n", 10) == 11
    assert db.decr("n") == 10
    assert db.decrby("n", 15) == -5
    assert db.incr("n", 5) == 0
    assert db.get("n") == b"0"
    db.set("m", "-7")
    assert db.incrby("m", -3) == -10


def test_incr_overflow_is_out_of_range(db):
    db.set("max", str(2**63 - 1))
    with pytest.raises(synap.OutOfRange) as e:
        db.incr("max")
    assert e.value.code == -13
    assert db.get("max") == str(2**63 - 1).encode()  # unchanged
    db.set("min", str(-2**63))
    with pytest.raises(synap.OutOfRange):
        db.decr("min")
    assert db.get("min") == str(-2**63).encode()
    # Deltas outside int64 are refused before C sees them.
    with pytest.raises(synap.OutOfRange):
        db.incrby("x", 2**63)
    with pytest.raises(synap.OutOfRange):
        db.decrby("x", -2**63)
    assert db.get("x") is None


def test_incr_of_non_integer_is_invalid_argument(db):
    for bad in ["abc", "1.5", " 1", "", "99999999999999999999"]:
        db.set("s", bad)
        with pytest.raises(synap.InvalidArgument) as e:
            db.incr("s")
        assert e.value.code == -1
        assert e.value.message  # synap_last_error() of the failing call
        assert db.get("s") == bad.encode()


def test_append_and_strlen(db):
    assert db.strlen("a") == 0
    assert db.append("a", "hello") == 5
    assert db.append("a", b" \x00world") == 12
    assert db.get("a") == b"hello \x00world"
    assert db.strlen("a") == 12


def test_mget_with_missing_keys(db):
    db.mset({"a": "1", "c": b"\x003"})
    assert db.mget(["a", "b", "c", "a"]) == [b"1", None, b"\x003", b"1"]
    assert db.mget("a", "b") == [b"1", None]
    assert db.mget("a") == [b"1"]
    assert db.mget([]) == []
    assert db.mget(iter([b"c"])) == [b"\x003"]


def test_mset_and_msetnx(db):
    assert db.mset({"a": "1", b"b": b"2"}) is True
    assert db.mset([("c", "3"), ("a", "10")]) is True
    assert db.mget(["a", "b", "c"]) == [b"10", b"2", b"3"]
    assert db.msetnx({"x": "1", "a": "no"}) is False  # a exists: nothing is set
    assert db.mget(["x", "a"]) == [None, b"10"]
    assert db.msetnx({"x": "1", "y": "2"}) is True
    assert db.mget(["x", "y"]) == [b"1", b"2"]
    with pytest.raises(synap.InvalidArgument):
        db.mset({})  # as in Redis: MSET needs a key


def test_mapping_protocol(db):
    db["k"] = "v"
    assert db["k"] == b"v"
    assert "k" in db
    assert b"k" in db
    assert "nope" not in db
    assert len(db) == 1
    assert list(db) == [b"k"]
    with pytest.raises(KeyError):
        db["nope"]
    del db["k"]
    with pytest.raises(KeyError):
        del db["k"]
    assert len(db) == 0


def test_dbsize_and_keys(db):
    assert db.dbsize() == 0
    db.mset({f"user:{i}": str(i) for i in range(20)})
    db.mset({"other:1": "x", "user:x1": "y"})
    assert db.dbsize() == 22
    assert sorted(db.keys()) == sorted([f"user:{i}".encode() for i in range(20)] + [b"other:1", b"user:x1"])
    assert sorted(db.keys("user:1?")) == sorted(f"user:1{i}".encode() for i in range(10))
    assert db.keys("other:*") == [b"other:1"]
    assert sorted(db.keys(b"user:[x]*")) == [b"user:x1"]
    assert db.keys("nothing*") == []


def test_scan_is_complete_over_1000_keys(db):
    expected = {f"key:{i:04d}".encode() for i in range(1000)}
    db.mset({k: b"v" for k in expected})
    db.mset({f"other:{i}": b"v" for i in range(50)})
    seen = set()
    cursor, calls = 0, 0
    while True:
        cursor, keys = db.scan(cursor, match="key:*", count=100)
        seen.update(keys)
        calls += 1
        assert calls < 10000
        if cursor == 0:
            break
    assert seen == expected
    assert set(db.scan_iter(match=b"key:*")) == expected
    assert len(set(db.scan_iter())) == 1050
    assert len(set(iter(db))) == 1050


def test_scan_step(db):
    cursor, keys = db.scan()
    assert (cursor, keys) == (0, [])
    db.set("a", "1")
    found = []
    cursor = 0
    while True:
        cursor, keys = db.scan(cursor)
        found += keys
        if cursor == 0:
            break
    assert found == [b"a"]


def test_flushall_needs_permission(db, open_db, tmp_path):
    db.set("k", "v")
    with pytest.raises(synap.PermissionDenied) as e:
        db.flushall()
    assert e.value.code == -14
    assert db.get("k") == b"v"
    other = open_db(str(tmp_path / "flush"), allow_flushall=True)
    other.mset({"a": "1", "b": "2"})
    assert other.flushall() is True
    assert other.dbsize() == 0
    assert other.get("a") is None


def test_stats(db):
    db.mset({"a": "1", "b": "2"})
    stats = db.stats()
    assert isinstance(stats, dict)
    assert stats["version"] == synap.library_version()
    assert stats["kv"]["keys"] == 2
