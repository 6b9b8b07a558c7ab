"""Rate limits per token (RATE_LIMIT): reads and writes counted apart, in the store's
Redis, shared by every process; 429 after 401 and before 403; fail open."""

import socket
import threading
import time

import pytest

from customer_labels import settings
from customer_labels.service import create_app
from customer_labels.store import RedisStore

from .conftest import API_TOKENS, TOKENS, RoundTrips, auth, make_store
from .processes import call, start, stop, wait_until_up
from .redis_server import free_port

LIMITS = "reads:3/hour,writes:2/hour"
RATE_HEADERS = ("RateLimit-Policy", "RateLimit", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def limited_client(store, limit=LIMITS, **config):
    app = create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": store, "RATE_LIMIT": limit, **config})
    return app.test_client()


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.fast),
        pytest.param("fakeredis", marks=pytest.mark.fast),
        "redis",
        "cluster",
    ]
)
def limited(request):
    return limited_client(make_store(request.param, request))


def test_reads_are_limited_per_token_with_the_ietf_headers(limited):
    for remaining in (2, 1, 0):
        answer = limited.get("/labels/labels", headers=auth("reader"))
        assert answer.status_code == 200
        assert answer.headers["RateLimit-Policy"] == '"reads";q=3;w=3600'
        assert answer.headers["RateLimit-Remaining"] == str(remaining)
        assert answer.headers["RateLimit"].startswith(f'"reads";r={remaining};t=')
        assert 3590 <= int(answer.headers["RateLimit-Reset"]) <= 3600
        assert "Retry-After" not in answer.headers
    refused = limited.get("/labels/labels", headers=auth("reader"))
    assert refused.status_code == 429
    assert refused.content_type == "application/problem+json"
    assert refused.json["status"] == 429 and "Retry-After" in refused.json["detail"]
    assert int(refused.headers["Retry-After"]) == int(refused.headers["RateLimit-Reset"]) > 3590
    assert refused.headers["RateLimit-Remaining"] == "0"
    # Another token has its own count.
    assert limited.get("/labels/labels", headers=auth("editor")).headers["RateLimit-Remaining"] == "2"


def test_reads_and_writes_are_counted_apart(limited):
    for _ in range(3):
        assert limited.get("/labels/labels", headers=auth("admin")).status_code == 200
    assert limited.get("/labels/labels", headers=auth("admin")).status_code == 429
    created = limited.post("/labels/labels", json={"id": "vip", "name": "Vip"}, headers=auth("admin"))
    assert created.status_code == 201 and created.headers["RateLimit-Policy"] == '"writes";q=2;w=3600'
    assert limited.delete("/labels/labels/vip", headers=auth("admin")).status_code == 204
    assert limited.post("/labels/labels", json={"name": "Gold"}, headers=auth("admin")).status_code == 429
    # The refused write changed nothing.
    assert limited.get("/labels/labels", headers=auth("editor")).json["data"] == []


def test_a_limit_comes_after_401_and_before_403(limited):
    for _ in range(2):  # a reader's writes count, though its role may make none
        assert limited.post("/labels/labels", json={"name": "Vip"}, headers=auth("reader")).status_code == 403
    assert limited.post("/labels/labels", json={"name": "Vip"}, headers=auth("reader")).status_code == 429
    # No token, or a wrong one: 401, never counted, never 429.
    for headers in ({}, {"Authorization": "Bearer not-a-token-at-all"}):
        for _ in range(5):
            answer = limited.post("/labels/labels", json={"name": "Vip"}, headers=headers)
            assert answer.status_code == 401 and "RateLimit" not in answer.headers


def test_health_metrics_and_the_document_are_never_counted(limited):
    for _ in range(5):
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            answer = limited.get(path, headers=auth("admin"))
            assert answer.status_code == 200 and "RateLimit" not in answer.headers, path
    assert limited.get("/labels/labels", headers=auth("admin")).headers["RateLimit-Remaining"] == "2"


@pytest.mark.fast
def test_without_the_setting_nothing_is_limited_or_sent():
    client = limited_client(make_store("memory", None), limit=None)
    for _ in range(20):
        answer = client.get("/labels/labels", headers=auth("reader"))
        assert answer.status_code == 200 and not set(RATE_HEADERS) & set(answer.headers.keys())


@pytest.mark.fast
def test_the_mock_counts_per_token_too_and_browsers_may_read_the_headers():
    app = create_app({"DEV_MODE": True, "RATE_LIMIT": "1/minute"})
    client = app.test_client()
    origin = {"Origin": "http://localhost:3000"}
    reader = {"Authorization": "Bearer dev-reader"}
    first = client.get("/labels/labels", headers={**reader, **origin})
    assert first.status_code == 200
    exposed = {h.strip().lower() for h in first.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ratelimit", "ratelimit-policy", "ratelimit-remaining", "retry-after", "www-authenticate"} <= exposed
    assert client.get("/labels/labels", headers=reader).status_code == 429


@pytest.mark.fast
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("600/minute", {"reads": (600, 60), "writes": (600, 60)}),
        (" reads:600/minute, writes:60/minute ", {"reads": (600, 60), "writes": (60, 60)}),
        ("writes:100 per 10 seconds", {"writes": (100, 10)}),
        ("reads:5/day", {"reads": (5, 86400)}),
    ],
)
def test_the_setting_takes_one_limit_per_kind(raw, expected):
    from customer_labels.rate_limits import read_setting

    assert settings.from_env({"RATE_LIMIT": raw})["RATE_LIMIT"] == raw.strip()
    assert {kind: (limit.amount, limit.get_expiry()) for kind, limit in read_setting(raw).items()} == expected


@pytest.mark.fast
@pytest.mark.parametrize(
    "raw",
    ["lots", "10/fortnight", "10/minute;100/hour", "reads:10/minute,reads:5/minute", "deletes:5/minute", "reads:"],
)
def test_a_wrong_setting_stops_the_start_with_one_line(raw):
    with pytest.raises(settings.ConfigError, match="^RATE_LIMIT: "):
        settings.from_env({"RATE_LIMIT": raw})


def test_a_limited_request_costs_one_more_round_trip(real_redis, monkeypatch):
    client = limited_client(RedisStore(real_redis, "trips:"), limit="1000/hour")
    url = "/labels/labels"
    client.get(url, headers=auth("reader"))  # scripts loaded, connections open
    trips = RoundTrips(monkeypatch)
    for _ in range(5):
        assert client.get(url, headers=auth("reader")).status_code == 200
    limited_trips = trips.count
    unlimited = limited_client(RedisStore(real_redis, "trips:"), limit=None)
    unlimited.get(url, headers=auth("reader"))
    trips.count = 0
    for _ in range(5):
        assert unlimited.get(url, headers=auth("reader")).status_code == 200
    assert limited_trips == trips.count + 5


class SilentRedis:
    """A TCP server that accepts connections and never answers: a hung Redis."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                return

    def close(self):
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("redis", ["down", "hung"])
def test_when_redis_fails_requests_go_through_to_the_stores_503_within_2_s(redis):
    silent = SilentRedis() if redis == "hung" else None
    port = silent.port if silent else free_port()
    try:
        app = create_app(
            {
                "TESTING": True,
                "API_TOKENS": API_TOKENS,
                "REDIS_URL": f"redis://127.0.0.1:{port}/0",
                "RATE_LIMIT": "1/hour",
            }
        )
        client = app.test_client()
        for _ in range(2):  # the second over the limit, were it counted; and not asked, paused
            began = time.monotonic()
            answer = client.get("/labels/labels", headers=auth("reader"))
            assert time.monotonic() - began < 2.0
            assert answer.status_code == 503 and answer.content_type == "application/problem+json"
            assert "RateLimit" not in answer.headers
    finally:
        if silent:
            silent.close()


def test_two_processes_share_one_count(redis_url):
    """Two servers on one Redis, requests alternating between them: the limit holds
    across both, exactly, within one window."""
    ports = [free_port(), free_port()]
    env = {"REDIS_URL": redis_url, "API_TOKENS": API_TOKENS, "RATE_LIMIT": "reads:10/hour", "WEB_CONCURRENCY": "1"}
    servers = [start("python -m customer_labels.server", PORT=str(port), **env) for port in ports]
    try:
        for server, port in zip(servers, ports):
            wait_until_up(server, port)
        statuses = [call(ports[i % 2], "GET", "/labels/labels", token=TOKENS["reader"])[0] for i in range(16)]
        assert statuses == [200] * 10 + [429] * 6
        # Writes have no limit here.
        assert call(ports[0], "POST", "/labels/labels", {"name": "Vip"}, token=TOKENS["admin"])[0] == 201
    finally:
        for server in servers:
            stop(server)


@pytest.mark.fast
def test_the_document_names_429_on_exactly_the_operations_that_count():
    from customer_labels.schemas import openapi

    app = create_app({"DEV_MODE": True, "RATE_LIMIT": "1/hour"})
    client = app.test_client()
    document = openapi.build(mock=True)
    for op in openapi.operations(mock=True):
        path = op.path.replace("{customerId}", "00000000-0000-4000-8000-000000000000").replace("{labelId}", "x")
        statuses = [
            client.open(
                path, method=op.method.upper(), json={}, headers={"Authorization": "Bearer dev-admin"}
            ).status_code
            for _ in range(3)
        ]
        documented = "429" in document["paths"][op.path][op.method]["responses"]
        # Reads and writes have a count each: the second of each kind may already be refused.
        assert (429 in statuses) == documented, (op.method, op.path, statuses)
