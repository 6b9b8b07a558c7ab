"""Small pieces the Redis store is made of: error translation and hash records."""

import threading
import time

import redis
from redis.exceptions import (
    ClusterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)

from .base import label_json
from .errors import StoreUnavailable

#: Replies that mean "not now" rather than "wrong": no connection, a timeout,
#: a replica or a loading server, a full or failing disk, or full memory.
UNAVAILABLE = (
    redis.ConnectionError,
    redis.TimeoutError,
    ReadOnlyError,
    OutOfMemoryError,
    # A cluster's: a failed node's slots, or slots moving (redis-py strips their prefix).
    ClusterDownError,
    TryAgainError,
    SlotNotCoveredError,
)
UNAVAILABLE_REPLIES = ("MISCONF", "MASTERDOWN", "LOADING", "TRYAGAIN", "CLUSTERDOWN")
#: A cluster client's own errors when no node answers, or some slots have none.
UNAVAILABLE_CLUSTER = ("Redis Cluster cannot be connected", "All slots are not covered")


#: Called with (seconds, whether it gave up) after every store call (the outermost,
#: where one is inside another): the metrics.
CALLED = []
_depth = threading.local()


class availability:  # noqa: N801 (named as what it is used as: ``with availability():``)
    """Turn Redis being down, hung or unable to write into StoreUnavailable.

    A class rather than a ``@contextmanager`` generator: it wraps every store call,
    and a generator cost about 1 µs more a call (measured in-process)."""

    __slots__ = ("started", "outer")

    def __enter__(self):
        self.outer = not getattr(_depth, "inside", False)
        _depth.inside = True
        self.started = time.perf_counter()

    def __exit__(self, kind, err, traceback):
        gave_up = err is not None and _unavailable(err)
        if self.outer:
            _depth.inside = False
            for called in CALLED:
                called(time.perf_counter() - self.started, gave_up)
        if gave_up:
            raise StoreUnavailable(err) from err
        return False


def _unavailable(err):
    """Whether ``err`` means "not now" rather than "wrong"."""
    if isinstance(err, UNAVAILABLE):
        return True
    if isinstance(err, redis.ResponseError):
        return str(err).startswith(UNAVAILABLE_REPLIES)
    if isinstance(err, RedisClusterException):
        return str(err).startswith(UNAVAILABLE_CLUSTER)
    return False


def record(stored, fields):
    """A record from a hash: HGETALL's dict, or the flat [field, value, ...] list
    that a script gets. Absent fields are null; bookkeeping fields are left out."""
    if isinstance(stored, list):
        stored = dict(zip(stored[::2], stored[1::2]))
    return {field: stored.get(field) for field in fields}


def pairs(fields):
    """HSET arguments for the non-null fields."""
    return [part for field, value in fields.items() if value is not None for part in (field, value)]


def change_args(changes):
    """What the update scripts take for ``changes``: how many fields to remove, those
    fields (the ones set to null), then HSET arguments for the rest."""
    nulls = [field for field, value in changes.items() if value is None]
    return [len(nulls), *nulls, *pairs(changes)]


def card(label, name_key):
    """What the customer-labels script joins its answers from: the name key it
    sorts by, length first, then the label as JSON (``label_json``)."""
    return f"{len(name_key.encode())}:{name_key}{label_json(label)}"
