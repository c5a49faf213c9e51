"""Durable queues: Message and the queue methods of Database (synap.h, "Queues")."""

import collections
import json
from ctypes import byref, c_size_t, c_uint64, c_void_p, cast, string_at

from . import _lib
from .errors import EINVAL, EUNSUPPORTED, NOTFOUND, NotFound, SynapError, error_from_code
from ._convert import _UINT64_MAX, _UINT32_MAX, _value, _keys_array_of, _take, _qname, _uint, _headers, _bytes_at


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


_QUEUE_SETTINGS = {
    "max_depth": _UINT64_MAX,
    "ack_deadline_ms": _UINT32_MAX,
    "max_retries": _UINT32_MAX,
    "dead_letter_max": _UINT64_MAX,
    "default_priority": 9,
    "message_ttl_ms": _UINT64_MAX,
}


def _msg_id(x):
    """A message id: an int or a Message."""
    return _uint(x.id if isinstance(x, Message) else x, "message id", _UINT64_MAX)


class QueueMethods:
    """The queue methods of Database (mixed in): each uses Database._call."""

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
