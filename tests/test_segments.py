"""Segments: customers by the labels they carry (labels.all, labels.any, labels.none),
listed oldest first and counted, on every store."""

import random
import uuid

import pytest

from customer_labels.store import redis_store
from customer_labels.store.base import SEGMENT_LABELS

from .conftest import auth, walk

LABELS = ("a", "b", "c", "d", "e")


def listed(client, query, limit=None):
    """Every customer id a segment lists, page by page, and the pages' sizes."""
    return walk(client, "/customers/customers", limit, query=query)


def counted(client, query):
    response = client.get("/customers/customer-count", query_string=query, headers=auth("reader"))
    assert response.status_code == 200, response.json
    return response.json["count"]


@pytest.fixture
def population(client, make):
    """30 customers, oldest first, each carrying a random few of five labels; e only the
    first three, so its bitmap is shorter than the others' (BITOP pads with zeros)."""
    for label_id in LABELS:
        make.label(label_id.upper(), id=label_id)
    rng = random.Random(7)
    carried = {}
    for n in range(30):
        customer = make.customer(f"C{n}")["id"]
        # e only on the first few: its bitmap is a byte, the others' four.
        labels = [label for label in LABELS if rng.random() < 0.6 and (label != "e" or n < 3)]
        if labels:
            make.attach(customer, *labels)
        carried[customer] = set(labels)
    return carried


def expected(carried, all_=(), any_=(), none=()):
    return [
        customer
        for customer, labels in carried.items()
        if labels >= set(all_) and (not any_ or labels & set(any_)) and not labels & set(none)
    ]


def test_every_combination_of_clauses_lists_and_counts_what_it_selects(client, population):
    rng = random.Random(11)
    cases = [((), (), ("e",)), (("a", "b"), (), ("e",)), ((), ("c", "e"), ("a",)), (("a",), ("b", "c"), ("d", "e"))]
    for _ in range(12):
        cases.append(tuple(tuple(rng.sample(LABELS, rng.randint(0, 2))) for _ in range(3)))
    for all_, any_, none in cases:
        if not (all_ or any_ or none):
            continue
        query = {f"labels.{k}": ",".join(v) for k, v in zip(("all", "any", "none"), (all_, any_, none)) if v}
        want = expected(population, all_, any_, none)
        ids, _ = listed(client, query)
        assert ids == want, query  # oldest first, each once
        assert counted(client, query) == len(want), query


def test_a_segment_pages_by_cursor_without_gaps_or_repeats(client, population):
    query = {"labels.any": "a,b"}
    want = expected(population, any_=("a", "b"))
    ids, sizes = listed(client, query, limit=4)
    assert ids == want and len(want) > 8
    assert sizes[:-1] == [4] * (len(sizes) - 1)


def test_none_alone_lists_customers_with_no_labels_too(client, make, population):
    bare = make.customer("Bare")["id"]
    ids, _ = listed(client, {"labels.none": "e"})
    assert ids == expected(population, none=("e",)) + [bare]
    assert counted(client, {"labels.none": "e"}) == len(population) + 1 - sum("e" in s for s in population.values())
    assert counted(client, {}) == len(population) + 1


def test_deleted_customers_and_labels_made_again_are_not_selected(client, make, population):
    first = next(customer for customer, labels in population.items() if "a" in labels)
    assert client.delete(f"/customers/customers/{first}", headers=auth("admin")).status_code == 204
    del population[first]
    assert listed(client, {"labels.all": "a"})[0] == expected(population, all_=("a",))
    assert client.delete("/labels/labels/b", headers=auth("admin")).status_code == 204
    make.label("B", id="b")  # the same id, a new label: nobody carries it
    assert listed(client, {"labels.any": "b"})[0] == []
    assert counted(client, {"labels.all": "b"}) == 0
    assert counted(client, {"labels.none": "b"}) == len(population)


def test_a_repeated_filter_is_one_list(client, population):
    want = expected(population, all_=("a", "c"))
    assert listed(client, [("labels.all", "a"), ("labels.all", "c")])[0] == want


def test_a_filter_naming_no_label_is_a_400_naming_it(client, population):
    for path in ("/customers/customers", "/customers/customer-count"):
        query = {"labels.all": "a,ghost", "labels.none": "phantom"}
        response = client.get(path, query_string=query, headers=auth("reader"))
        assert response.status_code == 400 and response.mimetype == "application/problem+json"
        assert response.json["errors"] == [
            {"parameter": "labels.all", "message": "names no label: ghost", "label": "ghost"},
            {"parameter": "labels.none", "message": "names no label: phantom", "label": "phantom"},
        ]
    # Even past the last cursor there is: the labels are checked first.
    response = client.get(
        "/customers/customers", query_string={"labels.any": "ghost", "cursor": "9" * 18}, headers=auth("reader")
    )
    assert response.status_code == 400 and response.json["errors"][0]["label"] == "ghost"


@pytest.mark.fast
@pytest.mark.parametrize(
    "query, parameters",
    [
        ({"labels.all": ""}, ["labels.all"]),
        ({"labels.any": "a,,b"}, ["labels.any"]),
        ({"labels.none": "a,"}, ["labels.none"]),
        ({"labels.all": "a b"}, ["labels.all"]),
        ({"labels.all": ",".join(f"l{n}" for n in range(SEGMENT_LABELS + 1))}, ["labels"]),
        ({"labels.all": "a", "cursor": "abc", "limit": "0"}, ["limit", "cursor"]),
        ({"labels.any": "x" * 65, "labels.none": "é"}, ["labels.any", "labels.none"]),
        ("labels.all=a&labels.all=b&limit=2&limit=2", ["limit"]),  # a filter joins; a page size does not
    ],
)
def test_bad_filters_are_one_400_naming_each(memory_client, query, parameters):
    # Read before any store call: the in-memory store stands for every store.
    response = memory_client.get("/customers/customers", query_string=query, headers=auth("reader"))
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert [error["parameter"] for error in response.json["errors"]] == parameters


def test_counting_needs_a_token(client):
    assert client.get("/customers/customer-count").status_code == 401
    assert client.get("/customers/customer-count", headers=auth("reader")).json == {"count": 0}


def test_none_alone_walks_the_index_past_many_carriers(store, client, monkeypatch):
    """None alone reads the index of customers a bounded stretch a script: a segment
    past that stretch is found by calling again."""
    monkeypatch.setattr(redis_store, "SEGMENT_WALK", 256)
    n = 900  # more than three walks
    customers = [{"id": str(uuid.UUID(int=i + 1)), "name": f"C{i}", "labels": ["x"]} for i in range(n)]
    customers[-1]["labels"] = []
    customers[-3]["labels"] = []
    store.replace({"labels": [{"id": "x", "name": "X"}], "customers": customers})
    ids, _ = listed(client, {"labels.none": "x"})
    assert ids == [customers[-3]["id"], customers[-1]["id"]]
    assert counted(client, {"labels.none": "x"}) == 2
    assert counted(client, {"labels.all": "x"}) == n - 2
