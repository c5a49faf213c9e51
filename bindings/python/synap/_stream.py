"""Streams: Event, Events, StreamIterator and the stream, consumer-group and
topic methods of Database (synap.h "Streams", "Streams: consumer groups",
"Streams: partitioned topics")."""

import collections
import json
from ctypes import byref, c_size_t, c_uint32, c_uint64, c_void_p, cast, string_at

from . import _lib
from .errors import EINVAL, ERANGE, EUNSUPPORTED, NOTFOUND, OK, NotFound, error_from_code
from ._convert import (_UINT32_MAX, _UINT64_MAX, _bytes_at, _error, _event_parts, _events_in, _is_event,
                       _is_payload, _qname, _room_settings, _take, _timestamp, _uint, _unix_millis)


class Event:
    """One event of a stream room.

    Read back (Database.stream_read, iter_stream), it has ``offset`` (int),
    ``timestamp_ms`` (int: the producer's, or the append time), ``key``
    (bytes, or None when the event has none), ``payload`` (bytes), ``headers``
    (a list of ``(name, value)`` bytes pairs, in order; names may repeat, as
    in Kafka) and ``room``, the room it was read from.

    To append, build one with the fields you need,
    ``Event(b"payload", key="k", headers={"h": "v"}, timestamp_ms=0)``; keys
    and header names may be str or bytes, headers a mapping or pairs, and a
    timestamp of 0 means the append time. ``offset`` and ``room`` are ignored
    then."""

    __slots__ = ("offset", "timestamp_ms", "key", "payload", "headers", "room")

    def __init__(self, payload=b"", key=None, headers=None, timestamp_ms=0, offset=None, room=None):
        self.payload = payload
        self.key = key
        self.headers = headers
        self.timestamp_ms = timestamp_ms
        self.offset = offset
        self.room = room

    def header(self, name, default=None):
        """The value of the last header called ``name`` (bytes or str), or ``default``."""
        if isinstance(name, str):
            name = name.encode("utf-8")
        items = self.headers.items() if hasattr(self.headers, "items") else (self.headers or ())
        found = default
        for k, v in items:
            if (k.encode("utf-8") if isinstance(k, str) else k) == name:
                found = v
        return found

    def _fields(self):
        return (self.offset, self.timestamp_ms, self.key, self.payload, self.headers, self.room)

    def __eq__(self, other):
        if not isinstance(other, Event):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # mutable

    def __repr__(self):
        shown = self.payload[:32] if isinstance(self.payload, (bytes, str)) else self.payload
        more = "..." if isinstance(self.payload, (bytes, str)) and len(self.payload) > 32 else ""
        parts = [f"offset={self.offset}"] if self.offset is not None else []
        if self.room is not None:
            parts.append(f"room={self.room!r}")
        parts.append(f"timestamp_ms={self.timestamp_ms}")
        if self.key is not None:
            parts.append(f"key={self.key!r}")
        if self.headers:
            parts.append(f"headers={self.headers!r}")
        parts.append(f"payload={shown!r}{more}")
        return f"<synap.Event {' '.join(parts)}>"


class Events(list):
    """The events of one stream read, in offset order (a list of Event), plus
    ``next_offset``, where the next read should start (past any offsets that
    compaction removed), and ``high_watermark``, one past the last readable
    event at the time of the read."""

    __slots__ = ("next_offset", "high_watermark")

    def __init__(self, events=(), next_offset=0, high_watermark=0):
        super().__init__(events)
        self.next_offset = next_offset
        self.high_watermark = high_watermark

    def __repr__(self):
        return f"Events({list.__repr__(self)}, next_offset={self.next_offset}, high_watermark={self.high_watermark})"


class StreamIterator:
    """Iterates over a room's events from an offset, a read (one batch) at a
    time: Database.iter_stream() makes one. ``position`` is the offset to
    resume from: one past the last event yielded (or past the offsets a
    compaction removed after it), which is what a consumer group commits."""

    def __init__(self, db, room, room_b, position, wait_ms, stop_at_end, max_records, max_bytes):
        self._db = db
        self._room_b = room_b
        self.room = room
        self.position = position
        self._wait_ms = wait_ms
        self._stop_at_end = stop_at_end
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._pending = collections.deque()
        self._batch_next = position
        self._done = False

    def __iter__(self):
        return self

    def __next__(self):
        while not self._pending:
            if self._done:
                raise StopIteration
            batch = self._db._stream_read(self._room_b, self.room, self.position, self._max_records,
                                          self._max_bytes, self._wait_ms)
            if batch:
                self._pending.extend(batch)
                self._batch_next = batch.next_offset
            elif batch.next_offset > self.position:  # only removed offsets were left
                self.position = batch.next_offset
            elif self._stop_at_end:
                self._done = True
                raise StopIteration
        ev = self._pending.popleft()
        self.position = ev.offset + 1
        if not self._pending:
            self.position = max(self.position, self._batch_next)
        return ev

    def close(self):
        """Stops the iteration: later next() calls raise StopIteration."""
        self._done = True
        self._pending.clear()

    def __repr__(self):
        return f"<synap.StreamIterator room={self.room!r} position={self.position}>"


def _group(group):
    return _qname(group, "group")


class StreamMethods:
    """The stream, consumer-group and topic methods of Database (mixed in)."""

    #
    # Stream rooms (Kafka-style partitions, docs/streams.md). Room and topic
    # names are 1..200 bytes of letters, digits and . _ - : (not starting with
    # '.' or "__", no ".."): any other name raises InvalidArgument. A call on a
    # room that does not exist raises NotFound, except stream_append, which
    # creates it unless the database was opened with stream_auto_create=False.

    def _sfn(self, name):
        fn = getattr(self._lib, name, None)
        if fn is None:
            raise error_from_code(EUNSUPPORTED, f"this libsynap ({_lib.path()}) has no streams: it lacks {name}")
        return fn

    def _scall(self, name, notfound, *args):
        """_call() of a stream function; SYNAP_NOTFOUND raises NotFound(notfound),
        as libsynap leaves no message for it."""
        rc = self._call(self._sfn(name), *args)
        if rc == NOTFOUND:
            raise NotFound(NOTFOUND, notfound)
        return rc

    def _offset(self, room_b, room, offset):
        """An offset argument: an int, or "earliest" / "latest" (the room's bounds now)."""
        if isinstance(offset, str):
            if offset not in ("earliest", "latest"):
                raise error_from_code(EINVAL, "offset must be an int, 'earliest' or 'latest'")
            earliest, nxt = c_uint64(), c_uint64()
            self._scall("synap_stream_bounds", f"no room named {room!r}", room_b, byref(earliest), byref(nxt))
            return earliest.value if offset == "earliest" else nxt.value
        return _uint(offset, "offset", _UINT64_MAX)

    def _stream_read(self, room_b, room, offset, max_records, max_bytes, wait_ms):
        """One synap_stream_read: an Events list copied out of the block, which is
        then freed. SYNAP_ERANGE raises OutOfRange carrying the room's bounds."""
        fn = self._sfn("synap_stream_read")
        h = self._enter()
        try:
            ptr = _lib.events_p()
            rc = fn(h, room_b, offset, max_records, max_bytes, wait_ms, byref(ptr))
            if rc == NOTFOUND:
                raise NotFound(NOTFOUND, f"no room named {room!r}")
            if rc < 0:
                err = _error(self._lib, rc)  # the message first: the next call clears it
                if rc == ERANGE:
                    earliest, nxt = c_uint64(), c_uint64()
                    if self._lib.synap_stream_bounds(h, room_b, byref(earliest), byref(nxt)) == OK:
                        err.earliest, err.next_offset = earliest.value, nxt.value
                raise err
            return _copy_events(self._lib, ptr, room)
        finally:
            self._leave()

    # -- rooms -----------------------------------------------------------------

    def stream_create(self, room, settings=None, **kwargs):
        """Creates a room; AlreadyExists if it exists. ``settings`` is a str of
        "name=value" pairs ("retention_bytes=1000000 cleanup=compact") or a
        mapping, and keywords add to it: segment_bytes, retention_bytes,
        retention_ms (int or timedelta), codec ("none", "lz4", "zstd"), fsync
        ("always", "periodic", "never"), cleanup ("delete", "compact",
        "compact,delete"). Those left out take the stream.* options."""
        r = _qname(room, "room")
        self._scall("synap_stream_create", f"no room named {room!r}", r, _room_settings(settings, kwargs))

    def stream_delete(self, room):
        """Deletes a room and every event in it; NotFound if there is none."""
        self._scall("synap_stream_delete", f"no room named {room!r}", _qname(room, "room"))

    def stream_list(self):
        """The names of every room (str), in name order; a topic's partitions are
        the rooms "<topic>-0" .. "<topic>-<N-1>"."""
        found = []

        def sink(_user, name, length):
            found.append(string_at(name, length).decode("utf-8", "surrogateescape"))

        cb = _lib.KEY_FN(sink)  # alive until synap_stream_list() returns
        self._scall("synap_stream_list", "", cb, None)
        return found

    streams = stream_list  # as queues()

    def stream_bounds(self, room):
        """(earliest, next): the first offset still kept (retention moves it) and
        the high watermark, one past the last readable event."""
        earliest, nxt = c_uint64(), c_uint64()
        self._scall("synap_stream_bounds", f"no room named {room!r}", _qname(room, "room"), byref(earliest),
                    byref(nxt))
        return earliest.value, nxt.value

    def stream_info(self, room):
        """The room's offsets (earliest_offset, next_offset), segments, bytes,
        "settings" and last "recovery", as a dict."""
        ptr, length = c_void_p(), c_size_t()
        self._scall("synap_stream_info_json", f"no room named {room!r}", _qname(room, "room"), byref(ptr),
                    byref(length))
        return json.loads(_take(ptr, length))

    # -- events ----------------------------------------------------------------

    def stream_append(self, room, events, *, key=None, headers=None, timestamp_ms=0):
        """Appends events as one batch (all or none, at consecutive offsets) and
        returns the first one's offset once they are acknowledged.

        ``events`` is one event or a list of them. An event is a payload (bytes,
        str, int or float, as a KV value), a synap.Event (or any object with
        ``payload`` and optionally ``key``, ``headers``, ``timestamp_ms``
        attributes), a mapping with those items, or a tuple ``(key, payload[,
        headers[, timestamp_ms]])``. With a single payload, the keywords give
        its key, headers (mapping or pairs) and timestamp (ms or datetime; 0:
        the append time). A missing room is created with the defaults unless
        the database was opened with stream_auto_create=False (then NotFound).
        TooLarge past stream.max_event_bytes, max_append_bytes, max_key_bytes
        or max_headers."""
        r = _qname(room, "room")
        extras = key is not None or headers is not None or timestamp_ms not in (0, None)
        if _is_payload(events):
            parts = [_event_parts((key, events, headers, _timestamp(timestamp_ms)))]
        elif extras:
            raise TypeError("key, headers and timestamp_ms go with a single payload; give an Event instead")
        elif _is_event(events):
            parts = [_event_parts(events)]
        else:
            try:
                it = iter(events)
            except TypeError:
                raise TypeError(f"events must be an event or a list of events, not {type(events).__name__}") \
                    from None
            parts = [_event_parts(e) for e in it]
        if not parts:
            raise error_from_code(EINVAL, "no events to append")
        arr, n, _keep = _events_in(parts)
        first = c_uint64()
        self._scall("synap_stream_append", f"no room named {room!r} (and stream.auto_create is false)", r, arr, n,
                    byref(first))
        return first.value

    def stream_read(self, room, offset, max_records=1000, max_bytes=1 << 20, wait_ms=0):
        """Reads events from ``offset`` on (an int, or "earliest" / "latest"): at
        most max_records and about max_bytes of event bytes, at least one event
        when any is there. Returns an Events list of Event (empty at the end),
        whose ``next_offset`` is where the next read starts. When ``offset`` is
        the high watermark and wait_ms (int or timedelta) > 0, waits up to
        wait_ms for an append; the wait releases the GIL, and an append from
        another thread wakes it.

        Raises OutOfRange when ``offset`` is below the earliest kept offset
        (retention deleted it) or beyond the high watermark; the exception's
        ``earliest`` and ``next_offset`` give the room's bounds, to seek to.
        NotFound if the room does not exist."""
        r = _qname(room, "room")
        off = self._offset(r, room, offset)
        records = _uint(max_records, "max_records", _UINT32_MAX)
        nbytes = _uint(max_bytes, "max_bytes", _UINT64_MAX)
        wait = _uint(wait_ms, "wait_ms", _UINT32_MAX)
        return self._stream_read(r, room, off, records, nbytes, wait)

    def iter_stream(self, room, offset=0, *, wait_ms=None, stop_at_end=True, max_records=1000,
                    max_bytes=1 << 20):
        """Iterates over the room's events from ``offset`` on (an int, or
        "earliest" / "latest", resolved now), reading a batch at a time:

            for ev in db.iter_stream("clicks", offset=0):
                handle(ev.offset, ev.key, ev.payload)

        With stop_at_end=True (the default), it ends once a read at the end
        brings nothing after waiting wait_ms (None: 0, no wait). With
        stop_at_end=False, it waits for new events forever (each read waits up
        to wait_ms, None: 1000; 0 is not allowed, it would poll) until the loop
        is left, or raises Closed once the database is closed. The iterator's
        ``position`` is where to resume, e.g. what a consumer group commits.
        Raises OutOfRange (with ``earliest``) if retention deletes events
        before it reads them."""
        r = _qname(room, "room")
        if wait_ms is None:
            wait_ms = 0 if stop_at_end else 1000
        wait = _uint(wait_ms, "wait_ms", _UINT32_MAX)
        if not stop_at_end and wait == 0:
            raise error_from_code(EINVAL, "wait_ms must be > 0 with stop_at_end=False (it would poll)")
        records = _uint(max_records, "max_records", _UINT32_MAX)
        nbytes = _uint(max_bytes, "max_bytes", _UINT64_MAX)
        off = self._offset(r, room, offset)
        return StreamIterator(self, room, r, off, wait, stop_at_end, records, nbytes)

    def stream_offset_for_time(self, room, timestamp_ms):
        """The first offset whose event timestamp is >= timestamp_ms (ms since the
        Unix epoch, or a datetime), timestamps taken as a running maximum (as
        Kafka's time index does); the high watermark when there is none."""
        ts = _unix_millis(timestamp_ms, "timestamp_ms")
        off = c_uint64()
        self._scall("synap_stream_offset_for_time", f"no room named {room!r}", _qname(room, "room"), ts,
                    byref(off))
        return off.value

    def stream_compact(self, room):
        """Compacts the room now, whatever its cleanup policy: in sealed segments,
        only the latest event of each key is kept (keyless events stay); offsets
        do not change. Returns how many events were dropped."""
        dropped = c_uint64()
        self._scall("synap_stream_compact", f"no room named {room!r}", _qname(room, "room"), byref(dropped))
        return dropped.value

    def stream_trim(self, room, before):
        """Deletes the room's oldest events, those below offset ``before``
        (Kafka's DeleteRecords, Redis's XTRIM ~), whatever its cleanup policy,
        and returns ``(removed, earliest)``: how many events went and the
        earliest offset now. Approximate: a segment file is the unit of
        deletion, so only segments all of whose events are below ``before``
        go, the newest segment always stays, and ``before`` past the end
        means "up to the end" (never an error). Offsets do not change; a read
        below the new earliest offset raises OutOfRange. Durable when it
        returns. NotFound if the room does not exist; InvalidArgument for a
        bad name (the store's own "__meta" room included)."""
        r = _qname(room, "room")
        off = _uint(before, "before", _UINT64_MAX)
        removed, earliest = c_uint64(), c_uint64()
        self._scall("synap_stream_trim", f"no room named {room!r}", r, off, byref(removed), byref(earliest))
        return removed.value, earliest.value

    # -- consumer groups -------------------------------------------------------

    def group_commit(self, group, room, offset):
        """Durably records that ``group`` will next read ``offset`` of ``room``
        (Kafka's convention: one past the last event handled). NotFound if the
        room does not exist, OutOfRange if offset is beyond its high watermark.
        Group names are 1..255 bytes (str is encoded UTF-8), no NUL."""
        g, r = _group(group), _qname(room, "room")
        off = _uint(offset, "offset", _UINT64_MAX)
        self._scall("synap_group_commit", f"no room named {room!r}", g, r, off)

    def group_committed(self, group, room):
        """The offset ``group`` committed for ``room``, or None if it committed none."""
        g, r = _group(group), _qname(room, "room")
        off = c_uint64()
        rc = self._call(self._sfn("synap_group_committed"), g, r, byref(off))
        return None if rc == NOTFOUND else off.value

    def group_delete(self, group, room):
        """Forgets ``group``'s committed offset for ``room``, durably:
        group_committed() answers None for it from then on, also after a
        reopen, and group_lag() no longer lists it; a later group_commit()
        starts it afresh. Returns True, or False when the group had no commit
        for the room (the room need not exist any more). InvalidArgument for
        a bad group or room name."""
        g, r = _group(group), _qname(room, "room")
        rc = self._call(self._sfn("synap_group_delete"), g, r)
        return rc != NOTFOUND

    def group_lag(self, group=None):
        """The commits of ``group`` (None: of every group), one dict per (group,
        room): {"group", "room", "committed", "next_offset", "lag"}, lag being
        next_offset - committed."""
        g = None
        if group is not None:
            g = _group(group)
            if not g:
                raise error_from_code(EINVAL, "group name is empty (use None for every group)")
        ptr, length = c_void_p(), c_size_t()
        self._scall("synap_group_lag_json", "", g, byref(ptr), byref(length))
        return json.loads(_take(ptr, length))["commits"]

    # -- partitioned topics ----------------------------------------------------

    def topic_create(self, topic, partitions, settings=None, **kwargs):
        """Creates a topic of ``partitions`` partitions (1..stream.max_partitions):
        the rooms "<topic>-0" .. "<topic>-<N-1>", with the settings of
        stream_create(). AlreadyExists if the topic, or one of its rooms, exists."""
        t = _qname(topic, "topic")
        n = _uint(partitions, "partitions", _UINT32_MAX)
        self._scall("synap_topic_create", f"no topic named {topic!r}", t, n, _room_settings(settings, kwargs))

    def topic_partitions(self, topic):
        """The number of partitions of a topic; NotFound if there is no such topic."""
        n = c_uint32()
        self._scall("synap_topic_partitions", f"no topic named {topic!r}", _qname(topic, "topic"), byref(n))
        return n.value

    def topic_produce(self, topic, payload, key=None, headers=None, timestamp_ms=0):
        """Appends one event to the partition its key picks (XXH3-64(key) mod N, so
        one key's events stay in order; round-robin without a key) and returns
        (partition, offset). ``payload`` may also be an Event (then without the
        other arguments). NotFound if there is no such topic."""
        t = _qname(topic, "topic")
        if _is_payload(payload):
            parts = _event_parts((key, payload, headers, _timestamp(timestamp_ms)))
        elif key is not None or headers is not None or timestamp_ms not in (0, None):
            raise TypeError("key, headers and timestamp_ms go with a payload, not with an Event")
        else:
            parts = _event_parts(payload)
        arr, _n, _keep = _events_in([parts])
        partition, off = c_uint32(), c_uint64()
        self._scall("synap_topic_produce", f"no topic named {topic!r}", t, arr, byref(partition), byref(off))
        return partition.value, off.value


def _copy_events(lib, ptr, room):
    """Copies the events of one synap_events block into an Events list, then frees the block."""
    if not ptr:
        return Events()
    try:
        blk = ptr.contents
        out = Events((), blk.next_offset, blk.high_watermark)
        n = blk.count
        if n:
            evs = cast(blk.events, c_void_p).value
            for e in (_lib.synap_event * n).from_address(evs):
                headers = []
                if e.header_count:
                    hs = (_lib.synap_header * e.header_count).from_address(cast(e.headers, c_void_p).value)
                    headers = [(_bytes_at(h.key, h.key_len), _bytes_at(h.value, h.value_len)) for h in hs]
                out.append(Event(_bytes_at(e.payload, e.payload_len),
                                 string_at(e.key, e.key_len) if e.key_len else None, headers, e.timestamp_ms,
                                 e.offset, room))
        return out
    finally:
        lib.synap_free(cast(ptr, c_void_p))
