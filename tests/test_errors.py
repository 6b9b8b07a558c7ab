"""Bad input: every error is problem+json, in the order 401, 403, 404, 400, 422."""

import json

import pytest

from customer_labels.store import MemoryStore

from .conftest import auth

MISSING = "5d0c1e9e-4f0b-4c1e-9a51-0d5e1c0ffee0"  # a well-formed id that names no customer


def assert_problem(response, status):
    assert response.status_code == status, response.data
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert "Traceback" not in response.get_data(as_text=True)
    return body


@pytest.fixture
def world(make):
    """One label and one customer that exist."""
    make.label("VIP", id="vip")
    return {"customer": make.customer()["id"], "label": "vip"}


# (method, url with {customer} or {label}, role that may call it, schema-invalid body)
BODY_OPERATIONS = [
    ("post", "/customers/customers/{customer}/labels", "editor", {"labels": []}),
    ("delete", "/customers/customers/{customer}/labels", "editor", {"labels": "vip"}),
    ("patch", "/customers/customers/{customer}", "admin", {"name": ""}),
    ("patch", "/labels/labels/{label}", "admin", {"color": "red"}),
]


@pytest.mark.parametrize("method, url, role, invalid", BODY_OPERATIONS)
@pytest.mark.parametrize(
    "who, exists, body, status",
    [
        (None, False, b"{not json", 401),
        ("wrong", False, b"{not json", 401),
        ("reader", False, b"{not json", 403),
        ("ok", False, b"{not json", 404),
        ("ok", True, b"{not json", 400),
        ("ok", True, "invalid", 422),
    ],
)
def test_checks_run_in_order(client, world, method, url, role, invalid, who, exists, body, status):
    ids = world if exists else {"customer": MISSING, "label": "missing"}
    headers = {
        None: {},
        "wrong": {"Authorization": "Bearer not-a-token"},
        "reader": auth("reader"),
        "ok": auth(role),
    }[who]
    data = json.dumps(invalid) if body == "invalid" else body
    response = getattr(client, method)(url.format(**ids), data=data, headers=headers)
    assert_problem(response, status)
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "url, body, path",
    [
        ("/labels/labels", {}, ""),
        ("/labels/labels", {"name": ""}, "/name"),
        ("/labels/labels", {"name": "x" * 101}, "/name"),
        ("/labels/labels", {"name": 5}, "/name"),
        ("/labels/labels", {"name": "a", "color": "#12345"}, "/color"),
        ("/labels/labels", {"name": "a", "color": "blue"}, "/color"),
        ("/labels/labels", {"name": "a", "description": "d" * 501}, "/description"),
        ("/labels/labels", {"name": "a", "id": "has space"}, "/id"),
        ("/labels/labels", {"name": "a", "id": "x" * 65}, "/id"),
        ("/labels/labels", {"name": "a", "id": ""}, "/id"),
        ("/labels/labels", {"name": "a", "extra": 1}, ""),
        ("/labels/labels", ["name"], ""),
        ("/customers/customers", {"name": "a", "id": "not-a-uuid"}, "/id"),
        ("/customers/customers", {"name": "a", "email": "no-at-sign"}, "/email"),
        ("/customers/customers", {"name": "a", "email": 7}, "/email"),
        ("/customers/customers", {"email": "a@b.c"}, ""),
        ("/customers/customers/{customer}/labels", {}, ""),
        ("/customers/customers/{customer}/labels", {"labels": []}, "/labels"),
        ("/customers/customers/{customer}/labels", {"labels": ["a"] * 101}, "/labels"),
        ("/customers/customers/{customer}/labels", {"labels": [""]}, "/labels/0"),
        ("/customers/customers/{customer}/labels", {"labels": ["vip", "x" * 65]}, "/labels/1"),
        ("/customers/customers/{customer}/labels", {"labels": ["vip", 3]}, "/labels/1"),
        ("/customers/customers/{customer}/labels", {"labels": ["vip"], "more": True}, ""),
        ("/customers/customers/{customer}/labels", {"labels": None}, "/labels"),
        ("/customers/customers/{customer}/labels", "labels", ""),
    ],
)
def test_schema_violations_are_422_with_pointers(client, world, url, body, path):
    response = client.post(url.format(**world), json=body, headers=auth("admin"))
    problem = assert_problem(response, 422)
    assert path in [error["path"] for error in problem["errors"]]
    assert all(error["message"] for error in problem["errors"])
    if "{customer}" in url:
        assert client.get(url.format(**world), headers=auth("reader")).json == {"data": []}


@pytest.mark.parametrize("url", ["/labels/labels/{label}", "/customers/customers/{customer}"])
def test_empty_patch_is_422(client, world, url):
    assert_problem(client.patch(url.format(**world), json={}, headers=auth("admin")), 422)


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "text/plain", "application/json; charset=utf-8"],
)
def test_body_is_json_whatever_the_content_type(client, world, content_type):
    headers = auth("editor")
    if content_type:
        headers["Content-Type"] = content_type
    url = f"/customers/customers/{world['customer']}/labels"
    response = client.post(url, data='{"labels": ["vip"]}', headers=headers)
    assert response.status_code == 200
    assert [label["id"] for label in response.json["data"]] == ["vip"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b'{"labels": ["vip"]',
        b"labels=vip",
        b'{"labels": ["vip"]} trailing',
        b'{"labels": NaN}',
        b'{"labels": [Infinity]}',
        b'{"labels": ["\\ud800"]}',
        # Python's json reads bytes with surrogatepass: a surrogate's own bytes, with no
        # escape, in UTF-8 and in UTF-16.
        b'{"labels": ["\xed\xa0\x80"]}',
        '{"labels": ["\ud800"]}'.encode("utf-16-le", "surrogatepass"),
        b'{"labels": ["\xff\xfe"]}',
        b"[" * 30000 + b"]" * 30000,
    ],
    ids=[
        "empty",
        "blank",
        "truncated",
        "form",
        "trailing",
        "nan",
        "infinity",
        "surrogate",
        "surrogate-bytes",
        "surrogate-utf16",
        "not-utf8",
        "deep",
    ],
)
def test_body_that_is_not_json_is_400(client, world, data):
    url = f"/customers/customers/{world['customer']}/labels"
    assert_problem(client.post(url, data=data, headers=auth("editor")), 400)
    assert client.get(url, headers=auth("reader")).json == {"data": []}


def test_body_over_64_kib_is_413(client, world):
    url = f"/customers/customers/{world['customer']}/labels"
    padding = " " * (64 * 1024)
    assert_problem(client.post(url, data='{"labels": ["vip"]}' + padding, headers=auth("editor")), 413)
    at_limit = '{"labels": ["vip"]}'
    at_limit += " " * (64 * 1024 - len(at_limit))
    assert client.post(url, data=at_limit, headers=auth("editor")).status_code == 200


def test_unknown_route_is_a_problem(client):
    assert_problem(client.get("/no/such/route"), 404)


def test_unknown_method_is_a_problem_with_allow(client, world):
    response = client.patch(f"/customers/customers/{world['customer']}/labels", headers=auth("admin"))
    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST", "DELETE", "PUT"}


class BrokenStore(MemoryStore):
    def _labels_json(self, *args):
        raise RuntimeError("secret internals")


def test_unexpected_error_is_500_without_a_trace(caplog):
    from customer_labels.service import create_app

    from .conftest import API_TOKENS

    app = create_app({"API_TOKENS": API_TOKENS, "STORE": BrokenStore()})
    client = app.test_client()
    customer = client.post("/customers/customers", json={"name": "a"}, headers=auth("admin")).json["id"]
    response = client.get(f"/customers/customers/{customer}/labels", headers=auth("reader"))
    body = assert_problem(response, 500)
    assert "secret" not in json.dumps(body)
    assert "secret internals" in caplog.text  # the log keeps the cause


def test_messages_do_not_echo_huge_values(client, world):
    response = client.post("/labels/labels", json={"name": "x" * 60000}, headers=auth("admin"))
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["path"] == "/name"
    assert len(response.data) < 2000
