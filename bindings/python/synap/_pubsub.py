"""Pub/sub: Subscription and the pub/sub methods of Database (synap.h, "Pub/sub")."""

import threading
from ctypes import byref, c_uint64, c_void_p

from . import _lib
from .errors import ECLOSED, EINVAL, NOTFOUND, Closed, error_from_code
from ._convert import _UINT32_MAX, _value, _cstr, _raise, _uint, _bytes_at


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


class PubSubMethods:
    """The pub/sub methods of Database (mixed in)."""

    def subscribe(self, pattern, capacity=1024, overflow="drop_oldest", wait_ms=1000):
        """Subscribes to a topic pattern ("orders.*.created", "orders.#", "eu*"):
        returns a Subscription (iterate it, or call next()). capacity bounds its
        buffer; overflow "drop_oldest" drops (and counts) the oldest, "close"
        closes it. wait_ms is how long iteration waits for each message."""
        policies = {"drop_oldest": 0, "close": 1}
        if overflow not in policies:
            raise error_from_code(EINVAL, "overflow must be 'drop_oldest' or 'close'")
        pat = _cstr(pattern, "pattern")
        cap = _uint(capacity, "capacity", _UINT32_MAX)
        ms = _uint(wait_ms, "wait_ms", _UINT32_MAX)
        ptr = c_void_p()
        self._call(self._lib.synap_subscribe, pat, cap, policies[overflow], byref(ptr))
        sub = Subscription(self, ptr.value, pattern, ms)
        self._subs.add(sub)
        return sub


    def pubsub_publish(self, topic, payload):
        """Publishes payload to topic; returns how many subscriptions took it.
        Not durable: only subscriptions open now receive it."""
        t = _cstr(topic, "topic")
        v = _value(payload)
        delivered = c_uint64()
        self._call(self._lib.synap_publish, t, v, len(v), byref(delivered))
        return delivered.value
