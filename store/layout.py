"""The Redis key layout's version, and the steps that bring older data to it.

A deployed Redis holds what the previous release wrote. The catalogue's
``layout`` key names the layout its data is in; ``STEPS[n]`` brings layout
``n`` to ``n + 1``. A store runs the steps it lacks before it serves (see
``RedisStore.ensure_layout``): one process at a time, under a lock that expires
if that process dies; each step works in batches, is idempotent, and is
recorded once done, so an interrupted run is finished by the next one.

A change of the key layout adds its step here, bumps ``LAYOUT``, and adds a
test that reads a state written in the layout before it (tests/test_layout.py).

Layouts:

1. the layout before versions (no ``layout`` key): label cards written by
   Python, but re-written by Lua (cjson) when a label changed;
2. every label card written by one encoder (``base.label_json``); a label's
   hash counts its changes in ``v``.
3. label writes bump ``version`` and note the label in ``label-log``, from which a
   cluster's processes keep their cached catalogue; on a cluster, the copies of the
   catalogue and ``label-sync`` are gone, and the carriers bitmaps are exact.
4. label names' keys are NFC as well as case-folded (``base.name_key``), and cards are
   compact JSON. Two labels whose names only now compare the same both stay: the
   second keeps its old key, and the step logs both (README: "Labels").
"""

import logging
import time

import redis

from .errors import StoreUnavailable
from .redis_support import availability

#: The layout this code reads and writes.
LAYOUT = 4
#: Seconds a migrating process holds the lock without renewing it: if it dies,
#: another may take over after this long.
LOCK_SECONDS = 30
#: Labels re-written per batch (the lock is renewed between batches).
BATCH = 200

log = logging.getLogger(__name__)


class NewerLayout(RuntimeError):
    """The data is in a layout newer than this release reads: deploy that release."""


def _renew(lock):
    """Hold the lock for another LOCK_SECONDS; a lock that expired meanwhile may be
    another process's now, so this one stops (the next run finishes the step)."""
    try:
        lock.extend(LOCK_SECONDS, replace_ttl=True)
    except redis.exceptions.LockError as err:
        raise StoreUnavailable(f"lost the layout lock: {err}") from err


def _rewrite_cards(store, lock):
    """Layout 1 to 2, and 3 to 4: each label's card again, from its hash, by the one
    encoder, under its name key as this release makes it."""
    start = 0
    while True:
        with availability():
            label_ids = store._redis.zrange(store._key("labels"), start, start + BATCH - 1)
        for label_id in label_ids:
            if not store._rewrite_card(label_id):
                log.warning("label %r keeps its name key: another label's name is the same in NFC", label_id)
        _renew(lock)
        if len(label_ids) < BATCH:
            return
        start += BATCH


def _start_label_log(store, lock):
    """Layout 2 to 3: a version, and a log that starts at it (caches begin with a whole
    read); then what the store's own layout 2 left (a cluster's copies)."""
    with availability():
        if store._redis.zscore(store._key("label-log"), "") is None:
            store._redis.zadd(store._key("label-log"), {"": store._redis.incr(store._key("version"))})
    store._leave_layout_2(lambda: _renew(lock))


#: STEPS[n] brings layout n to n + 1.
STEPS = {1: _rewrite_cards, 2: _start_label_log, 3: _rewrite_cards}


def current(store):
    """The layout the store's data is in: the ``layout`` key, or 1 when data of
    the release before versions is there, or None for an empty store."""
    with availability():
        found = store._redis.get(store._key("layout"))
        if found is not None:
            return int(found)
        old = store._redis.exists(store._key("labels"), store._key("customers"), store._key("label-seq"))
    return 1 if old else None


def migrate(store, wait=0.0):
    """Bring the store's data to LAYOUT; the layouts it went through, [] when none.

    Another process migrating the same data holds the lock: this one waits up
    to ``wait`` seconds for it to finish, then raises StoreUnavailable.
    """
    version = current(store)
    if version == LAYOUT:
        return []
    if version is None:  # nothing stored yet: it is in the current layout already
        with availability():
            store._redis.set(store._key("layout"), LAYOUT, nx=True)
        return migrate(store, wait)
    if version > LAYOUT:
        raise NewerLayout(f"the store's data is in key layout {version}, newer than this release's {LAYOUT}")
    lock = store._redis.lock(store._key("layout-lock"), timeout=LOCK_SECONDS, blocking=False)
    deadline = time.monotonic() + wait
    with availability():
        while not lock.acquire():
            if time.monotonic() >= deadline:
                raise StoreUnavailable(f"another process is migrating the key layout from {version}")
            time.sleep(0.1)
    try:
        done = []
        version = current(store)  # another process may have finished meanwhile
        while version is not None and version < LAYOUT:
            log.warning("migrating the key layout from %s to %s", version, version + 1)
            with availability():
                STEPS[version](store, lock)
                store._redis.set(store._key("layout"), version + 1)
            done.append(version)
            version += 1
        return done
    finally:
        try:
            with availability():
                lock.release()
        except (redis.exceptions.LockError, StoreUnavailable):
            pass  # expired, or Redis went away: it expires by itself
