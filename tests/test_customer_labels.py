"""Get, attach, detach and replace a customer's labels."""

import pytest

from customer_labels.store import LABEL_CAP, TooManyLabels
from customer_labels.store.base import label_json, sort_labels

from .conftest import auth

#: A well-formed customer id that names no customer (fixed: pytest-xdist workers must agree on test ids).
MISSING = "5d0c1e9e-4f0b-4c1e-9a51-0d5e1c0ffee0"


def url(customer_id):
    return f"/customers/customers/{customer_id}/labels"


def ids(labels):
    return [label["id"] for label in labels]


def test_new_customer_has_no_labels(client, make):
    customer = make.customer()
    response = client.get(url(customer["id"]), headers=auth("reader"))
    assert response.status_code == 200
    assert response.json == {"data": []}


def test_attach_returns_full_label_objects(client, make):
    label = make.label("VIP", id="vip", color="#FF0000", description="Pays on time")
    customer = make.customer()
    response = client.post(url(customer["id"]), json={"labels": ["vip"]}, headers=auth("editor"))
    assert response.status_code == 200
    # A customer's labels carry no count: other customers' attaches never change them.
    card = {field: value for field, value in label.items() if field != "customerCount"}
    assert response.json == {"data": [card]}
    assert client.get(url(customer["id"]), headers=auth("reader")).json == {"data": [card]}
    assert client.get("/labels/labels/vip", headers=auth("reader")).json == {**card, "customerCount": 1}


def test_labels_sorted_by_name_case_insensitively_then_id(client, make):
    for label_id, name in [("c", "banana"), ("a", "Cherry"), ("b", "apple"), ("d", "APPLE pie")]:
        make.label(name, id=label_id)
    customer = make.customer()
    data = make.attach(customer["id"], "a", "b", "c", "d")
    assert [label["name"] for label in data] == ["apple", "APPLE pie", "banana", "Cherry"]


def test_same_name_order_falls_back_to_id():
    # Names are unique case-insensitively, so a tie needs records built by hand.
    labels = [{"id": "z", "name": "Ab"}, {"id": "m", "name": "ab"}]
    assert ids(sort_labels(labels)) == ["m", "z"]


def test_attach_is_idempotent_and_accepts_duplicates(client, make):
    make.label(id="a")
    make.label(id="b")
    customer = make.customer()
    first = make.attach(customer["id"], "a", "a", "b")
    again = make.attach(customer["id"], "b", "a")
    assert ids(first) == ids(again) and sorted(ids(again)) == ["a", "b"]
    carriers = client.get("/labels/labels/a/customers", headers=auth("reader")).json["data"]
    assert [c["id"] for c in carriers] == [customer["id"]]


def test_attach_with_unknown_ids_attaches_nothing_and_names_them_all(client, make):
    make.label(id="known")
    customer = make.customer()
    body = {"labels": ["known", "ghost", "known", "phantom", "ghost"]}
    response = client.post(url(customer["id"]), json=body, headers=auth("editor"))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["unknownLabels"] == ["ghost", "phantom"]
    assert [e["path"] for e in response.json["errors"]] == ["/labels/1", "/labels/3", "/labels/4"]
    assert "ghost" in response.json["detail"] and "phantom" in response.json["detail"]
    assert client.get(url(customer["id"]), headers=auth("reader")).json == {"data": []}


def test_detach_ignores_unattached_and_unknown_ids(client, make):
    make.label(id="a")
    make.label(id="b")
    customer = make.customer()
    make.attach(customer["id"], "a", "b")
    body = {"labels": ["a", "a", "never-attached", "no-such-label"]}
    response = client.delete(url(customer["id"]), json=body, headers=auth("editor"))
    assert response.status_code == 200
    assert ids(response.json["data"]) == ["b"]
    again = client.delete(url(customer["id"]), json=body, headers=auth("editor"))
    assert again.status_code == 200 and ids(again.json["data"]) == ["b"]
    carriers = client.get("/labels/labels/a/customers", headers=auth("reader")).json["data"]
    assert carriers == []


def test_ids_that_look_like_other_keys_name_no_label(client, make):
    make.label(id="a")
    customer = make.customer()
    make.attach(customer["id"], "a")
    odd = ["a:customers", f"{{{customer['id']}}}", "labels", "label-names", "*"]
    response = client.post(url(customer["id"]), json={"labels": odd}, headers=auth("editor"))
    assert response.status_code == 422
    assert response.json["unknownLabels"] == odd


@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("customer_id", [MISSING, "not-a-uuid", "1234", "../labels", "}{x}"])
def test_unknown_or_malformed_customer_is_404(client, make, method, customer_id):
    make.label(id="a")
    response = getattr(client, method)(url(customer_id), json={"labels": ["a"]}, headers=auth("editor"))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_customer_id_is_case_insensitive(client, make):
    make.label(id="a")
    customer = make.customer()
    response = client.post(url(customer["id"].upper()), json={"labels": ["a"]}, headers=auth("editor"))
    assert response.status_code == 200
    assert ids(client.get(url(customer["id"]), headers=auth("reader")).json["data"]) == ["a"]


def make_labels(make, count, start=0):
    return [make.label(id=f"l{i:03}")["id"] for i in range(start, start + count)]


def test_cap_allows_exactly_the_cap(client, make):
    label_ids = make_labels(make, LABEL_CAP)
    customer = make.customer()
    for i in range(0, LABEL_CAP, 100):
        make.attach(customer["id"], *label_ids[i : i + 100])
    assert len(client.get(url(customer["id"]), headers=auth("reader")).json["data"]) == LABEL_CAP
    # Re-attaching what is already there adds nothing, so it is not over the cap.
    assert len(make.attach(customer["id"], *label_ids[:100])) == LABEL_CAP


def test_attach_past_the_cap_is_422_and_changes_nothing(client, make):
    label_ids = make_labels(make, LABEL_CAP + 1)
    customer = make.customer()
    make.attach(customer["id"], *label_ids[:100])
    make.attach(customer["id"], *label_ids[100:200])
    make.attach(customer["id"], *label_ids[200:240])
    # 10 of these are attached already; 11 are new: 240 + 11 = 251.
    body = {"labels": label_ids[230:]}
    response = client.post(url(customer["id"]), json=body, headers=auth("editor"))
    assert response.status_code == 422
    assert str(LABEL_CAP) in response.json["detail"]
    assert response.json["errors"][0]["path"] == "/labels"
    after = client.get(url(customer["id"]), headers=auth("reader")).json["data"]
    assert sorted(ids(after)) == label_ids[:240]
    carriers = client.get(f"/labels/labels/{label_ids[250]}/customers", headers=auth("reader")).json
    assert carriers["data"] == []


def test_any_text_survives_the_answer_as_the_store_builds_it(client, make):
    """Quotes, backslashes, control characters and non-ASCII, at create and after a
    change, come back as they went in, in the documented order."""
    names = ['Café ☕ "quoted" / slash \\ back', "ÄÖÜ straße", "\x00nul\ttab\nnewline", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "a"]
    for i, name in enumerate(names):
        make.label(name, id=f"t{i}", description=name[::-1])
    customer = make.customer()["id"]
    make.attach(customer, *[f"t{i}" for i in range(len(names))])
    changes = {"name": "zzz Ünïcödé", "description": 'naïve ☃ "x" / \\ \x01'}
    assert client.patch("/labels/labels/t0", json=changes, headers=auth("admin")).status_code == 200
    got = client.get(url(customer), headers=auth("reader")).json["data"]
    for label in got:
        assert {**label, "customerCount": 1} == client.get(f"/labels/labels/{label['id']}", headers=auth("reader")).json
    assert got == sort_labels(got)
    assert [label["id"] for label in got] == ["t2", "t4", "t0", "t1", "t3"]
    # Byte for byte: every store writes each label with the one encoder, after a change too.
    text = client.get(url(customer), headers=auth("reader")).get_data(as_text=True)
    assert text == '{"data":[' + ",".join(map(label_json, got)) + "]}\n"


# -- replace: PUT, the customer carries exactly the labels given ---------------------------


def put(client, customer_id, label_ids, role="editor"):
    return client.put(url(customer_id), json={"labels": label_ids}, headers=auth(role))


def test_replace_makes_the_customer_carry_exactly_those_labels(client, make):
    for label_id in ("a", "b", "c"):
        make.label(label_id.upper(), id=label_id)
    customer = make.customer()["id"]
    make.attach(customer, "a", "b")
    response = put(client, customer, ["b", "c", "c"])
    assert response.status_code == 200
    assert [label["id"] for label in response.json["data"]] == ["b", "c"]
    assert client.get(url(customer), headers=auth("reader")).json == response.json
    counts = {
        label["id"]: label["customerCount"]
        for label in client.get("/labels/labels", headers=auth("reader")).json["data"]
    }
    assert counts == {"a": 0, "b": 1, "c": 1}  # the carriers follow
    assert client.get("/labels/labels/a/customers", headers=auth("reader")).json["data"] == []
    assert put(client, customer, []).json == {"data": []}  # none: no labels
    assert [c["id"] for c in client.get("/labels/labels/b/customers", headers=auth("reader")).json["data"]] == []


def test_replace_with_an_unknown_label_changes_nothing(client, make):
    make.label("A", id="a")
    make.label("B", id="b")
    customer = make.customer()["id"]
    make.attach(customer, "a")
    response = put(client, customer, ["b", "nope", "nope"])
    assert response.status_code == 422 and response.json["unknownLabels"] == ["nope"]
    assert [e["path"] for e in response.json["errors"]] == ["/labels/1", "/labels/2"]
    assert [label["id"] for label in client.get(url(customer), headers=auth("reader")).json["data"]] == ["a"]


def test_replace_may_swap_a_customer_at_the_cap_for_other_labels(client, make, store):
    labels = [store.create_label({"id": f"l{i:03}", "name": f"L{i:03}"})["id"] for i in range(300)]
    customer = make.customer()["id"]
    store.labels_json(customer, "attach", labels[:250])
    assert len(put(client, customer, labels[50:300]).json["data"]) == 250
    assert len(put(client, customer, labels[:251]).json["errors"]) == 1  # the schema: at most 250
    with pytest.raises(TooManyLabels):  # and the store's own rule, the cap
        store.labels_json(customer, "replace", labels[:251])
    assert len(client.get(url(customer), headers=auth("reader")).json["data"]) == 250


def test_replace_is_for_editors_and_a_missing_customer_is_a_404(client, make):
    make.label("A", id="a")
    customer = make.customer()["id"]
    assert put(client, customer, ["a"], role="reader").status_code == 403
    assert put(client, "00000000-0000-4000-8000-000000000000", ["nope"] * 300).status_code == 404
    assert client.put(url(customer), json={"labels": "a"}, headers=auth("editor")).status_code == 422
    assert client.put(url(customer), data="{", headers=auth("editor")).status_code == 400
