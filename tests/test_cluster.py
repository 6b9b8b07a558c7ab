"""Redis Cluster: the key layout's slots, the cached catalogue, and every promise
kept without cross-slot atomicity, with each step of an operation interleaved by
hand, and processes that stop between two steps.

(The whole API suite also runs on the cluster: the ``cluster`` store of conftest.)
"""

import time
import uuid

import pytest
import redis
from redis.cluster import key_slot

from customer_labels.service import create_app
from customer_labels.store import (
    ClusterStore,
    NotFound,
    StoreUnavailable,
    TooManyLabels,
    UnknownLabels,
    cluster,
    copies,
    sweep_now_and_then,
)
from customer_labels.store.cluster import slot_tags
from customer_labels.store.connection import make_client

from .conftest import API_TOKENS, PREFIX, RoundTrips, labels_of, tracking

#: Fixed ids, so which slot each lands in is the same every run.
CUSTOMERS = sorted(str(uuid.uuid5(uuid.NAMESPACE_URL, f"customer-{i}")) for i in range(30))
CATALOGUE = f"{PREFIX}{{{PREFIX}catalogue}}:"


@pytest.fixture
def store(cluster_client):
    return ClusterStore(cluster_client, PREFIX)


@pytest.fixture
def other(cluster_client, store):
    """The same cluster's store in another process: a cache of its own. ``store`` reads
    Redis's report of each of its writes before going on, as a request that comes through
    HTTP after that write answered finds it arrived (copies.py; bench/copies.py measures
    that way round, and test_copies's ``reported`` says why a test reads them by hand)."""
    elsewhere = ClusterStore(cluster_client, PREFIX)
    run = elsewhere._run

    def run_and_report(script, keys, args):
        try:
            return run(script, keys, args)
        finally:
            store.copies.settle()

    elsewhere._run = run_and_report
    return elsewhere


def before(store, script, action, times=1):
    """Run ``action`` just before ``store`` next runs ``script`` (``times`` times): another
    request landing between two steps of one operation."""
    run = store._run
    pending = [action] * times

    def run_after(name, keys, args):
        if name == script and pending:
            pending.pop()()
        return run(name, keys, args)

    store._run = run_after


def stop_before(store, script):
    """The process stops just before ``store`` runs ``script``."""

    def stop():
        raise SystemExit("the process stops here")

    before(store, script, stop)


def carried(cluster_client, customer_id):
    """The label numbers in the customer's own set, as Redis holds it."""
    return cluster_client.smembers(f"{PREFIX}L:{{{customer_id}}}")


def bits(cluster_client, n):
    """The customer numbers set in label number ``n``'s carriers bitmap."""
    key = f"{CATALOGUE}carriers:{n}"
    return {c for c in range(8 * cluster_client.strlen(key)) if cluster_client.getbit(key, c)}


def number(store, customer_id):
    return int(store._redis.hget(store._customer_key(customer_id), "n"))


def ids(labels):
    return [label["id"] for label in labels]


def customers_of(store, label_id):
    return [c["id"] for c in store.label_customers(label_id, 100).items]


def exact(store, cluster_client, label_ns=None):
    """Every carriers bitmap names exactly the customers whose set holds its number."""
    numbers = cluster_client.hgetall(CATALOGUE + "label-ids")
    for n in label_ns or numbers:
        holders = {
            number(store, customer_id)
            for customer_id in cluster_client.zrange(CATALOGUE + "customers", 0, -1)
            if str(n) in carried(cluster_client, customer_id)
        }
        assert bits(cluster_client, n) == holders, f"label number {n}"
    return True


# -- the layout ----------------------------------------------------------------------


def test_each_customer_is_one_slot_and_customers_spread_over_every_master(store, cluster_client, redis_cluster):
    store.create_label({"id": "vip", "name": "VIP"})
    for customer_id in CUSTOMERS:
        store.create_customer({"id": customer_id, "name": "C"})
        labels_of(store, customer_id, "attach", ["vip"])
    keys = list(cluster_client.scan_iter(match=f"{PREFIX}*", count=1000))
    own = {}
    for key in keys:
        if "{" + PREFIX in key or ":pending:" in key:
            continue
        own.setdefault(key.split("{", 1)[1], set()).add(key_slot(key.encode()))
    assert sorted(own) == sorted(f"{customer_id}}}" for customer_id in CUSTOMERS)
    assert all(len(slots) == 1 for slots in own.values())  # a customer's hash and set: one slot
    # Its pending changes are noted in a key of the same slot.
    pending = {key_slot(key.encode()) for key in keys if ":pending:" in key}
    assert pending == set().union(*own.values())
    masters = {cluster_client.get_node_from_key(f"{PREFIX}L:{{{customer_id}}}").port for customer_id in CUSTOMERS}
    assert masters == {node.port for node in redis_cluster.nodes}
    catalogue = {key_slot(key.encode()) for key in keys if "{" + PREFIX + "catalogue}" in key}
    assert len(catalogue) == 1 and catalogue.isdisjoint(set().union(*own.values()))
    assert not [key for key in keys if "{" + PREFIX + "catalogue:" in key]  # no copies


def test_every_slot_has_a_pending_key_tag():
    tags = slot_tags()
    assert len(tags) == 16384 and all(key_slot(tag.encode()) == slot for slot, tag in tags.items())


def test_a_mock_namespace_is_one_slot(store, cluster_client):
    spaced = store.namespace("team-a")
    spaced.replace(
        {"labels": [{"id": "vip", "name": "VIP"}], "customers": [{"id": CUSTOMERS[0], "name": "C", "labels": ["vip"]}]}
    )
    keys = list(cluster_client.scan_iter(match=f"{PREFIX}ns:*", count=1000))
    assert len(keys) > 5 and len({key_slot(key.encode()) for key in keys}) == 1
    assert ids(labels_of(spaced, CUSTOMERS[0])) == ["vip"]


# -- the cached catalogue: every process sees every label write --------------------------


def test_a_label_written_by_another_process_is_seen_by_the_next_request(store, other, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    assert ids(labels_of(store, customer, "attach", ["a"])) == ["a"]  # this process caches a
    other.update_label("a", {"name": "Renamed", "description": 'd/e "f"'})
    renamed = {field: value for field, value in other.get_label("a").items() if field != "customerCount"}
    assert labels_of(store, customer) == [renamed]
    other.create_label({"id": "b", "name": "B"})
    assert ids(labels_of(store, customer, "attach", ["b"])) == ["b", "a"]  # Renamed sorts after B
    other.delete_label("a")
    assert ids(labels_of(store, customer)) == ["b"]


def test_a_get_never_shows_a_label_deleted_before_it_began(store, other, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", ["a"])
    other._drop_label("a")  # deleted; its carriers not yet detached
    assert carried(cluster_client, customer) == {"1"}
    assert labels_of(store, customer) == []


def test_a_label_made_again_with_an_old_id_starts_with_no_customers(store, other, cluster_client):
    store.create_label({"id": "a", "name": "Old"})
    first, second = (store.create_customer({"name": f"C{i}"})["id"] for i in range(2))
    labels_of(store, first, "attach", ["a"])
    other.delete_label("a")
    other.create_label({"id": "a", "name": "New"})
    assert labels_of(store, first) == []
    assert customers_of(store, "a") == []
    # Redis reported both writes: this process's attach takes the new number.
    assert [label["name"] for label in labels_of(store, second, "attach", ["a"])] == ["New"]
    assert carried(cluster_client, second) == {"2"}
    assert customers_of(store, "a") == [second] and exact(store, cluster_client)


def test_a_replace_by_another_process_starts_every_cache_again(store, other):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"id": CUSTOMERS[0], "name": "C"})["id"]
    labels_of(store, customer, "attach", ["a"])
    other.replace({"labels": [{"id": "b", "name": "B"}], "customers": [{"id": customer, "name": "C", "labels": ["b"]}]})
    assert ids(labels_of(store, customer)) == ["b"]
    with pytest.raises(UnknownLabels):
        labels_of(store, customer, "attach", ["a"])


# -- attach is all or nothing; a deleted label is never attached -------------------------


def test_attach_with_an_unknown_label_changes_nothing(store, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    with pytest.raises(UnknownLabels) as err:
        labels_of(store, customer, "attach", ["a", "nope"])
    assert err.value.label_ids == ["nope"]
    assert carried(cluster_client, customer) == set()
    assert store.label_customers("a", 10).items == []


@pytest.mark.parametrize("step", ["cluster/customer", "cluster/catalogue"])
def test_a_label_deleted_while_an_attach_runs_goes_as_if_deleted_just_after_it(store, other, cluster_client, step):
    """The attach read its cache as it began, and the label went before one of its
    steps: the outcome one Redis gives when the delete comes just after the attach. The
    answer shows both labels; then no answer shows the deleted one, no bit of it stays,
    and once its detaching is done (the sweep, here) the customer's set no longer holds
    its number, which meanwhile counts against no cap."""
    store.create_label({"id": "a", "name": "A"})
    store.create_label({"id": "b", "name": "B"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer)  # the cache knows both
    before(store, step, lambda: other.delete_label("a"))
    assert ids(labels_of(store, customer, "attach", ["a", "b"])) == ["a", "b"]
    assert ids(labels_of(store, customer)) == ["b"]
    assert customers_of(store, "b") == [customer] and exact(store, cluster_client)
    assert cluster_client.smembers(CATALOGUE + "label-gc") == {"1"}  # its number still to take off
    store.sweep()
    assert carried(cluster_client, customer) == {"2"} and not cluster_client.exists(CATALOGUE + "carriers:1")
    assert cluster_client.smembers(CATALOGUE + "label-gc") == set()
    other.create_label({"id": "a", "name": "A"})  # the same id again: a new label
    assert ids(labels_of(store, customer)) == ["b"] and customers_of(store, "a") == []


@pytest.mark.parametrize("step", ["cluster/customer", "cluster/catalogue"])
def test_a_label_deleted_while_a_replace_runs_goes_as_if_deleted_just_after_it(store, other, cluster_client, step):
    """As for an attach: the replace is the one before the delete, and what it took
    off stays off, bits included."""
    for label_id in ("a", "b", "c"):
        store.create_label({"id": label_id, "name": label_id.upper()})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", ["c"])  # the cache knows all three
    before(store, step, lambda: other.delete_label("a"))
    assert ids(labels_of(store, customer, "replace", ["a", "b"])) == ["a", "b"]
    assert ids(labels_of(store, customer)) == ["b"]
    assert bits(cluster_client, 3) == set() and len(bits(cluster_client, 2)) == 1
    store.sweep()
    assert carried(cluster_client, customer) == {"2"} and exact(store, cluster_client)


def test_a_deleted_labels_number_an_attach_left_counts_against_no_cap(store, other, cluster_client):
    """A customer at the cap, one of whose numbers is a label deleted while it was
    attached (not yet taken off): another label still fits, as on one Redis."""
    labels = [store.create_label({"id": f"l{i}", "name": f"L{i}"})["id"] for i in range(251)]
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", labels[:249])
    before(store, "cluster/catalogue", lambda: other.delete_label("l249"))
    assert len(labels_of(store, customer, "attach", ["l249"])) == 250
    assert len(carried(cluster_client, customer)) == 250
    assert len(labels_of(store, customer, "attach", ["l250"])) == 250
    assert "250" not in carried(cluster_client, customer) and exact(store, cluster_client)


def test_a_label_deleted_after_the_attach_is_swept_from_the_customer(store, other, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    customers = [store.create_customer({"name": f"C{i}"})["id"] for i in range(5)]
    for customer in customers:
        labels_of(store, customer, "attach", ["a"])
    other.delete_label("a")
    assert all(carried(cluster_client, customer) == set() for customer in customers)
    assert cluster_client.smembers(CATALOGUE + "label-gc") == set()
    assert not cluster_client.exists(CATALOGUE + "carriers:1")


def test_numbers_of_deleted_labels_do_not_count_against_the_cap(store, cluster_client):
    labels = [store.create_label({"id": f"l{i}", "name": f"L{i}"})["id"] for i in range(252)]
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", labels[:250])
    store._drop_label("l0")  # deleted, and its sweep not yet at this customer
    assert len(carried(cluster_client, customer)) == 250
    assert len(labels_of(store, customer, "attach", ["l250"])) == 250
    assert "1" not in carried(cluster_client, customer)
    with pytest.raises(TooManyLabels):
        labels_of(store, customer, "attach", ["l251"])


# -- the bitmaps follow every change, whatever lands between the steps --------------------


def test_the_bitmaps_follow_attach_detach_and_delete(store, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    store.create_label({"id": "b", "name": "B"})
    customers = [store.create_customer({"id": customer_id, "name": "C"})["id"] for customer_id in CUSTOMERS[:6]]
    for customer in customers:
        labels_of(store, customer, "attach", ["a", "b"])
    labels_of(store, customers[1], "detach", ["a"])
    store.delete_customer(customers[2])
    assert bits(cluster_client, 1) == {number(store, c) for c in customers if c not in customers[1:3]}
    assert exact(store, cluster_client)
    first = store.label_customers("a", 2)
    rest = store.label_customers("a", 10, first.next_after)
    assert [c["id"] for c in first.items + rest.items] == [customers[0], *customers[3:]]
    with pytest.raises(NotFound):
        store.label_customers("nope", 10)


@pytest.mark.parametrize("first, then", [("attach", "detach"), ("detach", "attach")])
def test_a_later_change_whose_catalogue_step_lands_first_wins(store, other, cluster_client, first, then):
    """Two changes of one customer's label: the later one's catalogue step runs
    between the earlier one's two steps. The bit ends as the set says."""
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach" if first == "detach" else "get", ["a"])  # the cache knows a
    before(store, "cluster/catalogue", lambda: labels_of(other, customer, then, ["a"]))
    answer = labels_of(store, customer, first, ["a"])
    assert ids(answer) == (["a"] if first == "attach" else [])  # the state its own step left
    final = ["a"] if then == "attach" else []
    assert ids(labels_of(store, customer)) == final
    assert customers_of(store, "a") == ([customer] if final else [])
    assert exact(store, cluster_client)


def test_a_customer_deleted_between_an_attachs_steps_leaves_no_bit(store, other, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer)  # the cache knows a
    before(store, "cluster/catalogue", lambda: other.delete_customer(customer))
    labels_of(store, customer, "attach", ["a"])
    assert bits(cluster_client, 1) == set() and customers_of(store, "a") == []


def test_a_get_between_an_attachs_steps_shows_the_label_only_once_it_is_marked(store, other, cluster_client):
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    seen = []
    labels_of(store, customer)  # the cache knows a
    before(store, "cluster/catalogue", lambda: seen.append((labels_of(other, customer), customers_of(other, "a"))))
    assert ids(labels_of(store, customer, "attach", ["a"])) == ["a"]
    assert seen == [([], [])]  # in its set, not yet in the bitmap: neither direction shows it


# -- a process that stops between the two steps ------------------------------------------


@pytest.mark.parametrize("change", ["attach", "detach", "delete"])
def test_a_change_a_stopped_process_left_is_never_observed_and_the_sweep_finishes_it(store, cluster_client, change):
    store.create_label({"id": "a", "name": "A"})
    customer, bystander = (store.create_customer({"id": CUSTOMERS[i], "name": f"C{i}"})["id"] for i in range(2))
    labels_of(store, bystander, "attach", ["a"])
    if change != "attach":
        labels_of(store, customer, "attach", ["a"])
    c, b = number(store, customer), number(store, bystander)
    stop_before(store, "cluster/catalogue" if change != "delete" else "cluster/index")
    with pytest.raises(SystemExit):
        store.delete_customer(customer) if change == "delete" else labels_of(store, customer, change, ["a"])
    # Half-way: the customer's set changed, the bitmap did not. No answer shows either half.
    half = {b} if change == "attach" else {b, c}
    assert bits(cluster_client, 1) == half
    assert customers_of(store, "a") == [bystander]
    if change != "delete":
        assert labels_of(store, customer) == []
    store.sweep(older=60)  # too recent: a request could still be at work on it
    assert bits(cluster_client, 1) == half
    store.sweep(older=0)
    if change == "attach":  # finished: the attach happened
        assert bits(cluster_client, 1) == {b, c}
        assert ids(labels_of(store, customer)) == ["a"]
        assert customers_of(store, "a") == [customer, bystander] if c < b else [bystander, customer]
    else:
        assert bits(cluster_client, 1) == {b}
        assert customers_of(store, "a") == [bystander]
    if change == "delete":
        assert store.list_customers(10).items == [store.get_customer(bystander)]
        assert not cluster_client.hexists(CATALOGUE + f"customer-ids:{c // 128}", c)
    assert exact(store, cluster_client)
    assert not [key for key in cluster_client.scan_iter(match=f"{PREFIX}pending:*") if cluster_client.zcard(key)]


def half_attached(store, cluster_client):
    """A customer that label "a" was attached to by a process that stopped half-way."""
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer)  # the cache knows a
    stop_before(store, "cluster/catalogue")
    with pytest.raises(SystemExit):
        labels_of(store, customer, "attach", ["a"])
    assert carried(cluster_client, customer) == {"1"} and bits(cluster_client, 1) == set()
    return customer


def test_the_next_attach_of_the_same_label_finishes_a_stopped_one(store, cluster_client):
    customer = half_attached(store, cluster_client)
    assert labels_of(store, customer) == []
    assert ids(labels_of(store, customer, "attach", ["a"])) == ["a"]
    assert customers_of(store, "a") == [customer] and exact(store, cluster_client)


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


# -- what a request costs ---------------------------------------------------------------


@pytest.mark.parametrize("change", ["get", "attach", "detach", "replace", "get after a change"])
def test_two_round_trips_per_request(store, monkeypatch, change):
    """One step a slot, the customer's then the catalogue's; a GET of a customer whose
    change has settled, the customer's alone (store/README.md)."""
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    get_after_a_change = change == "get after a change"
    if get_after_a_change:  # its set changed, and the sweep has not been by since
        change = "get"
        store.labels_json(customer, "attach", ["a"])
        assert store._redis.hget(store._customer_key(customer), "p") == "1"
    undo = "attach" if change == "detach" else "detach"
    store.labels_json(customer, undo, ["a"])  # the client knows the cluster, the scripts are loaded
    counted = RoundTrips(monkeypatch)
    for _ in range(6):
        store.labels_json(customer, change, [] if change == "get" else ["a"])
        if change != "get":  # each change changes the set: the change, then its undoing, in turn
            store.labels_json(customer, undo, ["a"])
    assert counted.count == 6 * (2 * 2 if change != "get" else 2 if get_after_a_change else 1)


def test_a_served_app_sweeps_now_and_then(store, other, cluster_client, monkeypatch):
    """The server runs the sweep in a thread of its own (server/run.py): what a stopped
    process left is finished without waiting for any request."""
    monkeypatch.setattr(cluster, "PENDING_SECONDS", 0)
    customer = half_attached(store, cluster_client)
    app = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": other})
    sweeper = sweep_now_and_then(app, every=0.05)
    deadline = time.monotonic() + 10
    while bits(cluster_client, 1) != {number(store, customer)} and time.monotonic() < deadline:
        time.sleep(0.05)
    sweeper.stop()
    assert sweeper.daemon and bits(cluster_client, 1) == {number(store, customer)}
    assert sweep_now_and_then(create_app({"TESTING": True, "API_TOKENS": API_TOKENS})) is None  # in memory


def trips_of(monkeypatch, read):
    """(what ``read()`` gives, the round trips it made)."""
    counted = RoundTrips(monkeypatch)
    return read(), counted.count


def test_a_label_written_elsewhere_costs_the_next_request_one_read_of_the_catalogue(store, other, monkeypatch):
    """Redis reports every label write to each process (copies.py): until one comes, a
    request reads nothing of the catalogue; the next one after it brings its cache up to
    date, and shows the write."""
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", ["a"])
    store.sweep(older=0)  # its change settled: a read needs no look at the bits

    def names():
        return [label["name"] for label in labels_of(store, customer)]

    assert trips_of(monkeypatch, names) == (["A"], 1)  # the customer's step only
    other.update_label("a", {"name": "Renamed"})
    assert trips_of(monkeypatch, names) == (["Renamed"], 2)
    assert trips_of(monkeypatch, names) == (["Renamed"], 1)
    other._drop_label("a")  # deleted; its number still in the customer's set
    assert trips_of(monkeypatch, names) == ([], 2)
    assert carried(store._redis, customer) == {"1"}


def test_a_label_this_process_wrote_is_seen_by_its_next_request_before_the_report(store):
    """Redis's report of a write may come a moment after its answer; this process's own
    next request must not depend on it."""
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", ["a"])
    store.sweep(older=0)  # its change settled: a read needs no look at the bits
    for conn in store.copies._conns.values():  # reports that arrive are read, and lost
        conn._parser.set_invalidation_push_handler(lambda message: None)
    store.update_label("a", {"name": "Renamed"})
    assert [label["name"] for label in labels_of(store, customer)] == ["Renamed"]
    store.delete_label("a")
    assert labels_of(store, customer) == []
    with pytest.raises(UnknownLabels):
        labels_of(store, customer, "attach", ["a"])


def test_without_reports_each_request_reads_the_catalogue(store, other, cluster_client, monkeypatch):
    """A process whose reports stopped (here: every connection that takes them, killed)
    cannot know that no label changed: each request reads the catalogue's news, and a
    label written elsewhere shows at once."""
    monkeypatch.setattr(copies, "RETRY_SECONDS", 3600)  # not opened again in this test
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", ["a"])
    store.sweep(older=0)
    for node in cluster_client.get_primaries():
        master = cluster_client.get_redis_connection(node)
        for client_id in tracking(master):
            master.client_kill_filter(_id=client_id)
    store.copies.settle()  # this check finds the connections gone
    assert not store.copies._conns
    for name in ("A", "B", "C"):
        if name != "A":
            other.update_label("a", {"name": name})
        shown = trips_of(monkeypatch, lambda: [label["name"] for label in labels_of(store, customer)])
        assert shown == ([name], 2)
    # Once open again, the reports tell nothing of what came before: a write made while
    # they were stopped is still seen.
    other.update_label("a", {"name": "D"})
    store.copies._retry_at = 0
    assert [label["name"] for label in labels_of(store, customer)] == ["D"] and store.copies._conns


# -- how a script reaches its master (connection.ClusterScript) ---------------------------


def test_a_script_sent_to_a_master_that_no_longer_holds_its_slot_runs_once_where_it_is(store, cluster_client):
    # As after a slot moved: the client's map of slots is behind. The master answers MOVED,
    # which means the script did not run; redis-py's routed call runs it where the slot is.
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"id": CUSTOMERS[0], "name": "C"})["id"]
    slot = key_slot(store._attached_key(customer).encode())
    nodes = cluster_client.nodes_manager
    holder = nodes.slots_cache[slot][0]
    elsewhere = next(node for node in cluster_client.get_primaries() if node.name != holder.name)
    nodes.slots_cache[slot] = [elsewhere]
    assert ids(labels_of(store, customer, "attach", ["a"])) == ["a"]
    assert nodes.slots_cache[slot][0].name == holder.name  # the map followed the MOVED
    assert store._redis.hget(store._customer_key(customer), "s") == "1"  # changed once
    assert exact(store, cluster_client)


def test_a_script_a_master_no_longer_holds_is_loaded_again(store, cluster_client, redis_cluster):
    # As after a restart, or a failover to a replica that never ran it.
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer, "attach", ["a"])
    for node in redis_cluster.nodes:
        node.client().script_flush()
    assert labels_of(store, customer, "detach", ["a"]) == []
    assert labels_of(store, customer) == [] and exact(store, cluster_client)


def test_a_script_whose_master_fails_mid_command_is_not_run_again(store, cluster_client, monkeypatch):
    # The script may have run: it is not sent again, and the client reads the cluster's
    # layout again, as redis-py's own call does after a failed command.
    store.create_label({"id": "a", "name": "A"})
    customer = store.create_customer({"name": "C"})["id"]
    labels_of(store, customer)  # the cache knows a
    script = store._scripts["cluster/customer"]
    sent, relearned = [], []
    run = script._run

    def run_then_fail(conn, keys, args):
        sent.append(run(conn, keys, args))
        raise redis.ConnectionError("the connection broke after the script was sent")

    monkeypatch.setattr(script, "_run", run_then_fail)
    monkeypatch.setattr(cluster_client.nodes_manager, "initialize", lambda **_: relearned.append(True))
    with pytest.raises(StoreUnavailable):
        labels_of(store, customer, "attach", ["a"])
    assert len(sent) == 1 and relearned == [True]
    monkeypatch.undo()
    assert carried(cluster_client, customer) == {"1"}  # it had run, once
    assert ids(labels_of(store, customer, "attach", ["a"])) == ["a"] and exact(store, cluster_client)


@pytest.mark.parametrize("path", ["script", "redis-py"])
def test_a_busy_pool_is_a_503_and_the_layout_stands(redis_cluster, monkeypatch, path):
    # Every connection to the customer's master in use (more requests than
    # REDIS_MAX_CONNECTIONS, under load): the request is refused after POOL_TIMEOUT.
    # The node did nothing wrong, so the layout is not read again: that read would wait
    # on the same pool, and set its connections to reconnect, under that very load.
    client = make_client(redis_cluster.url, cluster=True, max_connections=1)
    store = ClusterStore(client, PREFIX)
    customer = store.create_customer({"id": CUSTOMERS[0], "name": "C"})["id"]
    pool = client.get_redis_connection(client.get_node_from_key(store._customer_key(customer))).connection_pool
    held = pool.get_connection()
    relearned = []
    monkeypatch.setattr(client.nodes_manager, "initialize", lambda **_: relearned.append(True))
    read = {"script": lambda: labels_of(store, customer), "redis-py": lambda: store.get_customer(customer)}[path]
    with pytest.raises(StoreUnavailable, match="No connection available"):
        read()
    assert relearned == []
    pool.release(held)
    monkeypatch.undo()
    assert read() is not None
