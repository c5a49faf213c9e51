"""synap.open() and Database: the Pythonic face of synap.h (KV and lifecycle here;
queues in _queue.py, pub/sub in _pubsub.py, streams in _stream.py)."""

import atexit
import itertools
import json
import operator
import os
import threading
import weakref
from ctypes import byref, c_int, c_int64, c_size_t, c_uint64, c_void_p, string_at

from . import _lib
from .errors import (
    ECLOSED,
    EINVAL,
    ERANGE,
    NOTFOUND,
    OK,
    Closed,
    NotFound,
    SynapError,
    error_from_code,
)

from ._convert import (
    _SET_NX,
    _SET_GET,
    _EXP_S,
    _EXP_MS,
    _EXP_AT_S,
    _EXP_AT_MS,
    _EXP_NX,
    _EXP_XX,
    _EXP_GT,
    _EXP_LT,
    _UINT64_MAX,
    _key,
    _value,
    _keys_array,
    _pairs,
    _int64,
    _seconds,
    _millis,
    _unix_seconds,
    _unix_millis,
    _set_flags,
    _cstr,
    _pattern,
    _take,
    _raise,
)
from ._pubsub import PubSubMethods, Subscription  # noqa: F401 - re-exported
from ._queue import Message, QueueMethods  # noqa: F401 - re-exported
from ._stream import Event, Events, StreamIterator, StreamMethods  # noqa: F401 - re-exported


# ---------------------------------------------------------------------------
# Options

# Short keyword names for common options; any other keyword that starts with
# a section (wal_, io_, kv_, snapshot_, queue_, stream_) maps to "section.rest", e.g.
# kv_max_key_bytes -> kv.max_key_bytes, queue_auto_create -> queue.auto_create,
# stream_segment_bytes -> stream.segment_bytes.
# Anything else is passed unchanged and rejected by libsynap as an unknown option.
_ALIASES = {
    "fsync": "wal.fsync_mode",
    "fsync_mode": "wal.fsync_mode",
    "fsync_interval_ms": "wal.fsync_interval_ms",
    "recovery": "wal.recovery",
    "codec": "wal.codec",
    "backend": "io.backend",
    "shards": "kv.shards",
    "max_key_bytes": "kv.max_key_bytes",
    "max_value_bytes": "kv.max_value_bytes",
    "maxmemory": "kv.maxmemory",
    "maxmemory_policy": "kv.maxmemory_policy",
    "maxmemory_samples": "kv.maxmemory_samples",
    "active_expire_ms": "kv.active_expire_ms",
    "allow_flushall": "kv.allow_flushall",
}
_SECTIONS = ("wal", "io", "kv", "snapshot", "queue", "stream")


def option_name(keyword):
    """The synap.h option name for an open() keyword argument."""
    if keyword in _ALIASES:
        return _ALIASES[keyword]
    for section in _SECTIONS:
        if keyword.startswith(section + "_"):
            return section + "." + keyword[len(section) + 1:]
    return keyword


def _option_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (str, bytes)):
        return value
    raise TypeError(f"an option value must be str, int or bool, not {type(value).__name__}")


# ---------------------------------------------------------------------------
# on_acked(): one trampoline for the process, so no ctypes callback object can
# be freed while libsynap still holds its pointer. `user` is a token naming
# the Python callable in _acked_pending.

_acked_lock = threading.Lock()
_acked_pending = {}  # token -> (fn, owner id)
_acked_tokens = itertools.count(1)
_code_messages = {}  # filled at load: synap_strerror() is not called on the commit thread


def _strerror(code):
    return _code_messages.get(code, "")


def _acked_entry(user, ticket, result):
    with _acked_lock:
        entry = _acked_pending.pop(user, None)
    if entry is None:
        return
    error = None if result == OK else error_from_code(result, _strerror(result))
    entry[0](ticket, error)  # an exception here is reported by ctypes and ignored


_acked_trampoline = _lib.ACKED_FN(_acked_entry)

# Databases still open, closed at interpreter exit: their background threads
# must not call Python callbacks while the interpreter is being torn down.
_open_dbs = weakref.WeakSet()


@atexit.register
def _close_all():
    for db in list(_open_dbs):
        try:
            db.close()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass


def _library():
    lib = _lib.load()
    if not _code_messages:
        for code in range(-15, 3):
            _code_messages[code] = (lib.synap_strerror(code) or b"").decode("utf-8", "replace")
    return lib


# ---------------------------------------------------------------------------


class Ticket(int):
    """The ticket of a non-blocking write: an int (0 = nothing to wait for, e.g.
    when NX/XX held the write back), plus ``result``, the answer known at once
    (it holds once the ticket is acknowledged): True/False for set_async and
    mset_async (written or held back by NX/XX), the number of keys deleted for
    delete_async, the new integer for incrby_async."""

    def __new__(cls, ticket, result):
        self = super().__new__(cls, ticket)
        self.result = result
        return self

    def __repr__(self):
        return f"Ticket({int(self)}, result={self.result!r})"


# ---------------------------------------------------------------------------
# Queues (synap.h "Queues", docs/queues.md)

# queue_declare() keywords: the settings string's names, and each one's largest value.


def open(path, fsync="always", *, options=None, progress=None, **kwargs):  # noqa: A001 - synap.open
    """Opens (creating if needed) the data directory ``path`` and returns a Database.

    ``fsync`` is wal.fsync_mode ("always", "periodic" or "never"; None keeps the
    library default). Other options are keyword arguments (``maxmemory="64M"``,
    ``allow_flushall=True``, ``kv_shards=16``: see option_name()) or a dict of
    synap.h names (``options={"kv.maxmemory": "64M"}``), applied in that order.
    ``progress(phase, done, total)`` is called during recovery ("snapshot",
    "log"). Raises InvalidArgument for a bad option, Locked if the directory is
    open elsewhere, Corruption, Unsupported, StorageIOError, NoSpace, ...
    """
    lib = _library()
    settings = []
    if fsync is not None:
        settings.append(("wal.fsync_mode", fsync))
    for keyword, value in kwargs.items():
        if value is not None:
            settings.append((option_name(keyword), value))
    for name, value in (options or {}).items():
        settings.append((name, value))
    cpath = _cstr(os.fsencode(path), "path")

    opts = c_void_p()
    rc = lib.synap_options_create(byref(opts))
    if rc < 0:
        _raise(lib, rc)
    try:
        for name, value in settings:
            rc = lib.synap_options_set(opts, _cstr(name, "option name"),
                                       _cstr(_option_value(value), f"option {name}"))
            if rc < 0:
                _raise(lib, rc)
        progress_cb = None  # kept alive until synap_open() returns
        if progress is not None:
            def _progress(_user, phase, done, total):
                progress(phase.decode("utf-8", "replace"), done, total)
            progress_cb = _lib.PROGRESS_FN(_progress)
            rc = lib.synap_options_set_progress(opts, progress_cb, None)
            if rc < 0:
                _raise(lib, rc)
        handle = c_void_p()
        rc = lib.synap_open(cpath, opts, byref(handle))
        if rc < 0:
            _raise(lib, rc)
    finally:
        lib.synap_options_destroy(opts)
    return Database(handle.value, path)


class Database(QueueMethods, PubSubMethods, StreamMethods):
    """An open synap data directory. Use synap.open() to make one.

    Keys and values may be bytes or str (str is encoded UTF-8); values come
    back as bytes. Methods follow the Redis commands of the same name. A
    Database may be shared by threads; close() waits for calls in progress
    and every later call raises Closed.
    """

    def __init__(self, handle, path=None):
        self._lib = _library()
        self._h = handle
        self._subs = weakref.WeakSet()  # open subscriptions: closed before the handle
        self.path = path
        self._mu = threading.Lock()
        self._idle = threading.Condition(self._mu)
        self._active = 0
        self._closing = False
        _open_dbs.add(self)

    # -- plumbing ----------------------------------------------------------

    def _enter(self):
        with self._mu:
            if self._h is None or self._closing:
                raise Closed(ECLOSED, "the database is closed")
            self._active += 1
            return self._h

    def _leave(self):
        with self._mu:
            self._active -= 1
            if self._active == 0 and self._closing:
                self._idle.notify_all()

    def _call(self, fn, *args):
        """fn(handle, *args); raises for a negative result, else returns it."""
        h = self._enter()
        try:
            rc = fn(h, *args)
            if rc < 0:
                _raise(self._lib, rc)
            return rc
        finally:
            self._leave()

    # -- lifecycle ---------------------------------------------------------

    def close(self):
        """Flushes and fsyncs everything pending, stops the background threads and
        releases the directory. Waits for calls in progress on other threads.
        Closing twice is allowed. The handle is gone even if this raises (the
        error a final flush met)."""
        with self._mu:
            if self._h is None or self._closing:
                return
            self._closing = True
            while self._active:
                self._idle.wait()
            handle = self._h
        for sub in list(self._subs):  # libsynap wants them freed before the handle
            sub._free()
        try:
            rc = self._lib.synap_close(handle)
            if rc < 0:
                _raise(self._lib, rc)
        finally:
            with self._mu:
                self._h = None
            _open_dbs.discard(self)
            with _acked_lock:  # callbacks that can no longer fire
                mine = [t for t, (_, owner) in _acked_pending.items() if owner == id(self)]
                for t in mine:
                    del _acked_pending[t]

    @property
    def closed(self):
        return self._h is None or self._closing

    def __enter__(self):
        if self.closed:
            raise Closed(ECLOSED, "the database is closed")
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_h", None) is not None:
                self.close()
        except Exception:  # noqa: BLE001 - nothing to report to in a finalizer
            pass

    def __repr__(self):
        state = "closed" if self.closed else "open"
        return f"<synap.Database {self.path!r} {state}>"

    def sync(self):
        """Makes every write so far durable (fsync), whatever the fsync mode."""
        self._call(self._lib.synap_sync)

    def snapshot(self):
        """Writes a snapshot now (holding every write acknowledged before the
        call) and waits for it; then drops old snapshots and log segments."""
        self._call(self._lib.synap_snapshot)

    def stats(self):
        """Statistics and the open's recovery report, as a dict."""
        ptr, length = c_void_p(), c_size_t()
        self._call(self._lib.synap_stats_json, byref(ptr), byref(length))
        return json.loads(_take(ptr, length))

    # -- reads ---------------------------------------------------------------

    def get(self, key):
        """The value of key as bytes, or None."""
        k = _key(key)
        ptr, length = c_void_p(), c_size_t()
        rc = self._call(self._lib.synap_get, k, len(k), byref(ptr), byref(length))
        if rc == NOTFOUND:
            return None
        return _take(ptr, length)

    def mget(self, keys, *more):
        """Values of several keys (None for each absent one). Takes one iterable of
        keys, or the keys as arguments."""
        if isinstance(keys, (bytes, str, bytearray, memoryview)):
            keys = [keys]
        n, karr, klens = _keys_array(itertools.chain(keys, more))
        vals, vlens = (c_void_p * n)(), (c_size_t * n)()
        self._call(self._lib.synap_mget, n, karr, klens, vals, vlens)
        out = []
        free = self._lib.synap_free
        try:
            for i in range(n):
                p = vals[i]
                out.append(None if p is None else string_at(p, vlens[i]))
        finally:
            for i in range(n):
                if vals[i] is not None:
                    free(vals[i])
        return out

    def exists(self, *keys):
        """How many of the keys exist (a key named twice counts twice)."""
        n, karr, klens = _keys_array(keys)
        count = c_uint64()
        self._call(self._lib.synap_exists, n, karr, klens, byref(count))
        return count.value

    def strlen(self, key):
        """The length of the value (0 if absent)."""
        k = _key(key)
        length = c_uint64()
        self._call(self._lib.synap_strlen, k, len(k), byref(length))
        return length.value

    def pttl(self, key):
        """Milliseconds to live: -2 if absent, -1 if the key has no expiry."""
        k = _key(key)
        ms = c_int64()
        rc = self._call(self._lib.synap_pttl, k, len(k), byref(ms))
        return -2 if rc == NOTFOUND else ms.value

    def ttl(self, key):
        """Seconds to live, rounded as Redis does: -2 if absent, -1 if no expiry."""
        ms = self.pttl(key)
        return ms if ms < 0 else (ms + 500) // 1000

    def dbsize(self):
        """The number of keys, expired ones not yet removed included (as in Redis)."""
        count = c_uint64()
        self._call(self._lib.synap_dbsize, byref(count))
        return count.value

    def scan(self, cursor=0, match=None, count=None):
        """One SCAN step: (next_cursor, [keys]); next_cursor is 0 when done."""
        cursor = operator.index(cursor)
        if not 0 <= cursor <= _UINT64_MAX:
            raise error_from_code(EINVAL, "invalid cursor")
        count = 0 if count is None else operator.index(count)
        if not 0 <= count <= _UINT64_MAX:
            raise error_from_code(EINVAL, "invalid count")
        pat = _pattern(match)
        found = []

        def sink(_user, key, klen):
            found.append(string_at(key, klen) if klen else b"")

        cb = _lib.KEY_FN(sink)  # alive until synap_scan() returns
        nxt = c_uint64()
        self._call(self._lib.synap_scan, cursor, pat, len(pat) if pat else 0, count, cb, None, byref(nxt))
        return nxt.value, found

    def scan_iter(self, match=None, count=None):
        """Every key matching ``match``, by SCAN steps. A key that exists for the
        whole iteration is yielded at least once; keys added or removed
        meanwhile may or may not be."""
        cursor = 0
        while True:
            cursor, keys = self.scan(cursor, match, count)
            yield from keys
            if cursor == 0:
                return

    def keys(self, pattern="*"):
        """Every key matching the glob pattern (KEYS: O(number of keys))."""
        pat = _pattern(pattern)
        found = []

        def sink(_user, key, klen):
            found.append(string_at(key, klen) if klen else b"")

        cb = _lib.KEY_FN(sink)
        self._call(self._lib.synap_keys, pat, len(pat) if pat else 0, cb, None)
        return found

    # -- writes --------------------------------------------------------------

    def set(self, key, value, ex=None, px=None, exat=None, pxat=None, nx=False, xx=False, keepttl=False,
            get=False):
        """SET. Returns True when written, False when nx/xx held it back; with
        get=True, returns the previous value (or None) instead. ex/px accept
        timedelta, exat/pxat datetime."""
        k, v = _key(key), _value(value)
        flags, expire = _set_flags(ex, px, exat, pxat, nx, xx, keepttl)
        if get:
            flags |= _SET_GET
        if flags == 0:
            self._call(self._lib.synap_set, k, len(k), v, len(v))
            return True
        old, old_len = c_void_p(), c_size_t()
        rc = self._call(self._lib.synap_set_ex, k, len(k), v, len(v), flags, expire, byref(old), byref(old_len))
        if get:
            return _take(old, old_len)
        return rc == OK

    def getset(self, key, value):
        """Sets the value and returns the previous one (or None)."""
        return self.set(key, value, get=True)

    def getdel(self, key):
        """Gets the value (or None) and deletes the key."""
        k = _key(key)
        ptr, length = c_void_p(), c_size_t()
        rc = self._call(self._lib.synap_getdel, k, len(k), byref(ptr), byref(length))
        if rc == NOTFOUND:
            return None
        return _take(ptr, length)

    def delete(self, *keys):
        """Deletes keys; returns how many existed."""
        n, karr, klens = _keys_array(keys)
        deleted = c_uint64()
        self._call(self._lib.synap_del, n, karr, klens, byref(deleted))
        return deleted.value

    def incrby(self, key, amount=1):
        """Adds amount to the integer value (absent = 0); returns the new value.
        Raises InvalidArgument if the value is not an integer, OutOfRange on overflow."""
        k = _key(key)
        delta = _int64(amount, "increment", ERANGE)
        result = c_int64()
        self._call(self._lib.synap_incrby, k, len(k), delta, byref(result))
        return result.value

    def incr(self, key, amount=1):
        return self.incrby(key, amount)

    def decrby(self, key, amount=1):
        return self.incrby(key, -operator.index(amount))

    def decr(self, key, amount=1):
        return self.decrby(key, amount)

    def append(self, key, value):
        """Appends to the value (absent = empty); returns the new length."""
        k, v = _key(key), _value(value)
        new_len = c_uint64()
        self._call(self._lib.synap_append, k, len(k), v, len(v), byref(new_len))
        return new_len.value

    def mset(self, mapping):
        """Sets every key of a mapping (or iterable of pairs) as one log record
        (InvalidArgument if it is empty, as in Redis)."""
        n, karr, klens, varr, vlens = _pairs(mapping)
        self._call(self._lib.synap_mset, n, karr, klens, varr, vlens, 0)
        return True

    def msetnx(self, mapping):
        """Sets every key only if none exists; returns whether it did."""
        n, karr, klens, varr, vlens = _pairs(mapping)
        return self._call(self._lib.synap_mset, n, karr, klens, varr, vlens, _SET_NX) == OK

    def _expire(self, key, value, unit, nx, xx, gt, lt):
        k = _key(key)
        flags = unit | (_EXP_NX if nx else 0) | (_EXP_XX if xx else 0) | (_EXP_GT if gt else 0) | \
            (_EXP_LT if lt else 0)
        return self._call(self._lib.synap_expire, k, len(k), value, flags) == OK

    def expire(self, key, seconds, nx=False, xx=False, gt=False, lt=False):
        """Sets a time to live in seconds (int or timedelta); True if set, False if
        the key is absent or a condition held it back. <= 0 deletes the key."""
        return self._expire(key, _seconds(seconds, "seconds"), _EXP_S, nx, xx, gt, lt)

    def pexpire(self, key, milliseconds, nx=False, xx=False, gt=False, lt=False):
        return self._expire(key, _millis(milliseconds, "milliseconds"), _EXP_MS, nx, xx, gt, lt)

    def expireat(self, key, when, nx=False, xx=False, gt=False, lt=False):
        """Expires the key at a Unix time in seconds (int or datetime)."""
        return self._expire(key, _unix_seconds(when, "when"), _EXP_AT_S, nx, xx, gt, lt)

    def pexpireat(self, key, when, nx=False, xx=False, gt=False, lt=False):
        """Expires the key at a Unix time in milliseconds (int or datetime)."""
        return self._expire(key, _unix_millis(when, "when"), _EXP_AT_MS, nx, xx, gt, lt)

    def persist(self, key):
        """Removes the expiry; True if there was one."""
        k = _key(key)
        return self._call(self._lib.synap_persist, k, len(k)) == OK

    def flushall(self):
        """Deletes every key. Raises PermissionDenied unless opened with allow_flushall=True."""
        self._call(self._lib.synap_flushall)
        return True

    # -- mapping protocol ------------------------------------------------------

    def __getitem__(self, key):
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value):
        self.set(key, value)

    def __delitem__(self, key):
        if self.delete(key) == 0:
            raise KeyError(key)

    def __contains__(self, key):
        return self.exists(key) > 0

    def __len__(self):
        return self.dbsize()

    def __iter__(self):
        return self.scan_iter()

    # -- non-blocking writes -----------------------------------------------------

    def set_async(self, key, value, ex=None, px=None, exat=None, pxat=None, nx=False, xx=False,
                  keepttl=False):
        """SET without waiting for acknowledgement: returns a Ticket whose
        ``result`` is True if written, False if nx/xx held it back."""
        k, v = _key(key), _value(value)
        flags, expire = _set_flags(ex, px, exat, pxat, nx, xx, keepttl)
        ticket = c_uint64()
        rc = self._call(self._lib.synap_set_async, k, len(k), v, len(v), flags, expire, byref(ticket))
        return Ticket(ticket.value, rc == OK)

    def delete_async(self, *keys):
        """DEL without waiting: a Ticket whose ``result`` is how many keys existed."""
        n, karr, klens = _keys_array(keys)
        deleted, ticket = c_uint64(), c_uint64()
        self._call(self._lib.synap_del_async, n, karr, klens, byref(deleted), byref(ticket))
        return Ticket(ticket.value, deleted.value)

    def incrby_async(self, key, amount=1):
        """INCRBY without waiting: a Ticket whose ``result`` is the new value."""
        k = _key(key)
        delta = _int64(amount, "increment", ERANGE)
        result, ticket = c_int64(), c_uint64()
        self._call(self._lib.synap_incrby_async, k, len(k), delta, byref(result), byref(ticket))
        return Ticket(ticket.value, result.value)

    def mset_async(self, mapping, nx=False):
        """MSET (MSETNX with nx=True) without waiting: a Ticket whose ``result``
        is True if written."""
        n, karr, klens, varr, vlens = _pairs(mapping)
        ticket = c_uint64()
        rc = self._call(self._lib.synap_mset_async, n, karr, klens, varr, vlens, _SET_NX if nx else 0,
                        byref(ticket))
        return Ticket(ticket.value, rc == OK)

    def acked(self):
        """The highest ticket acknowledged so far; raises the log's error once it failed."""
        acked = c_uint64()
        self._call(self._lib.synap_acked, byref(acked))
        return acked.value

    def wait(self, ticket):
        """Blocks until ticket is acknowledged; raises the log's error if it never will be."""
        ticket = operator.index(ticket)
        if not 0 <= ticket <= _UINT64_MAX:
            raise error_from_code(EINVAL, "invalid ticket")
        self._call(self._lib.synap_wait, ticket)

    def event_fd(self):
        """An eventfd (non-blocking, owned by the database: do not close it) that
        becomes readable when acknowledgement may have advanced: read its 8
        bytes, then call acked()."""
        fd = c_int()
        self._call(self._lib.synap_event_fd, byref(fd))
        return fd.value

    def on_acked(self, ticket, fn):
        """Calls fn(ticket, error) once ticket is acknowledged (error None) or can
        never be (error is the SynapError). It runs at once on this thread if
        that is already known, else on libsynap's commit thread: keep it short,
        and do not call into this or any other Database from it."""
        ticket = operator.index(ticket)
        if not 0 <= ticket <= _UINT64_MAX:
            raise error_from_code(EINVAL, "invalid ticket")
        if not callable(fn):
            raise TypeError("fn must be callable")
        with _acked_lock:
            token = next(_acked_tokens)
            _acked_pending[token] = (fn, id(self))
        try:
            self._call(self._lib.synap_on_acked, ticket, _acked_trampoline, token)
        except BaseException:
            with _acked_lock:
                _acked_pending.pop(token, None)
            raise
