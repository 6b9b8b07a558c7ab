"""Bearer tokens and the role ladder: reader < editor < admin."""

import hashlib

import pytest

from customer_labels import auth as auth_module
from customer_labels import settings
from customer_labels.auth import ROLES
from customer_labels.auth.tokens import TokenTable, digest
from customer_labels.schemas.openapi import OPERATIONS
from customer_labels.service import create_app
from customer_labels.settings import ConfigError
from customer_labels.store import MemoryStore

from .conftest import API_TOKENS, TOKENS, auth, call_operation


@pytest.fixture
def urls(make):
    make.label("VIP", id="vip")
    customer = make.customer()["id"]
    make.attach(customer, "vip")
    return {"{customerId}": customer, "{labelId}": "vip"}


SECURED = [op for op in OPERATIONS if op.role]


@pytest.mark.parametrize("op", SECURED, ids=lambda op: op.op_id)
@pytest.mark.parametrize("role", ROLES)
def test_role_ladder(client, urls, op, role):
    response = call_operation(client, op, urls, auth(role))
    if ROLES.index(role) >= ROLES.index(op.role):
        assert response.status_code == op.ok, response.json
    else:
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"


#: Authorization headers that name no token this service knows.
NO_TOKEN = [
    None,
    "Bearer",
    "Bearer ",
    "Bearer wrong-token",
    f"Bearer {TOKENS['admin']}x",
    f"Basic {TOKENS['admin']}",
    TOKENS["admin"],
    "Bearer a=b",  # auth parameters, not a token
]


@pytest.mark.parametrize("op", SECURED, ids=lambda op: op.op_id)
def test_missing_or_unknown_token_is_401(client, urls, op):
    # Every header on one set of resources: each call is refused before it reaches them.
    for header in NO_TOKEN:
        headers = {"Authorization": header} if header else {}
        response = call_operation(client, op, urls, headers)
        assert response.status_code == 401, header
        assert response.mimetype == "application/problem+json", header
        assert response.headers["WWW-Authenticate"].startswith("Bearer "), header


@pytest.mark.parametrize("form", ["bearer {}", "BEARER {}", "Bearer  {} "])
def test_scheme_is_case_insensitive(client, form):
    response = client.get("/labels/labels", headers={"Authorization": form.format(TOKENS["reader"])})
    assert response.status_code == 200


def test_openapi_needs_no_token(client):
    assert client.get("/openapi.json").status_code == 200


@pytest.mark.parametrize(
    "spec, message",
    [
        ("s3cret-one-0123456789", "entry 1 is not token:role"),
        (":admin", "entry 1 is not token:role"),
        ("s3cret-one-0123456789:admin,,s3cret-two-0123456789:reader", "entry 2 is not token:role"),
        ("s3cret-one-0123456789:admin,s3cret-two-0123456789:owner", "entry 2 has unknown role 'owner'"),
        ("s3cret-one-0123456789:admin,s3cret-one-0123456789:reader", "entry 2 repeats an earlier token"),
        ("s3cret-one-0123456789:Admin", "unknown role 'Admin'"),
        ("s3cret-one-0123456789:admin,s3cret:reader", "entry 2 is shorter than 16 characters"),
        ("sha256:abc:admin", "entry 1 is not sha256:<64 hex digits>:role"),
        ("sha256:" + "g" * 64 + ":admin", "entry 1 is not sha256:<64 hex digits>:role"),
        (
            f"s3cret-one-0123456789:admin,sha256:{digest('s3cret-one-0123456789').hex()}:reader",
            "entry 2 repeats an earlier token",
        ),
    ],
)
def test_malformed_api_tokens_stop_the_app(spec, message):
    with pytest.raises(ConfigError) as err:
        create_app({"API_TOKENS": spec, "STORE": MemoryStore()})
    assert str(err.value).startswith("API_TOKENS: ")
    assert message in str(err.value)
    assert "s3cret" not in str(err.value)  # the message never shows a token


def test_token_may_contain_colons():
    table = TokenTable.parse("abc:def:editor, xyz:reader")
    assert table.find("abc:def").role == "editor"
    assert table.find("xyz").role == "reader"
    assert table.find("abc") is None and table.find("") is None


def test_api_tokens_required_outside_dev_mode():
    with pytest.raises(ConfigError, match="API_TOKENS"):
        create_app({"STORE": MemoryStore()})


def test_dev_mode_accepts_the_dev_tokens(store):
    client = create_app({"DEV_MODE": True, "STORE": store}).test_client()
    for role in ROLES:
        assert client.get("/labels/labels", headers={"Authorization": f"Bearer dev-{role}"}).status_code == 200
    response = client.post("/labels/labels", json={"name": "x"}, headers={"Authorization": "Bearer dev-editor"})
    assert response.status_code == 403


def test_dev_mode_with_api_tokens_uses_only_those(store):
    client = create_app({"DEV_MODE": True, "API_TOKENS": API_TOKENS, "STORE": store}).test_client()
    assert client.get("/labels/labels", headers={"Authorization": "Bearer dev-admin"}).status_code == 401
    assert client.get("/labels/labels", headers=auth("reader")).status_code == 200


def test_hashed_tokens_work_like_plain_ones(store):
    plain = "a-token-that-only-its-owner-knows"
    spec = f"sha256:{hashlib.sha256(plain.encode()).hexdigest().upper()}:editor"
    client = create_app({"API_TOKENS": spec, "STORE": store}).test_client()
    assert client.get("/labels/labels", headers={"Authorization": f"Bearer {plain}"}).status_code == 200
    response = client.post("/labels/labels", json={"name": "x"}, headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 403
    # The hash itself is not a token.
    hashed = {"Authorization": f"Bearer sha256:{hashlib.sha256(plain.encode()).hexdigest()}"}
    assert client.get("/labels/labels", headers=hashed).status_code == 401


def test_short_tokens_are_fine_in_dev_mode():
    client = create_app({"API_TOKENS": "short:admin", "DEV_MODE": True, "STORE": MemoryStore()}).test_client()
    assert client.get("/labels/labels", headers={"Authorization": "Bearer short"}).status_code == 200


def test_one_token_per_role_from_its_own_setting(store):
    """What a platform's generated secrets give (app.json): a token each, beside API_TOKENS."""
    tokens = {"READER_TOKEN": "r" * 32, "EDITOR_TOKEN": "e" * 32, "ADMIN_TOKEN": "a" * 32}
    client = create_app({**tokens, "API_TOKENS": API_TOKENS, "STORE": store}).test_client()
    client.post("/labels/labels", json={"id": "vip", "name": "VIP"}, headers=auth("admin"))
    customer = client.post("/customers/customers", json={"name": "C"}, headers=auth("admin")).json["id"]
    attach = f"/customers/customers/{customer}/labels"
    for name, token in tokens.items():
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get(attach, headers=bearer).status_code == 200
        attached = client.post(attach, json={"labels": ["vip"]}, headers=bearer).status_code
        assert attached == (403 if name == "READER_TOKEN" else 200)
        created = client.post("/labels/labels", json={"name": name}, headers=bearer).status_code
        assert created == (201 if name == "ADMIN_TOKEN" else 403)
    assert client.get("/labels/labels", headers=auth("admin")).status_code == 200  # API_TOKENS still counts
    alone = create_app({"ADMIN_TOKEN": "a" * 32, "STORE": store}).test_client()  # no API_TOKENS needed
    assert alone.get("/labels/labels", headers={"Authorization": f"Bearer {'a' * 32}"}).status_code == 200


@pytest.mark.fast
@pytest.mark.parametrize(
    "config, message",
    [
        ({"ADMIN_TOKEN": "s3cret"}, "ADMIN_TOKEN: the token is shorter than 16 characters"),
        (
            {"READER_TOKEN": "s3cret-one-0123456789", "EDITOR_TOKEN": "s3cret-one-0123456789"},
            "EDITOR_TOKEN: the token repeats",
        ),
        (
            {"API_TOKENS": "s3cret-one-0123456789:admin", "READER_TOKEN": "s3cret-one-0123456789"},
            "READER_TOKEN: the token repeats",
        ),
        ({"EDITOR_TOKEN": "sha256:abc"}, "EDITOR_TOKEN: the token is not sha256:<64 hex digits>"),
    ],
)
def test_a_wrong_role_token_stops_the_app(config, message):
    with pytest.raises(ConfigError) as err:
        create_app({**config, "STORE": MemoryStore()})
    assert str(err.value).startswith(message) and "s3cret" not in str(err.value)


@pytest.mark.fast
def test_role_tokens_are_read_from_the_environment():
    found = settings.from_env({"ADMIN_TOKEN": " a-token-0123456789 \n", "READER_TOKEN": "  "})
    assert found == {"ADMIN_TOKEN": "a-token-0123456789"}  # blank counts as unset


def test_an_async_view_is_refused_where_it_is_wrapped():
    # The auth calls views and callbacks as plain functions (auth._TokenAuth.ensure_sync):
    # a coroutine function would answer with a coroutine, so it is refused at import.
    async def view():
        return "never"

    with pytest.raises(TypeError, match="async views are not supported"):
        auth_module.auth.login_required(role="reader")(view)
    with pytest.raises(TypeError, match="async views are not supported"):
        auth_module.auth.login_required(view)
