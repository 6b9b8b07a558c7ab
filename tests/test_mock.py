"""The mock: admin API, namespaces, forced answers and latency, CORS and /docs."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from customer_labels.mock.prefer import FORCEABLE
from customer_labels.service import create_app
from customer_labels.store import namespaces_of

from .conftest import API_TOKENS, EXAMPLE, auth

ADA = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"
ATTACH = f"/customers/customers/{ADA}/labels"


def ids(response):
    return [item["id"] for item in response.json["data"]]


def in_namespace(name, role="editor"):
    return {**auth(role), "X-Mock-Namespace": name}


# -- the admin API -------------------------------------------------------------------


def test_reset_goes_back_to_the_seed(mock_client):
    mock_client.post(ATTACH, json={"labels": ["beta"]}, headers=auth("editor"))
    mock_client.delete("/labels/labels/vip", headers=auth("admin"))
    mock_client.post("/labels/labels", json={"name": "Extra"}, headers=auth("admin"))
    assert mock_client.post("/__admin/reset", headers=auth("admin")).status_code == 204
    assert ids(mock_client.get(ATTACH, headers=auth("reader"))) == ["newsletter", "vip"]
    assert len(ids(mock_client.get("/labels/labels", headers=auth("reader")))) == 4


def test_reset_without_a_seed_empties(store):
    client = create_app({"API_TOKENS": API_TOKENS, "STORE": store, "MOCK_MODE": True}).test_client()
    client.post("/labels/labels", json={"name": "x"}, headers=auth("admin"))
    assert client.post("/__admin/reset", headers=auth("admin")).status_code == 204
    assert client.get("/labels/labels", headers=auth("reader")).json["data"] == []


def test_snapshot_round_trip(mock_client):
    snapshot = mock_client.get("/__admin/snapshot", headers=auth("admin")).json
    assert [label["id"] for label in snapshot["labels"]] == ["beta", "churn-risk", "newsletter", "vip"]
    assert next(c for c in snapshot["customers"] if c["id"] == ADA)["labels"] == ["newsletter", "vip"]
    mock_client.post(ATTACH, json={"labels": ["beta"]}, headers=auth("editor"))
    assert mock_client.put("/__admin/snapshot", json=snapshot, headers=auth("admin")).status_code == 204
    assert mock_client.get("/__admin/snapshot", headers=auth("admin")).json == snapshot


def test_bad_snapshot_is_422_and_changes_nothing(mock_client):
    before = mock_client.get("/__admin/snapshot", headers=auth("admin")).json
    bad = {"labels": [{"id": "a", "name": "A"}], "customers": [{"id": ADA, "name": "Ada", "labels": ["a", "ghost"]}]}
    response = mock_client.put("/__admin/snapshot", json=bad, headers=auth("admin"))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert [e["path"] for e in response.json["errors"]] == ["/customers/0/labels/1"]
    assert mock_client.get("/__admin/snapshot", headers=auth("admin")).json == before
    assert mock_client.put("/__admin/snapshot", data=b"{", headers=auth("admin")).status_code == 400


@pytest.mark.parametrize(
    "method, path", [("post", "/__admin/reset"), ("get", "/__admin/snapshot"), ("put", "/__admin/snapshot")]
)
def test_admin_api_needs_the_admin_role(mock_client, method, path):
    assert getattr(mock_client, method)(path, json={}).status_code == 401
    assert getattr(mock_client, method)(path, json={}, headers=auth("editor")).status_code == 403


def test_no_mock_outside_mock_mode(client):
    assert client.post("/__admin/reset", headers=auth("admin")).status_code == 404
    assert client.get("/docs/").status_code == 404
    assert client.get("/__ns/a/labels/labels", headers=auth("reader")).status_code == 404
    client.post("/labels/labels", json={"name": "x"}, headers=auth("admin"))
    # The namespace header and Prefer are plain headers here: ignored.
    response = client.get("/labels/labels", headers={**auth("reader"), "X-Mock-Namespace": "a", "Prefer": "code=503"})
    assert response.status_code == 200 and len(response.json["data"]) == 1
    # No journal, no fault rules: nothing is recorded, and no request can be made to fail.
    for path in ("/__admin/requests", "/__admin/faults", "/__admin/coverage"):
        assert client.get(path, headers=auth("admin")).status_code == 404
    assert client.post("/__admin/faults", json={"status": 503}, headers=auth("admin")).status_code == 404
    assert client.application.config["STORE"].journal.entries(None, 10) == []


# -- namespaces ------------------------------------------------------------------------


def test_a_namespace_starts_from_the_seed_and_stays_apart(mock_client):
    mock_client.post(ATTACH, json={"labels": ["beta"]}, headers=in_namespace("one"))
    mock_client.delete("/labels/labels/vip", headers=in_namespace("one", "admin"))
    assert ids(mock_client.get(ATTACH, headers=in_namespace("one"))) == ["beta", "newsletter"]
    assert ids(mock_client.get(ATTACH, headers=in_namespace("two"))) == ["newsletter", "vip"]
    assert ids(mock_client.get(ATTACH, headers=auth("reader"))) == ["newsletter", "vip"]


def test_path_prefix_is_the_same_namespace_as_the_header(mock_client):
    created = mock_client.post("/__ns/one/labels/labels", json={"name": "Mine"}, headers=auth("admin"))
    assert created.status_code == 201
    assert created.headers["Location"] == f"/__ns/one/labels/labels/{created.json['id']}"
    assert mock_client.get(created.headers["Location"], headers=auth("reader")).status_code == 200
    assert mock_client.get(f"/labels/labels/{created.json['id']}", headers=in_namespace("one")).status_code == 200
    assert mock_client.get(f"/labels/labels/{created.json['id']}", headers=auth("reader")).status_code == 404


def test_reset_and_snapshot_act_on_the_callers_namespace(mock_client):
    mock_client.post(ATTACH, json={"labels": ["beta"]}, headers=in_namespace("one"))
    mock_client.post(ATTACH, json={"labels": ["beta"]}, headers=in_namespace("two"))
    assert mock_client.post("/__admin/reset", headers=in_namespace("one", "admin")).status_code == 204
    assert ids(mock_client.get(ATTACH, headers=in_namespace("one"))) == ["newsletter", "vip"]
    assert ids(mock_client.get(ATTACH, headers=in_namespace("two"))) == ["beta", "newsletter", "vip"]
    empty = {"labels": [], "customers": []}
    assert mock_client.put("/__ns/two/__admin/snapshot", json=empty, headers=auth("admin")).status_code == 204
    assert mock_client.get("/__admin/snapshot", headers=in_namespace("two", "admin")).json == empty
    assert len(mock_client.get("/__admin/snapshot", headers=auth("admin")).json["labels"]) == 4


@pytest.mark.parametrize("name", ["has space", "a/b", "x" * 65, "ünï"])
def test_bad_namespace_is_400_after_auth(mock_client, name):
    headers = {"X-Mock-Namespace": name.encode().decode("latin-1")}
    assert mock_client.get("/labels/labels", headers=headers).status_code == 401
    response = mock_client.get("/labels/labels", headers={**headers, **auth("reader")})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_parallel_threads_in_their_own_namespaces_never_meet(mock_app):
    def worker(n):
        client = mock_app.test_client()
        mine = f"worker-{n}"
        created = []
        for i in range(10):
            response = client.post(
                "/labels/labels", json={"id": f"w{n}-{i}", "name": f"W{n}-{i}"}, headers=in_namespace(mine, "admin")
            )
            assert response.status_code == 201
            created.append(response.json["id"])
            client.post(ATTACH, json={"labels": [created[-1]]}, headers=in_namespace(mine))
        labels = client.get("/labels/labels?limit=200", headers=in_namespace(mine, "reader"))
        attached = client.get(ATTACH, headers=in_namespace(mine, "reader"))
        return n, set(ids(labels)), set(ids(attached))

    barrier = threading.Barrier(8)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: (barrier.wait(), worker(n))[1], range(8)))
    seeded = {"beta", "churn-risk", "newsletter", "vip"}
    for n, labels, attached in results:
        mine = {f"w{n}-{i}" for i in range(10)}
        assert labels == seeded | mine
        assert attached == {"newsletter", "vip"} | mine


def test_idle_namespaces_expire(store, monkeypatch):
    app = create_app(
        {"API_TOKENS": API_TOKENS, "STORE": store, "MOCK_MODE": True, "SEED_FILE": EXAMPLE, "MOCK_NAMESPACE_TTL": 1}
    )
    namespaces = namespaces_of(app)
    now = [1_000_000.0]
    namespaces.clock = lambda: now[0]
    client = app.test_client()
    client.post(ATTACH, json={"labels": ["beta"]}, headers=in_namespace("idle"))
    client.post(ATTACH, json={"labels": ["beta"]}, headers=auth("editor"))  # the default never expires
    now[0] += 0.9
    client.get("/labels/labels", headers=in_namespace("other", "reader"))  # used within the TTL: kept
    assert "idle" in namespaces._stores
    now[0] += 0.4  # 1.3 s after its last use
    client.get("/labels/labels", headers=in_namespace("other", "reader"))  # any use sweeps
    assert "idle" not in namespaces._stores
    if hasattr(store, "_redis"):
        assert not store._redis.keys("test:ns:{idle}:*")
    assert ids(client.get(ATTACH, headers=in_namespace("idle"))) == ["newsletter", "vip"]  # seeded afresh
    assert ids(client.get(ATTACH, headers=auth("reader"))) == ["beta", "newsletter", "vip"]


# -- forced answers and latency -------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(FORCEABLE))
def test_prefer_code_forces_a_realistic_problem_and_changes_nothing(mock_client, code):
    response = mock_client.post(ATTACH, json={"labels": ["beta"]}, headers={**auth("editor"), "Prefer": f"code={code}"})
    assert response.status_code == code
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == code and response.json["detail"]
    assert response.headers["Preference-Applied"] == f"code={code}"
    if code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if code == 503:
        assert int(response.headers["Retry-After"]) > 0
    if code == 422:
        assert response.json["errors"]
    assert ids(mock_client.get(ATTACH, headers=auth("reader"))) == ["newsletter", "vip"]


def test_prefer_code_on_a_create_changes_nothing(mock_client):
    response = mock_client.post("/labels/labels", json={"name": "New"}, headers={**auth("admin"), "Prefer": "code=500"})
    assert response.status_code == 500
    assert len(mock_client.get("/labels/labels", headers=auth("reader")).json["data"]) == 4


@pytest.mark.parametrize("header", ["code=418", "code=abc", "code=200", "delay=-1", "delay=60001", "delay=soon"])
def test_prefer_values_the_mock_cannot_honour_are_400(mock_client, header):
    response = mock_client.get("/labels/labels", headers={**auth("reader"), "Prefer": header})
    assert response.status_code == 400
    assert "Prefer" in response.json["detail"]


def test_prefer_delay_waits_and_other_preferences_are_ignored(mock_client):
    started = time.monotonic()
    response = mock_client.get("/labels/labels", headers={**auth("reader"), "Prefer": 'return=minimal, DELAY="250"'})
    assert time.monotonic() - started >= 0.25
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "delay=250"


def test_prefer_does_not_touch_the_mocks_own_endpoints(mock_client):
    assert mock_client.get("/__admin/snapshot", headers={**auth("admin"), "Prefer": "code=503"}).status_code == 200
    assert mock_client.get("/healthz", headers={"Prefer": "code=500"}).status_code == 200


def test_mock_latency_applies_to_every_api_request(store):
    app = create_app({"API_TOKENS": API_TOKENS, "STORE": store, "MOCK_MODE": True, "MOCK_LATENCY_MS": (60, 80)})
    client = app.test_client()
    for _ in range(3):
        started = time.monotonic()
        assert client.get("/labels/labels", headers=auth("reader")).status_code == 200
        assert time.monotonic() - started >= 0.06


# -- CORS and /docs ----------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5173", "http://localhost"])
def test_preflight_from_a_local_origin_needs_no_token(mock_client, origin):
    response = mock_client.options(
        ATTACH,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_cors_answers_expose_the_request_id(mock_client):
    response = mock_client.get(ATTACH, headers={**auth("reader"), "Origin": "http://localhost:3000"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("origin", ["http://evil.example", "https://localhost:3000", "http://localhost.evil.example"])
def test_other_origins_are_not_allowed_by_default(mock_client, origin):
    response = mock_client.get(ATTACH, headers={**auth("reader"), "Origin": origin})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_origins_setting(store, monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.com, https://admin.example.com")
    client = create_app({"API_TOKENS": API_TOKENS, "STORE": store}).test_client()
    allowed = client.get("/labels/labels", headers={**auth("reader"), "Origin": "https://admin.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://admin.example.com"
    local = client.get("/labels/labels", headers={**auth("reader"), "Origin": "http://localhost:3000"})
    assert "Access-Control-Allow-Origin" not in local.headers


def test_no_cors_in_production_by_default(client):
    response = client.get("/labels/labels", headers={**auth("reader"), "Origin": "http://localhost:3000"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_docs_page_is_served_from_bundled_assets(mock_client):
    page = mock_client.get("/docs/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "/docs/swagger-ui-bundle.js" in html and '"url": "/openapi.json"' in html
    # Every script, style and image comes from this service: nothing from a CDN.
    assert re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(url.startswith("/docs/") for url in re.findall(r'(?:src|href)="([^"]+)"', html))
    assert all(url.startswith("http://localhost/") for url in re.findall(r"https?://[^\"' ]+", html))
    script = mock_client.get("/docs/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.data) > 100_000
