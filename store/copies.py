"""Copies of the catalogue's read side on a Redis Cluster, spread over the slots.

The catalogue is one slot, so one master. If every request read its cards there,
that master would do a round trip's work for every request, as much as one Redis
does for the whole of it, and a cluster could never serve more requests than one
Redis. So the cards (number -> label JSON) and the ids' numbers are also kept in
COPIES copies, each in a slot of its own, spread evenly over the slot range, and
each customer reads one. The catalogue stays the truth: whether a label is live is
only ever decided there (see store/README.md).

A label write changes the catalogue, then brings every copy in line with it. A
process that stops in between leaves its entry in ``label-sync``; one that is
older than STALE_AFTER is brought in line by the next label write, and by any
process at most every STALE_AFTER seconds.
"""

import time
import uuid
import zlib
from contextlib import contextmanager

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from .base import LABEL_FIELDS
from .errors import StoreUnavailable
from .redis_support import availability, card, record

#: How many copies: evenly spaced slots, so up to this many masters share them.
COPIES = 16
#: Seconds after which a label write still in ``label-sync`` belongs to a stopped
#: process: a write gives up at WRITE_SECONDS, before it writes another copy.
STALE_AFTER = 30
#: A label write that has not finished its copies by then stops (StoreUnavailable)
#: and leaves its entry to the repair: a copy is written within a command's
#: timeout, so no writer is still at work when its entry counts as stale.
WRITE_SECONDS = 25


def copy_prefixes(prefix):
    """The key prefix of each copy: its hash tag picks a slot in its own sixteenth
    of the slot range, so copies spread over masters as a cluster assigns slots."""
    prefixes = []
    for k in range(COPIES):
        low = k * REDIS_CLUSTER_HASH_SLOTS // COPIES
        high = (k + 1) * REDIS_CLUSTER_HASH_SLOTS // COPIES
        j = 0
        while not low <= key_slot(f"{prefix}catalogue:{k}.{j}".encode()) < high:
            j += 1
        prefixes.append(f"{prefix}{{{prefix}catalogue:{k}.{j}}}:")
    return prefixes


class CatalogueCopies:
    """The copies' side of ClusterStore."""

    def _init_copies(self):
        self._copies = copy_prefixes(self._p)
        self._next_repair = 0.0

    def _copy_of(self, customer_id):
        """The copy a customer reads: always the same one."""
        return self._copies[zlib.crc32(customer_id.encode()) % COPIES]

    def _copy_numbers(self, copy, label_ids):
        with availability():
            found = self._redis.hmget(copy + "label-numbers", label_ids)
        return {label_id: n for label_id, n in zip(label_ids, found) if n is not None}

    def _copy_answer(self, copy, numbers):
        """(the JSON body, numbers without a card in the copy)."""
        return self._run("cluster/answer", [copy + "label-cards"], numbers)

    # -- keeping them in line ----------------------------------------------------------

    @contextmanager
    def _syncing(self, label_id):
        """Around a label write: noted in ``label-sync`` until every copy follows it.
        Each writer notes its own entry, so one that finishes never takes away the
        entry of another that stops."""
        self._repair_copies()
        deadline = time.monotonic() + WRITE_SECONDS
        entry = f"{label_id} {uuid.uuid4().hex}"
        with availability():
            self._redis.zadd(self._key("label-sync"), {entry: time.time()})
        try:
            yield
        finally:
            self._sync_label(label_id, deadline)
            with availability():
                self._redis.zrem(self._key("label-sync"), entry)

    def _label_state(self, label_id):
        """(number, card) of the label in the catalogue, or ("", "") when there is none."""
        with availability():
            flat = self._redis.hgetall(self._label_key(label_id))
        return (flat["n"], card(record(flat, LABEL_FIELDS), flat["key"])) if flat else ("", "")

    def _sync_label(self, label_id, deadline=None):
        """Write the catalogue's state of a label to every copy, until it holds still:
        a writer that copied an older state finds the change when it looks again."""
        state = self._label_state(label_id)
        while True:
            for copy in self._copies:
                if deadline is not None and time.monotonic() > deadline:
                    raise StoreUnavailable(f"a write of label {label_id!r} took over {WRITE_SECONDS} s")
                self._run("cluster/copy", [copy + "label-cards", copy + "label-numbers"], [label_id, *state])
            latest = self._label_state(label_id)
            if latest == state:
                return
            state = latest

    def _repair_copies(self):
        """Bring in line the labels whose writers stopped half-way."""
        self._next_repair = time.monotonic() + STALE_AFTER
        cutoff = time.time() - STALE_AFTER
        with availability():
            stale = self._redis.zrangebyscore(self._key("label-sync"), "-inf", cutoff)
        for label_id in {entry.split(" ")[0] for entry in stale}:
            self._sync_label(label_id)
        if stale:
            with availability():
                self._redis.zremrangebyscore(self._key("label-sync"), "-inf", cutoff)

    def _repair_now_and_then(self):
        if time.monotonic() >= self._next_repair:
            self._repair_copies()

    def _write_copies(self, labels):
        """Replace every copy with ``labels`` [(label, name key)], numbered 1, 2, ..."""
        cards = {n: card(label, key) for n, (label, key) in enumerate(labels, 1)}
        numbers = {label["id"]: n for n, (label, _) in enumerate(labels, 1)}

        def commands(pipe):
            pipe.delete(self._key("label-sync"))
            for copy in self._copies:
                pipe.delete(copy + "label-cards")
                pipe.delete(copy + "label-numbers")
                if labels:
                    pipe.hset(copy + "label-cards", mapping=cards)
                    pipe.hset(copy + "label-numbers", mapping=numbers)

        self._call(commands)
