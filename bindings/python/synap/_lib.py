"""Finding and loading libsynap, and the ctypes prototype of every function.

The library is looked for, in order, at:

1. ``$SYNAP_LIBRARY`` -- the full path of ``libsynap.so.1``;
2. ``$SYNAP_BUILD_DIR/capi/libsynap.so.1`` -- a meson build directory;
3. the system: ``ctypes.util.find_library("synap")``, then ``libsynap.so.1``.

It is loaded once, on first use (``load()``), so that ``import synap`` works
without it. Every function gets argtypes and restype: a wrong Python type
fails in ctypes, before C sees it. Functions that return memory the caller
must free (values, JSON) return it through ``void**`` out-parameters, read as
``c_void_p`` and freed with ``synap_free`` by the caller of these prototypes.
"""

import ctypes
import ctypes.util
import os
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_int64, c_size_t, c_uint, c_uint32,
                    c_uint64, c_void_p)

from .errors import LibraryNotFound

# The header this module was written against (synap.h's SYNAP_VERSION_*).
HEADER_MAJOR = 0
HEADER_MINOR = 3
HEADER_PATCH = 0

# Opaque handles.
db_p = c_void_p
options_p = c_void_p
ticket_t = c_uint64

# Callback types (synap.h: synap_progress_fn, synap_key_fn, synap_acked_fn,
# synap_message_fn). MESSAGE_FN's topic is NULL on the last call, so it is
# read as c_void_p (with topic_len), not c_char_p.
PROGRESS_FN = CFUNCTYPE(None, c_void_p, c_char_p, c_uint64, c_uint64)
KEY_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_size_t)
ACKED_FN = CFUNCTYPE(None, c_void_p, c_uint64, c_int)
MESSAGE_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t)
APPENDED_FN = CFUNCTYPE(None, c_void_p, c_int, c_uint64)
READABLE_FN = CFUNCTYPE(None, c_void_p, c_int)
# synap_repair_confirm_fn: (user, plan_json, len) -> non-zero to go ahead, 0 to stop.
REPAIR_CONFIRM_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_size_t)
# synap_dump_fn: (user, line, len) -> 0 to go on; line is NUL-terminated JSON.
DUMP_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_size_t)

# Array-of-buffers parameters (const void* const* keys): a c_char_p array keeps
# a reference to each bytes object it points into, so they outlive the call.
keys_p = POINTER(c_char_p)
lens_p = POINTER(c_size_t)
vals_out_p = POINTER(c_void_p)
void_pp = POINTER(c_void_p)
size_p = POINTER(c_size_t)
u64_p = POINTER(c_uint64)
i64_p = POINTER(c_int64)
ticket_p = POINTER(ticket_t)



# synap.h "Queues": the two structs, field for field. Pointers to bytes are
# c_void_p (binary, not NUL-terminated); `reason` is a NUL-terminated string.
class synap_header(Structure):  # noqa: N801 - the C name
    _fields_ = [
        ("key", c_void_p),
        ("key_len", c_size_t),
        ("value", c_void_p),
        ("value_len", c_size_t),
    ]


class synap_message(Structure):  # noqa: N801 - the C name
    _fields_ = [
        ("id", c_uint64),
        ("payload", c_void_p),
        ("payload_len", c_size_t),
        ("priority", c_uint32),
        ("delivery_count", c_uint32),
        ("redelivered", c_int),
        ("headers", POINTER(synap_header)),
        ("header_count", c_size_t),
        ("reason", c_char_p),
    ]


header_p = POINTER(synap_header)
message_p = POINTER(synap_message)
message_pp = POINTER(message_p)


# synap.h "Streams": the three structs, field for field (int64_t is c_int64,
# uint64_t c_uint64, size_t c_size_t, pointers c_void_p or typed pointers).
class synap_event_in(Structure):  # noqa: N801 - the C name
    _fields_ = [
        ("key", c_void_p),
        ("key_len", c_size_t),
        ("payload", c_void_p),
        ("payload_len", c_size_t),
        ("headers", POINTER(synap_header)),
        ("header_count", c_size_t),
        ("timestamp_ms", c_int64),
    ]


class synap_event(Structure):  # noqa: N801 - the C name
    _fields_ = [
        ("offset", c_uint64),
        ("timestamp_ms", c_int64),
        ("key", c_void_p),
        ("key_len", c_size_t),
        ("payload", c_void_p),
        ("payload_len", c_size_t),
        ("headers", POINTER(synap_header)),
        ("header_count", c_size_t),
    ]


class synap_events(Structure):  # noqa: N801 - the C name
    _fields_ = [
        ("events", POINTER(synap_event)),
        ("count", c_size_t),
        ("next_offset", c_uint64),
        ("high_watermark", c_uint64),
    ]


event_in_p = POINTER(synap_event_in)
events_p = POINTER(synap_events)
events_pp = POINTER(events_p)
u32_p = POINTER(c_uint32)

# name: (restype, [argtypes])
PROTOTYPES = {
    # Versions, codes, memory
    "synap_version_number": (c_int, []),
    "synap_version_string": (c_char_p, []),  # static: never freed
    "synap_strerror": (c_char_p, [c_int]),  # static: never freed
    "synap_last_error": (c_char_p, []),  # owned by libsynap
    "synap_free": (None, [c_void_p]),
    # Options
    "synap_options_create": (c_int, [POINTER(options_p)]),
    "synap_options_destroy": (None, [options_p]),
    "synap_options_set": (c_int, [options_p, c_char_p, c_char_p]),
    "synap_options_get": (c_int, [options_p, c_char_p, c_char_p, c_size_t, size_p]),
    "synap_options_set_fsync_mode": (c_int, [options_p, c_int]),
    "synap_options_set_maxmemory": (c_int, [options_p, c_uint64]),
    "synap_options_set_snapshot_interval": (c_int, [options_p, c_uint32]),
    "synap_options_set_progress": (c_int, [options_p, PROGRESS_FN, c_void_p]),
    # Lifecycle
    "synap_open": (c_int, [c_char_p, options_p, POINTER(db_p)]),
    "synap_close": (c_int, [db_p]),
    "synap_sync": (c_int, [db_p]),
    "synap_snapshot": (c_int, [db_p]),
    "synap_stats_json": (c_int, [db_p, void_pp, size_p]),
    # Reads
    "synap_get": (c_int, [db_p, c_char_p, c_size_t, void_pp, size_p]),
    "synap_get_into": (c_int, [db_p, c_char_p, c_size_t, c_void_p, c_size_t, size_p]),
    "synap_mget": (c_int, [db_p, c_size_t, keys_p, lens_p, vals_out_p, lens_p]),
    "synap_exists": (c_int, [db_p, c_size_t, keys_p, lens_p, u64_p]),
    "synap_strlen": (c_int, [db_p, c_char_p, c_size_t, u64_p]),
    "synap_pttl": (c_int, [db_p, c_char_p, c_size_t, i64_p]),
    "synap_dbsize": (c_int, [db_p, u64_p]),
    "synap_scan": (c_int, [db_p, c_uint64, c_char_p, c_size_t, c_uint64, KEY_FN, c_void_p, u64_p]),
    "synap_keys": (c_int, [db_p, c_char_p, c_size_t, KEY_FN, c_void_p]),
    # Writes
    "synap_set": (c_int, [db_p, c_char_p, c_size_t, c_char_p, c_size_t]),
    "synap_set_ex": (c_int, [db_p, c_char_p, c_size_t, c_char_p, c_size_t, c_uint, c_int64, void_pp, size_p]),
    "synap_getdel": (c_int, [db_p, c_char_p, c_size_t, void_pp, size_p]),
    "synap_del": (c_int, [db_p, c_size_t, keys_p, lens_p, u64_p]),
    "synap_incrby": (c_int, [db_p, c_char_p, c_size_t, c_int64, i64_p]),
    "synap_append": (c_int, [db_p, c_char_p, c_size_t, c_char_p, c_size_t, u64_p]),
    "synap_mset": (c_int, [db_p, c_size_t, keys_p, lens_p, keys_p, lens_p, c_uint]),
    "synap_expire": (c_int, [db_p, c_char_p, c_size_t, c_int64, c_uint]),
    "synap_persist": (c_int, [db_p, c_char_p, c_size_t]),
    "synap_flushall": (c_int, [db_p]),
    # Non-blocking writes
    "synap_set_async": (c_int, [db_p, c_char_p, c_size_t, c_char_p, c_size_t, c_uint, c_int64, ticket_p]),
    "synap_del_async": (c_int, [db_p, c_size_t, keys_p, lens_p, u64_p, ticket_p]),
    "synap_incrby_async": (c_int, [db_p, c_char_p, c_size_t, c_int64, i64_p, ticket_p]),
    "synap_mset_async": (c_int, [db_p, c_size_t, keys_p, lens_p, keys_p, lens_p, c_uint, ticket_p]),
    "synap_set_ex_async": (c_int, [db_p, c_char_p, c_size_t, c_char_p, c_size_t, c_uint, c_int64, void_pp, size_p,
                                   ticket_p]),
    "synap_getdel_async": (c_int, [db_p, c_char_p, c_size_t, void_pp, size_p, ticket_p]),
    "synap_append_async": (c_int, [db_p, c_char_p, c_size_t, c_char_p, c_size_t, u64_p, ticket_p]),
    "synap_expire_async": (c_int, [db_p, c_char_p, c_size_t, c_int64, c_uint, ticket_p]),
    "synap_persist_async": (c_int, [db_p, c_char_p, c_size_t, ticket_p]),
    "synap_acked": (c_int, [db_p, ticket_p]),
    "synap_wait": (c_int, [db_p, ticket_t]),
    "synap_event_fd": (c_int, [db_p, POINTER(c_int)]),
    "synap_on_acked": (c_int, [db_p, ticket_t, ACKED_FN, c_void_p]),
    # Queues
    "synap_queue_declare": (c_int, [db_p, c_char_p, c_char_p]),
    "synap_queue_delete": (c_int, [db_p, c_char_p]),
    "synap_queue_purge": (c_int, [db_p, c_char_p, u64_p]),
    "synap_queue_list": (c_int, [db_p, KEY_FN, c_void_p]),
    "synap_queue_stats_json": (c_int, [db_p, c_char_p, void_pp, size_p]),  # char** json, read as void*
    "synap_queue_publish": (c_int, [db_p, c_char_p, c_char_p, c_size_t, c_int, c_uint64, c_int64, header_p, c_size_t,
                                    u64_p]),
    "synap_queue_publish_batch": (c_int, [db_p, c_char_p, c_size_t, keys_p, lens_p, u64_p]),
    "synap_queue_consume": (c_int, [db_p, c_char_p, c_char_p, c_uint32, c_uint32, c_uint32, message_pp, size_p]),
    "synap_queue_ack": (c_int, [db_p, c_char_p, u64_p, c_size_t]),
    "synap_queue_nack": (c_int, [db_p, c_char_p, c_uint64, c_int]),
    "synap_queue_dead_letters": (c_int, [db_p, c_char_p, c_uint64, c_uint32, message_pp, size_p]),
    "synap_queue_requeue_dead": (c_int, [db_p, c_char_p, c_uint64, u64_p]),
    "synap_queue_purge_dead": (c_int, [db_p, c_char_p, u64_p]),
    # for event loops; unused by this binding (it blocks in consume instead)
    "synap_queue_publish_async": (c_int, [db_p, c_char_p, c_char_p, c_size_t, c_int, c_uint64, c_int64, header_p,
                                          c_size_t, u64_p, ticket_p]),
    "synap_queue_ack_async": (c_int, [db_p, c_char_p, u64_p, c_size_t, ticket_p]),
    "synap_queue_nack_async": (c_int, [db_p, c_char_p, c_uint64, c_int, ticket_p]),
    "synap_queue_notify_ready": (c_int, [db_p, c_char_p, READABLE_FN, c_void_p, u64_p]),
    "synap_queue_notify_cancel": (c_int, [db_p, c_uint64]),
    # pub/sub: a subscription is an opaque pointer
    "synap_subscribe": (c_int, [db_p, c_char_p, c_uint32, c_int, void_pp]),
    "synap_unsubscribe": (c_int, [c_void_p]),
    "synap_publish": (c_int, [db_p, c_char_p, c_char_p, c_size_t, u64_p]),
    "synap_subscription_next": (c_int, [c_void_p, c_uint32, message_pp]),
    "synap_subscription_dropped": (c_int, [c_void_p, u64_p]),
    # Declared for completeness; the bindings do not use it (Subscription.next()
    # is the Python way to receive, and a callback would make next() fail).
    "synap_subscription_set_callback": (c_int, [c_void_p, MESSAGE_FN, c_void_p]),
    "synap_subscription_notify_fd": (c_int, [c_void_p, c_int]),  # for event loops; unused here
    # Streams
    "synap_stream_create": (c_int, [db_p, c_char_p, c_char_p]),
    "synap_stream_delete": (c_int, [db_p, c_char_p]),
    "synap_stream_list": (c_int, [db_p, KEY_FN, c_void_p]),
    "synap_stream_bounds": (c_int, [db_p, c_char_p, u64_p, u64_p]),
    "synap_stream_info_json": (c_int, [db_p, c_char_p, void_pp, size_p]),  # char** json, read as void*
    "synap_stream_append": (c_int, [db_p, c_char_p, event_in_p, c_size_t, u64_p]),
    "synap_stream_append_async": (c_int, [db_p, c_char_p, event_in_p, c_size_t, APPENDED_FN, c_void_p]),  # unused here
    "synap_stream_read": (c_int, [db_p, c_char_p, c_uint64, c_uint32, c_uint64, c_uint32, events_pp]),
    "synap_stream_offset_for_time": (c_int, [db_p, c_char_p, c_int64, u64_p]),
    "synap_stream_notify_readable": (c_int, [db_p, c_char_p, c_uint64, READABLE_FN, c_void_p, u64_p]),  # unused here
    "synap_stream_notify_cancel": (c_int, [db_p, c_uint64]),  # unused here
    "synap_stream_compact": (c_int, [db_p, c_char_p, u64_p]),
    "synap_stream_trim": (c_int, [db_p, c_char_p, c_uint64, u64_p, u64_p]),
    # Streams: consumer groups
    "synap_group_commit": (c_int, [db_p, c_char_p, c_char_p, c_uint64]),
    "synap_group_committed": (c_int, [db_p, c_char_p, c_char_p, u64_p]),
    "synap_group_lag_json": (c_int, [db_p, c_char_p, void_pp, size_p]),
    "synap_group_commit_async": (c_int, [db_p, c_char_p, c_char_p, c_uint64, APPENDED_FN, c_void_p]),  # unused here
    "synap_group_delete": (c_int, [db_p, c_char_p, c_char_p]),
    "synap_group_delete_async": (c_int, [db_p, c_char_p, c_char_p, APPENDED_FN, c_void_p]),  # unused here
    # Streams: partitioned topics
    "synap_topic_create": (c_int, [db_p, c_char_p, c_uint32, c_char_p]),
    "synap_topic_partitions": (c_int, [db_p, c_char_p, u32_p]),
    "synap_topic_produce": (c_int, [db_p, c_char_p, event_in_p, u32_p, u64_p]),
    # Offline tools (no handle: a directory no process has open)
    "synap_verify": (c_int, [c_char_p, PROGRESS_FN, c_void_p, void_pp, size_p]),  # for synap-cli; unused here
    "synap_repair": (c_int, [c_char_p, c_char_p, REPAIR_CONFIRM_FN, c_void_p, void_pp, size_p]),  # unused here
    "synap_inspect_json": (c_int, [c_char_p, void_pp, size_p]),  # unused here
    "synap_dump": (c_int, [c_char_p, c_char_p, DUMP_FN, c_void_p]),  # for synap-cli dump; unused here
}

# Functions a library of the same version may lack (it predates them): they
# are left undeclared and the methods that need them raise Unsupported.
# Streams and the pub/sub callback came within 0.3.0, after its first builds.
OPTIONAL = frozenset({
    "synap_subscription_set_callback", "synap_subscription_notify_fd", "synap_stream_append_async",
    "synap_stream_notify_readable", "synap_stream_notify_cancel",
    "synap_stream_create", "synap_stream_delete", "synap_stream_list", "synap_stream_bounds",
    "synap_stream_info_json", "synap_stream_append", "synap_stream_read", "synap_stream_offset_for_time",
    "synap_stream_compact", "synap_stream_trim", "synap_group_commit", "synap_group_committed",
    "synap_group_lag_json",
    "synap_group_commit_async", "synap_group_delete", "synap_group_delete_async",
    "synap_topic_create", "synap_topic_partitions", "synap_topic_produce",
    "synap_queue_publish_async", "synap_queue_ack_async", "synap_queue_nack_async", "synap_queue_notify_ready",
    "synap_queue_notify_cancel", "synap_set_ex_async", "synap_getdel_async", "synap_append_async",
    "synap_expire_async", "synap_persist_async",
    "synap_verify", "synap_repair", "synap_inspect_json",
    "synap_dump",
})

_lock = threading.Lock()
_lib = None
_path = None


def candidates():
    """The (description, path-or-name) pairs tried, in order."""
    out = []
    explicit = os.environ.get("SYNAP_LIBRARY")
    if explicit:
        out.append(("$SYNAP_LIBRARY", explicit))
        return out  # an explicit path is never silently replaced by another library
    build = os.environ.get("SYNAP_BUILD_DIR")
    if build:
        out.append(("$SYNAP_BUILD_DIR", os.path.join(build, "capi", "libsynap.so.1")))
    found = ctypes.util.find_library("synap")
    if found:
        out.append(("find_library('synap')", found))
    out.append(("the dynamic linker", "libsynap.so.1"))
    return out


def _declare(lib, where):
    missing = []
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            if name not in OPTIONAL:
                missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise LibraryNotFound(
            f"libsynap at {where} lacks {len(missing)} function(s) of synap.h "
            f"{HEADER_MAJOR}.{HEADER_MINOR}.{HEADER_PATCH}: {', '.join(missing)}")
    number = lib.synap_version_number()
    major, minor = number // 10000, number // 100 % 100
    if major != HEADER_MAJOR or minor < HEADER_MINOR:
        raise LibraryNotFound(
            f"libsynap at {where} is version {lib.synap_version_string().decode()} ({number}); "
            f"these bindings need {HEADER_MAJOR}.x with x >= {HEADER_MINOR}")


def load(path=None):
    """Loads libsynap once and returns the ctypes.CDLL; raises LibraryNotFound.

    ``path`` overrides the search (the first successful load wins for the
    whole process)."""
    global _lib, _path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        tried = [("argument", path)] if path else candidates()
        failures = []
        for what, where in tried:
            try:
                lib = ctypes.CDLL(where)
            except OSError as e:
                failures.append(f"  {what}: {where}: {e}")
                continue
            _declare(lib, where)  # a library that loads but does not fit is an error, not a skip
            _lib, _path = lib, where
            return lib
        raise LibraryNotFound(
            "cannot load libsynap; tried:\n" + "\n".join(failures) +
            "\nSet SYNAP_LIBRARY to the path of libsynap.so.1, or SYNAP_BUILD_DIR to a meson "
            "build directory holding capi/libsynap.so.1.")


def has(name):
    """Whether the loaded library exports the function ``name``."""
    return hasattr(load(), name)


def path():
    """Where the loaded library came from (None before load())."""
    return _path
