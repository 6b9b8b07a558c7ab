"""The Customers endpoints."""

import uuid

import pytest

from .conftest import auth


def test_create_with_server_made_id(client):
    response = client.post("/customers/customers", json={"name": "Ada"}, headers=auth("admin"))
    assert response.status_code == 201
    customer = response.json
    assert set(customer) == {"id", "name", "email", "createdAt", "updatedAt"}
    assert str(uuid.UUID(customer["id"])) == customer["id"]
    assert customer["email"] is None
    assert response.headers["Location"] == f"/customers/customers/{customer['id']}"
    assert client.get(response.headers["Location"], headers=auth("reader")).json == customer


def test_create_with_client_id_is_stored_lower_case(client):
    ident = str(uuid.uuid4())
    body = {"id": ident.upper(), "name": "Ada", "email": "ada@example.com"}
    customer = client.post("/customers/customers", json=body, headers=auth("admin")).json
    assert customer["id"] == ident and customer["email"] == "ada@example.com"


def test_duplicate_id_is_409(client, make):
    customer = make.customer()
    response = client.post("/customers/customers", json={"id": customer["id"], "name": "B"}, headers=auth("admin"))
    assert response.status_code == 409
    assert client.get(f"/customers/customers/{customer['id']}", headers=auth("reader")).json == customer


def test_patch_name_and_clear_email(client, make):
    customer = make.customer("Ada", email="ada@example.com")
    url = f"/customers/customers/{customer['id']}"
    response = client.patch(url, json={"name": "Ada L.", "email": None}, headers=auth("admin"))
    assert response.status_code == 200
    assert (response.json["name"], response.json["email"]) == ("Ada L.", None)
    assert response.json["createdAt"] == customer["createdAt"]
    assert client.get(url, headers=auth("reader")).json == response.json


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("customer_id", ["5d0c1e9e-4f0b-4c1e-9a51-0d5e1c0ffee0", "nope"])
def test_unknown_customer_is_404(client, method, customer_id):
    response = getattr(client, method)(f"/customers/customers/{customer_id}", json={"name": "x"}, headers=auth("admin"))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_delete_removes_customer_and_its_labels(client, make):
    make.label(id="a")
    customer = make.customer()["id"]
    other = make.customer()["id"]
    make.attach(customer, "a")
    make.attach(other, "a")
    assert client.delete(f"/customers/customers/{customer}", headers=auth("admin")).status_code == 204
    assert client.get(f"/customers/customers/{customer}", headers=auth("reader")).status_code == 404
    assert client.get(f"/customers/customers/{customer}/labels", headers=auth("reader")).status_code == 404
    carriers = client.get("/labels/labels/a/customers", headers=auth("reader")).json["data"]
    assert [c["id"] for c in carriers] == [other]
    assert client.delete(f"/customers/customers/{customer}", headers=auth("admin")).status_code == 404


def test_recreated_customer_starts_with_no_labels(client, make):
    make.label(id="a")
    customer = make.customer()["id"]
    make.attach(customer, "a")
    client.delete(f"/customers/customers/{customer}", headers=auth("admin"))
    make.customer(id=customer)
    assert client.get(f"/customers/customers/{customer}/labels", headers=auth("reader")).json == {"data": []}
    assert client.get("/labels/labels/a/customers", headers=auth("reader")).json["data"] == []
