"""The Redis connection pool: ``connection.Pool``, redis-py's BlockingConnectionPool
with its free connections kept in ``connection.Slots`` (what LifoQueue did for it,
cheaper) and a leaner get and release that keep its safety steps."""

import os
import queue
import select
import threading
import time

import pytest
import redis

from customer_labels.store.connection import POOL_TIMEOUT, Pool, Slots, fail_fast, make_client


@pytest.mark.fast
def test_slots_hand_out_the_last_given_back_first_and_hold_at_most_maxsize():
    slots = Slots(3)
    for item in ("a", "b", "c"):
        slots.put_nowait(item)
    with pytest.raises(queue.Full):
        slots.put_nowait("d")
    assert slots.queue == ["a", "b", "c"]
    assert [slots.get(), slots.get()] == ["c", "b"]
    slots.put_nowait("e")
    assert [slots.get(), slots.get()] == ["e", "a"]


@pytest.mark.fast
def test_an_empty_slots_waits_for_an_item_then_gives_up():
    slots = Slots(1)
    started = time.monotonic()
    with pytest.raises(queue.Empty):
        slots.get(timeout=0.1)
    assert time.monotonic() - started >= 0.1
    with pytest.raises(queue.Empty):
        slots.get(block=False)


@pytest.mark.fast
def test_a_waiting_get_takes_what_another_thread_gives_back():
    slots = Slots(1)
    giver = threading.Timer(0.05, slots.put_nowait, ["given"])
    giver.start()
    assert slots.get(timeout=5) == "given"
    giver.join()


@pytest.mark.fast
def test_slots_lose_nothing_between_threads():
    slots, taken = Slots(4), []
    for n in range(4):
        slots.put_nowait(n)

    def borrow():
        for _ in range(2000):
            item = slots.get(timeout=5)
            taken.append(item)
            slots.put_nowait(item)

    threads = [threading.Thread(target=borrow) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(slots.queue) == [0, 1, 2, 3] and len(taken) == 16000


def test_the_pool_reuses_one_connection_and_waits_for_a_free_one(redis_url):
    client = make_client(redis_url, max_connections=2)
    pool = client.connection_pool
    assert isinstance(pool.pool, Slots)
    for _ in range(20):
        assert client.ping()
    assert len(pool._connections) == 1  # handed back and out again, never a second
    first, second = pool.get_connection(), pool.get_connection()
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError, match="No connection available"):
        pool.get_connection()
    assert POOL_TIMEOUT <= time.monotonic() - started < POOL_TIMEOUT + 1
    pool.release(second)
    assert pool.get_connection() is second
    pool.release(first)
    pool.release(second)
    assert len(pool._get_free_connections()) == 2  # redis-py reads Slots.queue
    quick = fail_fast(client).connection_pool
    assert isinstance(quick, Pool) and isinstance(quick.pool, Slots) and quick.max_connections == 2


def test_a_connection_given_back_with_an_unread_reply_is_opened_again_before_use(redis_url):
    client = make_client(redis_url, max_connections=1)
    connection = client.connection_pool.get_connection()
    before = connection._sock
    connection.send_command("ECHO", "left unread")
    # The reply in the socket before it goes back (a get sees only a reply that has
    # arrived: redis-py's own check is the same).
    assert select.select([connection._sock], [], [], 5)[0]
    client.connection_pool.release(connection)
    # Read from the old socket, that reply would answer the next command.
    assert client.echo("fresh") == "fresh"
    assert connection._sock is not before


def test_a_forked_process_opens_connections_of_its_own(redis_url):
    client = make_client(redis_url)
    parent_id = client.client_id()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its own connection, or the parent's socket shared
        try:
            os.write(writer, str(client.client_id()).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        child_id = int(pipe.read())
    os.waitpid(child, 0)
    assert child_id != parent_id
    assert client.client_id() == parent_id  # the parent's connection is untouched


def test_a_pool_asked_for_resp3_keeps_redis_pys_own_get_and_release(redis_url):
    # RESP3 brings redis-py's handling of a server's maintenance, which the lean get skips.
    lean = make_client(redis_url).connection_pool
    assert lean.get_connection.__func__ is Pool.get_connection and lean.release.__func__ is Pool.release
    pool = make_client(f"{redis_url}?protocol=3").connection_pool
    assert pool.get_connection.__func__ is redis.BlockingConnectionPool.get_connection
    assert pool.release.__func__ is redis.BlockingConnectionPool.release
    assert redis.Redis(connection_pool=pool).client_info()["resp"] == "3"  # it works, over RESP3
