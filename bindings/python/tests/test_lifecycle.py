"""Opening, options, closing, errors and threads."""
import os
import subprocess
import sys
import threading

import pytest

import synap


def test_reopen_after_close_keeps_data(open_db, db_path):
    db = open_db()
    db.mset({f"k{i}": f"v{i}" for i in range(100)})
    db.set(b"\x00bin", b"\x00\xff")
    db.incrby("n", 41)
    db.delete("k0")
    db.close()
    assert db.closed
    db = open_db()
    assert db.dbsize() == 101
    assert db.get("k0") is None
    assert db.get("k99") == b"v99"
    assert db.get(b"\x00bin") == b"\x00\xff"
    assert db.incr("n") == 42


def test_context_manager_closes(db_path):
    with synap.open(db_path, fsync="always") as db:
        db.set("k", "v")
    assert db.closed
    with pytest.raises(synap.Closed):
        db.get("k")
    with pytest.raises(synap.Closed):
        with db:
            pass
    with synap.open(db_path) as db:
        assert db.get("k") == b"v"


def test_second_open_of_same_dir_is_locked(open_db, db_path):
    db = open_db()
    with pytest.raises(synap.Locked) as e:
        synap.open(db_path)
    assert e.value.code == -7
    db.set("k", "v")  # the first handle is unaffected
    db.close()
    db = open_db()  # free again once closed
    assert db.get("k") == b"v"


def test_other_process_is_locked_out(open_db, db_path, child_env):
    open_db()
    code = ("import sys, synap\n"
            "try:\n    synap.open(sys.argv[1])\nexcept synap.Locked as e:\n    print('locked', e.code)\n")
    out = subprocess.run([sys.executable, "-c", code, db_path], env=child_env, capture_output=True,
                         text=True, timeout=30)
    assert out.stdout.strip() == "locked -7", out.stderr


def test_closed_handle_raises_closed(db):
    db.set("k", "v")
    db.close()
    db.close()  # twice is fine
    calls = [
        lambda: db.get("k"), lambda: db.set("k", "v"), lambda: db.delete("k"), lambda: db.exists("k"),
        lambda: db.mget(["k"]), lambda: db.mset({"k": "v"}), lambda: db.incr("k"), lambda: db.append("k", "v"),
        lambda: db.strlen("k"), lambda: db.ttl("k"), lambda: db.expire("k", 1), lambda: db.persist("k"),
        lambda: db.scan(), lambda: db.keys(), lambda: db.dbsize(), lambda: db.flushall(), lambda: db.sync(),
        lambda: db.snapshot(), lambda: db.stats(), lambda: db.getdel("k"), lambda: db.set_async("k", "v"),
        lambda: db.acked(), lambda: db.wait(1), lambda: db.event_fd(), lambda: db.on_acked(1, print),
        lambda: db["k"], lambda: len(db), lambda: "k" in db, lambda: db.delete(), lambda: db.mget([]),
        lambda: db.mset({}),
    ]
    for call in calls:
        with pytest.raises(synap.Closed) as e:
            call()
        assert e.value.code == -8


def test_options(open_db, tmp_path):
    db = open_db(str(tmp_path / "a"), fsync="never", options={"kv.maxmemory": "64M", "kv.shards": "4"},
                 snapshot_interval_secs=0, kv_maxmemory_policy="allkeys-lru", io_backend="auto")
    db.set("k", "v")
    assert db.get("k") == b"v"
    db = open_db(str(tmp_path / "b"), fsync="periodic", fsync_interval_ms=5, allow_flushall=True, codec="lz4")
    db.set("k", "v")
    db.sync()
    assert db.flushall()


def test_option_names():
    assert synap.option_name("fsync") == "wal.fsync_mode"
    assert synap.option_name("maxmemory") == "kv.maxmemory"
    assert synap.option_name("kv_max_key_bytes") == "kv.max_key_bytes"
    assert synap.option_name("snapshot_interval_secs") == "snapshot.interval_secs"
    assert synap.option_name("wal_max_in_flight") == "wal.max_in_flight"


@pytest.mark.parametrize("kwargs, named", [
    ({"options": {"wal.no_such_option": "1"}}, "wal.no_such_option"),
    ({"no_such_option": 1}, "no_such_option"),
    ({"fsync": "sometimes"}, "wal.fsync_mode"),
    ({"kv_shards": 3}, "kv.shards"),
    ({"options": {"kv.maxmemory": "64X"}}, "kv.maxmemory"),
    ({"allow_flushall": "maybe"}, "kv.allow_flushall"),
    ({"options": {"wal.segment_bytes": "1000"}}, "wal.segment_bytes"),
])
def test_bad_option_is_invalid_argument(db_path, kwargs, named):
    with pytest.raises(synap.InvalidArgument) as e:
        synap.open(db_path, **kwargs)
    assert e.value.code == -1
    assert named in e.value.message  # synap.h: the message names the option
    synap.open(db_path).close()  # a failed open leaves nothing locked


def test_bad_option_types_fail_in_python(db_path):
    with pytest.raises(TypeError):
        synap.open(db_path, maxmemory=1.5)
    with pytest.raises(synap.InvalidArgument):
        synap.open(db_path, options={"kv.maxmemory": "64\0M"})


def test_key_and_value_limits_are_too_large(open_db):
    db = open_db(kv_max_key_bytes=16, kv_max_value_bytes=1024)
    db.set("k" * 16, "v" * 1024)
    with pytest.raises(synap.TooLarge) as e:
        db.set("k" * 17, "v")
    assert e.value.code == -2 and e.value.message
    with pytest.raises(synap.TooLarge):
        db.get("k" * 17)
    with pytest.raises(synap.TooLarge):
        db.set("k", "v" * 1025)
    with pytest.raises(synap.TooLarge):
        db.append("k" * 16, "v")
    assert db.get("k" * 16) == b"v" * 1024


def test_error_hierarchy():
    assert issubclass(synap.InvalidArgument, synap.SynapError)
    assert issubclass(synap.InvalidArgument, ValueError)
    assert issubclass(synap.LibraryNotFound, ImportError)
    codes = {
        -1: synap.InvalidArgument, -2: synap.TooLarge, -3: synap.Corruption, -4: synap.StorageIOError,
        -5: synap.NoSpace, -6: synap.ReadOnly, -7: synap.Locked, -8: synap.Closed, -9: synap.Busy,
        -10: synap.Unsupported, -11: synap.OutOfMemory, -12: synap.Internal, -13: synap.OutOfRange,
        -14: synap.PermissionDenied,
    }
    for code, cls in codes.items():
        err = synap.error_from_code(code, "msg")
        assert type(err) is cls and err.code == code == cls.code and err.message == "msg"
        assert "msg" in str(err)
    assert type(synap.error_from_code(-99)) is synap.SynapError


def test_sync_and_snapshot(open_db):
    db = open_db(fsync="never")
    db.mset({f"k{i}": "v" for i in range(50)})
    db.sync()
    db.snapshot()
    db.set("after", "1")
    db.close()
    db = open_db()
    assert db.dbsize() == 51
    assert db.get("after") == b"1"


def test_progress_callback(open_db):
    db = open_db()
    db.mset({f"k{i}": "v" * 100 for i in range(200)})
    db.close()
    calls = []
    db = open_db(progress=lambda phase, done, total: calls.append((phase, done, total)))
    assert db.dbsize() == 200
    assert calls
    assert {phase for phase, _, _ in calls} <= {"snapshot", "log"}
    assert all(0 <= done for _, done, _ in calls)


def test_threads_share_a_database(db):
    def writer(t):
        for i in range(100):
            db.set(f"t{t}:{i}", str(i))
            assert db.get(f"t{t}:{i}") == str(i).encode()
        db.incrby("total", 100)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert db.dbsize() == 401
    assert db.get("total") == b"400"


def test_close_waits_for_calls_in_other_threads(open_db):
    db = open_db()
    stop = threading.Event()
    errors = []

    def reader():
        while not stop.is_set():
            try:
                db.set("k", "v")
                db.get("k")
            except synap.Closed:
                return
            except Exception as e:  # noqa: BLE001
                errors.append(e)
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for th in threads:
        th.start()
    db.close()
    stop.set()
    for th in threads:
        th.join()
    assert errors == []


def test_library_version():
    assert synap.library_version().startswith("0.")
    assert synap.library_path()


def test_library_not_found_says_what_was_tried(child_env):
    env = dict(child_env, SYNAP_LIBRARY="/nonexistent/libsynap.so.1")
    code = ("import synap\n"
            "try:\n    synap.open('/tmp/never')\nexcept ImportError as e:\n"
            "    print(type(e).__name__); print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert out.stdout.startswith("LibraryNotFound"), out.stderr
    assert "/nonexistent/libsynap.so.1" in out.stdout
    assert "SYNAP_LIBRARY" in out.stdout


def test_build_dir_is_searched(child_env):
    lib = synap.library_path()
    build = os.path.dirname(os.path.dirname(lib)) if lib.endswith("capi/libsynap.so.1") else None
    if build is None:
        pytest.skip("libsynap was not loaded from a build directory")
    env = {k: v for k, v in child_env.items() if k != "SYNAP_LIBRARY"}
    env["SYNAP_BUILD_DIR"] = build
    out = subprocess.run([sys.executable, "-c", "import synap; print(synap.load_library())"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == os.path.join(build, "capi", "libsynap.so.1"), out.stderr
