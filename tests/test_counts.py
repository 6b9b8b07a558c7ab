"""How many customers carry each label (customerCount), on every store: exact after
each write has answered, on the Labels endpoints only."""

from .conftest import auth


def count(client, label_id):
    response = client.get(f"/labels/labels/{label_id}", headers=auth("reader"))
    assert response.status_code == 200, response.json
    return response.json["customerCount"]


def listed(client):
    labels = client.get("/labels/labels", headers=auth("reader")).json["data"]
    return {label["id"]: label["customerCount"] for label in labels}


def test_the_count_follows_attach_detach_and_deletes(client, make):
    make.label("VIP", id="vip")
    make.label("Beta", id="beta")
    customers = [make.customer(f"C{n}")["id"] for n in range(3)]
    for customer in customers:
        make.attach(customer, "vip")
    make.attach(customers[0], "beta", "vip")  # vip again: no second count
    assert count(client, "vip") == 3 and count(client, "beta") == 1
    assert listed(client) == {"beta": 1, "vip": 3}
    client.delete(f"/customers/customers/{customers[1]}/labels", json={"labels": ["vip"]}, headers=auth("editor"))
    assert count(client, "vip") == 2
    client.delete(f"/customers/customers/{customers[0]}", headers=auth("admin"))
    assert listed(client) == {"beta": 0, "vip": 1}
    patched = client.patch("/labels/labels/vip", json={"color": "#000000"}, headers=auth("admin")).json
    assert patched["customerCount"] == 1


def test_a_label_made_again_with_an_old_id_counts_from_zero(client, make):
    make.label("VIP", id="vip")
    customer = make.customer()["id"]
    make.attach(customer, "vip")
    assert client.delete("/labels/labels/vip", headers=auth("admin")).status_code == 204
    assert make.label("VIP", id="vip")["customerCount"] == 0
    assert count(client, "vip") == 0


def test_a_page_of_labels_counts_each(client, make):
    customer = make.customer()["id"]
    for n in range(5):
        make.label(f"L{n}", id=f"l{n}")
    make.attach(customer, "l1", "l3")
    first = client.get("/labels/labels?limit=2", headers=auth("reader")).json
    rest = client.get(f"/labels/labels?cursor={first['nextCursor']}", headers=auth("reader")).json
    counts = {label["id"]: label["customerCount"] for label in first["data"] + rest["data"]}
    assert counts == {"l0": 0, "l1": 1, "l2": 0, "l3": 1, "l4": 0}


def test_a_customers_labels_and_fixtures_carry_no_count(mock_client):
    ada = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"
    labels = mock_client.get(f"/customers/customers/{ada}/labels", headers=auth("reader")).json["data"]
    assert labels and not [label for label in labels if "customerCount" in label]
    snapshot = mock_client.get("/__admin/snapshot", headers=auth("admin")).json
    assert not [label for label in snapshot["labels"] if "customerCount" in label]
    assert count(mock_client, "vip") == 1  # the example fixture: Ada carries vip
