"""Choosing the store from a URL, and settings from the environment."""

import os

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from customer_labels import settings
from customer_labels.service import create_app
from customer_labels.settings import ConfigError
from customer_labels.store import ClusterStore, MemoryStore, RedisStore, store_from_url

from .conftest import API_TOKENS, auth, labels_of


@pytest.mark.parametrize(
    "url, kind",
    [
        ("memory://", MemoryStore),
        ("redis://localhost:6379/0", RedisStore),
        ("rediss://user:pw@example.invalid:6380/0", RedisStore),
        ("unix:///tmp/redis.sock", RedisStore),
    ],
)
def test_store_from_url(url, kind):
    assert type(store_from_url(url)) is kind


@pytest.mark.parametrize("url", ["mysql://localhost", "redis+sentinel://x", "localhost:6379", "", "memory"])
def test_unknown_store_url_is_a_clear_error(url):
    with pytest.raises(ConfigError) as err:
        store_from_url(url)
    assert str(err.value).startswith("REDIS_URL: unknown store")
    assert "memory://, redis://, rediss://, unix://" in str(err.value)


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "rediss://user:pw@example.invalid:6380/0"])
def test_store_from_url_on_a_cluster(url):
    """A cluster store connects on first use: a cluster down at start is a 503, not a failed start."""
    store = store_from_url(url, cluster=True)
    assert type(store) is ClusterStore
    assert type(store.namespace("a")) is RedisStore  # a namespace is one slot: the single-node scripts


@pytest.mark.parametrize("url", ["unix:///tmp/redis.sock", "memory://"])
def test_a_cluster_needs_a_tcp_url(url):
    with pytest.raises(ConfigError, match="REDIS_CLUSTER: a cluster needs a redis:// or rediss:// URL"):
        store_from_url(url, cluster=True)


def test_unknown_scheme_stops_create_app():
    with pytest.raises(ConfigError, match="REDIS_URL"):
        create_app({"API_TOKENS": API_TOKENS, "REDIS_URL": "postgres://db"})


def test_redis_store_needs_decoded_responses():
    with pytest.raises(ValueError, match="decode_responses"):
        RedisStore(redis.Redis())


def test_environment_settings(monkeypatch):
    monkeypatch.setenv("API_TOKENS", API_TOKENS)
    monkeypatch.setenv("REDIS_URL", "memory://")
    monkeypatch.setenv("REDIS_KEY_PREFIX", "  ")  # blank counts as unset
    app = create_app()
    assert app.config["API_TOKENS"] == API_TOKENS
    assert app.config["REDIS_KEY_PREFIX"] == settings.DEFAULTS["REDIS_KEY_PREFIX"]
    assert app.test_client().get("/labels/labels", headers=auth("reader")).status_code == 200


def test_config_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "nonsense://")
    app = create_app({"API_TOKENS": API_TOKENS, "REDIS_URL": "memory://"})
    assert isinstance(app.extensions["customer_labels.store"].default, MemoryStore)


def test_redis_url_reaches_real_redis_with_prefix(real_redis, redis_url):
    app = create_app({"API_TOKENS": API_TOKENS, "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": "svc1:"})
    response = app.test_client().post("/labels/labels", json={"name": "VIP", "id": "vip"}, headers=auth("admin"))
    assert response.status_code == 201
    keys = set(real_redis.keys("*"))
    assert keys and all(key.startswith("svc1:") for key in keys)
    assert "svc1:{svc1:catalogue}:label:vip" in keys


def test_two_prefixes_share_one_redis_without_mixing(real_redis):
    a = RedisStore(real_redis, "a:")
    b = RedisStore(real_redis, "b:")
    a.create_label({"name": "VIP", "id": "vip"})
    b.create_label({"name": "VIP", "id": "vip"})  # same id and name, another prefix
    customer = a.create_customer({"name": "Ada"})["id"]
    labels_of(a, customer, "attach", ["vip"])
    assert b.list_labels(10).items[0]["id"] == "vip"
    assert b.list_customers(10).items == []
    b.delete_label("vip")
    assert [label["id"] for label in labels_of(a, customer)] == ["vip"]


def test_check(store):
    assert store.check() is True


def test_check_is_false_when_redis_is_unreachable():
    no_retry = Retry(NoBackoff(), 0)
    client = redis.Redis(port=1, decode_responses=True, socket_connect_timeout=0.2, retry=no_retry)
    assert RedisStore(client).check() is False


def test_server_settings_and_their_defaults():
    cores = len(os.sched_getaffinity(0))
    on_redis = settings.server_settings({"REDIS_URL": "redis://example"})
    assert on_redis == {
        "port": 5000,
        "processes": min(cores + 1, 4),
        "threads": 4,
        "connections": 1000,
        "log_level": "INFO",
    }
    # In memory: one process, whose requests never wait, so they run on its event loop.
    in_memory = settings.server_settings({"WEB_CONCURRENCY": "8", "WEB_THREADS": "8"})
    assert (in_memory["processes"], in_memory["threads"]) == (1, 0)
    chosen = settings.server_settings(
        {
            "REDIS_URL": "redis://x",
            "PORT": "8080",
            "WEB_CONCURRENCY": "3",
            "WEB_THREADS": "2",
            "WEB_MAX_CONNECTIONS": "64",
        }
    )
    assert (chosen["port"], chosen["processes"], chosen["threads"], chosen["connections"]) == (8080, 3, 2, 64)


@pytest.mark.parametrize("name, raw", [("WEB_MAX_CONNECTIONS", "15"), ("WEB_THREADS", "65"), ("PORT", "0")])
def test_server_settings_out_of_range_stop_the_start(name, raw):
    with pytest.raises(settings.ConfigError, match=f"^{name}: '{raw}' is not a whole number"):
        settings.server_settings({"REDIS_URL": "redis://x", name: raw})
