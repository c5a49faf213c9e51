"""Argument and result conversions shared by the Database, queue and pub/sub code."""

import datetime
import operator
import re
from collections.abc import Mapping
from ctypes import c_char_p, c_size_t, c_void_p, cast, string_at

from . import _lib
from .errors import EINVAL, error_from_code


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


def _error(lib, rc):
    """The exception for a negative result code, with synap_last_error(), which
    must be read right after the failing call on the same thread."""
    msg = lib.synap_last_error()
    msg = msg.decode("utf-8", "replace") if msg else ""
    if not msg:
        msg = (lib.synap_strerror(rc) or b"").decode("utf-8", "replace")
    return error_from_code(rc, msg)


def _raise(lib, rc):
    """Raises _error(lib, rc)."""
    raise _error(lib, rc)


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


# ---------------------------------------------------------------------------
# Streams (synap.h "Streams")

_SETTING_NAME = re.compile(r"[A-Za-z0-9_]+\Z")
_SETTING_VALUE = re.compile(r"[A-Za-z0-9_.,:+-]+\Z")  # no space, ';' or '=': one pair stays one pair


def _setting_value(name, v):
    if isinstance(v, bool):
        raise TypeError(f"room setting {name} must be an int or str, not bool")
    if isinstance(v, datetime.timedelta):  # retention_ms
        v = v // datetime.timedelta(milliseconds=1)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, bytes):
        v = v.decode("ascii", "replace")
    if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):  # cleanup=("compact", "delete")
        v = ",".join(v)
    if not isinstance(v, str):
        raise TypeError(f"room setting {name} must be an int or str, not {type(v).__name__}")
    if not _SETTING_VALUE.match(v):
        raise error_from_code(EINVAL, f"room setting {name}: {v!r} is not a valid value")
    return v


def _room_settings(settings, extra):
    """The settings string of synap_stream_create / synap_topic_create, from a
    str ("retention_bytes=1000000 cleanup=compact"), a mapping, and keyword
    arguments (applied after it); None when there are none (the defaults).
    libsynap checks the names and values; here, only that each pair stays one
    pair (no separator or '=' inside a value)."""
    parts = []
    if settings is None:
        pass
    elif isinstance(settings, (str, bytes)):
        text = settings.decode("utf-8") if isinstance(settings, bytes) else settings
        if "\0" in text:
            raise error_from_code(EINVAL, "room settings contain a NUL byte")
        if text.strip():
            parts.append(text)
    elif isinstance(settings, Mapping):
        extra = {**settings, **extra}
    else:
        raise TypeError(f"room settings must be a str or a mapping, not {type(settings).__name__}")
    for name, v in extra.items():
        if not isinstance(name, str) or not _SETTING_NAME.match(name):
            raise error_from_code(EINVAL, f"bad room setting name {name!r}")
        parts.append(f"{name}={_setting_value(name, v)}")
    return " ".join(parts).encode("utf-8") if parts else None


def _is_payload(x):
    """Whether x is a bare payload (bytes-like, str, int, float) rather than an event or a list."""
    return isinstance(x, (bytes, bytearray, memoryview, str, float)) or (isinstance(x, int) and not isinstance(x, bool))


def _is_event(x):
    """Whether x is one event: a bare payload, an object with a ``payload``
    attribute (synap.Event, a dataclass, a namedtuple), a mapping with a
    "payload" item, or a plain tuple (key, payload[, headers[, timestamp_ms]])."""
    return _is_payload(x) or hasattr(x, "payload") or isinstance(x, (Mapping, tuple))


def _event_parts(ev):
    """(key bytes or None, payload bytes, headers, timestamp_ms) of one event (see _is_event)."""
    if _is_payload(ev):
        return None, _value(ev), None, 0
    if hasattr(ev, "payload"):
        key, payload = getattr(ev, "key", None), ev.payload
        headers, ts = getattr(ev, "headers", None), getattr(ev, "timestamp_ms", 0)
    elif isinstance(ev, Mapping):
        if "payload" not in ev:
            raise TypeError("an event mapping needs a 'payload' item")
        unknown = set(ev) - {"key", "payload", "headers", "timestamp_ms"}
        if unknown:
            raise TypeError(f"unknown event field(s): {', '.join(map(repr, sorted(unknown, key=repr)))}")
        key, payload, headers, ts = ev.get("key"), ev["payload"], ev.get("headers"), ev.get("timestamp_ms", 0)
    elif isinstance(ev, tuple):
        if not 2 <= len(ev) <= 4:
            raise TypeError("an event tuple is (key, payload[, headers[, timestamp_ms]])")
        key, payload, headers, ts = ev + (None, 0)[len(ev) - 2:]
    else:
        raise TypeError(f"an event must be bytes, str, a (key, payload, ...) tuple or an Event, "
                        f"not {type(ev).__name__}")
    return _event_key(key), _value(payload), headers, _timestamp(ts)


def _event_key(key):
    if key is None:
        return None
    k = _key(key)
    return k or None  # b"": no key, as in synap.h


def _timestamp(ts):
    """An event timestamp in ms (int or datetime); None or 0: the append time."""
    if ts is None:
        return 0
    return _unix_millis(ts, "timestamp_ms")


def _events_in(parts):
    """(synap_event_in array, n, what it points into) of (key, payload, headers, ts) tuples.
    The caller keeps the third item alive until the call returns."""
    n = len(parts)
    arr = (_lib.synap_event_in * n)()
    keep = []
    for i, (key, payload, headers, ts) in enumerate(parts):
        e = arr[i]
        if key:
            e.key, e.key_len = _addr(key), len(key)
        e.payload, e.payload_len = _addr(payload), len(payload)
        harr, hn, hkeep = _headers(headers)
        if hn:
            e.headers, e.header_count = cast(harr, _lib.header_p), hn
        e.timestamp_ms = ts
        keep.append((key, payload, harr, hkeep))
    return arr, n, keep
