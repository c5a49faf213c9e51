"""What was acknowledged, and whether a reopened engine still holds it.

Expectations.add(lines) takes a child's ack lines (workload.py's format).
check(reader, value_for, lossy_after) compares them with a reopened engine,
read through a CapiReader (the C ABI) or a RespReader (synap-server):

* a loss: an acknowledged write that is not there (a SET key absent, a
  counter below its acknowledged value, a published message gone, an acked
  message back, an appended event missing, a group commit below its value);
* a violation: a loss acknowledged before `lossy_after` (None: no loss is
  allowed), or something no history explains (a wrong value, an event with
  another payload at an acknowledged offset).

Afterwards the expectations adopt what the engine holds, so that the next
round checks against the state that really survived.
"""
class CapiReader:
    """Reads a reopened engine through the C ABI (a synap.Database)."""

    def __init__(self, db):
        self.db = db

    def get(self, key):
        return self.db.get(key)

    def queue_ids(self, queue):
        """Every message id in the queue: ready (in flight ones came back at
        the reopen) or dead-lettered. Consuming leaves them in flight: the
        next open makes them ready again."""
        import synap
        ids = set()
        try:
            while True:
                msgs = self.db.consume(queue, consumer="verify", max=500, wait_ms=0)
                if not msgs:
                    break
                ids.update(m.id for m in msgs)
            offset = 0
            while True:
                dead = self.db.dead_letters(queue, offset=offset, limit=500)
                ids.update(m.id for m in dead)
                offset += len(dead)
                if len(dead) < 500:
                    break
        except synap.NotFound:
            pass  # never created, or its creation was lost
        return ids

    def room_events(self, room):
        """{offset: payload} of the whole room."""
        import synap
        held, offset = {}, 0
        try:
            while True:
                batch = self.db.stream_read(room, offset, max_records=1000)
                held.update((ev.offset, ev.payload) for ev in batch)
                if not batch or batch.next_offset >= batch.high_watermark:
                    return held
                offset = batch.next_offset
        except synap.NotFound:
            return held

    def group_committed(self, group, room):
        import synap
        try:
            return self.db.group_committed(group, room)
        except synap.NotFound:
            return None


class RespReader:
    """Reads through synap-server (workload.Resp): KV, queues (QCONSUME,
    QDLQ) and streams (XRANGE; an event's payload is its field "e")."""

    def __init__(self, conn):
        self.c = conn

    def get(self, key):
        return self.c.call("GET", key)

    def queue_ids(self, queue):
        ids = set()
        try:
            while True:
                msgs = self.c.call("QCONSUME", queue, "verify", "COUNT", 500)
                if not msgs:
                    break
                ids.update(m[0] for m in msgs)
            offset = 0
            while True:
                dead = self.c.call("QDLQ", queue, "COUNT", 500, "OFFSET", offset)
                ids.update(m[0] for m in dead)
                offset += len(dead)
                if len(dead) < 500:
                    break
        except RuntimeError as e:
            if "no such queue" not in str(e):
                raise
        return ids

    def room_events(self, room):
        held, start = {}, "-"
        while True:
            entries = self.c.call("XRANGE", room, start, "+", "COUNT", 1000)
            for entry_id, fields in entries:
                offset = int(entry_id.split(b"-")[0]) - 1
                pairs = dict(zip(fields[0::2], fields[1::2]))
                held[offset] = pairs.get(b"e", b"")
            if len(entries) < 1000:
                return held
            start = f"{max(held) + 2}-0"

    def group_committed(self, group, room):
        return None  # the server workload commits no groups


class Expectations:
    def __init__(self):
        self.kv = {}            # key -> [state "set"/"del", ack time]
        self.delete_sent = set()  # keys a DEL was sent for
        self.counters = {}      # key -> [n, t]
        self.published = {}     # (queue, id) -> t (None: seen in the engine, not acked)
        self.acked = {}         # (queue, id) -> t
        self.ack_sent = set()   # (queue, id) an ack was sent for
        self.events = {}        # (room, offset) -> (payload, t)
        self.commits = {}       # (group, room) -> [offset, t]
        self.acks_seen = 0      # acknowledged operations taken in
        self.kinds = {}         # line kind -> how many acknowledged

    def add(self, lines):
        for line in lines:
            f = line.split()
            if len(f) < 2 or f[1] == "ready":
                continue
            t, kind = float(f[0]), f[1]
            if kind not in ("d", "a"):
                self.acks_seen += 1
                self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if kind == "K":
                self.kv[f[2]] = ["set", t]
            elif kind == "d":
                self.delete_sent.add(f[2])
            elif kind == "D":
                self.kv[f[2]] = ["del", t]
            elif kind == "C":
                self.counters[f[2]] = [int(f[3]), t]
            elif kind == "P":
                self.published[(f[2], int(f[3]))] = t
            elif kind == "a":
                self.ack_sent.add((f[2], int(f[3])))
            elif kind == "A":
                self.acked[(f[2], int(f[3]))] = t
            elif kind == "S":
                room, first, n, tag = f[2], int(f[3]), int(f[4]), f[5]
                for j in range(n):
                    self.events[(room, first + j)] = (f"{tag}:{j}".encode(), t)
            elif kind == "G":
                self.commits[(f[2], f[3])] = [int(f[4]), t]

    def check(self, reader, value_for, lossy_after):
        """Returns (losses, violations): losses as (ack time or None, what),
        violations as strings."""
        out = Outcome(lossy_after)
        self._check_kv(reader, value_for, out)
        self._check_queues(reader, out)
        self._check_streams(reader, out)
        return out.losses, out.violations

    def _check_kv(self, reader, value_for, out):
        for key, entry in self.kv.items():
            state, t = entry
            v = reader.get(key)
            if v is not None and v != value_for(key):
                out.violation(f"KV {key}: value {v[:40]!r} was never written")
            elif state == "set" and v is None:
                if key in self.delete_sent:
                    entry[0] = "del"  # its DEL, sent but unacknowledged, landed
                else:
                    out.loss(t, f"KV SET {key} acknowledged, key absent")
                    entry[0] = "del"
            elif state == "del" and v is not None:
                out.loss(t, f"KV DEL {key} acknowledged, key present")
                entry[0] = "set"
        for key, entry in self.counters.items():
            n, t = entry
            v = reader.get(key)
            got = int(v) if v is not None else -1
            if got < n:
                out.loss(t, f"KV SET {key}={n} acknowledged, holds {got}")
            entry[0] = got

    def _check_queues(self, reader, out):
        present = set()
        for q in {q for q, _ in self.published} | {q for q, _ in self.acked} | {q for q, _ in self.ack_sent}:
            present.update((q, i) for i in reader.queue_ids(q))
        for key, t in list(self.published.items()):
            if key not in self.acked and key not in present:
                if key in self.ack_sent:
                    self.acked[key] = None  # its ack, sent but unacknowledged, landed
                    continue
                out.loss(t, f"queue {key[0]} message {key[1]}: publish acknowledged, message gone")
                del self.published[key]
        for key, t in list(self.acked.items()):
            if key in present:
                out.loss(t, f"queue {key[0]} message {key[1]}: ack acknowledged, message back")
                del self.acked[key]
        for key in present:
            self.published.setdefault(key, None)

    def _check_streams(self, reader, out):
        rooms = {room for room, _ in self.events} | {room for _, room in self.commits}
        held = {}
        for room in rooms:
            held.update(((room, off), payload) for off, payload in reader.room_events(room).items())
        for key, (payload, t) in list(self.events.items()):
            got = held.get(key)
            if got is None:
                out.loss(t, f"stream {key[0]} offset {key[1]}: append acknowledged, event missing")
                del self.events[key]
            elif got != payload:
                out.violation(f"stream {key[0]} offset {key[1]}: holds {got[:40]!r}, acknowledged {payload!r}")
                del self.events[key]
        for key, entry in self.commits.items():
            n, t = entry
            got = reader.group_committed(key[0], key[1])
            got = -1 if got is None else got
            if got < n:
                out.loss(t, f"group {key[0]} room {key[1]}: commit {n} acknowledged, holds {got}")
            entry[0] = got


class Outcome:
    def __init__(self, lossy_after):
        self.lossy_after = lossy_after
        self.losses, self.violations = [], []

    def loss(self, t, what):
        self.losses.append((t, what))
        if self.lossy_after is None or (t is not None and t < self.lossy_after):
            self.violations.append(f"lost: {what} (acknowledged at {t})")

    def violation(self, what):
        self.violations.append(what)
