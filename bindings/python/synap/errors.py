"""Exceptions raised by the synap package, one class per SYNAP_E* result code.

Every exception raised for a failed libsynap call is a :class:`SynapError`
whose ``code`` is the negative result code from ``synap.h`` (or
SYNAP_NOTFOUND, for :class:`NotFound`, where a call needs the thing to exist) and whose
``message`` is ``synap_last_error()`` read right after the failing call (or
``synap_strerror(code)`` when the library left no message).
"""

# Result codes, as in capi/include/synap/synap.h.
OK = 0
NOTFOUND = 1
NOTSET = 2
EINVAL = -1
ETOOLARGE = -2
ECORRUPT = -3
EIO = -4
ENOSPC = -5
EREADONLY = -6
ELOCKED = -7
ECLOSED = -8
EBUSY = -9
EUNSUPPORTED = -10
ENOMEM = -11
EINTERNAL = -12
ERANGE = -13
EPERM = -14
EEXIST = -15


class SynapError(Exception):
    """A libsynap call failed. ``code`` is the SYNAP_E* result code."""

    code = None  # set on each subclass; instances carry their own

    def __init__(self, code, message=""):
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self):
        name = _NAMES.get(self.code, str(self.code))
        return f"{self.message} ({name})" if self.message else name


class NotFound(SynapError, KeyError):
    """SYNAP_NOTFOUND where absence is an error: no such queue, stream room or
    topic, or no such message in the state asked (e.g. acking a message that
    is not in flight). KV reads report an absent key by their return value
    instead (None, -2, False), as group_committed() does a missing commit."""


class InvalidArgument(SynapError, ValueError):
    """SYNAP_EINVAL: a bad argument, option name or value, or not an integer."""


class TooLarge(SynapError, ValueError):
    """SYNAP_ETOOLARGE: a named limit was exceeded (key, value, record size)."""


class Corruption(SynapError):
    """SYNAP_ECORRUPT: stored data failed validation."""


class StorageIOError(SynapError):
    """SYNAP_EIO: the operating system reported an I/O error."""


class NoSpace(SynapError):
    """SYNAP_ENOSPC: no space left on the device."""


class ReadOnly(SynapError):
    """SYNAP_EREADONLY: the handle turned read-only after a failed write or fsync."""


class Locked(SynapError):
    """SYNAP_ELOCKED: another process or handle holds the data directory."""


class Closed(SynapError):
    """SYNAP_ECLOSED: the database is closing or closed."""


class Busy(SynapError):
    """SYNAP_EBUSY: a bounded resource is full (e.g. a snapshot is running); retry later."""


class Unsupported(SynapError):
    """SYNAP_EUNSUPPORTED: not possible here (e.g. a newer on-disk format)."""


class OutOfMemory(SynapError):
    """SYNAP_ENOMEM: out of memory, or over kv.maxmemory under noeviction."""


class Internal(SynapError):
    """SYNAP_EINTERNAL: a bug in libsynap."""


class OutOfRange(SynapError, ValueError):
    """SYNAP_ERANGE: a number out of range (an increment would overflow int64),
    or a stream offset outside a room's kept events.

    Raised by a stream read (Database.stream_read, iter_stream), it also
    carries the room's bounds at the time of the error, so that a consumer
    can seek: ``earliest`` (the first offset still kept; retention moves it)
    and ``next_offset`` (the high watermark). Both are None elsewhere, or if
    the room went away meanwhile."""

    earliest = None
    next_offset = None


class PermissionDenied(SynapError):
    """SYNAP_EPERM: not permitted by the configuration (e.g. FLUSHALL)."""


class AlreadyExists(SynapError):
    """SYNAP_EEXIST: a create found it already there (a stream room, a topic)."""


_CLASSES = {
    NOTFOUND: NotFound,
    EINVAL: InvalidArgument,
    ETOOLARGE: TooLarge,
    ECORRUPT: Corruption,
    EIO: StorageIOError,
    ENOSPC: NoSpace,
    EREADONLY: ReadOnly,
    ELOCKED: Locked,
    ECLOSED: Closed,
    EBUSY: Busy,
    EUNSUPPORTED: Unsupported,
    ENOMEM: OutOfMemory,
    EINTERNAL: Internal,
    ERANGE: OutOfRange,
    EPERM: PermissionDenied,
    EEXIST: AlreadyExists,
}

_NAMES = {
    NOTFOUND: "SYNAP_NOTFOUND",
    EINVAL: "SYNAP_EINVAL",
    ETOOLARGE: "SYNAP_ETOOLARGE",
    ECORRUPT: "SYNAP_ECORRUPT",
    EIO: "SYNAP_EIO",
    ENOSPC: "SYNAP_ENOSPC",
    EREADONLY: "SYNAP_EREADONLY",
    ELOCKED: "SYNAP_ELOCKED",
    ECLOSED: "SYNAP_ECLOSED",
    EBUSY: "SYNAP_EBUSY",
    EUNSUPPORTED: "SYNAP_EUNSUPPORTED",
    ENOMEM: "SYNAP_ENOMEM",
    EINTERNAL: "SYNAP_EINTERNAL",
    ERANGE: "SYNAP_ERANGE",
    EPERM: "SYNAP_EPERM",
    EEXIST: "SYNAP_EEXIST",
}

for _code, _cls in _CLASSES.items():
    _cls.code = _code
del _code, _cls


def error_from_code(code, message=""):
    """The exception instance for a negative result code, or SYNAP_NOTFOUND
    (NotFound); SynapError if unknown."""
    return _CLASSES.get(code, SynapError)(code, message)


class LibraryNotFound(ImportError):
    """libsynap could not be loaded (or is an incompatible version)."""
