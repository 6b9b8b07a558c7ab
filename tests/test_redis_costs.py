"""What each request costs Redis, on a real redis-server: round trips, memory per
attachment, and work that must not grow with the data. No timings: counts and bytes."""

import os
import random
import time
import uuid

import pytest

from customer_labels.service import create_app
from customer_labels.store import RedisStore, sweep_now_and_then
from customer_labels.store.redis_store import DETACH_BATCH

from .conftest import API_TOKENS, RoundTrips, auth, labels_of


@pytest.fixture
def live(real_redis):
    store = RedisStore(real_redis, "cost:")
    client = create_app({"API_TOKENS": API_TOKENS, "STORE": store}).test_client()
    for i in range(10):
        store.create_label({"id": f"l{i}", "name": f"L{i}"})
    customer = store.create_customer({"name": "Ada"})["id"]
    return client, store, customer


@pytest.mark.parametrize(
    "method, body",
    [
        ("get", None),
        ("post", {"labels": ["l1", "l2", "l2"]}),
        ("delete", {"labels": ["l1", "nope"]}),
        ("put", {"labels": ["l2", "l1"]}),
    ],
)
def test_customer_labels_requests_make_one_round_trip(live, monkeypatch, method, body):
    client, _, customer = live
    url = f"/customers/customers/{customer}/labels"
    getattr(client, method)(url, json=body, headers=auth("editor"))  # the script is loaded now
    trips = RoundTrips(monkeypatch)
    for _ in range(5):
        assert getattr(client, method)(url, json=body, headers=auth("editor")).status_code == 200
    assert trips.count == 5


@pytest.mark.parametrize(
    "method, body", [("post", {"labels": ["l3"]}), ("delete", {"labels": ["l5"]}), ("put", {"labels": ["l4"]})]
)
def test_an_etag_guarded_change_makes_one_round_trip_as_an_unguarded_one(live, monkeypatch, method, body):
    client, _, customer = live
    url = f"/customers/customers/{customer}/labels"
    client.post(url, json={"labels": ["l5"]}, headers=auth("editor"))
    tag = client.get(url, headers=auth("reader")).headers["ETag"]
    getattr(client, method)(url, json=body, headers={**auth("editor"), "If-Match": '"other"'})  # the script loaded
    trips = RoundTrips(monkeypatch)
    response = getattr(client, method)(url, json=body, headers={**auth("editor"), "If-Match": tag})
    assert response.status_code == 200 and trips.count == 1
    assert getattr(client, method)(url, json=body, headers={**auth("editor"), "If-Match": tag}).status_code == 412
    assert trips.count == 2


def test_a_segment_and_a_bulk_change_make_one_round_trip_each(live, monkeypatch):
    client, store, customer = live
    others = [store.create_customer({"name": f"C{i}"})["id"] for i in range(20)]
    query = "/customers/customers?labels.all=l1,l2&labels.none=l3"
    client.get(query, headers=auth("reader"))
    client.post("/labels/labels/l1/customers", json={"customers": [customer]}, headers=auth("editor"))
    trips = RoundTrips(monkeypatch)
    response = client.post("/labels/labels/l1/customers", json={"customers": others}, headers=auth("editor"))
    assert response.status_code == 200 and trips.count == 1
    client.post("/labels/labels/l2/customers", json={"customers": others[:5]}, headers=auth("editor"))
    trips.count = 0
    assert [c["id"] for c in client.get(query, headers=auth("reader")).json["data"]] == others[:5]
    assert client.get("/customers/customer-count?labels.any=l1", headers=auth("reader")).json["count"] == 21
    assert trips.count == 2


def test_errors_cost_one_round_trip_too(live, monkeypatch):
    client, _, customer = live
    url = f"/customers/customers/{customer}/labels"
    client.post(url, json={"labels": ["l1"]}, headers=auth("editor"))
    trips = RoundTrips(monkeypatch)
    assert client.post(url, json={"labels": ["l1", "ghost"]}, headers=auth("editor")).status_code == 422
    assert client.get(f"/customers/customers/{uuid.uuid4()}/labels", headers=auth("reader")).status_code == 404
    assert trips.count == 2


def inner_commands(real_redis):
    """Commands Redis has run so far, scripts' inner ones included."""
    return sum(stat["calls"] for stat in real_redis.info("commandstats").values())


def test_attach_work_grows_with_the_request_not_the_catalogue(real_redis):
    work = []
    for catalogue in (200, 2000):
        store = RedisStore(real_redis, f"cat{catalogue}:")
        for i in range(catalogue):
            store.create_label({"id": f"l{i}", "name": f"L{i}"})
        customer = store.create_customer({"name": "Ada"})["id"]
        wanted = [f"l{i}" for i in range(0, 200, 2)]  # 100 labels
        labels_of(store, customer, "attach", wanted[:1])  # load the script
        before = inner_commands(real_redis)
        labels_of(store, customer, "attach", wanted)
        work.append(inner_commands(real_redis) - before)
    assert work[0] == work[1]


def test_get_work_does_not_grow_with_the_customers(real_redis):
    work = []
    for customers in (10, 2000):
        store = RedisStore(real_redis, f"cust{customers}:")
        for i in range(5):
            store.create_label({"id": f"l{i}", "name": f"L{i}"})
        ids = [store.create_customer({"name": f"c{i}"})["id"] for i in range(customers)]
        labels_of(store, ids[-1], "attach", [f"l{i}" for i in range(5)])
        labels_of(store, ids[-1])
        before = inner_commands(real_redis)
        labels_of(store, ids[-1])
        work.append(inner_commands(real_redis) - before)
    assert work[0] == work[1]


def test_memory_per_attachment_is_at_most_50_bytes(real_redis):
    """Growth of used_memory while 10,000 existing customers each get 5 of 50 labels."""
    store = RedisStore(real_redis, "mem:")
    for i in range(50):
        store.create_label({"id": f"label-{i}", "name": f"Label {i}"})
    customers = [str(uuid.uuid4()) for _ in range(10_000)]
    for customer in customers:
        store.create_customer({"id": customer, "name": "Customer", "email": "c@example.com"})
    rng = random.Random(5)
    before = real_redis.info("memory")["used_memory"]
    for customer in customers:
        labels_of(store, customer, "attach", [f"label-{i}" for i in rng.sample(range(50), 5)])
    grown = real_redis.info("memory")["used_memory"] - before
    per_attachment = grown / (len(customers) * 5)
    assert per_attachment <= 50, f"{per_attachment:.1f} bytes per attachment"
    # And the lookup back still works, page by page.
    carriers = store.label_customers("label-7", 200)
    assert len(carriers.items) == 200 and carriers.next_after


def test_deleting_a_widely_carried_label_runs_in_short_scripts(real_redis):
    store = RedisStore(real_redis, "del:")
    store.create_label({"id": "wide", "name": "Wide"})
    store.create_label({"id": "kept", "name": "Kept"})
    customers = [store.create_customer({"name": f"c{i}"})["id"] for i in range(5000)]
    for customer in customers:
        labels_of(store, customer, "attach", ["wide", "kept"])
    real_redis.config_set("slowlog-log-slower-than", 50_000)  # 50 ms, in microseconds
    real_redis.slowlog_reset()
    before = real_redis.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    store.delete_label("wide")
    scripts = real_redis.info("commandstats")["cmdstat_evalsha"]["calls"] - before
    assert scripts >= len(customers) // DETACH_BATCH  # many short scripts, not one long one
    assert real_redis.slowlog_get() == []
    assert not real_redis.exists("del:{del:catalogue}:carriers:1") and not real_redis.smembers(
        "del:{del:catalogue}:label-gc"
    )
    for customer in customers[::250]:
        assert [label["id"] for label in labels_of(store, customer)] == ["kept"]
        assert real_redis.smembers(f"del:L:{{{customer}}}") == {"2"}


def test_an_unfinished_label_delete_is_finished_by_the_next(real_redis):
    store = RedisStore(real_redis, "gc:")
    for name in ("a", "b", "c"):
        store.create_label({"id": name, "name": name})
    customer = store.create_customer({"name": "Ada"})["id"]
    labels_of(store, customer, "attach", ["a", "c"])
    # As if a process stopped after the first step of deleting "a".
    assert store._drop_label("a")
    assert [label["id"] for label in labels_of(store, customer)] == ["c"]  # already invisible
    assert real_redis.smembers("gc:{gc:catalogue}:label-gc") == {"1"}
    store.delete_label("b")
    assert real_redis.smembers("gc:{gc:catalogue}:label-gc") == set()
    assert real_redis.smembers(f"gc:L:{{{customer}}}") == {"3"}


def test_an_unfinished_label_delete_is_finished_by_the_servers_sweep(real_redis):
    """Without waiting for another label delete: the server's sweep thread finishes it."""
    store = RedisStore(real_redis, "sw:")
    store.create_label({"id": "a", "name": "a"})
    customer = store.create_customer({"name": "Ada"})["id"]
    labels_of(store, customer, "attach", ["a"])
    assert store._drop_label("a")  # as if a process stopped after the first step
    sweeper = sweep_now_and_then(create_app({"API_TOKENS": API_TOKENS, "STORE": store}), every=0.05)
    deadline = time.monotonic() + 10
    while real_redis.smembers("sw:{sw:catalogue}:label-gc") and time.monotonic() < deadline:
        time.sleep(0.05)
    sweeper.stop()
    assert real_redis.smembers("sw:{sw:catalogue}:label-gc") == set()
    assert real_redis.smembers(f"sw:L:{{{customer}}}") == set()


def test_the_real_server_is_the_one_the_run_names(real_redis):
    """`make test` runs these tests on redis-server, `make test-valkey` on Valkey."""
    valkey = "valkey" in os.environ.get("TEST_REDIS_SERVER", "")
    server = real_redis.info("server")
    assert server.get("server_name", "redis") == ("valkey" if valkey else "redis")
