"""Fixtures: every API test runs once per store: memory, fakeredis, a real
Redis, and a real 3-master Redis Cluster."""

import hashlib
import json
import os
import shutil
import threading

import fakeredis
import pytest
import redis
from pytest_redis import factories

from customer_labels.service import create_app
from customer_labels.settings import DEFAULTS
from customer_labels.store import ClusterStore, MemoryStore, RedisStore
from customer_labels.store.connection import make_client

from .redis_server import RedisClusterServers, redis_server, require_redis_server  # noqa: F401 (a fixture)

TOKENS = {"reader": "reader-token-0123456789", "editor": "editor-token-0123456789", "admin": "admin-token-0123456789"}
API_TOKENS = ",".join(f"{token}:{role}" for role, token in TOKENS.items())
PREFIX = "test:"

if os.environ.get("TEST_REDIS_SERVER"):
    redis_proc = factories.redis_proc(executable=shutil.which(os.environ["TEST_REDIS_SERVER"]))
redis_client = factories.redisdb("redis_proc", decode=True)


@pytest.fixture
def real_redis(request):
    """A client of a real redis-server (pytest-redis), emptied after each test."""
    require_redis_server()
    return request.getfixturevalue("redis_client")


@pytest.fixture
def redis_url(real_redis, redis_proc):
    """A redis:// URL of the same real server (over TCP)."""
    return f"redis://{redis_proc.host}:{redis_proc.port}/0"


@pytest.fixture(scope="session")
def redis_cluster_servers(tmp_path_factory):
    """A real 3-master Redis Cluster, for the whole session."""
    cluster = RedisClusterServers(tmp_path_factory.mktemp("cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_cluster(redis_cluster_servers):
    """The session's cluster, emptied after each test."""
    yield redis_cluster_servers
    redis_cluster_servers.flush()


@pytest.fixture
def cluster_client(redis_cluster):
    """A client of the cluster as the service makes it (REDIS_CLUSTER=true)."""
    return make_client(redis_cluster.url, cluster=True)


def fake_redis():
    """A fakeredis client of a server of its own, whose Lua has ``redis.sha1hex`` as
    Redis and Valkey have it (fakeredis leaves it out; the If-Match checks use it)."""
    server = fakeredis.FakeServer()
    client = fakeredis.FakeRedis(server=server, decode_responses=True)
    client.eval("return 0", 0)  # the server's Lua runtime, made once and kept
    server._lua_runtime.globals().redis.sha1hex = lambda text: hashlib.sha1(text).hexdigest().encode()
    return client


#: Bytes of copies the real-Redis store keeps in the tests: the service's default.
COPIES = DEFAULTS["REDIS_CACHE_MB"] * 1024 * 1024


def make_store(kind, request):
    if kind == "memory":
        return MemoryStore()
    if kind == "fakeredis":
        return RedisStore(fake_redis(), PREFIX)
    # As the service makes it: with copies of customers' labels (store/copies.py).
    if kind == "cluster":
        return ClusterStore(request.getfixturevalue("cluster_client"), PREFIX, copies=COPIES)
    return RedisStore(request.getfixturevalue("real_redis"), PREFIX, copies=COPIES)


#: The stores every API test runs on. The first two need no server: they are the
#: inner loop (`make test-fast`, `pytest -m fast`).
STORES = [
    pytest.param("memory", marks=pytest.mark.fast),
    pytest.param("fakeredis", marks=pytest.mark.fast),
    "redis",
    "cluster",
]


@pytest.fixture(params=STORES)
def store(request):
    return make_store(request.param, request)


@pytest.fixture
def app(store):
    return create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": store})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class RoundTrips:
    """Counts what redis-py sends from this thread, a request's: one packed send is one
    round trip (the checks of the connections that take Redis's reports run in a thread
    of their own, copies.py)."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = redis.connection.AbstractConnection.send_packed_command
        thread = threading.get_ident()

        def counted(connection, *args, **kwargs):
            self.count += threading.get_ident() == thread
            return original(connection, *args, **kwargs)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)


def tracking(client):
    """The ids of the connections that take Redis's reports of changes (flag t)."""
    return {c["id"] for c in client.client_list() if "t" in c["flags"]}


def labels_of(store, customer_id, change="get", label_ids=()):
    """A customer's labels through the store's one path (``labels_json``), parsed."""
    return json.loads(store.labels_json(customer_id, change, label_ids))["data"]


def auth(role):
    """Request headers that authenticate as ``role``."""
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def walk(client, url, limit=None, between=None, query=()):
    """Every id on every page of a listing, and each page's size. ``query``: more
    parameters (a dict, or pairs, a name repeated); ``between(pages so far)`` runs after
    each page but the last."""
    ids, sizes, cursor = [], [], None
    while True:
        params = list(query.items() if isinstance(query, dict) else query)
        params += [("limit", limit)] * (limit is not None) + [("cursor", cursor)] * (cursor is not None)
        response = client.get(url, query_string=params, headers=auth("reader"))
        assert response.status_code == 200, response.json
        data = response.json["data"]
        assert limit is None or len(data) <= limit
        ids += [item["id"] for item in data]
        sizes.append(len(data))
        cursor = response.json["nextCursor"]
        if cursor is None:
            return ids, sizes
        if between:
            between(len(sizes))


#: A valid body for each request schema of the document.
BODIES = {
    "LabelCreate": {"name": "New"},
    "LabelUpdate": {"name": "Renamed"},
    "CustomerCreate": {"name": "New"},
    "CustomerUpdate": {"name": "Renamed"},
    "CustomerLabelsChange": {"labels": ["vip"]},
    "CustomerLabelsReplace": {"labels": ["vip"]},
    "LabelCustomersChange": {"customers": ["3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"]},
    "FaultRule": {"status": 503, "times": 1},
}


def call_operation(client, op, ids, headers):
    """Call a documented operation with a valid body; ``ids`` fill the path."""
    path = op.path
    for name, value in ids.items():
        path = path.replace(name, value)
    body = BODIES.get(op.body)
    if op.body == "LabelCustomersChange" and "{customerId}" in ids:
        body = {"customers": [ids["{customerId}"]]}
    return client.open(path, method=op.method.upper(), json=body, headers=headers)


class Maker:
    """Makes labels and customers through the API, as an admin."""

    def __init__(self, client):
        self.client = client

    def label(self, name=None, **fields):
        fields["name"] = name or f"label-{fields.get('id', os.urandom(4).hex())}"
        response = self.client.post("/labels/labels", json=fields, headers=auth("admin"))
        assert response.status_code == 201, response.json
        return response.json

    def customer(self, name="Ada", **fields):
        response = self.client.post("/customers/customers", json={"name": name, **fields}, headers=auth("admin"))
        assert response.status_code == 201, response.json
        return response.json

    def attach(self, customer_id, *label_ids):
        response = self.client.post(
            f"/customers/customers/{customer_id}/labels", json={"labels": list(label_ids)}, headers=auth("editor")
        )
        assert response.status_code == 200, response.json
        return response.json["data"]


@pytest.fixture
def make(client):
    return Maker(client)


EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "example.json")


@pytest.fixture
def mock_app(store):
    """The app in mock mode, seeded from fixtures/example.json."""
    return create_app(
        {"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": store, "MOCK_MODE": True, "SEED_FILE": EXAMPLE}
    )


@pytest.fixture
def mock_client(mock_app):
    return mock_app.test_client()


@pytest.fixture
def memory_client():
    """The app on the in-memory store alone: for checks of input that no store sees."""
    return create_app({"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": MemoryStore()}).test_client()


@pytest.fixture
def memory_mock_client():
    """The mock on the in-memory store alone: for checks of input that no store sees."""
    config = {"TESTING": True, "API_TOKENS": API_TOKENS, "STORE": MemoryStore(), "MOCK_MODE": True}
    return create_app({**config, "SEED_FILE": EXAMPLE}).test_client()
