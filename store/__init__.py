"""Where labels and customers are kept: chosen from a URL, opened once per app.

``memory://`` is the in-memory store; ``redis://``, ``rediss://`` and
``unix://`` are Redis, and with REDIS_CLUSTER a node of a Redis Cluster. Any
other scheme is an error at start, not at the first request.
"""

import logging
import random
import threading
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

from ..settings import ConfigError
from . import layout
from .base import DEFAULT_COLOR, LABEL_CAP, Page, Store
from .cluster import ClusterStore
from .connection import fail_fast, make_client
from .errors import Conflict, NotFound, StoreError, StoreUnavailable, TooManyLabels, UnknownLabels
from .memory import MemoryStore
from .namespaces import NAMESPACE, BadNamespace, Namespaces
from .redis_store import RedisStore

__all__ = [
    "NAMESPACE",
    "BadNamespace",
    "Namespaces",
    "DEFAULT_COLOR",
    "LABEL_CAP",
    "ClusterStore",
    "Conflict",
    "MemoryStore",
    "NotFound",
    "Page",
    "RedisStore",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TooManyLabels",
    "UnknownLabels",
    "get_namespaces",
    "namespaces_of",
    "get_store",
    "init_app",
    "counting_client",
    "store_from_url",
    "sweep_now_and_then",
]

#: Seconds a starting process waits for another that migrates the layout.
LAYOUT_WAIT = 10
#: Seconds between a server's sweeps of what stopped processes left (about: jittered,
#: so that the servers of one deployment spread theirs).
SWEEP_SECONDS = 30
#: Seconds (at most, jittered) from a server's start to its first sweep.
FIRST_SWEEP_SECONDS = 2
REDIS_SCHEMES = ("redis", "rediss", "unix")
CLUSTER_SCHEMES = ("redis", "rediss")
EXTENSION = "customer_labels.store"

log = logging.getLogger(__name__)


def store_from_url(url, prefix="cl:", cluster=False, cache_mb=0, **client_options):
    """The store a URL names; with ``cluster``, the URL names one node of a Redis
    Cluster. Each process keeps copies of customers' labels, up to ``cache_mb``
    megabytes (copies.py). ``client_options`` go to ``connection.make_client``."""
    scheme = urlsplit(url).scheme
    if cluster and scheme not in CLUSTER_SCHEMES:
        raise ConfigError("REDIS_CLUSTER", f"a cluster needs a redis:// or rediss:// URL, not {scheme or url!r}")
    if scheme == "memory":
        return MemoryStore()
    copies = cache_mb * 1024 * 1024
    if cluster:
        return ClusterStore(make_client(url, cluster=True, **client_options), prefix, copies=copies)
    if scheme in REDIS_SCHEMES:
        return RedisStore(make_client(url, **client_options), prefix, copies=copies)
    known = ", ".join(f"{s}://" for s in ("memory", *REDIS_SCHEMES))
    shown = f"{scheme}://" if scheme else repr(url)
    raise ConfigError("REDIS_URL", f"unknown store {shown}; use one of {known}")


def init_app(app):
    """Open the store the app's config names; a ready ``STORE`` object wins."""
    store = app.config.get("STORE")
    prefix = app.config["REDIS_KEY_PREFIX"]
    if "{" in prefix or "}" in prefix:
        # Braces are hash tags to Redis Cluster: they would put keys that the
        # layout spreads over slots into one, or split a customer's over two.
        raise ConfigError("REDIS_KEY_PREFIX", f"{prefix!r} must not hold {{ or }}")
    if store is None:
        store = store_from_url(
            app.config["REDIS_URL"],
            app.config["REDIS_KEY_PREFIX"],
            cluster=app.config["REDIS_CLUSTER"],
            tls_verify=app.config["REDIS_TLS_VERIFY"],
            max_connections=app.config["REDIS_MAX_CONNECTIONS"],
            cache_mb=app.config["REDIS_CACHE_MB"],
        )
    app.extensions[EXTENSION] = Namespaces(store, ttl=app.config["MOCK_NAMESPACE_TTL"])
    _layout_at_start(store)


def _layout_at_start(store):
    """Bring the data to this release's layout before serving. A store that does
    not answer yet is a 503 until it does, not a failed start: the first request
    that reaches it migrates then."""
    try:
        store.ensure_layout(wait=LAYOUT_WAIT)
    except StoreUnavailable as err:
        log.warning("store layout not checked at start: %s", err.cause)
    except layout.NewerLayout as err:
        raise ConfigError("REDIS_URL", str(err)) from None


def namespaces_of(app):
    """An app's namespaces: its store, and the mock's side-by-side ones."""
    return app.extensions[EXTENSION]


def counting_client(app):
    """A client to the app's Redis for what may be skipped when Redis is slow (rate
    limits): it gives up fast (``connection.fail_fast``). None for a store in memory."""
    client = getattr(namespaces_of(app).default, "_redis", None)
    return None if client is None else fail_fast(client)


def get_namespaces():
    """The current app's namespaces."""
    return namespaces_of(current_app)


def get_store(ensure_layout=True):
    """The store of the current request's namespace (the default one outside mock
    mode), its data in this release's layout (StoreUnavailable while another
    process migrates it)."""
    namespace = None
    if has_request_context():
        namespace = request.environ.get(NAMESPACE)
    store = get_namespaces().get(namespace)
    if ensure_layout:
        store.ensure_layout()
    return store


def sweep_now_and_then(app, every=SWEEP_SECONDS):
    """Finish what stopped processes left half-done (the store's ``sweep``) within
    FIRST_SWEEP_SECONDS of the start, then every ``every`` seconds or so, in a daemon
    thread; the thread (``stop()`` ends it), or None for a store that never leaves
    anything (in memory) or an app without one."""
    store = app.extensions[EXTENSION].default if EXTENSION in app.extensions else None
    if not hasattr(store, "sweep"):
        return None
    stopped = threading.Event()

    def sweep_forever():
        # The first soon after start, so that a restarted server finishes at once what
        # the stopped one left; then every ``every`` seconds or so.
        wait = random.uniform(0, min(every, FIRST_SWEEP_SECONDS))
        while not stopped.wait(wait):
            wait = every * random.uniform(0.5, 1.5)
            try:
                store.sweep()
            except StoreUnavailable as err:
                log.warning("store sweep skipped: %s", err.cause)
            except Exception:  # the next sweep tries again; a dead thread never would
                log.exception("store sweep failed")

    thread = threading.Thread(target=sweep_forever, name="store-sweep", daemon=True)
    thread.stop = stopped.set
    thread.start()
    return thread
