"""Copies of customers' labels in each process, which Redis keeps true
(store/copies.py): on a real redis-server, since they rest on its reports."""

import gc
import json
import logging
import os
import signal
import threading
import time

import pytest
import redis
from redis.exceptions import RedisClusterException

from customer_labels.service import create_app
from customer_labels.settings import DEFAULTS
from customer_labels.store import ClusterStore, NotFound, RedisStore, copies, namespaces_of
from customer_labels.store.connection import make_client

from .conftest import COPIES, PREFIX, tracking
from .processes import call, serve, stop
from .redis_server import RedisServer

TOKEN = "copies-token-0123456789abcdef"


@pytest.fixture
def other(redis_proc):
    """Another client of the same Redis: what another process changes through."""
    client = redis.Redis(host=redis_proc.host, port=redis_proc.port, decode_responses=True)
    yield client
    client.close()


def made(client, budget=COPIES):
    store = RedisStore(client, PREFIX, copies=budget)
    store.ensure_layout()
    return store


@pytest.fixture
def store(real_redis):
    return made(real_redis)


@pytest.fixture
def elsewhere(other):
    """The same data, as another process sees it: no copies."""
    return made(other, 0)


@pytest.fixture
def ada(store):
    for n in range(3):
        store.create_label({"id": f"l{n}", "name": f"Label {n}"})
    return store.create_customer({"name": "Ada"})["id"]


def scripts_run(client):
    """Scripts Redis ran: EVALSHA calls, less those refused (a NOSCRIPT, when Redis's
    script cache was emptied, is retried with the script itself)."""
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return stats.get("calls", 0) - stats.get("failed_calls", 0) - stats.get("rejected_calls", 0)


def reported(store):
    """Read Redis's reports of every change answered so far (``Copies.settle``). A request
    that comes through HTTP after a change's answer finds its report arrived; a read made
    in the same thread right after another connection's change may come microseconds
    before it (seen on Valkey): this stands for that way round. bench/copies.py measures
    the way through HTTP."""
    store.copies.settle()


def names(text):
    return [label["name"] for label in json.loads(text)["data"]]


def test_a_second_read_runs_no_script(store, real_redis, ada):
    store.labels_json(ada, "attach", ["l0"])
    first = store.labels_json(ada)
    before = scripts_run(real_redis)
    assert store.labels_json(ada) == first
    assert scripts_run(real_redis) == before  # answered from the copy
    assert len(store.copies) == 1


def test_what_another_process_changes_is_seen_by_the_next_read(store, elsewhere, ada):
    for round_ in range(100):
        label = f"l{round_ % 3}"
        store.labels_json(ada)  # a copy, as of now
        change = "attach" if round_ % 2 == 0 else "detach"
        expected = elsewhere.labels_json(ada, change, [label])
        reported(store)
        assert store.labels_json(ada) == expected, round_


def test_a_label_renamed_or_deleted_elsewhere_drops_every_copy(store, elsewhere, ada):
    bob = store.create_customer({"name": "Bob"})["id"]
    for customer in (ada, bob):
        store.labels_json(customer, "attach", ["l0", "l1"])
        store.labels_json(customer)
    elsewhere.update_label("l0", {"name": "Renamed"})
    reported(store)
    assert names(store.labels_json(ada)) == names(store.labels_json(bob)) == ["Label 1", "Renamed"]
    elsewhere.delete_label("l1")
    reported(store)
    assert names(store.labels_json(ada)) == names(store.labels_json(bob)) == ["Renamed"]


def test_a_customer_deleted_or_a_flush_elsewhere_is_a_404_next(store, elsewhere, other, ada):
    bob = store.create_customer({"name": "Bob"})["id"]
    store.labels_json(ada), store.labels_json(bob)
    elsewhere.delete_customer(ada)
    reported(store)
    with pytest.raises(NotFound):
        store.labels_json(ada)
    other.flushdb()
    reported(store)
    with pytest.raises(NotFound):
        store.labels_json(bob)


def test_reads_racing_changes_never_keep_an_old_answer(store, elsewhere, ada):
    # Readers keep copies hot while another process changes the labels: once each
    # change has answered, every read shows it (a copy read across a change is not kept).
    stop_reading = threading.Event()
    errors = []

    def read():
        while not stop_reading.is_set():
            try:
                store.labels_json(ada)
            except Exception as err:  # noqa: BLE001 (reported below)
                errors.append(err)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for round_ in range(200):
            expected = elsewhere.labels_json(ada, "attach" if round_ % 2 == 0 else "detach", ["l2"])
            reported(store)
            assert store.labels_json(ada) == expected, round_
    finally:
        stop_reading.set()
        for reader in readers:
            reader.join()
    assert errors == []


def test_a_lost_connection_drops_the_copies_and_reads_redis(store, elsewhere, real_redis, ada, monkeypatch, caplog):
    monkeypatch.setattr(copies, "RETRY_SECONDS", 0)
    store.labels_json(ada)
    # Every connection that takes reports: this store's, and any an earlier test's
    # store (not yet collected) still holds.
    killed = tracking(real_redis)
    assert killed
    for client_id in killed:
        real_redis.client_kill_filter(_id=client_id)
    expected = elsewhere.labels_json(ada, "attach", ["l1"])
    with caplog.at_level(logging.WARNING):
        assert store.labels_json(ada) == expected
    assert "reports stopped" in caplog.text
    # Open again at the next read: copies are kept again, and true.
    store.labels_json(ada)
    before = scripts_run(real_redis)
    assert store.labels_json(ada) == expected and scripts_run(real_redis) == before
    detached = elsewhere.labels_json(ada, "detach", ["l1"])
    reported(store)
    assert store.labels_json(ada) == detached


def test_copies_unchecked_for_too_long_are_not_used(store, real_redis, ada, monkeypatch):
    store.labels_json(ada, "attach", ["l0"])
    store.labels_json(ada)
    before = scripts_run(real_redis)
    assert names(store.labels_json(ada)) == ["Label 0"] and scripts_run(real_redis) == before  # the copy
    # As if every check were too old. Setting the time of the last check back by hand
    # raced with the reader thread: a check it had begun just before stored a fresh one.
    monkeypatch.setattr(copies, "CHECKED_SECONDS", -1.0)
    assert names(store.labels_json(ada)) == ["Label 0"]
    assert scripts_run(real_redis) == before + 1


def test_thousands_of_reports_between_two_checks_are_read(store, other, real_redis, ada):
    # A process that serves no GETs reads its reports only at each check: under writes
    # from other processes, thousands may wait ahead of the check's PONG.
    store.labels_json(ada, "attach", ["l0"])
    store.labels_json(ada)
    store.copies.settle()
    for n in range(3000):  # one at a time: Redis sends one report per pass of its loop
        other.hset(store._customer_key(ada), "note", n)
    checked = store.copies._checked
    store.copies.settle()
    assert store.copies._checked > checked and store.copies._conns  # checked, not lost
    store.labels_json(ada)
    before = scripts_run(real_redis)
    assert names(store.labels_json(ada)) == ["Label 0"] and scripts_run(real_redis) == before


def test_a_check_that_fails_unexpectedly_drops_the_copies_and_the_checks_go_on(store, ada, monkeypatch, caplog):
    monkeypatch.setattr(copies, "READ_SECONDS", 0.02)
    monkeypatch.setattr(copies, "RETRY_SECONDS", 0)
    store.labels_json(ada)
    settle, failed = copies.Copies.settle, []

    def fail_once(self):
        if self is store.copies and not failed:
            failed.append(True)
            raise RuntimeError("a fault of the check itself")
        return settle(self)

    monkeypatch.setattr(copies.Copies, "settle", fail_once)
    deadline = time.monotonic() + 5
    with caplog.at_level(logging.ERROR):
        while not (failed and not store.copies._conns):
            assert time.monotonic() < deadline, "the check did not run"
            time.sleep(0.01)
    assert "a check of the copies' connections failed" in caplog.text
    assert len(store.copies) == 0  # dropped with the connections
    store.labels_json(ada)  # opens them again
    opened = store.copies._checked
    while store.copies._checked == opened:  # a later check, by the same thread
        assert time.monotonic() < deadline, "the checks stopped"
        time.sleep(0.01)
    assert store.copies._reader.is_alive()


@pytest.fixture
def refusing(real_redis, redis_proc):
    """A client of a user that may run every command but CLIENT, as some managed Redis
    set it up: Redis refuses it reports."""
    real_redis.acl_setuser(
        "plain", enabled=True, passwords=["+secret"], keys="*", channels="*", commands=["+@all", "-client"]
    )
    client = redis.Redis(
        host=redis_proc.host, port=redis_proc.port, username="plain", password="secret", decode_responses=True
    )
    yield client
    client.close()
    real_redis.acl_deluser("plain")


def test_a_redis_that_refuses_reports_is_read_each_time(real_redis, refusing, caplog):
    with caplog.at_level(logging.WARNING):
        store = made(refusing)
        store.create_label({"id": "l0", "name": "Label 0"})
        ada = store.create_customer({"name": "Ada"})["id"]
        store.labels_json(ada, "attach", ["l0"])
        before = scripts_run(real_redis)
        for _ in range(3):
            assert names(store.labels_json(ada)) == ["Label 0"]
    assert scripts_run(real_redis) == before + 3
    assert caplog.text.count("refuses to report changes") == 1  # asked once only
    assert len(store.copies) == 0


def test_copies_stay_within_their_budget(real_redis):
    store = made(real_redis, 1000)
    store.create_label({"id": "l0", "name": "Label 0"})
    customers = [store.create_customer({"name": f"C{n}"})["id"] for n in range(10)]
    for customer in customers:
        store.labels_json(customer, "attach", ["l0"])
        size = len(store.labels_json(customer)) + copies.OVERHEAD
    assert len(store.copies) == 1000 // size == 3  # the newest: the oldest went first
    assert store.copies._size <= 1000
    before = scripts_run(real_redis)
    for customer in customers[-3:]:
        store.labels_json(customer)
    assert scripts_run(real_redis) == before


def test_a_forked_process_reads_with_its_own_connection(store, elsewhere, real_redis, ada):
    gc.collect()
    store.labels_json(ada)
    parent_ids = tracking(real_redis)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no copy of the parent's, and a connection of its own
        try:
            found = [len(store.copies), not store.copies._conns]
            elsewhere.labels_json(ada, "attach", ["l0"])
            found.append(names(store.labels_json(ada)))
            found.append(sorted(tracking(real_redis) - parent_ids))
            os.write(write, json.dumps(found).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    empty, unopened, seen, opened = json.loads(os.read(read, 65536))
    os.close(read)
    assert (empty, unopened, seen) == (0, True, ["Label 0"])
    assert len(opened) == 1
    reported(store)
    assert names(store.labels_json(ada)) == ["Label 0"]  # the parent saw the child's change too


@pytest.mark.parametrize("kind", ["redis", "cluster"])
def test_the_service_keeps_copies_true_across_its_processes(request, kind):
    # Two server processes on one Redis or one cluster: a change answered by one is what
    # the other answers next, every time (the requests alternate between processes at
    # random). No request lines: nothing reads the server's output until it stops.
    if kind == "redis":
        url, settings = request.getfixturevalue("redis_url"), {}
    else:
        url, settings = request.getfixturevalue("redis_cluster").url, {"REDIS_CLUSTER": "true"}
    process, port = serve(url, f"{TOKEN}:admin", WEB_CONCURRENCY="2", LOG_LEVEL="WARNING", **settings)
    try:
        assert call(port, "POST", "/labels/labels", {"id": "vip", "name": "VIP"}, TOKEN)[0] == 201
        status, customer = call(port, "POST", "/customers/customers", {"name": "Ada"}, TOKEN)
        assert status == 201
        path = f"/customers/customers/{customer['id']}/labels"
        for round_ in range(60):
            method = "POST" if round_ % 2 == 0 else "DELETE"
            status, answer = call(port, method, path, {"labels": ["vip"]}, TOKEN)
            assert status == 200
            for _ in range(3):
                assert call(port, "GET", path, token=TOKEN) == (200, answer), round_
    finally:
        stop(process)


def _app_on(url):
    app = create_app({"TESTING": True, "API_TOKENS": f"{TOKEN}:admin", "REDIS_URL": url})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/labels/labels", json={"id": "vip", "name": "VIP"}, headers=headers).status_code == 201
    ada = client.post("/customers/customers", json={"name": "Ada"}, headers=headers).get_json()["id"]
    path = f"/customers/customers/{ada}/labels"
    assert client.post(path, json={"labels": ["vip"]}, headers=headers).status_code == 200
    assert client.get(path, headers=headers).status_code == 200  # a copy now
    return lambda: client.get(path, headers=headers)


def test_a_redis_that_stops_is_a_503_at_once_not_a_copy(redis_server):
    get = _app_on(redis_server.url)
    redis_server.stop(signal.SIGKILL)
    answer = get()
    assert answer.status_code == 503 and answer.mimetype == "application/problem+json"


def test_a_redis_restarted_empty_shows_no_copy(tmp_path):
    server = RedisServer(tmp_path).start()
    try:
        get = _app_on(server.url)
        server.stop(signal.SIGKILL)
        server.start()  # the same port, nothing kept
        assert get().status_code == 404
    finally:
        server.stop(signal.SIGKILL)


def test_a_hung_redis_answers_copies_only_until_the_check_fails(redis_server):
    # Hung, Redis can change nothing, so a copy may still answer; the next check (a PING
    # every READ_SECONDS, waiting FAIL_FAST_TIMEOUT) drops the copies, and GETs read
    # Redis: 503.
    get = _app_on(redis_server.url)
    copy = get().get_data()
    redis_server.pause()
    try:
        deadline = time.monotonic() + copies.READ_SECONDS + copies.CHECKED_SECONDS
        while (answer := get()).status_code == 200:
            assert answer.get_data() == copy
            assert time.monotonic() < deadline
        assert answer.status_code == 503 and answer.mimetype == "application/problem+json"
        assert get().status_code == 503
    finally:
        redis_server.resume()


def test_redis_cache_mb_0_reads_redis_every_time(redis_url, real_redis):
    app = create_app({"TESTING": True, "API_TOKENS": f"{TOKEN}:admin", "REDIS_URL": redis_url, "REDIS_CACHE_MB": 0})
    store = namespaces_of(app).default
    assert store.copies is None
    store.create_label({"id": "l0", "name": "Label 0"})
    ada = store.create_customer({"name": "Ada"})["id"]
    before = scripts_run(real_redis)
    for _ in range(3):
        assert store.labels_json(ada) == '{"data":[]}'
    assert scripts_run(real_redis) == before + 3
    # The default: copies of up to REDIS_CACHE_MB megabytes.
    default = namespaces_of(create_app({"TESTING": True, "API_TOKENS": f"{TOKEN}:admin", "REDIS_URL": redis_url}))
    assert default.default.copies.budget == DEFAULTS["REDIS_CACHE_MB"] * 1024 * 1024


def test_a_cluster_keeps_copies_and_the_mocks_namespaces_none(redis_cluster, store):
    app = create_app(
        {"TESTING": True, "API_TOKENS": f"{TOKEN}:admin", "REDIS_URL": redis_cluster.url, "REDIS_CLUSTER": True}
    )
    assert namespaces_of(app).default.copies.budget == DEFAULTS["REDIS_CACHE_MB"] * 1024 * 1024
    assert store.namespace("team-a").copies is None


def test_reads_of_redis_hold_no_lock_so_gets_go_on_side_by_side(store, refusing):
    # A read of Redis waits a round trip: it must not hold the copies' lock, or every GET
    # of the process would wait behind it, copies usable or not.
    held = []

    def read(copies_of, text):
        held.append(copies_of._lock.locked())
        return text

    store.copies.get("a tag of no copy", lambda: read(store.copies, "{}"))
    refused = made(refusing)  # copies never usable: Redis refuses to report
    refused.copies.get("any", lambda: read(refused.copies, "{}"))
    assert held == [False, False]


# -- on a Redis Cluster: each master reports the changes of its own keys ------------------


@pytest.fixture
def on_cluster(cluster_client, redis_cluster):
    """(a cluster store with copies, the same data as another process sees it, a client
    of each master)."""
    store = ClusterStore(cluster_client, PREFIX, copies=COPIES)
    store.ensure_layout()
    elsewhere = ClusterStore(make_client(redis_cluster.url, cluster=True), PREFIX)
    return store, elsewhere, [node.client() for node in redis_cluster.nodes]


def customers_on_every_master(store, masters):
    """Customers whose keys lie on each master in turn (ids are random)."""
    found = {}
    while len(found) < len(masters):
        customer = store.create_customer({"name": "C"})["id"]
        port = store._redis.get_node_from_key(store._attached_key(customer)).port
        found.setdefault(port, customer)
    return list(found.values())


def cluster_scripts_run(masters):
    return sum(scripts_run(master) for master in masters)


def test_on_a_cluster_every_master_reports_and_a_second_read_runs_no_script(on_cluster):
    store, elsewhere, masters = on_cluster
    store.create_label({"id": "l0", "name": "Label 0"})
    customers = customers_on_every_master(store, masters)
    earlier = [tracking(master) for master in masters]  # of stores of earlier tests
    for customer in customers:
        store.labels_json(customer)
    assert [len(tracking(master) - ids) for master, ids in zip(masters, earlier)] == [1, 1, 1]
    before = cluster_scripts_run(masters)
    for customer in customers:
        assert store.labels_json(customer) == '{"data":[]}'
    assert cluster_scripts_run(masters) == before and len(store.copies) == 3
    # A change on any master, by another process, is what the next read shows.
    for round_ in range(6):
        for customer in customers:
            expected = elsewhere.labels_json(customer, "attach" if round_ % 2 == 0 else "detach", ["l0"])
            reported(store)
            assert store.labels_json(customer) == expected, round_
    elsewhere.update_label("l0", {"name": "Renamed"})
    reported(store)
    assert [names(store.labels_json(customer)) for customer in customers] == [[]] * 3


def test_on_a_cluster_a_read_between_the_two_steps_of_a_change_keeps_no_copy(on_cluster):
    # Between an attach's two steps the label is in the customer's set, not yet in its
    # bitmap, and a read does not show it. When the second step lands, no key of the
    # customer changes, so no report would drop a copy of that read: none is kept.
    store, elsewhere, _ = on_cluster
    store.create_label({"id": "l0", "name": "Label 0"})
    ada = store.create_customer({"name": "Ada"})["id"]
    store.labels_json(ada)
    elsewhere.labels_json(ada)  # its cache knows l0
    seen = []
    run = elsewhere._run

    def read_between(name, keys, args):
        if name == "cluster/catalogue" and not seen:
            reported(store)
            seen.append(names(store.labels_json(ada)))
        return run(name, keys, args)

    elsewhere._run = read_between
    assert names(elsewhere.labels_json(ada, "attach", ["l0"])) == ["Label 0"]
    assert seen == [[]]
    reported(store)
    assert names(store.labels_json(ada)) == ["Label 0"]


def test_on_a_cluster_one_master_lost_drops_every_copy(on_cluster, monkeypatch, caplog):
    monkeypatch.setattr(copies, "RETRY_SECONDS", 0)
    store, elsewhere, masters = on_cluster
    store.create_label({"id": "l0", "name": "Label 0"})
    customers = customers_on_every_master(store, masters)
    for customer in customers:
        store.labels_json(customer)
    # The reports of one master stop: a change there could go unseen, so every copy goes.
    killed = tracking(masters[0])
    for client_id in killed:
        masters[0].client_kill_filter(_id=client_id)
    before = cluster_scripts_run(masters)
    with caplog.at_level(logging.WARNING):
        for customer in customers:
            assert store.labels_json(customer) == '{"data":[]}'
    assert "reports stopped" in caplog.text
    assert cluster_scripts_run(masters) > before
    assert len(tracking(masters[0]) - killed) == 1  # open again


def test_on_a_cluster_other_masters_drop_every_copy(on_cluster, monkeypatch):
    # As after a failover or a master added: the client comes to know masters the
    # copies were not reported by. A read then keeps no copy, and the next check drops
    # them all; the next GET opens a connection to each master the client knows.
    monkeypatch.setattr(copies, "RETRY_SECONDS", 0)
    # The checks run here, by hand, and no reader thread runs them: one run between the
    # two reads would drop the copies and open connections to the two masters before
    # Bob's read. (Setting the instance's ``settle`` aside raced with a check the thread
    # had begun: it went on to see the masters changed.)
    monkeypatch.setattr(copies, "_read_now_and_then", lambda ref: None)
    store, _, masters = on_cluster
    store.create_label({"id": "l0", "name": "Label 0"})
    ada, bob = (store.create_customer({"name": name})["id"] for name in ("Ada", "Bob"))
    store.labels_json(ada)
    assert len(store.copies) == 1
    known = store._masters()
    monkeypatch.setattr(store.copies, "_masters", lambda: dict(list(known.items())[:2]))
    store.labels_json(bob)
    assert len(store.copies) == 1  # Bob's read is not kept
    store.copies.settle()
    assert len(store.copies) == 0
    before = cluster_scripts_run(masters)
    store.labels_json(ada)
    # Read from Redis, not a copy; and the catalogue read again, since its reports stopped.
    assert cluster_scripts_run(masters) == before + 2
    assert len(store.copies) == 1 and store.copies._conns.keys() == dict(list(known.items())[:2]).keys()


def test_a_cluster_that_cannot_be_reached_is_read_for_its_error():
    def unreachable():
        raise RedisClusterException("Redis Cluster cannot be connected. Please provide at least one reachable node")

    unusable = copies.Copies(unreachable, COPIES, ["cl:L:{"], [])
    assert unusable.get("a tag", lambda: ("what Redis answered", True)) == "what Redis answered"
    assert len(unusable) == 0
