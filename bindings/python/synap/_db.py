"""synap.open() and Database: the Pythonic face of synap.h's KV and queue functions."""

import atexit
import collections
import datetime
import itertools
import json
import operator
import os
import threading
import weakref
from ctypes import byref, c_char_p, c_int, c_int64, c_size_t, c_uint64, c_void_p, cast, string_at

from . import _lib
from .errors import ECLOSED, EINVAL, ERANGE, EUNSUPPORTED, NOTFOUND, OK, Closed, NotFound, SynapError, error_from_code

# synap_set_ex() flags
_SET_EX, _SET_PX, _SET_EXAT, _SET_PXAT = 0x01, 0x02, 0x04, 0x08
_SET_NX, _SET_XX, _SET_KEEPTTL, _SET_GET = 0x10, 0x20, 0x40, 0x80
# synap_expire() flags
_EXP_S, _EXP_MS, _EXP_AT_S, _EXP_AT_MS = 0x01, 0x02, 0x04, 0x08
_EXP_NX, _EXP_XX, _EXP_GT, _EXP_LT = 0x10, 0x20, 0x40, 0x80

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1
_UINT32_MAX = (1 << 32) - 1

# ---------------------------------------------------------------------------
# Conversions


def _key(k):
    """A key as bytes: bytes-like objects as they are, str encoded UTF-8."""
    if isinstance(k, bytes):
        return k
    if isinstance(k, str):
        return k.encode("utf-8")
    if isinstance(k, (bytearray, memoryview)):
        return bytes(k)
    raise TypeError(f"a key must be bytes or str, not {type(k).__name__}")


def _value(v):
    """A value as bytes: like a key, plus int and float written in decimal (as redis-py does)."""
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v).encode("ascii")
    if isinstance(v, float):
        return repr(v).encode("ascii")
    raise TypeError(f"a value must be bytes, str, int or float, not {type(v).__name__}")


def _keys_array(keys):
    return _keys_array_of([_key(k) for k in keys])


def _keys_array_of(ks):
    """(n, c_char_p array, size_t array) of bytes objects (a list or iterable)."""
    ks = list(ks)
    n = len(ks)
    # The c_char_p array holds references to the bytes objects it points into.
    return n, (c_char_p * n)(*ks), (c_size_t * n)(*map(len, ks))


def _pairs(mapping):
    items = mapping.items() if hasattr(mapping, "items") else mapping
    ks, vs = [], []
    for k, v in items:
        ks.append(_key(k))
        vs.append(_value(v))
    n = len(ks)
    return (n, (c_char_p * n)(*ks), (c_size_t * n)(*map(len, ks)), (c_char_p * n)(*vs),
            (c_size_t * n)(*map(len, vs)))


def _int64(x, what, exc_code=EINVAL):
    """x as an int within int64, or the SynapError for exc_code (raised in Python: C never sees it)."""
    try:
        x = operator.index(x)
    except TypeError:
        raise TypeError(f"{what} must be an int, not {type(x).__name__}") from None
    if not _INT64_MIN <= x <= _INT64_MAX:
        raise error_from_code(exc_code, f"{what} is out of the int64 range")
    return x


def _seconds(x, what):
    if isinstance(x, datetime.timedelta):
        return int(x.total_seconds())
    return _int64(x, what)


def _millis(x, what):
    if isinstance(x, datetime.timedelta):
        return x // datetime.timedelta(milliseconds=1)
    return _int64(x, what)


def _unix_seconds(x, what):
    if isinstance(x, datetime.datetime):
        return int(x.timestamp())
    return _int64(x, what)


def _unix_millis(x, what):
    if isinstance(x, datetime.datetime):
        return int(x.timestamp() * 1000)
    return _int64(x, what)


def _set_flags(ex, px, exat, pxat, nx, xx, keepttl):
    """synap_set_ex()'s (flags, expire). Conflicting choices are passed on:
    libsynap rejects them (SYNAP_EINVAL) with its own message."""
    flags, expire = 0, 0
    if pxat is not None:
        flags, expire = flags | _SET_PXAT, _unix_millis(pxat, "pxat")
    if exat is not None:
        flags, expire = flags | _SET_EXAT, _unix_seconds(exat, "exat")
    if px is not None:
        flags, expire = flags | _SET_PX, _millis(px, "px")
    if ex is not None:
        flags, expire = flags | _SET_EX, _seconds(ex, "ex")
    if nx:
        flags |= _SET_NX
    if xx:
        flags |= _SET_XX
    if keepttl:
        flags |= _SET_KEEPTTL
    return flags, expire


def _cstr(s, what):
    """A NUL-terminated C string argument (option names and values, paths)."""
    if isinstance(s, str):
        s = s.encode("utf-8")
    if b"\0" in s:
        raise error_from_code(EINVAL, f"{what} contains a NUL byte")
    return s


def _pattern(match):
    if match is None:
        return None
    return _key(match)


def _take(ptr, length):
    """The bytes of a malloc'd libsynap buffer, which is then freed (None for NULL)."""
    p = ptr.value
    if p is None:
        return None
    try:
        return string_at(p, length.value)
    finally:
        _lib.load().synap_free(p)


def _raise(lib, rc):
    """Raises the exception for a negative result code with synap_last_error(),
    which must be read right after the failing call on the same thread."""
    msg = lib.synap_last_error()
    msg = msg.decode("utf-8", "replace") if msg else ""
    if not msg:
        msg = (lib.synap_strerror(rc) or b"").decode("utf-8", "replace")
    raise error_from_code(rc, msg)


# ---------------------------------------------------------------------------
# Options

# Short keyword names for common options; any other keyword that starts with
# a section (wal_, io_, kv_, snapshot_, queue_) maps to "section.rest", e.g.
# kv_max_key_bytes -> kv.max_key_bytes, queue_auto_create -> queue.auto_create.
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
_SECTIONS = ("wal", "io", "kv", "snapshot", "queue")


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
        for code in range(-14, 3):
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
_QUEUE_SETTINGS = {
    "max_depth": _UINT64_MAX,
    "ack_deadline_ms": _UINT32_MAX,
    "max_retries": _UINT32_MAX,
    "dead_letter_max": _UINT64_MAX,
    "default_priority": 9,
    "message_ttl_ms": _UINT64_MAX,
}


def _qname(name, what):
    """A queue or consumer name as a NUL-terminated C string: str is encoded
    UTF-8 (surrogateescape, so names from queues() round-trip), bytes as they
    are. libsynap checks the length (1..256 bytes)."""
    if isinstance(name, str):
        b = name.encode("utf-8", "surrogateescape")
    elif isinstance(name, (bytes, bytearray, memoryview)):
        b = bytes(name)
    else:
        raise TypeError(f"a {what} name must be str or bytes, not {type(name).__name__}")
    if b"\0" in b:
        raise error_from_code(EINVAL, f"{what} name contains a NUL byte")
    return b


def _uint(x, what, maximum):
    """x as an int in 0..maximum (a timedelta counts in milliseconds), else
    InvalidArgument: checked here, as ctypes would silently truncate it."""
    if isinstance(x, datetime.timedelta):
        x = x // datetime.timedelta(milliseconds=1)
    try:
        x = operator.index(x)
    except TypeError:
        raise TypeError(f"{what} must be an int, not {type(x).__name__}") from None
    if not 0 <= x <= maximum:
        raise error_from_code(EINVAL, f"{what} must be 0..{maximum}")
    return x


def _msg_id(x):
    """A message id: an int or a Message."""
    return _uint(x.id if isinstance(x, Message) else x, "message id", _UINT64_MAX)


def _addr(b):
    """The address of a bytes object's buffer (the caller keeps b alive)."""
    return cast(c_char_p(b), c_void_p).value


def _headers(headers):
    """(synap_header array or None, count, the bytes it points into) for publish.
    ``headers`` is a mapping or an iterable of (key, value) pairs; keys are
    bytes or str, values also int or float, as KV values are."""
    if not headers:
        return None, 0, None
    items = headers.items() if hasattr(headers, "items") else headers
    pairs = [(_key(k), _value(v)) for k, v in items]
    n = len(pairs)
    arr = (_lib.synap_header * n)()
    for i, (k, v) in enumerate(pairs):
        arr[i].key, arr[i].key_len = _addr(k), len(k)
        arr[i].value, arr[i].value_len = _addr(v), len(v)
    return arr, n, pairs


def _bytes_at(p, n):
    return string_at(p, n) if n else b""


class Message:
    """A message handed out by Database.consume() / iter_queue(), or a dead
    letter listed by Database.dead_letters().

    ``id`` (int, unique and kept across restarts), ``payload`` (bytes),
    ``priority`` (0..9), ``delivery_count`` (1 on the first delivery),
    ``redelivered`` (bool), ``headers`` (dict of bytes to bytes), ``reason``
    (dead letters: "rejected", "max_retries" or "expired"; else ""), and
    ``queue``, the name it came from. ack() and nack() act on it in that
    queue of that database."""

    __slots__ = ("id", "payload", "priority", "delivery_count", "redelivered", "headers", "reason", "queue",
                 "_db")

    def __init__(self, db, queue, id, payload, priority, delivery_count, redelivered, headers,  # noqa: A002
                 reason=""):
        self._db = db
        self.queue = queue
        self.id = id
        self.payload = payload
        self.priority = priority
        self.delivery_count = delivery_count
        self.redelivered = redelivered
        self.headers = headers
        self.reason = reason

    def ack(self):
        """Acks this message for good; NotFound if it is not in flight (acked already,
        or its ack deadline passed and it went back to the queue)."""
        self._db.ack(self.queue, self.id)

    def nack(self, requeue=True):
        """Gives it back: to the head of its priority (requeue=True) or to the dead letters."""
        self._db.nack(self.queue, self.id, requeue)

    def __repr__(self):
        extra = f", reason={self.reason!r}" if self.reason else ""
        return (f"<synap.Message id={self.id} queue={self.queue!r} priority={self.priority} "
                f"delivery_count={self.delivery_count} redelivered={self.redelivered} "
                f"payload={self.payload[:32]!r}{'...' if len(self.payload) > 32 else ''}{extra}>")


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


class Database:
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

    # -- queues ------------------------------------------------------------------
    #
    # Durable work queues (docs/queues.md). Names are str (UTF-8) or bytes of
    # 1..256 bytes. A call on a queue that does not exist raises NotFound
    # (publish creates it unless the database was opened with
    # queue_auto_create=False).

    def _qfn(self, name):
        fn = getattr(self._lib, name, None)
        if fn is None:
            raise error_from_code(EUNSUPPORTED, f"this libsynap ({_lib.path()}) has no queues: it lacks {name}")
        return fn

    def _qcall(self, name, notfound, *args):
        """_call() of a queue function; SYNAP_NOTFOUND raises NotFound(notfound),
        as libsynap leaves no message for it."""
        rc = self._call(self._qfn(name), *args)
        if rc == NOTFOUND:
            raise NotFound(NOTFOUND, notfound)
        return rc

    def _messages(self, queue, ptr, n):
        """Copies the messages of one libsynap block, then frees the block."""
        if not ptr:
            return []
        try:
            out = []
            for i in range(n.value):
                m = ptr[i]
                headers = {}
                for j in range(m.header_count):
                    h = m.headers[j]
                    headers[_bytes_at(h.key, h.key_len)] = _bytes_at(h.value, h.value_len)
                out.append(Message(self, queue, m.id, _bytes_at(m.payload, m.payload_len), m.priority,
                                   m.delivery_count, bool(m.redelivered), headers,
                                   (m.reason or b"").decode("utf-8", "replace")))
            return out
        finally:
            self._lib.synap_free(cast(ptr, c_void_p))

    def queue_declare(self, queue, *, max_depth=None, ack_deadline_ms=None, max_retries=None,
                      dead_letter_max=None, default_priority=None, message_ttl_ms=None):
        """Creates a queue, or checks that the existing one has the same settings
        (else InvalidArgument). Settings left None take libsynap's defaults:
        max_depth 1000000 (a publish past it raises Busy "queue full"),
        ack_deadline_ms 30000, max_retries 5, dead_letter_max 1000000,
        default_priority 0, message_ttl_ms 0 (none). The *_ms ones accept timedelta."""
        given = {"max_depth": max_depth, "ack_deadline_ms": ack_deadline_ms, "max_retries": max_retries,
                 "dead_letter_max": dead_letter_max, "default_priority": default_priority,
                 "message_ttl_ms": message_ttl_ms}
        parts = [f"{k}={_uint(v, k, _QUEUE_SETTINGS[k])}" for k, v in given.items() if v is not None]
        settings = " ".join(parts).encode("ascii") if parts else None
        q = _qname(queue, "queue")
        self._qcall("synap_queue_declare", f"no queue named {queue!r}", q, settings)

    def queue_delete(self, queue):
        """Deletes a queue and all its messages; NotFound if there is none."""
        self._qcall("synap_queue_delete", f"no queue named {queue!r}", _qname(queue, "queue"))

    def queue_purge(self, queue):
        """Removes the ready and delayed messages (not those in flight); returns how many."""
        purged = c_uint64()
        self._qcall("synap_queue_purge", f"no queue named {queue!r}", _qname(queue, "queue"), byref(purged))
        return purged.value

    def queues(self):
        """The names of every queue (str)."""
        found = []

        def sink(_user, name, length):
            found.append(string_at(name, length).decode("utf-8", "surrogateescape"))

        cb = _lib.KEY_FN(sink)  # alive until synap_queue_list() returns
        self._qcall("synap_queue_list", "", cb, None)
        return found

    def queue_stats(self, queue):
        """The queue's counters (ready, in_flight, delayed, dead_lettered, published,
        delivered, acked, nacked, redelivered, expired, consumers) and its
        "settings", as a dict."""
        ptr, length = c_void_p(), c_size_t()
        self._qcall("synap_queue_stats_json", f"no queue named {queue!r}", _qname(queue, "queue"), byref(ptr),
                    byref(length))
        return json.loads(_take(ptr, length))

    def publish(self, queue, payload, priority=None, delay_ms=0, headers=None, max_retries=None):
        """Publishes one message and returns its id once it is durable (under the
        fsync mode). priority: 0..9 (9 is served first), None for the queue's
        default. delay_ms (int or timedelta): delivered only after it. headers: a
        mapping (or pairs) of bytes/str keys to values. max_retries: this
        message's own limit, None for the queue's. The payload, like a KV
        value, is bytes, str, int or float. Raises Busy when the queue is full,
        TooLarge over queue.max_payload_bytes."""
        q, v = _qname(queue, "queue"), _value(payload)
        if priority is None:
            prio = -1
        else:
            prio = _uint(priority, "priority", _UINT64_MAX)
            if prio > 9:
                raise error_from_code(EINVAL, "priority must be 0..9, or None for the queue's default")
        delay = _uint(delay_ms, "delay_ms", _UINT64_MAX)
        retries = -1 if max_retries is None else _uint(max_retries, "max_retries", 0xFFFFFFFF)
        harr, hcount, _keep = _headers(headers)
        mid = c_uint64()
        self._qcall("synap_queue_publish", f"no queue named {queue!r} (and queue.auto_create is false)", q, v,
                    len(v), prio, delay, retries, harr, hcount, byref(mid))
        return mid.value

    def publish_batch(self, queue, payloads):
        """Publishes several messages as one log record (all or none), with the
        queue's default priority and no delay; returns their ids in order.
        InvalidArgument if there are none."""
        q = _qname(queue, "queue")
        n, arr, lens = _keys_array_of(map(_value, payloads))
        ids = (c_uint64 * n)()
        self._qcall("synap_queue_publish_batch", f"no queue named {queue!r} (and queue.auto_create is false)",
                    q, n, arr, lens, ids)
        return list(ids)

    def consume(self, queue, consumer="default", max=1, wait_ms=0, prefetch=0):  # noqa: A002 - as synap.h
        """Takes up to ``max`` (1..10000) ready messages for ``consumer``, highest
        priority first, FIFO within a priority, and returns them as a list of
        Message (empty if none came). If none is ready, waits up to wait_ms (int
        or timedelta) for one; 0 returns at once. prefetch (0: no cap) caps the
        consumer's unacked deliveries in this queue. Each message must be acked
        (msg.ack()) before the queue's ack deadline, else it is delivered again."""
        q, c = _qname(queue, "queue"), _qname(consumer, "consumer")
        count = _uint(max, "max", _UINT32_MAX)
        wait = _uint(wait_ms, "wait_ms", _UINT32_MAX)
        pre = _uint(prefetch, "prefetch", _UINT32_MAX)
        ptr, n = _lib.message_p(), c_size_t()
        self._qcall("synap_queue_consume", f"no queue named {queue!r}", q, c, count, wait, pre, byref(ptr),
                    byref(n))
        return self._messages(queue, ptr, n)

    def iter_queue(self, queue, consumer="default", wait_ms=1000, max=1, prefetch=0):  # noqa: A002
        """Yields messages as consume() hands them out, until a consume that waited
        wait_ms returns nothing. Ack (or nack) each one:

            for msg in db.iter_queue("jobs", wait_ms=1000):
                handle(msg.payload)
                msg.ack()

        With max > 1, messages are fetched in batches; if the loop is left early
        (break, an exception), the fetched ones not yet yielded are nacked back to
        the head of the queue."""
        while True:
            pending = collections.deque(self.consume(queue, consumer, max, wait_ms, prefetch))
            if not pending:
                return
            try:
                while pending:
                    yield pending.popleft()
            finally:
                # Left early: give the rest back, last first, so that each
                # goes to the head of its priority in its original order.
                for msg in reversed(pending):
                    try:
                        self.nack(queue, msg.id, True)
                    except SynapError:  # closed meanwhile, ...: they come back at their deadline
                        pass

    def ack(self, queue, *ids):
        """Acks in-flight messages (ids or Message objects) for good, all or none:
        NotFound, with nothing acked, if any is not in flight in this queue
        (unknown, acked already, or back in the queue after its deadline)."""
        if not ids:
            return
        q = _qname(queue, "queue")
        arr = (c_uint64 * len(ids))(*map(_msg_id, ids))
        shown = ", ".join(str(i) for i in arr[:8]) + (", ..." if len(ids) > 8 else "")
        self._qcall("synap_queue_ack", f"no queue named {queue!r}, or message(s) {shown} not in flight in it", q,
                    arr, len(ids))

    def nack(self, queue, id, requeue=True):  # noqa: A002
        """Gives back an in-flight message (id or Message). requeue=True puts it at
        the head of its priority (or dead-letters it, reason "max_retries", once its
        retries are spent); requeue=False dead-letters it (reason "rejected"),
        raising Busy if the dead-letter list is full (it then stays in flight).
        NotFound if it is not in flight in this queue."""
        mid = _msg_id(id)
        self._qcall("synap_queue_nack", f"no queue named {queue!r}, or message {mid} not in flight in it",
                    _qname(queue, "queue"), mid, 1 if requeue else 0)

    def dead_letters(self, queue, offset=0, limit=100):
        """The queue's dead letters, oldest first, from ``offset``, at most
        ``limit``: a list of Message whose ``reason`` says why."""
        q = _qname(queue, "queue")
        off = _uint(offset, "offset", _UINT64_MAX)
        lim = _uint(limit, "limit", _UINT32_MAX)
        ptr, n = _lib.message_p(), c_size_t()
        self._qcall("synap_queue_dead_letters", f"no queue named {queue!r}", q, off, lim, byref(ptr), byref(n))
        return self._messages(queue, ptr, n)

    def requeue_dead(self, queue, id=None):  # noqa: A002
        """Moves dead letter ``id`` (an id or Message; None: every one) back to ready,
        with its delivery count reset; returns how many moved. NotFound if ``id``
        is not a dead letter of this queue."""
        mid = 0 if id is None else _msg_id(id)
        what = f"no queue named {queue!r}" + (f", or message {mid} is not a dead letter of it" if mid else "")
        moved = c_uint64()
        self._qcall("synap_queue_requeue_dead", what, _qname(queue, "queue"), mid, byref(moved))
        return moved.value

    def purge_dead(self, queue):
        """Deletes every dead letter of the queue; returns how many."""
        purged = c_uint64()
        self._qcall("synap_queue_purge_dead", f"no queue named {queue!r}", _qname(queue, "queue"), byref(purged))
        return purged.value


class Subscription:
    """A pub/sub subscription (Database.subscribe). ``next(wait_ms)`` returns the
    next ``(topic, payload)`` or None when the wait brings nothing; iterating
    yields pairs until a wait of ``wait_ms`` brings nothing. Raises Closed once
    the subscription is closed: by close(), by its database closing, or by an
    overflow under ``overflow="close"`` (after what was buffered is read)."""

    def __init__(self, db, ptr, pattern, wait_ms):
        self._db = db
        self._p = ptr
        self.pattern = pattern
        self.wait_ms = wait_ms
        self._mu = threading.Lock()
        self._idle = threading.Condition(self._mu)
        self._active = 0

    def _enter(self):
        with self._mu:
            if self._p is None:
                raise Closed(ECLOSED, f"subscription {self.pattern!r} is closed")
            self._active += 1
            return self._p

    def _leave(self):
        with self._mu:
            self._active -= 1
            self._idle.notify_all()

    def next(self, wait_ms=0):
        ms = _uint(wait_ms, "wait_ms", _UINT32_MAX)
        self._db._enter()  # the database stays open during the wait
        try:
            p = self._enter()
            try:
                ptr = _lib.message_p()
                rc = self._db._lib.synap_subscription_next(p, ms, byref(ptr))
                if rc == NOTFOUND:
                    return None
                if rc < 0:
                    _raise(self._db._lib, rc)
                m = ptr.contents
                try:
                    return m.reason.decode("utf-8", "surrogateescape"), _bytes_at(m.payload, m.payload_len)
                finally:
                    self._db._lib.synap_free(ptr)
            finally:
                self._leave()
        finally:
            self._db._leave()

    def __iter__(self):
        while True:
            got = self.next(self.wait_ms)
            if got is None:
                return
            yield got

    @property
    def dropped(self):
        """Messages dropped so far by ``overflow="drop_oldest"``."""
        p = self._enter()
        try:
            n = c_uint64()
            rc = self._db._lib.synap_subscription_dropped(p, byref(n))
            if rc < 0:
                _raise(self._db._lib, rc)
            return n.value
        finally:
            self._leave()

    def _free(self):
        with self._mu:
            while self._active:  # a next() in progress ends within its wait
                self._idle.wait()
            p, self._p = self._p, None
        if p is not None:
            self._db._lib.synap_unsubscribe(p)
            self._db._subs.discard(self)

    def close(self):
        """Unsubscribes; later calls raise Closed. Closing twice is allowed."""
        self._free()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _subscribe(db, pattern, capacity=1024, overflow="drop_oldest", wait_ms=1000):
    policies = {"drop_oldest": 0, "close": 1}
    if overflow not in policies:
        raise error_from_code(EINVAL, "overflow must be 'drop_oldest' or 'close'")
    pat = _cstr(pattern, "pattern")
    cap = _uint(capacity, "capacity", _UINT32_MAX)
    ms = _uint(wait_ms, "wait_ms", _UINT32_MAX)
    ptr = c_void_p()
    db._call(db._lib.synap_subscribe, pat, cap, policies[overflow], byref(ptr))
    sub = Subscription(db, ptr.value, pattern, ms)
    db._subs.add(sub)
    return sub


def _pubsub_publish(db, topic, payload):
    t = _cstr(topic, "topic")
    v = _value(payload)
    delivered = c_uint64()
    db._call(db._lib.synap_publish, t, v, len(v), byref(delivered))
    return delivered.value


Database.subscribe = _subscribe
Database.subscribe.__doc__ = """Subscribes to a topic pattern ("orders.*.created", "orders.#", "eu*"): returns a
Subscription (iterate it, or call next()). capacity bounds its buffer; overflow
"drop_oldest" drops (and counts) the oldest, "close" closes it. wait_ms is how
long iteration waits for each message."""
Database.pubsub_publish = _pubsub_publish
Database.pubsub_publish.__doc__ = """Publishes payload to topic; returns how many subscriptions took it.
Not durable: only subscriptions open now receive it."""
