"""One label onto many customers, or off them: POST and DELETE
/labels/labels/{labelId}/customers, all or none, on every store."""

import threading
import uuid

import pytest

from customer_labels.store import LABEL_CAP

from .conftest import auth

PATH = "/labels/labels/{}/customers"


def change(client, method, label_id, customers, role="editor"):
    return client.open(PATH.format(label_id), method=method, json={"customers": customers}, headers=auth(role))


def carriers(client, label_id):
    response = client.get(PATH.format(label_id) + "?limit=200", headers=auth("reader"))
    assert response.status_code == 200, response.json
    return [customer["id"] for customer in response.json["data"]]


def labels_of(client, customer_id):
    response = client.get(f"/customers/customers/{customer_id}/labels", headers=auth("reader"))
    return [label["id"] for label in response.json["data"]]


@pytest.fixture
def five(make):
    make.label("VIP", id="vip")
    return [make.customer(f"C{n}")["id"] for n in range(5)]


def test_attach_and_detach_many_answer_what_changed(client, make, five):
    make.attach(five[1], "vip")
    response = change(client, "POST", "vip", [five[0], five[1], five[2].upper(), five[0]])
    assert response.status_code == 200, response.json
    assert response.json == {"changed": [five[0], five[2]], "unchanged": [five[1]], "customerCount": 3}
    assert carriers(client, "vip") == five[:3]
    assert labels_of(client, five[2]) == ["vip"]
    label = client.get("/labels/labels/vip", headers=auth("reader")).json
    assert label["customerCount"] == 3

    response = change(client, "DELETE", "vip", [five[1], five[3]])
    assert response.status_code == 200, response.json
    assert response.json == {"changed": [five[1]], "unchanged": [five[3]], "customerCount": 2}
    assert carriers(client, "vip") == [five[0], five[2]]
    assert labels_of(client, five[1]) == []


def test_unknown_customers_are_a_422_naming_each_and_change_nothing(client, five):
    ghosts = [str(uuid.uuid4()), str(uuid.uuid4())]
    for method in ("POST", "DELETE"):
        response = change(client, method, "vip", [five[0], ghosts[0], five[1], ghosts[1], ghosts[0]])
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
        assert response.json["unknownCustomers"] == ghosts
        assert [error["path"] for error in response.json["errors"]] == ["/customers/1", "/customers/3", "/customers/4"]
        assert carriers(client, "vip") == []


def test_customers_at_the_cap_are_a_422_naming_each_and_change_nothing(store, client):
    labels = [{"id": f"l{n}", "name": f"L{n}"} for n in range(LABEL_CAP + 1)]
    full, other = str(uuid.uuid4()), str(uuid.uuid4())
    store.replace(
        {
            "labels": labels,
            "customers": [
                {"id": other, "name": "Other"},
                {"id": full, "name": "Full", "labels": [label["id"] for label in labels[:LABEL_CAP]]},
            ],
        }
    )
    last = labels[-1]["id"]
    response = change(client, "POST", last, [other, full])
    assert response.status_code == 422, response.json
    assert response.json["fullCustomers"] == [full]
    assert response.json["errors"] == [{"path": "/customers/1", "message": "carries as many labels as a customer may"}]
    assert carriers(client, last) == []
    # A label it carries already is no change, so no refusal.
    response = change(client, "POST", "l0", [other, full])
    assert response.status_code == 200 and response.json["changed"] == [other]


def test_a_missing_label_is_a_404_before_any_body_problem(client, five):
    assert change(client, "POST", "ghost", five[:1]).status_code == 404
    response = client.post(PATH.format("ghost"), data="not json", headers=auth("editor"))
    assert response.status_code == 404
    response = client.delete(PATH.format("ghost"), json={"customers": []}, headers=auth("editor"))
    assert response.status_code == 404


@pytest.mark.fast
@pytest.mark.parametrize(
    "body, path",
    [
        ({"customers": []}, "/customers"),
        ({"customers": [str(uuid.uuid4())] * 1001}, "/customers"),
        ({"customers": ["not-a-uuid"]}, "/customers/0"),
        ({"customers": [str(uuid.uuid4()) + "\n"]}, "/customers/0"),
        ({}, ""),
        ({"customers": [], "labels": []}, ""),
    ],
)
def test_a_bad_body_is_a_422_naming_the_place(memory_client, body, path):
    # Checked before any store call: the in-memory store stands for every store.
    client = memory_client
    client.post("/labels/labels", json={"id": "vip", "name": "VIP"}, headers=auth("admin"))
    response = client.post(PATH.format("vip"), json=body, headers=auth("editor"))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert path in [error["path"] for error in response.json["errors"]]
    assert carriers(client, "vip") == []


def test_changing_many_needs_the_editor_role(client, five):
    assert change(client, "POST", "vip", five, role="reader").status_code == 403
    assert change(client, "DELETE", "vip", five, role="reader").status_code == 403
    assert client.post(PATH.format("vip"), json={"customers": five}).status_code == 401
    assert carriers(client, "vip") == []


def test_a_thousand_customers_in_one_call(store, client):
    customers = [{"id": str(uuid.UUID(int=n + 1)), "name": f"C{n}"} for n in range(1000)]
    store.replace({"labels": [{"id": "vip", "name": "VIP"}], "customers": customers})
    ids = [customer["id"] for customer in customers]
    response = change(client, "POST", "vip", ids)
    assert response.status_code == 200
    assert response.json["changed"] == ids and response.json["customerCount"] == 1000
    count = client.get("/customers/customer-count?labels.all=vip", headers=auth("reader")).json["count"]
    assert count == 1000
    response = change(client, "DELETE", "vip", ids[::2])
    assert response.json["customerCount"] == 500


def test_a_label_deleted_during_a_change_of_many_ends_up_carried_by_none(store, client):
    """A delete racing a change of many customers: whichever comes first, no customer
    shows the label after, and the label made again with its id has no customers."""
    customers = [{"id": str(uuid.UUID(int=n + 1)), "name": f"C{n}"} for n in range(200)]
    store.replace({"labels": [{"id": "vip", "name": "VIP"}, {"id": "beta", "name": "Beta"}], "customers": customers})
    ids = [customer["id"] for customer in customers]
    statuses, start = {}, threading.Barrier(2)

    def attach():
        start.wait()
        statuses["attach"] = change(client, "POST", "vip", ids).status_code

    def delete():
        start.wait()
        statuses["delete"] = client.delete("/labels/labels/vip", headers=auth("admin")).status_code

    threads = [threading.Thread(target=attach), threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses["delete"] == 204 and statuses["attach"] in (200, 404)
    assert all(labels_of(client, customer) == [] for customer in ids[::20])
    client.post("/labels/labels", json={"id": "vip", "name": "VIP"}, headers=auth("admin"))
    assert carriers(client, "vip") == []
    assert client.get("/customers/customer-count?labels.any=vip", headers=auth("reader")).json["count"] == 0
