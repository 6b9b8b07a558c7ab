"""ETags and conditional requests, on every store: a customer's labels, a label and a
customer carry a strong ETag; If-None-Match gives a 304; If-Match on a write that no
longer matches is a 412 that changes nothing."""

import threading

import pytest

from .conftest import auth

LABELS = "/customers/customers/{}/labels"


@pytest.fixture
def ada(make):
    make.label("VIP", id="vip")
    make.label("Beta", id="beta")
    customer = make.customer("Ada")["id"]
    make.attach(customer, "vip")
    return customer


def read(client, path):
    response = client.get(path, headers=auth("reader"))
    assert response.status_code == 200, response.json
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    return response, etag


def test_a_read_carries_a_tag_that_changes_with_what_it_shows(client, make, ada):
    for path in (LABELS.format(ada), "/labels/labels/vip", f"/customers/customers/{ada}"):
        first, tag = read(client, path)
        assert read(client, path)[1] == tag
    _, labels_tag = read(client, LABELS.format(ada))
    _, label_tag = read(client, "/labels/labels/vip")
    other = make.customer("Other")["id"]
    make.attach(other, "vip")
    # Another customer's attach changes the label's count, not Ada's labels.
    assert read(client, LABELS.format(ada))[1] == labels_tag
    assert read(client, "/labels/labels/vip")[1] != label_tag
    make.attach(ada, "beta")
    assert read(client, LABELS.format(ada))[1] != labels_tag
    _, customer_tag = read(client, f"/customers/customers/{ada}")
    client.patch(f"/customers/customers/{ada}", json={"name": "Ada King"}, headers=auth("admin"))
    assert read(client, f"/customers/customers/{ada}")[1] != customer_tag


@pytest.mark.parametrize("kind", ["labels", "label", "customer"])
def test_if_none_match_that_matches_is_a_304_without_a_body(client, ada, kind):
    path = {"labels": LABELS.format(ada), "label": "/labels/labels/vip", "customer": f"/customers/customers/{ada}"}[
        kind
    ]
    _, tag = read(client, path)
    for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        response = client.get(path, headers={**auth("reader"), "If-None-Match": header})
        assert response.status_code == 304, header
        assert response.data == b"" and response.headers["ETag"] == tag
        assert "Content-Type" not in response.headers
    response = client.get(path, headers={**auth("reader"), "If-None-Match": '"other"'})
    assert response.status_code == 200 and response.headers["ETag"] == tag


def test_guarded_changes_of_a_customers_labels(client, ada):
    path = LABELS.format(ada)
    _, tag = read(client, path)
    for method, labels in (("POST", ["beta"]), ("DELETE", ["vip"]), ("PUT", ["vip", "beta"])):
        response = client.open(
            path, method=method, json={"labels": labels}, headers={**auth("editor"), "If-Match": tag}
        )
        assert response.status_code == 200, (method, response.json)
        assert response.headers["ETag"] == read(client, path)[1]  # the tag after, as a read gives it
        stale, tag = tag, response.headers["ETag"]
        before = client.get(path, headers=auth("reader")).json
        response = client.open(
            path, method=method, json={"labels": ["beta"]}, headers={**auth("editor"), "If-Match": stale}
        )
        assert response.status_code == 412 and response.mimetype == "application/problem+json", method
        assert client.get(path, headers=auth("reader")).json == before


@pytest.mark.parametrize(
    "header, status",
    [("*", 200), ('"nope"', 412), ('"nope", {tag}', 200), ("W/{tag}", 412), ("", 412), ("{tag}", 200)],
)
def test_if_match_forms(client, ada, header, status):
    _, tag = read(client, LABELS.format(ada))
    response = client.post(
        LABELS.format(ada), json={"labels": ["beta"]}, headers={**auth("editor"), "If-Match": header.format(tag=tag)}
    )
    assert response.status_code == status, response.json


def test_guarded_label_and_customer_writes(client, ada):
    _, label = read(client, "/labels/labels/vip")
    _, customer = read(client, f"/customers/customers/{ada}")
    stale = '"0000000000000000000000000000000000000000"'
    for method, path, body, role, tag in (
        ("PATCH", "/labels/labels/vip", {"color": "#000000"}, "admin", label),
        ("PATCH", f"/customers/customers/{ada}", {"name": "Ada King"}, "admin", customer),
    ):
        response = client.open(path, method=method, json=body, headers={**auth(role), "If-Match": stale})
        assert response.status_code == 412
        assert client.get(path, headers=auth("reader")).headers["ETag"] == tag  # unchanged
        response = client.open(path, method=method, json=body, headers={**auth(role), "If-Match": tag})
        assert response.status_code == 200, response.json
        assert response.headers["ETag"] == read(client, path)[1] != tag
    for path in ("/labels/labels/vip", f"/customers/customers/{ada}"):
        assert client.delete(path, headers={**auth("admin"), "If-Match": stale}).status_code == 412
        _, tag = read(client, path)
        assert client.delete(path, headers={**auth("admin"), "If-Match": tag}).status_code == 204
        assert client.get(path, headers=auth("reader")).status_code == 404


def test_a_precondition_comes_after_404_and_before_400_and_422(client, ada):
    stale = {"If-Match": '"stale"'}
    missing = "/customers/customers/00000000-0000-4000-8000-000000000000/labels"
    assert client.post(missing, json={"labels": ["vip"]}, headers={**auth("editor"), **stale}).status_code == 404
    assert client.patch("/labels/labels/ghost", json={}, headers={**auth("admin"), **stale}).status_code == 404
    assert (
        client.post(LABELS.format(ada), json={"labels": ["vip"]}, headers={**auth("reader"), **stale}).status_code
        == 403
    )
    assert client.post(LABELS.format(ada), json={"labels": ["vip"]}, headers=stale).status_code == 401
    for body in ({"labels": "nope"}, {"labels": ["ghost"]}, "not json"):
        kwargs = {"data": body} if isinstance(body, str) else {"json": body}
        response = client.post(LABELS.format(ada), headers={**auth("editor"), **stale}, **kwargs)
        assert response.status_code == 412, body
    response = client.patch("/labels/labels/vip", json={"color": "red"}, headers={**auth("admin"), **stale})
    assert response.status_code == 412
    response = client.patch(f"/customers/customers/{ada}", data="{", headers={**auth("admin"), **stale})
    assert response.status_code == 412
    _, tag = read(client, LABELS.format(ada))
    response = client.post(LABELS.format(ada), json={"labels": ["ghost"]}, headers={**auth("editor"), "If-Match": tag})
    assert response.status_code == 422  # a fresh tag: the body's problem


def test_of_two_writers_with_the_same_tag_one_wins(client, ada):
    """The read-modify-write loop: every writer read the same tag, exactly one change lands."""
    _, tag = read(client, LABELS.format(ada))
    statuses, start = [], threading.Barrier(8)

    def write(n):
        start.wait()
        labels = ["vip", "beta"] if n % 2 else ["beta"]
        response = client.put(LABELS.format(ada), json={"labels": labels}, headers={**auth("editor"), "If-Match": tag})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [412] * 7
