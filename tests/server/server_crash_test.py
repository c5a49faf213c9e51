#!/usr/bin/python3
"""kill -9 over the wire: every acknowledged write survives a crashed server.

  server_crash_test.py <path to synap-server>

Three rounds against one data directory, with --fsync always. In each round
writer threads drive synap-server over the Redis protocol (redis-py): two
SET writers, one XADD writer and one QPUBLISH writer, each recording every
write whose reply came back (acknowledged). After a random 0.3-1.0 s the
server is SIGKILLed; it is restarted and every acknowledged write of every
round so far must be there: each key with its value (MGET), each stream
entry with its fields under its ID (XRANGE), each queue message with its
payload under its id (QCONSUME, left unacked: a restart puts in-flight
messages back, so the next round sees them again). Writes whose reply was
lost in the crash may or may not be there; nothing acknowledged may be
missing. This proves process-crash safety only; power loss is covered by the
engine's simulated-backend tests. Each failed check prints one "FAIL: ..."
line; the exit status is non-zero if any failed.
"""
import hashlib
import sys
import threading
import time

import redis

from harness import ENV, Server, check, run

QUEUE = "crash-q"


def value_of(key):
    h = hashlib.sha256(key.encode()).hexdigest()
    return (h * (1 + int(h[:2], 16) % 4))[: 16 + int(h[2:4], 16)]


def set_writer(srv, tag, stop, acked, errors):
    """SETs distinct keys; acked[key] = value for each OK."""
    try:
        r = srv.client(socket_timeout=5)
        i = 0
        while not stop.is_set():
            key = f"{tag}:{i}"
            if r.set(key, value_of(key)) is True:
                acked[key] = value_of(key)
            i += 1
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        pass  # the kill
    except Exception as e:  # noqa: BLE001
        errors.append(f"SET: {e!r}")


def xadd_writer(srv, room, tag, stop, acked, errors):
    """XADDs to `room`; acked[id] = the entry's one field value."""
    try:
        r = srv.client(socket_timeout=5)
        i = 0
        while not stop.is_set():
            v = value_of(f"{tag}:{i}")
            entry_id = r.xadd(room, {"v": v})
            acked[entry_id] = v.encode()
            i += 1
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        pass
    except Exception as e:  # noqa: BLE001
        errors.append(f"XADD: {e!r}")


def qpublish_writer(srv, tag, stop, acked, errors):
    """QPUBLISHes to QUEUE; acked[id] = payload."""
    try:
        r = srv.client(socket_timeout=5)
        i = 0
        while not stop.is_set():
            payload = value_of(f"q{tag}:{i}").encode()
            mid = r.execute_command("QPUBLISH", QUEUE, payload)
            acked[mid] = payload
            i += 1
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        pass
    except Exception as e:  # noqa: BLE001
        errors.append(f"QPUBLISH: {e!r}")


def missing_keys(r, keys):
    names = list(keys)
    missing = []
    for i in range(0, len(names), 500):
        chunk = names[i:i + 500]
        for key, got in zip(chunk, r.mget(chunk)):
            if got is None or got.decode() != keys[key]:
                missing.append(key)
    return missing


def missing_entries(r, room, entries):
    have = {}
    if entries:
        for entry_id, fields in r.xrange(room, "-", "+"):
            have[entry_id] = fields.get(b"v")
    return [i for i, v in entries.items() if have.get(i) != v]


def missing_messages(r, messages):
    seen = {}
    while True:
        batch = r.execute_command("QCONSUME", QUEUE, "checker", "COUNT", 10000)
        if not batch:
            break
        for mid, payload, _prio, _count in batch:
            seen[mid] = payload
    return [i for i, p in messages.items() if seen.get(i) != p]


def test_kill9():
    srv = Server("kill9", extra=["--fsync", "always"])
    keys, entries, messages = {}, {}, {}   # every acknowledged write so far
    room = "crash-room"
    for rnd in range(3):
        srv.start()
        if rnd == 0:
            srv.client().execute_command("QCREATE", QUEUE, "DEADLINE", 600000)
        stop = threading.Event()
        errors = []
        k_round, e_round, m_round = {}, {}, {}
        ths = [threading.Thread(target=set_writer, args=(srv, f"{rnd}.{t}", stop, k_round, errors))
               for t in range(2)]
        ths.append(threading.Thread(target=xadd_writer, args=(srv, room, f"{rnd}", stop, e_round, errors)))
        ths.append(threading.Thread(target=qpublish_writer, args=(srv, f"{rnd}", stop, m_round, errors)))
        for th in ths:
            th.start()
        delay = ENV.rng.uniform(0.3, 1.0)
        time.sleep(delay)
        srv.kill9()
        stop.set()
        for th in ths:
            th.join(10)
        keys.update(k_round)
        entries.update(e_round)
        messages.update(m_round)
        check(f"round {rnd}: the writers hit no unexpected error", not errors, "; ".join(errors[:3]))
        check(f"round {rnd}: SETs, XADDs and QPUBLISHes were acknowledged", k_round and e_round and m_round,
              f"{len(k_round)} SET, {len(e_round)} XADD, {len(m_round)} QPUBLISH in {delay:.2f} s")
        print(f"   round {rnd}: killed after {delay * 1000:.0f} ms; acknowledged {len(k_round)} SET, "
              f"{len(e_round)} XADD, {len(m_round)} QPUBLISH", flush=True)

        srv.start()
        r = srv.client(socket_timeout=30)
        lost = missing_keys(r, keys)
        check(f"round {rnd}: every acknowledged SET ({len(keys)}) survives", not lost,
              f"{len(lost)} missing or wrong, e.g. {lost[:5]}")
        lost = missing_entries(r, room, entries)
        check(f"round {rnd}: every acknowledged stream entry ({len(entries)}) survives", not lost,
              f"{len(lost)} missing or wrong, e.g. {lost[:5]}")
        lost = missing_messages(r, messages)
        check(f"round {rnd}: every acknowledged queue message ({len(messages)}) survives", not lost,
              f"{len(lost)} missing or wrong, e.g. {lost[:5]}")
        r.close()
        srv.kill9()


SECTIONS = [("kill -9 durability: keys, stream entries, queue messages", test_kill9, False)]

if __name__ == "__main__":
    sys.exit(run(__doc__, SECTIONS))
