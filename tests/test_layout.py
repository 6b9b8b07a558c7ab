"""Data outlives code: a state written by an earlier release reads back the same
after this release migrates it (store/layout.py), on every Redis store."""

import json
import threading

import pytest

from customer_labels.service import create_app
from customer_labels.settings import ConfigError
from customer_labels.store import ClusterStore, RedisStore, StoreUnavailable, layout, namespaces_of
from customer_labels.store.base import label_json

from .conftest import API_TOKENS, TOKENS, auth, fake_redis, labels_of
from .processes import ROOT, call, start, stop, wait_until_up, web_command
from .redis_server import free_port

#: Written by the release before layout versions, against a real redis-server:
#: every key it left, and what the API read back then.
LAYOUT_1 = json.loads((ROOT / "tests" / "layouts" / "layout-1.json").read_text())
#: Written by release 1.1.0 (layout 3), whose name keys were case-folded only: two
#: labels named "Café", one written composed (NFC), one decomposed.
LAYOUT_3 = json.loads((ROOT / "tests" / "layouts" / "layout-3.json").read_text())
PREFIX = "cl:"


def load_keys(client, keys):
    """Write a dump's keys as they were."""
    for key, entry in keys.items():
        kind, value = entry["type"], entry["value"]
        if kind == "string":
            client.set(key, value)
        elif kind == "hash":
            client.hset(key, mapping=value)
        elif kind == "set":
            client.sadd(key, *value)
        elif kind == "zset":
            client.zadd(key, dict(value))
        else:  # a bitmap, as its set bits
            for bit in value:
                client.setbit(key, bit, 1)


@pytest.fixture(params=[pytest.param("fakeredis", marks=pytest.mark.fast), "redis", "cluster"])
def old_store(request):
    """A store over the keys that the release before layout versions wrote."""
    if request.param == "cluster":
        client = request.getfixturevalue("cluster_client")
        make = ClusterStore
    elif request.param == "redis":
        client = request.getfixturevalue("real_redis")
        make = RedisStore
    else:
        client = fake_redis()
        make = RedisStore
    load_keys(client, LAYOUT_1["keys"])
    return make(client, PREFIX)


def test_the_old_state_has_what_the_migration_changes(old_store):
    """The recorded state really is the old layout: no version, and a card that
    Lua wrote (with '/' escaped), which this release's encoder never writes."""
    assert layout.current(old_store) == 1
    cards = old_store._redis.hgetall(old_store._key("label-cards"))
    assert any("\\/" in card for card in cards.values())


def test_a_state_of_layout_1_reads_back_the_same_after_the_migration(old_store):
    app = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": old_store})  # a start migrates
    assert layout.current(old_store) == layout.LAYOUT
    assert old_store.export() == LAYOUT_1["reads"]["export"]
    client = app.test_client()
    for customer_id, answer in LAYOUT_1["reads"]["labels_of"].items():
        response = client.get(f"/customers/customers/{customer_id}/labels", headers=auth("reader"))
        assert response.json == answer
        # Every label is now written by the one encoder, as GET /labels/labels/{id} gives it.
        labels = [client.get(f"/labels/labels/{label['id']}", headers=auth("reader")).json for label in answer["data"]]
        assert response.get_data(as_text=True) == '{"data":[' + ",".join(map(label_json, labels)) + "]}\n"
    assert old_store.namespace("team-a").export() == LAYOUT_1["reads"]["namespace_export"]
    # Writes go on as before, on the migrated data.
    assert client.patch("/labels/labels/cafe", json={"name": "Café/Bar 2"}, headers=auth("admin")).status_code == 200
    customer = next(iter(LAYOUT_1["reads"]["labels_of"]))
    assert [label["name"] for label in labels_of(old_store, customer)] == ["Café/Bar 2", "VIP"]


def test_an_old_state_serves_segments_bulk_changes_and_etags(old_store):
    """What this release added reads what the release before layouts wrote: the bitmaps
    it kept give segments and counts, and its cards give the tags that guard writes."""
    client = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": old_store}).test_client()
    export = LAYOUT_1["reads"]["export"]
    carried = {customer["id"]: set(customer["labels"]) for customer in export["customers"]}
    for query, selected in (
        ("labels.all=vip", {c for c, labels in carried.items() if "vip" in labels}),
        ("labels.none=vip", {c for c, labels in carried.items() if "vip" not in labels}),
        ("labels.any=vip,cafe", {c for c, labels in carried.items() if labels & {"vip", "cafe"}}),
    ):
        listed = client.get(f"/customers/customers?{query}", headers=auth("reader")).json["data"]
        assert {customer["id"] for customer in listed} == selected, query
        assert client.get(f"/customers/customer-count?{query}", headers=auth("reader")).json["count"] == len(selected)
    label = client.get("/labels/labels/churn", headers=auth("reader"))
    assert label.json["customerCount"] == sum("churn" in labels for labels in carried.values())
    everyone = list(carried)
    response = client.post("/labels/labels/churn/customers", json={"customers": everyone}, headers=auth("editor"))
    assert response.status_code == 200 and response.json["customerCount"] == len(everyone)
    customer = everyone[0]
    url = f"/customers/customers/{customer}/labels"
    tag = client.get(url, headers=auth("reader")).headers["ETag"]
    guarded = {**auth("editor"), "If-Match": tag}
    assert client.put(url, json={"labels": ["vip"]}, headers=guarded).status_code == 200
    assert client.put(url, json={"labels": []}, headers=guarded).status_code == 412


def test_a_namespace_is_migrated_on_its_first_use(old_store):
    app = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": old_store, "MOCK_MODE": True})
    # The namespace was last used when the state was recorded: the clock stands a
    # minute after that, so the namespace is not idle past its TTL (and dropped).
    (_, last_use), *_ = LAYOUT_1["keys"]["cl:{cl:catalogue}:namespaces"]["value"]
    namespaces_of(app).clock = lambda: last_use + 60
    spaced = old_store.namespace("team-a")
    assert layout.current(spaced) == 1  # a start migrates the default state only
    answer = app.test_client().get(
        "/customers/customers/00000000-0000-4000-8000-000000000001/labels",
        headers={**auth("reader"), "X-Mock-Namespace": "team-a"},
    )
    assert answer.status_code == 200 and [label["name"] for label in answer.json["data"]] == ["Beta/Über"]
    assert "\\/" not in answer.get_data(as_text=True)
    assert layout.current(spaced) == layout.LAYOUT


def test_migrating_is_idempotent_and_a_fresh_store_starts_current(old_store):
    assert layout.migrate(old_store) == [1, 2, 3]
    assert layout.migrate(old_store) == []
    old_store.clear()
    fresh = RedisStore(old_store._redis, "fresh:") if not isinstance(old_store, ClusterStore) else None
    if fresh is not None:
        assert layout.current(fresh) is None
        assert layout.migrate(fresh) == [] and layout.current(fresh) == layout.LAYOUT


def test_one_process_migrates_at_a_time(old_store):
    """While another process holds the lock, a request's store is unavailable (503)
    rather than running the same steps beside it; it waits when asked to."""
    other = old_store._redis.lock(old_store._key("layout-lock"), timeout=layout.LOCK_SECONDS, thread_local=False)
    assert other.acquire(blocking=False)
    with pytest.raises(StoreUnavailable):
        layout.migrate(old_store)
    assert layout.current(old_store) == 1
    threading.Timer(0.3, other.release).start()
    assert layout.migrate(old_store, wait=5) == [1, 2, 3]


def test_a_newer_layout_stops_the_start_and_is_not_ready(old_store):
    old_store._redis.set(old_store._key("layout"), layout.LAYOUT + 1)
    with pytest.raises(ConfigError, match="REDIS_URL: .* newer than this release"):
        create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": old_store})
    assert old_store.check() is False  # readiness says no, rather than a 500


@pytest.fixture
def down_at_start(old_store, monkeypatch):
    """An app over the old state whose start found the store down: the first
    migration fails, those after it run. Yields (app, the waits each call was given)."""
    real, calls = layout.migrate, []

    def down_once(store, wait=0.0):
        calls.append(wait)
        if len(calls) == 1:
            raise StoreUnavailable("down at start")
        return real(store, wait)

    monkeypatch.setattr(layout, "migrate", down_once)
    app = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": old_store})
    assert layout.current(old_store) == 1
    return app, calls


def test_a_store_down_at_start_is_migrated_by_the_first_request(old_store, down_at_start):
    app, calls = down_at_start
    customer = next(iter(LAYOUT_1["reads"]["labels_of"]))
    response = app.test_client().get(f"/customers/customers/{customer}/labels", headers=auth("reader"))
    assert response.json == LAYOUT_1["reads"]["labels_of"][customer]
    assert layout.current(old_store) == layout.LAYOUT and len(calls) == 2


def test_the_procfile_server_started_before_redis_migrates_once_redis_is_up(redis_server):
    """Redis is down when the platform starts the service: the start logs one JSON
    warning and serves 503s; once Redis is back with an earlier release's data,
    the first request brings it to this layout and reads it back."""
    redis_server.stop()
    port = free_port()
    process = start(web_command(), PORT=str(port), API_TOKENS=API_TOKENS, REDIS_URL=redis_server.url)
    try:
        wait_until_up(process, port)
        customer, answer = next(iter(LAYOUT_1["reads"]["labels_of"].items()))
        path = f"/customers/customers/{customer}/labels"
        assert call(port, "GET", path, token=TOKENS["reader"])[0] == 503
        redis_server.start()
        load_keys(redis_server.client(), LAYOUT_1["keys"])
        assert call(port, "GET", path, token=TOKENS["reader"]) == (200, answer)
        assert redis_server.client().get("cl:{cl:catalogue}:layout") == str(layout.LAYOUT)
    finally:
        output = stop(process)
    started = [json.loads(line) for line in output.splitlines() if "layout not checked" in line]
    assert len(started) == 1 and started[0]["level"] == "WARNING"


def test_a_state_written_whole_is_in_the_current_layout(old_store, caplog):
    """A replace (fixtures load, a snapshot, a namespace's seed) writes this release's
    layout and says so: nothing is migrated after it."""
    app = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": old_store, "MOCK_MODE": True})
    old_store.replace(LAYOUT_1["reads"]["export"])
    assert layout.current(old_store) == layout.LAYOUT
    caplog.clear()
    answer = app.test_client().get("/labels/labels", headers={**auth("reader"), "X-Mock-Namespace": "fresh"})
    assert answer.status_code == 200
    assert layout.current(old_store.namespace("fresh")) == layout.LAYOUT
    assert not [record for record in caplog.records if "migrating" in record.getMessage()]


def test_flask_migrate_brings_the_data_to_this_layout(old_store, down_at_start):
    app, _ = down_at_start
    result = app.test_cli_runner().invoke(args=["migrate"])
    assert result.exit_code == 0 and f"key layout {layout.LAYOUT}" in result.output
    assert layout.current(old_store) == layout.LAYOUT
    assert old_store.export() == LAYOUT_1["reads"]["export"]


def test_a_migrator_that_lost_its_lock_stops_and_the_next_run_finishes(old_store, monkeypatch):
    real_rewrite = type(old_store)._rewrite_card

    def rewrite_then_lose_the_lock(store, label_id):
        store._redis.delete(store._key("layout-lock"))  # expired, as after a long stall
        return real_rewrite(store, label_id)

    monkeypatch.setattr(type(old_store), "_rewrite_card", rewrite_then_lose_the_lock)
    with pytest.raises(StoreUnavailable, match="lost the layout lock"):
        layout.migrate(old_store)
    assert layout.current(old_store) == 1  # the step was not recorded as done
    monkeypatch.setattr(type(old_store), "_rewrite_card", real_rewrite)
    assert layout.migrate(old_store) == [1, 2, 3]
    assert old_store.export() == LAYOUT_1["reads"]["export"]


#: Written by the release before the cached catalogue on a real 3-master cluster:
#: sixteen copies of the catalogue's cards, a label write whose process stopped
#: before its copies followed (its ``label-sync`` entry), and the bits a detach and
#: a customer's delete left set.
CLUSTER_2 = json.loads((ROOT / "tests" / "layouts" / "cluster-layout-2.json").read_text())


def set_bits(client, key):
    return {i for i in range(64 * 8) if client.getbit(key, i)}


def test_a_cluster_of_layout_2_reads_back_the_same_without_copies_and_with_exact_bits(cluster_client):
    load_keys(cluster_client, CLUSTER_2["keys"])
    store = ClusterStore(cluster_client, PREFIX)
    catalogue = "cl:{cl:catalogue}:"
    assert layout.current(store) == 2
    assert cluster_client.zcard(catalogue + "label-sync") == 1
    assert len(list(cluster_client.scan_iter(match="cl:{cl:catalogue:*", count=1000))) == 32
    assert set_bits(cluster_client, catalogue + "carriers:2") == {1, 3, 4}  # customer 1 detached it
    assert set_bits(cluster_client, catalogue + "carriers:4") == {1, 5}  # customer 5 was deleted

    assert layout.migrate(store) == [2, 3]
    assert not list(cluster_client.scan_iter(match="cl:{cl:catalogue:*", count=1000))
    assert not cluster_client.exists(catalogue + "label-sync")
    assert set_bits(cluster_client, catalogue + "carriers:2") == {3, 4}
    assert set_bits(cluster_client, catalogue + "carriers:4") == {1}
    assert set_bits(cluster_client, catalogue + "carriers:1") == {1, 2, 4, 6}

    reads = CLUSTER_2["reads"]
    assert store.export() == reads["export"]
    for customer_id, answer in reads["labels_of"].items():
        assert json.loads(store.labels_json(customer_id)) == answer
    for label_id, customers in reads["label_customers"].items():
        assert [c["id"] for c in store.label_customers(label_id, 100).items] == customers
    spaced = store.namespace("team-a")
    spaced.ensure_layout()
    assert spaced.export() == reads["namespace_export"]
    # Writes go on, and the bits follow them.
    customer = "00000000-0000-4000-8000-000000000003"
    assert [label["id"] for label in labels_of(store, customer, "attach", ["cafe"])] == ["cafe", "churn"]
    assert [label["id"] for label in labels_of(store, customer, "detach", ["churn"])] == ["cafe"]
    assert set_bits(cluster_client, catalogue + "carriers:2") == {4}
    assert set_bits(cluster_client, catalogue + "carriers:4") == {1, 3}


@pytest.mark.parametrize("kind", [pytest.param("fakeredis", marks=pytest.mark.fast), "redis"])
def test_layout_3_gets_nfc_name_keys_and_compact_cards_and_both_cafes_stay(kind, request, caplog):
    client = request.getfixturevalue("real_redis") if kind == "redis" else fake_redis()
    load_keys(client, LAYOUT_3["keys"])
    store = RedisStore(client, PREFIX)
    app = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": store})  # a start migrates
    assert layout.current(store) == layout.LAYOUT == 4
    assert store.export() == LAYOUT_3["reads"]["export"]  # names as given, nothing lost
    assert [r.getMessage() for r in caplog.records if "keeps its name key" in r.getMessage()] == [
        "label 'cafe-nfd' keeps its name key: another label's name is the same in NFC"
    ]
    http = app.test_client()
    for customer_id, answer in LAYOUT_3["reads"]["labels"].items():
        response = http.get(f"/customers/customers/{customer_id}/labels", headers=auth("reader"))
        # The same labels, now ordered by NFC name keys, as compact JSON with a final newline.
        assert sorted(response.json["data"], key=lambda label: label["id"]) == sorted(
            answer["data"], key=lambda label: label["id"]
        )
        text = response.get_data(as_text=True)
        assert text.endswith("]}\n") and ", " not in text and '": ' not in text
    assert [
        label["id"]
        for label in http.get(
            "/customers/customers/00000000-0000-4000-8000-000000000002/labels", headers=auth("reader")
        ).json["data"]
    ] == ["cafe-nfd", "angstrom"]  # "café" before "ångström" in NFC
    # Any form of the names is now taken; the pair that collided still can be renamed.
    for name in ("CAF\u00c9", "CAFE\u0301", "\u00c5ngstr\u00f6m", "A\u030angstro\u0308m"):
        assert http.post("/labels/labels", json={"name": name}, headers=auth("admin")).status_code == 409, name
    renamed = http.patch("/labels/labels/cafe-nfd", json={"name": "Café (old)"}, headers=auth("admin"))
    assert renamed.status_code == 200
    assert http.post("/labels/labels", json={"name": "Cafe\u0301"}, headers=auth("admin")).status_code == 409
    # Each label's count, from the bits the older release kept: what its customers carry.
    carried = {}
    for customer in LAYOUT_3["reads"]["export"]["customers"]:
        for label_id in customer["labels"]:
            carried[label_id] = carried.get(label_id, 0) + 1
    counts = {
        label["id"]: label["customerCount"] for label in http.get("/labels/labels", headers=auth("reader")).json["data"]
    }
    assert counts == {label["id"]: carried.get(label["id"], 0) for label in LAYOUT_3["reads"]["export"]["labels"]}
    assert any(counts.values())
