"""The Labels endpoints."""

import json
import re

import pytest

from customer_labels.store import DEFAULT_COLOR

from .conftest import auth, make_store

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def test_create_with_defaults(client):
    response = client.post("/labels/labels", json={"name": "VIP"}, headers=auth("admin"))
    assert response.status_code == 201
    label = response.json
    assert set(label) == {"id", "name", "color", "description", "createdAt", "updatedAt", "customerCount"}
    assert label["customerCount"] == 0
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", label["id"])
    assert (label["name"], label["color"], label["description"]) == ("VIP", DEFAULT_COLOR, None)
    assert RFC3339_UTC.fullmatch(label["createdAt"]) and label["createdAt"] == label["updatedAt"]
    assert response.headers["Location"] == f"/labels/labels/{label['id']}"
    assert client.get(response.headers["Location"], headers=auth("reader")).json == label


def test_create_with_every_field(client):
    body = {"id": "vip_1-A", "name": "VIP", "color": "#AbCdEf", "description": "Top customers"}
    label = client.post("/labels/labels", json=body, headers=auth("admin")).json
    assert label["id"] == "vip_1-A"
    assert label["color"] == "#abcdef"
    assert label["description"] == "Top customers"


def test_server_made_ids_differ(make):
    assert make.label("one")["id"] != make.label("two")["id"]


@pytest.mark.parametrize(
    "first, second, field",
    [
        ({"name": "VIP"}, {"name": "vip"}, "name"),
        ({"name": "Straße"}, {"name": "STRASSE"}, "name"),
        ({"name": "a", "id": "x"}, {"name": "b", "id": "x"}, "id"),
    ],
)
def test_taken_name_or_id_is_409(client, make, first, second, field):
    make.label(**first)
    response = client.post("/labels/labels", json=second, headers=auth("admin"))
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert field in response.json["detail"]
    assert len(client.get("/labels/labels", headers=auth("reader")).json["data"]) == 1


def test_patch_changes_only_given_fields(client, make):
    label = make.label("VIP", id="vip", description="old")
    response = client.patch("/labels/labels/vip", json={"color": "#00FF00"}, headers=auth("admin"))
    assert response.status_code == 200
    patched = response.json
    assert patched["color"] == "#00ff00"
    assert (patched["name"], patched["description"], patched["createdAt"]) == ("VIP", "old", label["createdAt"])
    assert patched["updatedAt"] >= label["updatedAt"]
    assert client.get("/labels/labels/vip", headers=auth("reader")).json == patched


def test_patch_description_to_null(client, make):
    make.label("VIP", id="vip", description="old")
    patched = client.patch("/labels/labels/vip", json={"description": None}, headers=auth("admin")).json
    assert patched["description"] is None
    assert client.get("/labels/labels/vip", headers=auth("reader")).json["description"] is None


def test_rename_frees_the_old_name_and_takes_the_new(client, make):
    make.label("Old", id="a")
    make.label("Other", id="b")
    assert client.patch("/labels/labels/a", json={"name": "New"}, headers=auth("admin")).status_code == 200
    # The old name is free again, the new one is taken.
    assert client.post("/labels/labels", json={"name": "old"}, headers=auth("admin")).status_code == 201
    assert client.post("/labels/labels", json={"name": "NEW"}, headers=auth("admin")).status_code == 409


@pytest.mark.parametrize(
    "first, second",
    [("Caf\u00e9", "Cafe\u0301"), ("Cafe\u0301", "CAF\u00c9"), ("\u00c5ngstr\u00f6m", "a\u030angstro\u0308m")],
)
def test_names_are_the_same_in_any_unicode_form_and_kept_as_given(client, make, first, second):
    make.label(first, id="a")
    response = client.post("/labels/labels", json={"name": second}, headers=auth("admin"))
    assert response.status_code == 409 and response.content_type == "application/problem+json"
    assert client.get("/labels/labels/a", headers=auth("reader")).json["name"] == first
    # Renaming to its own name in another form is no conflict, and stores the new form.
    renamed = client.patch("/labels/labels/a", json={"name": second}, headers=auth("admin"))
    assert renamed.status_code == 200 and renamed.json["name"] == second


def test_rename_to_own_name_in_other_case_is_allowed(client, make):
    make.label("Vip", id="a")
    response = client.patch("/labels/labels/a", json={"name": "VIP"}, headers=auth("admin"))
    assert response.status_code == 200 and response.json["name"] == "VIP"


def test_rename_to_taken_name_is_409_and_changes_nothing(client, make):
    make.label("One", id="a")
    make.label("Two", id="b")
    response = client.patch("/labels/labels/a", json={"name": "TWO", "color": "#000000"}, headers=auth("admin"))
    assert response.status_code == 409
    label = client.get("/labels/labels/a", headers=auth("reader")).json
    assert (label["name"], label["color"]) == ("One", DEFAULT_COLOR)


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_label_is_404(client, method):
    response = getattr(client, method)("/labels/labels/nope", json={"name": "x"}, headers=auth("admin"))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_unknown_label_customers_is_404(client):
    assert client.get("/labels/labels/nope/customers", headers=auth("reader")).status_code == 404


def test_delete_detaches_from_every_customer(client, make):
    make.label(id="gone")
    make.label(id="kept")
    customers = [make.customer()["id"] for _ in range(3)]
    for customer_id in customers:
        make.attach(customer_id, "gone", "kept")
    response = client.delete("/labels/labels/gone", headers=auth("admin"))
    assert response.status_code == 204 and response.data == b""
    assert client.get("/labels/labels/gone", headers=auth("reader")).status_code == 404
    for customer_id in customers:
        labels = client.get(f"/customers/customers/{customer_id}/labels", headers=auth("reader")).json
        assert [label["id"] for label in labels["data"]] == ["kept"]
    assert client.delete("/labels/labels/gone", headers=auth("admin")).status_code == 404


def test_recreated_label_does_not_bring_back_old_attachments(client, make):
    make.label("Gone", id="gone")
    customer = make.customer()["id"]
    make.attach(customer, "gone")
    client.delete("/labels/labels/gone", headers=auth("admin"))
    make.label("Gone", id="gone")  # the name is free again too
    labels = client.get(f"/customers/customers/{customer}/labels", headers=auth("reader")).json
    assert labels == {"data": []}
    assert client.get("/labels/labels/gone/customers", headers=auth("reader")).json["data"] == []


def test_label_customers_lists_carriers_oldest_first(client, make):
    make.label(id="a")
    carriers = [make.customer()["id"] for _ in range(5)]
    others = [make.customer()["id"] for _ in range(2)]
    for customer_id in carriers:
        make.attach(customer_id, "a")
    response = client.get("/labels/labels/a/customers?limit=2", headers=auth("reader"))
    assert response.status_code == 200
    seen = []
    page = response.json
    while True:
        assert set(page["data"][0]) == {"id", "name", "email", "createdAt", "updatedAt"}
        seen += [customer["id"] for customer in page["data"]]
        if page["nextCursor"] is None:
            break
        page = client.get(
            f"/labels/labels/a/customers?limit=2&cursor={page['nextCursor']}", headers=auth("reader")
        ).json
    assert seen == carriers and not set(others) & set(seen)


@pytest.mark.parametrize("kind", [pytest.param("fakeredis", marks=pytest.mark.fast), "redis", "cluster"])
def test_an_update_that_meets_another_reads_again_and_loses_nothing(kind, request):
    """On Redis a label's card is built from the label as read (the in-memory store
    updates under one lock); another update landing between that read and the
    write must not be undone by it."""
    store = make_store(kind, request)
    store.create_label({"id": "vip", "name": "VIP"})
    real_hash, interleaved = store._hash, []

    def hash_then_another_update(key):
        found = real_hash(key)
        if not interleaved:
            interleaved.append("once")
            store._hash = real_hash  # the other update reads as usual
            store.update_label("vip", {"color": "#123456"})
        return found

    store._hash = hash_then_another_update
    after = store.update_label("vip", {"description": "Top"})
    store._hash = real_hash
    assert interleaved and after["color"] == "#123456" and after["description"] == "Top"
    assert store.get_label("vip") == after
    customer = store.create_customer({"name": "Ada"})["id"]
    card = {field: value for field, value in after.items() if field != "customerCount"}
    assert json.loads(store.labels_json(customer, "attach", ["vip"]))["data"] == [card]
