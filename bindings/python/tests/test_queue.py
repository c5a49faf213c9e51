"""Durable queues (synap.h "Queues") through the Python API, on the real library."""
import datetime
import threading
import time

import pytest

import synap


def test_declare_list_stats_delete(db):
    db.queue_declare("jobs", max_depth=50, ack_deadline_ms=datetime.timedelta(seconds=5), max_retries=2,
                     dead_letter_max=7, default_priority=3, message_ttl_ms=0)
    db.queue_declare("jobs", max_depth=50, ack_deadline_ms=5000, max_retries=2, dead_letter_max=7,
                     default_priority=3)  # same settings: fine
    with pytest.raises(synap.InvalidArgument):
        db.queue_declare("jobs", max_depth=51)
    db.queue_declare(b"other")
    assert sorted(db.queues()) == ["jobs", "other"]
    stats = db.queue_stats("jobs")
    assert stats["settings"] == {"max_depth": 50, "ack_deadline_ms": 5000, "max_retries": 2,
                                 "dead_letter_max": 7, "default_priority": 3, "message_ttl_ms": 0}
    assert stats["ready"] == 0 and stats["published"] == 0
    mid = db.publish("jobs", "x")
    assert db.consume("jobs")[0].priority == 3  # the queue's default
    assert db.queue_stats("jobs")["in_flight"] == 1
    db.ack("jobs", mid)
    db.queue_delete("jobs")
    assert db.queues() == ["other"]
    with pytest.raises(synap.NotFound) as e:
        db.queue_delete("jobs")
    assert isinstance(e.value, KeyError) and e.value.code == 1 and "jobs" in str(e.value)
    for call in (lambda: db.queue_stats("jobs"), lambda: db.consume("jobs"), lambda: db.queue_purge("jobs"),
                 lambda: db.dead_letters("jobs"), lambda: db.purge_dead("jobs")):
        with pytest.raises(synap.NotFound):
            call()


def test_bad_arguments(db):
    with pytest.raises(synap.InvalidArgument):
        db.queue_declare("q", default_priority=10)
    with pytest.raises(synap.InvalidArgument):
        db.queue_declare("q", max_depth=-1)
    with pytest.raises(synap.InvalidArgument):
        db.queue_declare("")  # names are 1..256 bytes (libsynap's check)
    with pytest.raises(synap.InvalidArgument):
        db.queue_declare("x" * 257)
    with pytest.raises(synap.InvalidArgument):
        db.queue_declare("a\0b")
    with pytest.raises(synap.InvalidArgument):
        db.publish("q", "x", priority=10)
    with pytest.raises(synap.InvalidArgument):
        db.publish("q", "x", delay_ms=-1)
    with pytest.raises(synap.InvalidArgument):
        db.consume("q", max=0)
    with pytest.raises(synap.InvalidArgument):
        db.consume("q", wait_ms=1 << 32)
    with pytest.raises(synap.InvalidArgument):
        db.publish_batch("q", [])
    with pytest.raises(TypeError):
        db.publish("q", ["not", "bytes"])
    with pytest.raises(TypeError):
        db.consume(42)


def test_priority_order_and_fifo_within_a_priority(db):
    plan = [(0, b"low-1"), (9, b"high-1"), (5, b"mid-1"), (0, b"low-2"), (9, b"high-2"), (5, b"mid-2"),
            (None, b"default")]
    ids = [db.publish("q", payload, priority=p) for p, payload in plan]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    got = db.consume("q", max=100)
    assert [m.payload for m in got] == [b"high-1", b"high-2", b"mid-1", b"mid-2", b"low-1", b"low-2", b"default"]
    assert [m.priority for m in got] == [9, 9, 5, 5, 0, 0, 0]
    assert all(m.delivery_count == 1 and m.redelivered is False and m.reason == "" for m in got)
    assert all(m.queue == "q" for m in got)
    db.ack("q", *got)  # Message objects or ids
    assert db.consume("q") == []


def test_publish_batch_consume_in_parts_and_purge(db):
    ids = db.publish_batch("q", [b"a", "b", 3, b""])
    assert len(ids) == 4 and ids == sorted(ids)
    first = db.consume("q", max=2)
    assert [(m.id, m.payload) for m in first] == [(ids[0], b"a"), (ids[1], b"b")]
    assert db.queue_purge("q") == 2  # the ready ones, not those in flight
    assert db.consume("q") == []
    db.ack("q", ids[0], ids[1])
    stats = db.queue_stats("q")
    assert (stats["ready"], stats["in_flight"], stats["acked"], stats["published"]) == (0, 0, 2, 4)


def test_ack_then_double_ack_raises(db):
    db.publish_batch("q", [b"1", b"2", b"3"])
    m1, m2, m3 = db.consume("q", max=3)
    m1.ack()
    with pytest.raises(synap.NotFound) as e:
        m1.ack()
    assert str(m1.id) in str(e.value)
    with pytest.raises(KeyError):
        db.ack("q", m1.id)
    # all or none: m2 stays in flight when the batch holds an acked id
    with pytest.raises(synap.NotFound):
        db.ack("q", m2.id, m1.id)
    db.ack("q", m2.id, m3)
    with pytest.raises(synap.NotFound):
        db.ack("q", 123456)
    assert db.queue_stats("q")["acked"] == 3


def test_nack_requeue_goes_to_the_head_and_is_redelivered(db):
    db.publish_batch("q", [b"first", b"second", b"third"])
    first = db.consume("q")[0]
    assert first.payload == b"first" and not first.redelivered
    second = db.consume("q")[0]
    first.nack()  # requeue=True: back at the head of its priority
    again = db.consume("q", max=2)
    assert [m.payload for m in again] == [b"first", b"third"]
    assert again[0].id == first.id
    assert again[0].redelivered is True and again[0].delivery_count == 2
    assert again[1].redelivered is False and again[1].delivery_count == 1
    db.nack("q", again[0].id, requeue=True)
    third = db.consume("q")[0]
    assert third.id == first.id and third.delivery_count == 3
    db.ack("q", second, third, again[1])
    with pytest.raises(synap.NotFound):
        db.nack("q", first.id)
    assert db.queue_stats("q")["redelivered"] >= 2


def test_nack_without_requeue_dead_letters_then_requeue_and_purge(db):
    ids = db.publish_batch("q", [b"a", b"b", b"c"])
    for m in db.consume("q", max=3):
        m.nack(requeue=False)
    dead = db.dead_letters("q")
    assert [(m.id, m.payload, m.reason) for m in dead] == [(i, p, "rejected") for i, p in zip(ids, [b"a", b"b", b"c"])]
    assert [m.id for m in db.dead_letters("q", offset=1, limit=1)] == [ids[1]]
    assert db.queue_stats("q")["dead_lettered"] == 3
    assert db.consume("q") == []

    assert db.requeue_dead("q", ids[1]) == 1
    with pytest.raises(synap.NotFound):
        db.requeue_dead("q", ids[1])  # not a dead letter any more
    back = db.consume("q")
    assert [m.id for m in back] == [ids[1]]
    assert back[0].delivery_count == 1  # reset by the requeue
    back[0].ack()

    assert db.requeue_dead("q", dead[0]) == 1  # a Message works as the id
    assert db.requeue_dead("q") == 1  # the rest (one left)
    revived = db.consume("q", max=10)
    assert sorted(m.id for m in revived) == [ids[0], ids[2]]
    db.ack("q", *revived)
    db.publish("q", b"d")
    db.consume("q")[0].nack(False)
    assert len(db.dead_letters("q")) == 1
    assert db.purge_dead("q") == 1
    assert db.dead_letters("q") == []
    assert db.purge_dead("q") == 0


def test_retries_spent_dead_letter_the_message(db):
    db.queue_declare("q", max_retries=1)
    mid = db.publish("q", b"poison")
    for _ in range(5):
        got = db.consume("q")
        if not got:
            break
        got[0].nack()
    dead = db.dead_letters("q")
    assert [(m.id, m.reason) for m in dead] == [(mid, "max_retries")]


def test_ack_deadline_passes_and_the_message_comes_back(db):
    db.queue_declare("q", ack_deadline_ms=100)
    mid = db.publish("q", b"slow")
    first = db.consume("q")[0]
    again = db.consume("q", wait_ms=3000)
    assert [m.id for m in again] == [mid]
    assert again[0].redelivered and again[0].delivery_count == 2
    assert db.queue_stats("q")["redelivered"] == 1
    again[0].ack()
    with pytest.raises(synap.NotFound):
        first.ack()  # the same id, acked already


def test_max_depth_is_busy_queue_full(db):
    db.queue_declare("q", max_depth=2)
    db.publish("q", b"1")
    db.publish("q", b"2")
    with pytest.raises(synap.Busy) as e:
        db.publish("q", b"3")
    assert "queue full" in str(e.value) and e.value.code == synap.Busy.code
    with pytest.raises(synap.Busy):
        db.publish_batch("q", [b"3"])
    got = db.consume("q")  # in flight still counts toward the depth
    with pytest.raises(synap.Busy):
        db.publish("q", b"3")
    got[0].ack()
    db.publish("q", b"3")


def test_consume_wait_wakes_on_publish_from_another_thread(db):
    db.queue_declare("q")
    assert db.consume("q", wait_ms=0) == []  # at once
    t0 = time.monotonic()
    assert db.consume("q", wait_ms=150) == []
    assert time.monotonic() - t0 >= 0.1

    def producer():
        time.sleep(0.2)
        db.publish("q", b"wake up")

    t = threading.Thread(target=producer)
    t0 = time.monotonic()
    t.start()
    got = db.consume("q", wait_ms=5000)
    elapsed = time.monotonic() - t0
    t.join()
    assert [m.payload for m in got] == [b"wake up"]
    assert 0.15 <= elapsed < 3.0  # woken by the publish, not the 5 s timeout


def test_delayed_message(db):
    db.publish("q", b"later", delay_ms=datetime.timedelta(milliseconds=200))
    db.publish("q", b"now")
    assert [m.payload for m in db.consume("q", max=10)] == [b"now"]
    assert db.queue_stats("q")["delayed"] == 1
    got = db.consume("q", wait_ms=3000)
    assert [m.payload for m in got] == [b"later"]


def test_headers_round_trip(db):
    headers = {b"\x00bin\xff": b"\x01\x02\x00", "trace-id": "abc", "empty": b"", "n": 7}
    db.publish("q", b"\x00payload\xff", headers=headers)
    db.publish("q", b"", headers=[("k", "v1")])
    db.publish("q", "no headers")
    a, b, c = db.consume("q", max=3)
    assert a.payload == b"\x00payload\xff"
    assert a.headers == {b"\x00bin\xff": b"\x01\x02\x00", b"trace-id": b"abc", b"empty": b"", b"n": b"7"}
    assert b.payload == b"" and b.headers == {b"k": b"v1"}
    assert c.payload == b"no headers" and c.headers == {}
    a.nack(requeue=False)  # headers survive dead-lettering too
    assert db.dead_letters("q")[0].headers == a.headers


def test_reopen_keeps_ids_and_in_flight_come_back_redelivered(open_db, db_path):
    db = open_db()
    db.queue_declare("q", max_depth=100)
    ids = db.publish_batch("q", [b"acked", b"in-flight", b"ready"])
    hid = db.publish("q", b"hdr", priority=7, headers={"h": "v"})
    got = db.consume("q", max=2)  # hdr (priority 7), then "acked"
    assert [m.payload for m in got] == [b"hdr", b"acked"]
    got[1].ack()
    assert db.consume("q")[0].payload == b"in-flight"
    db.nack("q", db.consume("q")[0].id, requeue=False)  # "ready" -> dead letter
    db.close()

    db = open_db()
    assert db.queues() == ["q"]
    assert db.queue_stats("q")["settings"]["max_depth"] == 100
    back = db.consume("q", max=10)
    # in flight at the close: back at the head of their priority, redelivered
    # (delivery 2; a clean close kept the first delivery's record)
    assert [(m.id, m.payload, m.redelivered, m.delivery_count) for m in back] == [
        (hid, b"hdr", True, 2), (ids[1], b"in-flight", True, 2)]
    assert {m.id: m.headers for m in back}[hid] == {b"h": b"v"}
    assert [(m.id, m.reason) for m in db.dead_letters("q")] == [(ids[2], "rejected")]
    new = db.publish("q", b"new")
    assert new > max(ids + [hid])  # ids go on from the highest seen
    db.ack("q", *back)
    with pytest.raises(synap.NotFound):
        db.ack("q", ids[0])  # acked before the restart: never comes back


def test_iterator(db):
    db.publish_batch("q", [f"job-{i}".encode() for i in range(5)])
    seen = []
    t0 = time.monotonic()
    for msg in db.iter_queue("q", wait_ms=100):
        seen.append(msg.payload)
        msg.ack()
    assert seen == [f"job-{i}".encode() for i in range(5)]
    assert time.monotonic() - t0 < 3.0  # stopped after one empty 100 ms wait
    assert db.queue_stats("q")["acked"] == 5


def test_iterator_left_early_gives_the_rest_back(db):
    db.publish_batch("q", [b"a", b"b", b"c", b"d"])
    it = db.iter_queue("q", consumer="worker-1", wait_ms=50, max=3)
    first = next(it)
    first.ack()
    it.close()  # b and c were fetched but never yielded: nacked back to the head
    rest = db.consume("q", max=10)
    assert [m.payload for m in rest] == [b"b", b"c", b"d"]
    assert [m.redelivered for m in rest] == [True, True, False]
    db.ack("q", *rest)


def test_auto_create_off(open_db):
    db = open_db(queue_auto_create=False)
    with pytest.raises(synap.NotFound):
        db.publish("nope", b"x")
    with pytest.raises(synap.NotFound):
        db.publish_batch("nope", [b"x"])
    db.queue_declare("yes")
    assert db.publish("yes", b"x") >= 1


def test_prefetch_caps_unacked_deliveries(db):
    db.publish_batch("q", [b"1", b"2", b"3", b"4"])
    assert len(db.consume("q", consumer="c1", max=10, prefetch=2)) == 2
    assert db.consume("q", consumer="c1", max=10, prefetch=2) == []
    assert len(db.consume("q", consumer="c2", max=10, prefetch=1)) == 1


def test_closed_database(db):
    db.publish("q", b"x")
    db.close()
    with pytest.raises(synap.Closed):
        db.consume("q")
    with pytest.raises(synap.Closed):
        db.queues()


def test_per_message_max_retries(db):
    fragile = db.publish("retry", b"fragile", max_retries=0)
    db.publish("retry", b"sturdy")
    got = db.consume("retry", max=2)
    assert [m.payload for m in got] == [b"fragile", b"sturdy"]
    for m in got:
        m.nack(requeue=True)
    assert [m.payload for m in db.consume("retry", max=10)] == [b"sturdy"]
    dead = db.dead_letters("retry")
    assert [(m.id, m.reason) for m in dead] == [(fragile, "max_retries")]
