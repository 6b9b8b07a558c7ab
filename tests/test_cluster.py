"""Redis Cluster: the key layout's slots, and the two promises kept without
cross-slot atomicity, with each step of an operation interleaved by hand.

(The whole API suite also runs on the cluster: the ``cluster`` store of conftest.)
"""

import contextlib
import json
import time
import uuid

import pytest
from redis.cluster import key_slot

from customer_labels.store import ClusterStore, NotFound, StoreUnavailable, TooManyLabels, UnknownLabels, copies
from customer_labels.store.connection import COMMAND_TIMEOUT
from customer_labels.store.copies import COPIES, STALE_AFTER

from .conftest import PREFIX, RoundTrips, labels_of

#: Fixed ids, so which slot each lands in is the same every run.
CUSTOMERS = sorted(str(uuid.uuid5(uuid.NAMESPACE_URL, f"customer-{i}")) for i in range(30))


@pytest.fixture
def store(cluster_client):
    return ClusterStore(cluster_client, PREFIX)


def before(store, script, action):
    """Run ``action`` once, just before ``store`` next runs ``script``: another
    request landing between two steps of one operation."""
    run = store._run
    pending = [action]

    def run_after(name, keys, args):
        if name == script and pending:
            pending.pop()()
        return run(name, keys, args)

    store._run = run_after


def carried(cluster_client, customer_id):
    """The label numbers in the customer's own set, as Redis holds it."""
    return cluster_client.smembers(f"{PREFIX}L:{{{customer_id}}}")


def ids(labels):
    return [label["id"] for label in labels]


# -- the layout ----------------------------------------------------------------------


def test_each_customer_is_one_slot_and_customers_spread_over_every_master(store, cluster_client, redis_cluster):
    store.create_label({"id": "vip", "name": "VIP"})
    for customer_id in CUSTOMERS:
        store.create_customer({"id": customer_id, "name": "C"})
        labels_of(store, customer_id, "attach", ["vip"])
    keys = list(cluster_client.scan_iter(match=f"{PREFIX}*", count=1000))
    own = {}
    for key in keys:
        if "{" + PREFIX in key:
            continue
        own.setdefault(key.split("{", 1)[1], set()).add(key_slot(key.encode()))
    assert sorted(own) == sorted(f"{customer_id}}}" for customer_id in CUSTOMERS)
    assert all(len(slots) == 1 for slots in own.values())  # a customer's hash and set: one slot
    # Customers spread over all three masters: the cluster shares their load.
    masters = {cluster_client.get_node_from_key(f"{PREFIX}L:{{{customer_id}}}").port for customer_id in CUSTOMERS}
    assert masters == {node.port for node in redis_cluster.nodes}
    catalogue = {key_slot(key.encode()) for key in keys if "{" + PREFIX + "catalogue}" in key}
    assert len(catalogue) == 1 and catalogue.isdisjoint(set().union(*own.values()))
    # The copies of its cards: sixteen slots, on every master.
    copies = {key for key in keys if "{" + PREFIX + "catalogue:" in key}
    assert len({key_slot(key.encode()) for key in copies}) == COPIES
    assert {cluster_client.get_node_from_key(key).port for key in copies} == masters


def test_a_mock_namespace_is_one_slot(store, cluster_client):
    spaced = store.namespace("team-a")
    spaced.replace(
        {"labels": [{"id": "vip", "name": "VIP"}], "customers": [{"id": CUSTOMERS[0], "name": "C", "labels": ["vip"]}]}
    )
    keys = list(cluster_client.scan_iter(match=f"{PREFIX}ns:*", count=1000))
    assert len(keys) > 5 and len({key_slot(key.encode()) for key in keys}) == 1
    assert ids(labels_of(spaced, CUSTOMERS[0])) == ["vip"]


# -- promise 1: attach is all or nothing against unknown labels -----------------------


def test_attach_with_an_unknown_label_changes_nothing(store, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    with pytest.raises(UnknownLabels) as err:
        labels_of(store, customer, "attach", ["a", "nope"])
    assert err.value.label_ids == ["nope"]
    assert carried(cluster_client, customer) == set()
    assert store.label_customers("a", 10).items == []


def test_a_label_deleted_before_the_customer_step_is_not_attached(store, cluster_client):
    """The label's number was looked up, then the label went: the answer step finds it dead."""
    store.create_label({"id": "a", "name": "A"})
    store.create_label({"id": "b", "name": "B"})
    customer = store.create_customer({"name": "C"})["id"]
    before(store, "cluster/customer_labels", lambda: store.delete_label("a"))
    assert ids(labels_of(store, customer, "attach", ["a", "b"])) == ["b"]
    assert carried(cluster_client, customer) == {"2"}  # a's number 1 is gone from the set too
    store.create_label({"id": "a", "name": "A"})  # the same id again: a new label
    assert ids(labels_of(store, customer)) == ["b"]
    assert store.label_customers("a", 10).items == []


# -- promise 2: a label deleted while others attach it ends up attached nowhere -------


@pytest.mark.parametrize("step", ["cluster/mark", "cluster/answer"])
def test_a_label_deleted_between_the_customer_step_and_the_next_is_attached_nowhere(store, cluster_client, step):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    before(store, step, lambda: store.delete_label("a"))
    assert labels_of(store, customer, "attach", ["a"]) == []
    assert carried(cluster_client, customer) == set()
    assert not cluster_client.exists(f"{PREFIX}{{{PREFIX}catalogue}}:carriers:1")


def test_a_label_deleted_after_it_is_marked_is_swept_from_the_customer(store, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    customers = [store.create_customer({"name": f"C{i}"})["id"] for i in range(5)]
    for customer in customers:
        labels_of(store, customer, "attach", ["a"])
    store.delete_label("a")
    assert all(carried(cluster_client, customer) == set() for customer in customers)
    assert cluster_client.smembers(f"{PREFIX}{{{PREFIX}catalogue}}:label-gc") == set()


def test_a_number_a_stopped_process_left_behind_is_never_shown_and_is_cleaned(store, cluster_client):
    """A process that stops between the customer step and the catalogue step leaves
    the number in the set, unmarked: a delete cannot sweep it, readers skip it."""
    store.create_label({"id": "a", "name": "A"})
    store.create_label({"id": "b", "name": "B"})
    customer = store.create_customer({"name": "C"})["id"]

    def stop():
        raise SystemExit("the process stops here")

    before(store, "cluster/mark", stop)
    with pytest.raises(SystemExit):
        labels_of(store, customer, "attach", ["a"])
    store.delete_label("a")
    assert carried(cluster_client, customer) == {"1"}  # left behind
    assert labels_of(store, customer) == []  # never shown
    assert carried(cluster_client, customer) == set()  # and taken off by the read
    assert ids(labels_of(store, customer, "attach", ["b"])) == ["b"]


def test_numbers_left_behind_do_not_count_against_the_cap(store, cluster_client):
    labels = [store.create_label({"id": f"l{i}", "name": f"L{i}"})["id"] for i in range(252)]
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", labels[:250])
    store._drop_label("l0")  # deleted, and its sweep not yet at this customer
    assert len(carried(cluster_client, customer)) == 250
    assert len(labels_of(store, customer, "attach", ["l250"])) == 250
    assert "1" not in carried(cluster_client, customer)
    with pytest.raises(TooManyLabels):
        labels_of(store, customer, "attach", ["l251"])


# -- the copies of the catalogue's cards ------------------------------------------------


@contextlib.contextmanager
def stopping_before_the_copies(store):
    """Label writes in here stop, as their process would, before the copies follow."""

    def stop(label_id, deadline=None):
        raise SystemExit("the process stops here")

    store._sync_label, sync = stop, store._sync_label
    try:
        yield
    finally:
        store._sync_label = sync


def copy_cards(store, cluster_client):
    """Each copy's cards, parsed: {number: label}."""
    return [
        {
            n: json.loads(text[text.index(":") + 1 + int(text[: text.index(":")]) :])
            for n, text in cluster_client.hgetall(copy + "label-cards").items()
        }
        for copy in store._copies
    ]


def test_every_copy_follows_every_label_write(store, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    assert all(cards == {"1": store.get_label("a")} for cards in copy_cards(store, cluster_client))
    store.update_label("a", {"name": "Renamed", "description": 'd/e "f"'})
    assert all(cards == {"1": store.get_label("a")} for cards in copy_cards(store, cluster_client))
    store.delete_label("a")
    store.create_label({"id": "a", "name": "Again"})  # the same id: a new number
    assert all(cards == {"2": store.get_label("a")} for cards in copy_cards(store, cluster_client))
    assert all(cluster_client.hgetall(copy + "label-numbers") == {"a": "2"} for copy in store._copies)


def test_get_and_attach_of_carried_labels_leave_the_catalogue_master_alone(store, cluster_client):
    """The catalogue's master serves no part of them: they read a copy."""
    catalogue = cluster_client.get_node_from_key(store._key("labels")).port
    customer = next(
        c
        for c in CUSTOMERS
        if cluster_client.get_node_from_key(f"{PREFIX}L:{{{c}}}").port != catalogue
        and cluster_client.get_node_from_key(store._copy_of(c) + "label-cards").port != catalogue
    )
    store.create_label({"id": "a", "name": "A"})
    store.create_customer({"id": customer, "name": "C"})
    labels_of(store, customer, "attach", ["a"])
    node = next(node for node in cluster_client.get_primaries() if node.port == catalogue)

    def served():
        stats = node.redis_connection.info("commandstats")
        return sum(stat["calls"] for name, stat in stats.items() if name != "cmdstat_info")

    before_ = served()
    for _ in range(10):
        assert ids(labels_of(store, customer)) == ["a"]
        assert ids(labels_of(store, customer, "attach", ["a"])) == ["a"]
    assert served() == before_


def test_copies_a_stopped_writer_left_behind_are_brought_in_line(store, cluster_client, monkeypatch):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", ["a"])
    with stopping_before_the_copies(store), pytest.raises(SystemExit):
        store.update_label("a", {"name": "Renamed"})
    assert [label["name"] for label in labels_of(store, customer)] == ["A"]  # the copy lags
    # Once the writer is surely gone, the next request that looks brings the copies in line.
    (entry,) = cluster_client.zrange(store._key("label-sync"), 0, -1)
    cluster_client.zadd(store._key("label-sync"), {entry: time.time() - STALE_AFTER - 1})
    store._next_repair = 0
    assert [label["name"] for label in labels_of(store, customer)] == ["Renamed"]
    assert cluster_client.zcard(store._key("label-sync")) == 0


def test_a_label_write_past_its_deadline_stops_and_leaves_its_entry(store, cluster_client, monkeypatch):
    # No server stops a slow request: the write stops itself before its entry could
    # count as stale, so a repair never races a writer still at work.
    store.create_label({"id": "a", "name": "A"})
    monkeypatch.setattr(copies, "WRITE_SECONDS", -1)
    with pytest.raises(StoreUnavailable):
        store.update_label("a", {"name": "Renamed"})
    assert len(cluster_client.zrange(store._key("label-sync"), 0, -1)) == 1
    # At the real values: a copy is written within one command's timeout of the deadline.
    assert copies.WRITE_SECONDS + COMMAND_TIMEOUT < STALE_AFTER


def test_a_writer_that_finishes_leaves_the_entry_of_one_that_stopped(store, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    with stopping_before_the_copies(store), pytest.raises(SystemExit):
        store.update_label("a", {"name": "B"})
    store.update_label("a", {"color": "#000000"})  # the same label, by a writer that finishes
    assert len(cluster_client.zrange(store._key("label-sync"), 0, -1)) == 1


def test_a_label_new_to_a_lagging_copy_is_attached_all_the_same(store, cluster_client):
    with stopping_before_the_copies(store), pytest.raises(SystemExit):
        store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    assert ids(labels_of(store, customer, "attach", ["a"])) == ["a"]  # the catalogue decides, and the copies catch up
    assert all(cards == {"1": store.get_label("a")} for cards in copy_cards(store, cluster_client))


def test_a_copy_missing_a_live_label_never_costs_the_customer_it(store, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", ["a"])
    cluster_client.hdel(store._copy_of(customer) + "label-cards", "1")  # a copy that lags
    assert ids(labels_of(store, customer)) == ["a"]  # the catalogue says live: shown
    assert carried(cluster_client, customer) == {"1"}


def test_a_copy_lagging_behind_a_label_made_again_attaches_the_new_one(store, cluster_client):
    store.create_label({"id": "a", "name": "Old"})
    customer = store.create_customer({"name": "C"})["id"]
    with stopping_before_the_copies(store), pytest.raises(SystemExit):
        store.delete_label("a")
    with stopping_before_the_copies(store), pytest.raises(SystemExit):
        store.create_label({"id": "a", "name": "New"})
    assert cluster_client.hget(store._copy_of(customer) + "label-numbers", "a") == "1"  # the old number
    assert [label["name"] for label in labels_of(store, customer, "attach", ["a"])] == ["New"]
    assert carried(cluster_client, customer) == {"2"}


# -- the index of customers: kept by steps in two slots -------------------------------


def test_a_customer_made_again_while_its_delete_runs_stays_listed(store):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"id": CUSTOMERS[0], "name": "Old"})["id"]
    # Between the delete's customer step and its index step, the same id is made again.
    before(store, "cluster/index", lambda: store.create_customer({"id": customer, "name": "New"}))
    store.delete_customer(customer)
    assert [c["name"] for c in store.list_customers(10).items] == ["New"]
    labels_of(store, customer, "attach", ["a"])
    assert [c["name"] for c in store.label_customers("a", 10).items] == ["New"]


def test_an_index_entry_without_keys_is_not_listed(store):
    """A create that stopped after listing itself: readers check the customer's own keys."""
    store.create_customer({"id": CUSTOMERS[1], "name": "Real"})
    store._index("reserve", CUSTOMERS[0])
    page = store.list_customers(1)
    assert [c["id"] for c in page.items] == [CUSTOMERS[1]] and page.next_after is None
    assert store.create_customer({"id": CUSTOMERS[0], "name": "Made"})["name"] == "Made"
    assert [c["name"] for c in store.list_customers(10).items] == ["Made", "Real"]


def test_detached_and_deleted_customers_are_not_carriers(store):
    store.create_label({"id": "a", "name": "A"})
    customers = [store.create_customer({"id": customer_id, "name": "C"})["id"] for customer_id in CUSTOMERS[:6]]
    for customer in customers:
        labels_of(store, customer, "attach", ["a"])
    labels_of(store, customers[1], "detach", ["a"])
    store.delete_customer(customers[2])
    first = store.label_customers("a", 2)
    rest = store.label_customers("a", 10, first.next_after)
    assert [c["id"] for c in first.items + rest.items] == [customers[0], *customers[3:]]
    with pytest.raises(NotFound):
        store.label_customers("nope", 10)


# -- what a request costs ---------------------------------------------------------------


@pytest.mark.parametrize("change, trips", [("get", 2), ("attach", 3), ("detach", 3)])
def test_round_trips_per_request(store, monkeypatch, change, trips):
    """One step a slot: the customer's, and the catalogue's once or twice (store/README.md)."""
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    store.labels_json(customer, change, ["a"])  # the client knows the cluster, the scripts are loaded
    counted = RoundTrips(monkeypatch)
    for _ in range(5):
        store.labels_json(customer, change, [] if change == "get" else ["a"])
    assert counted.count == 5 * trips
