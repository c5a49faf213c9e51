"""Pub/sub through the real libsynap: matching, iteration, overflow policies,
closing."""
import threading
import time

import pytest

import synap


def test_publish_reaches_matching_subscriptions(db):
    with db.subscribe("orders.#") as every, db.subscribe("orders.e*.created") as eu:
        assert db.pubsub_publish("orders.eu.created", b"one") == 2
        assert db.pubsub_publish("orders.us.created", "two") == 1
        assert db.pubsub_publish("billing.x", b"three") == 0
        assert eu.next() == ("orders.eu.created", b"one")
        assert eu.next() is None
        assert every.next() == ("orders.eu.created", b"one")
        assert every.next() == ("orders.us.created", b"two")


def test_iteration_ends_after_a_quiet_wait(db):
    sub = db.subscribe("news.*", wait_ms=50)
    for i in range(3):
        db.pubsub_publish("news.today", str(i))
    assert [p for _, p in sub] == [b"0", b"1", b"2"]
    sub.close()


def test_next_waits_for_a_publish(db):
    sub = db.subscribe("t")
    threading.Timer(0.05, lambda: db.pubsub_publish("t", b"late")).start()
    start = time.monotonic()
    assert sub.next(5000) == ("t", b"late")
    assert time.monotonic() - start < 4
    sub.close()


def test_overflow_policies(db):
    drop = db.subscribe("t", capacity=2)
    strict = db.subscribe("t", capacity=2, overflow="close")
    for i in range(4):
        db.pubsub_publish("t", str(i))
    assert drop.dropped == 2
    assert [drop.next(), drop.next()] == [("t", b"2"), ("t", b"3")]
    assert [strict.next(), strict.next()] == [("t", b"0"), ("t", b"1")]
    with pytest.raises(synap.Closed, match="overflow"):
        strict.next()
    drop.close()
    strict.close()


def test_bad_input(db):
    for bad in ["", "a..b", "a.#.b"]:
        with pytest.raises(synap.InvalidArgument):
            db.subscribe(bad)
    with pytest.raises(synap.InvalidArgument):
        db.subscribe("a", capacity=0)
    with pytest.raises(synap.InvalidArgument):
        db.subscribe("a", overflow="sometimes")
    with pytest.raises(synap.InvalidArgument):
        db.pubsub_publish("a.*", b"x")


def test_closing_the_database_closes_its_subscriptions(tmp_path):
    db = synap.open(str(tmp_path / "d"), fsync="never")
    sub = db.subscribe("a")
    db.close()
    with pytest.raises(synap.Closed):
        sub.next()
    sub.close()  # allowed after
