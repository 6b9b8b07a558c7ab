"""Cursor pagination of labels, customers and a label's customers."""

import pytest

from .conftest import auth, walk


def test_labels_default_limit_is_50(client, make):
    for i in range(51):
        make.label(id=f"l{i:02}")
    first = client.get("/labels/labels", headers=auth("reader")).json
    assert len(first["data"]) == 50 and first["nextCursor"]
    rest = client.get(f"/labels/labels?cursor={first['nextCursor']}", headers=auth("reader")).json
    assert [label["id"] for label in rest["data"]] == ["l50"] and rest["nextCursor"] is None


def test_limit_200_is_allowed(client, make):
    for i in range(201):
        make.label(id=f"l{i:03}")
    page = client.get("/labels/labels?limit=200", headers=auth("reader")).json
    assert len(page["data"]) == 200 and page["nextCursor"]


def test_exact_fit_has_no_next_cursor(client, make):
    for i in range(4):
        make.label(id=f"l{i}")
    assert walk(client, "/labels/labels", 2) == (["l0", "l1", "l2", "l3"], [2, 2])


def test_empty_listing(client):
    assert client.get("/customers/customers", headers=auth("reader")).json == {"data": [], "nextCursor": None}


def test_labels_stable_while_created_and_deleted(client, make):
    """Labels that exist throughout appear once each; no duplicates, no gaps."""
    for i in range(0, 40, 2):
        make.label(id=f"l{i:02}")
    stable = {f"l{i:02}" for i in range(0, 40, 2)} - {"l10", "l30"}

    def churn(page):
        make.label(id=f"l{page * 6:02}a")  # some before the cursor, some after it
        make.label(id=f"a{page}")  # before everything
        make.label(id=f"z{page}")  # after everything
        if page == 2:
            client.delete("/labels/labels/l10", headers=auth("admin"))
            client.delete("/labels/labels/l30", headers=auth("admin"))

    seen, _ = walk(client, "/labels/labels", 3, churn)
    assert len(seen) == len(set(seen)), "an item came twice"
    assert seen == sorted(seen)
    assert stable <= set(seen), f"gaps: {sorted(stable - set(seen))}"


def test_customers_stable_while_created_and_deleted(client, make):
    customers = sorted(make.customer()["id"] for _ in range(12))
    doomed = customers[5]

    def churn(page):
        make.customer()
        if page == 1:
            client.delete(f"/customers/customers/{doomed}", headers=auth("admin"))

    seen, _ = walk(client, "/customers/customers", 4, churn)
    assert len(seen) == len(set(seen))
    assert set(customers) - {doomed} <= set(seen)


def test_label_customers_stable_while_attached_and_detached(client, make):
    make.label(id="a")
    carriers = sorted(make.customer()["id"] for _ in range(9))
    for customer in carriers:
        make.attach(customer, "a")

    def churn(page):
        make.attach(make.customer()["id"], "a")
        body = {"labels": ["a"]}
        client.delete(f"/customers/customers/{carriers[8]}/labels", json=body, headers=auth("editor"))

    seen, _ = walk(client, "/labels/labels/a/customers", 2, churn)
    assert len(seen) == len(set(seen))
    assert set(carriers[:8]) <= set(seen)


@pytest.mark.parametrize("url", ["/labels/labels", "/customers/customers", "/labels/labels/a/customers"])
@pytest.mark.parametrize(
    "query, parameter",
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("limit=%D9%A3", "limit"),  # an Arabic-Indic digit: isdigit(), but not a number here
        ("cursor=%%%", "cursor"),
        ("cursor=", "cursor"),
        ("cursor=a%20b", "cursor"),
        ("cursor=" + "x" * 65, "cursor"),
        ("cursor=%C3%A9", "cursor"),
        # Given twice, even with the same valid value: which one was meant is not guessed.
        ("limit=50&limit=3", "limit"),
        ("limit=3&limit=3", "limit"),
        ("cursor=1&cursor=2", "cursor"),
        ("limit=0&limit=3", "limit"),
    ],
)
def test_bad_page_parameters_are_400(client, make, url, query, parameter):
    make.label(id="a")
    response = client.get(f"{url}?{query}", headers=auth("reader"))
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert [e["parameter"] for e in response.json["errors"]] == [parameter]


def test_unknown_label_outranks_bad_page_parameters(client):
    response = client.get("/labels/labels/nope/customers?limit=0", headers=auth("reader"))
    assert response.status_code == 404


def test_a_labels_customers_page_by_age_so_its_cursor_is_a_number(client, make):
    make.label(id="a")
    assert client.get("/labels/labels/a/customers?cursor=abc", headers=auth("reader")).status_code == 400
    assert client.get("/labels/labels/a/customers?cursor=123", headers=auth("reader")).status_code == 200
    assert client.get("/customers/customers?cursor=abc", headers=auth("reader")).status_code == 200
