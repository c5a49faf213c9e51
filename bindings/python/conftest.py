"""pytest setup: import the package from this directory and find libsynap.

Without SYNAP_LIBRARY or SYNAP_BUILD_DIR in the environment, the repository's
own build directory (<repo>/build, where scripts/test.sh builds) is used if it
holds capi/libsynap.so.1.
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

if not os.environ.get("SYNAP_LIBRARY") and not os.environ.get("SYNAP_BUILD_DIR"):
    _default = os.path.normpath(os.path.join(HERE, "..", "..", "build"))
    if os.path.exists(os.path.join(_default, "capi", "libsynap.so.1")):
        os.environ["SYNAP_BUILD_DIR"] = _default

import synap  # noqa: E402


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "db")


@pytest.fixture
def open_db(db_path):
    """open_db(**options) opens db_path (fsync=always unless given); every
    database it opened is closed after the test. The log's first segment is
    preallocated with fallocate rather than the default (auto: zero-filled,
    ~0.3 s per open here); tests that call synap.open() directly keep it."""
    opened = []

    def _open(path=db_path, **kwargs):
        kwargs.setdefault("fsync", "always")
        kwargs.setdefault("wal_preallocate", "fallocate")
        db = synap.open(path, **kwargs)
        opened.append(db)
        return db

    yield _open
    for db in opened:
        db.close()


@pytest.fixture
def db(open_db):
    return open_db()


@pytest.fixture
def child_env():
    """The environment for a child Python that imports synap from this tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = HERE + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
