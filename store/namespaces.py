"""Namespaces: separate states side by side in one service, so that parallel
tests never see each other's labels (mock mode).

Each namespace is its own store of the same backend, seeded on first use.
One that stays idle longer than the TTL is dropped: its data is deleted, and
using the name again starts afresh from the seed.
"""

import re
import threading
import time

NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: The WSGI environ key where the mock puts the namespace a request names.
NAMESPACE = "customer_labels.namespace"


class BadNamespace(ValueError):
    """A namespace name that is not 1 to 64 of A-Z a-z 0-9 _ . -"""


class Namespaces:
    def __init__(self, default, ttl, seed=None, clock=time.time):
        self.default = default
        #: The state a namespace starts with (a fixture), or None for empty.
        self.seed = seed
        self._ttl = ttl
        self.clock = clock
        self._stores = {}  # name -> store
        self._noted = {}  # name -> when this process last recorded its use
        self._next_sweep = 0.0
        self._lock = threading.Lock()

    def get(self, name=None):
        """The store of namespace ``name``; the default one for None."""
        if name is None:
            return self.default
        if not NAME.fullmatch(name):
            raise BadNamespace(name)
        now = self.clock()
        self._sweep(now)
        with self._lock:
            store = self._stores.get(name)
            if store is None:
                store = self._stores[name] = self.default.namespace(name)
            # Record the use in the backend, which every process shares, but
            # not on every request: a tenth of the TTL is precise enough. Seed
            # it then too: it may be new, or another process may have dropped
            # it while it was idle here.
            if now - self._noted.get(name, 0) > self._ttl / 10:
                store.seed_once(self.seed or {})
                self.default.note_namespace_use(name, now)
                self._noted[name] = now
        return store

    def _sweep(self, now):
        """Drop the namespaces idle for longer than the TTL, at most every tenth of it."""
        with self._lock:
            if now < self._next_sweep:
                return
            self._next_sweep = now + self._ttl / 10
        for name in self.default.pop_idle_namespaces(now - self._ttl):
            with self._lock:
                store = self._stores.pop(name, None) or self.default.namespace(name)
                self._noted.pop(name, None)
            store.forget()
