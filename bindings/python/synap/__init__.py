"""synap: Python bindings for libsynap, the embeddable storage engine (ctypes, no build step).

    import synap
    with synap.open("/tmp/db", fsync="always") as db:
        db.set("greeting", "hello", ex=60)
        assert db.get("greeting") == b"hello"

libsynap is found through $SYNAP_LIBRARY (the path of libsynap.so.1), then
$SYNAP_BUILD_DIR/capi/libsynap.so.1, then the system's library path; see
synap._lib. It is loaded on first use; load_library() loads it explicitly.
"""

from . import _lib
from ._db import Database, Event, Events, Message, StreamIterator, Subscription, Ticket, open, option_name
from .errors import (AlreadyExists, Busy, Closed, Corruption, Internal, InvalidArgument, LibraryNotFound, Locked,
                     NoSpace, NotFound, OutOfMemory, OutOfRange, PermissionDenied, ReadOnly, StorageIOError,
                     SynapError, TooLarge, Unsupported, error_from_code)

__version__ = "0.3.0"

__all__ = [
    "open", "Database", "Message", "Subscription", "Ticket", "Event", "Events", "StreamIterator", "option_name",
    "load_library", "library_version", "library_path",
    "SynapError", "InvalidArgument", "TooLarge", "Corruption", "StorageIOError", "NoSpace", "ReadOnly",
    "Locked", "Closed", "Busy", "Unsupported", "OutOfMemory", "Internal", "OutOfRange", "PermissionDenied",
    "AlreadyExists", "NotFound", "LibraryNotFound", "error_from_code",
]


def load_library(path=None):
    """Loads libsynap now (from ``path`` if given, else by the usual search) and
    returns where it came from. Raises LibraryNotFound saying what was tried."""
    _lib.load(path)
    return _lib.path()


def library_version():
    """The version string of the loaded libsynap, e.g. "0.3.0"."""
    return _lib.load().synap_version_string().decode("ascii")


def library_path():
    """Where libsynap was loaded from (None if not loaded yet)."""
    return _lib.path()
