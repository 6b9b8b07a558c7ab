"""Multi-step work that a stopped process leaves half-done finishes itself, and never
changes an answer meanwhile: label deletes (their carriers detached after), swept by
the process that notices them or by the server's sweep, one sweeper at a time."""

import os
import signal
import time

import pytest

from customer_labels.store import RedisStore, TooManyLabels
from customer_labels.store.redis_store import SWEEP_LOCK_SECONDS

from .conftest import API_TOKENS, TOKENS, labels_of, make_store
from .processes import call, start, stop, wait_until_up, web_command
from .redis_server import free_port


@pytest.fixture(params=[pytest.param("fakeredis", marks=pytest.mark.fast), "redis"])
def redis_store(request):
    return make_store(request.param, request)


def test_numbers_of_labels_being_deleted_do_not_count_against_the_cap(redis_store):
    labels = [redis_store.create_label({"id": f"l{i}", "name": f"L{i}"})["id"] for i in range(252)]
    customer = redis_store.create_customer({"name": "C"})["id"]
    labels_of(redis_store, customer, "attach", labels[:250])
    assert redis_store._drop_label("l0")  # deleted; its carriers not yet detached
    with pytest.raises(TooManyLabels):  # 249 live and 2 more: refused, and nothing changes
        labels_of(redis_store, customer, "attach", ["l250", "l251"])
    assert len(redis_store._redis.smembers(redis_store._attached_key(customer))) == 250
    assert len(labels_of(redis_store, customer)) == 249  # already invisible
    assert len(labels_of(redis_store, customer, "attach", ["l250"])) == 250
    with pytest.raises(TooManyLabels) as refused:
        labels_of(redis_store, customer, "attach", ["l251"])
    assert (refused.value.attached, refused.value.adding) == (250, 1)


def test_one_sweeper_at_a_time(redis_store):
    redis_store.create_label({"id": "a", "name": "A"})
    customer = redis_store.create_customer({"name": "C"})["id"]
    labels_of(redis_store, customer, "attach", ["a"])
    assert redis_store._drop_label("a")
    other = redis_store._redis.lock(redis_store._key("sweep-lock"), timeout=SWEEP_LOCK_SECONDS, blocking=False)
    assert other.acquire()
    assert redis_store.sweep() is False  # another process sweeps: nothing done here
    assert redis_store._redis.smembers(redis_store._key("label-gc")) == {"1"}
    other.release()
    assert redis_store.sweep() is True
    assert redis_store._redis.smembers(redis_store._key("label-gc")) == set()
    assert redis_store._redis.smembers(redis_store._attached_key(customer)) == set()


CARRIERS = 20_000


def test_a_server_killed_during_a_label_delete_leaves_nothing_seen_and_the_next_finishes_it(redis_url, real_redis):
    """kill -9 of the server (the Procfile's web line) between a label delete's steps:
    the label is gone for every reader at once, counts toward no cap, and the restarted
    server's sweep detaches the rest without any other request."""
    from bench import data

    store = RedisStore(real_redis, "cl:")
    _, ids = data.fill(real_redis, "cl:", CARRIERS, labels=["big", "other"], per_customer=0)
    data.attach(store, ids, ["big"], 1)
    env = {"REDIS_URL": redis_url, "API_TOKENS": API_TOKENS, "WEB_CONCURRENCY": "1"}
    port = free_port()
    server = start(web_command(), PORT=str(port), **env)
    try:
        wait_until_up(server, port)
        deleting = start(
            f"curl -s -o /dev/null -X DELETE -H 'Authorization: Bearer {TOKENS['admin']}' "
            f"http://127.0.0.1:{port}/labels/labels/big"
        )
        deadline = time.monotonic() + 20
        while not real_redis.smembers("cl:{cl:catalogue}:label-gc") and time.monotonic() < deadline:
            time.sleep(0.001)
        os.killpg(server.pid, signal.SIGKILL)  # between the steps: the label dropped, carriers left
        server.wait(timeout=10)
        deleting.wait(timeout=10)
    finally:
        stop(server)
    left = sum(real_redis.sismember(f"cl:L:{{{i}}}", "1") for i in ids[::100])
    assert left > 0, "the kill came after the delete had finished: nothing was left to sweep"
    # What a reader sees meanwhile, straight from the store: the label is gone everywhere.
    assert all(labels_of(store, i) == [] for i in ids[:50])
    port = free_port()
    server = start(web_command(), PORT=str(port), **env)
    try:
        wait_until_up(server, port)
        assert call(port, "GET", "/labels/labels/big", token=TOKENS["reader"])[0] == 404
        status, body = call(port, "GET", f"/customers/customers/{ids[0]}/labels", token=TOKENS["reader"])
        assert (status, body) == (200, {"data": []})
        deadline = time.monotonic() + 20  # the first sweep runs within 2 s of the start
        while real_redis.smembers("cl:{cl:catalogue}:label-gc") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert real_redis.smembers("cl:{cl:catalogue}:label-gc") == set()
        assert not any(real_redis.sismember(f"cl:L:{{{i}}}", "1") for i in ids)
        assert not real_redis.exists("cl:{cl:catalogue}:carriers:1")
    finally:
        stop(server)
