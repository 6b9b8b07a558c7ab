"""The Redis store on a Redis Cluster (REDIS_CLUSTER=true).

Each customer's keys share one slot, and the catalogue's (labels, the index of
customers, the carriers bitmaps) another. What touches one of them is the single
node's script; a change of a customer's labels is a step in each slot, the
customer's first (lua/cluster/customer.lua), then the catalogue's (catalogue.lua).
Each process keeps the catalogue's labels in memory, and asks the catalogue's
master again only when Redis has reported a label write (copies.py) or when a
change's catalogue step goes there anyway. How each promise is kept this way is
in store/README.md.
"""

import threading
import time
from collections import namedtuple
from functools import cache

from redis.cluster import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from .base import CUSTOMER_FIELDS, Page, check_guard, labels_tag
from .errors import Conflict, CustomersRefused, NotFound, PreconditionFailed, TooManyLabels, UnknownLabels
from .redis_store import DETACH_BATCH, SCRIPTS, RedisStore, glob_pattern
from .redis_support import availability, pairs, record

#: Keys a replace or a sweep reads, deletes or writes per command batch.
BATCH = 1000
#: Seconds after which a pending change belongs to a process that stopped: no
#: request runs that long (each Redis command gives up within seconds).
PENDING_SECONDS = 60
#: The scripts that write labels: after one, this process reads the catalogue again
#: rather than wait for Redis's report of it.
LABEL_WRITES = frozenset({"create_label", "update_label", "delete_label", "replace"})

#: A process's copy of the catalogue's live labels as of ``version``: label id ->
#: number, number -> (name key, the label as JSON), the last number given (``seq``),
#: and ``live``, bit n set for each live number n up to ``seq`` (what the customer's
#: step is told, to know a deleted label's number).
Catalogue = namedtuple("Catalogue", "version numbers cards seq live")


@cache
def slot_tags():
    """A hash tag for each slot: the keys a slot's pending changes are noted in."""
    tags, i = {}, 0
    while len(tags) < REDIS_CLUSTER_HASH_SLOTS:
        tag = f"{i:x}"
        tags.setdefault(key_slot(tag.encode()), tag)
        i += 1
    return tags


def _card(card):
    """(name key, JSON) from a card: the name key's length in bytes, ':', key, JSON."""
    length, rest = card.split(":", 1)
    raw = rest.encode()
    return raw[: int(length)].decode(), raw[int(length) :].decode()


def _live(numbers, seq):
    """Bit n (of byte n div 8, most significant first) set for each number n."""
    bits = bytearray(seq // 8 + 1)
    for n in map(int, numbers):
        bits[n // 8] |= 128 >> n % 8
    return bytes(bits)


class ClusterStore(RedisStore):
    SCRIPTS = SCRIPTS + ("cluster/customer", "cluster/catalogue", "cluster/index", "cluster/carriers")
    CATALOGUE_REPORTS = True

    def __init__(self, client, prefix="cl:", copies=0):
        super().__init__(client, prefix, copies=copies)
        self._catalogue = Catalogue(-1, {}, {}, 0, b"")
        self._lock = threading.Lock()
        #: The count of Redis's reports of label writes (``Copies.generation``) as of which
        #: the cached catalogue was read: while it stays the same, no label changed since.
        self._read_at = None
        self._writes = 0  # this process's label writes

    def _healthy(self):
        """Every master answers and sees the whole cluster as ok."""
        states = self._redis.cluster_info(target_nodes=RedisCluster.PRIMARIES)
        if "cluster_state" in states:  # one master: its own answer, not one per node
            states = {"": states}
        return all(state.get("cluster_state") == "ok" for state in states.values())

    def _masters(self):
        """Each master the client knows now: a copy is true while every one reports."""
        client = self._redis
        return {node.name: client.get_redis_connection(node).connection_pool for node in client.get_primaries()}

    def _run(self, script, keys, args):
        try:
            return super()._run(script, keys, args)
        finally:
            if script in LABEL_WRITES:  # this process's own: its report may come later
                self._writes += 1
                self._read_at = None

    # -- the two steps, and the cached catalogue --------------------------------------

    def _customer_step(self, customer_id, op, *args):
        pending = f"{self._p}pending:{{{slot_tags()[key_slot(self._attached_key(customer_id).encode())]}}}"
        keys = [self._customer_key(customer_id), self._attached_key(customer_id), pending]
        return self._run("cluster/customer", keys, [op, customer_id, time.time(), *args])

    def _change_step(self, customer_id, op, cap, known, numbers):
        """The customer's step of an attach, detach or replace of label ``numbers``. An
        attach is told which numbers are deleted labels' (``known``, the cache: a byte
        per 8 labels ever made), so that one that would pass the cap takes those off
        first, as on one Redis; the others need not know."""
        seq, live = (known.seq, known.live) if op.startswith("attach") else (0, b"")
        return self._customer_step(customer_id, op, cap, seq, live, *numbers)

    def _catalogue_step(self, c="", s=0, touched=(), carried=()):
        """The bits of the ``touched`` numbers follow the customer's set ``carried`` (as of
        its change ``s``): (status, [], the cached catalogue brought up to date). With
        nothing touched, a read: ('behind', the ``carried`` numbers whose bit is not set)
        while the bits do not follow ``s`` yet. With no customer, only the cache."""
        known, generation, writes = self._catalogue, self.copies.generation, self._writes
        keys = [self._key(name) for name in ("version", "label-log", "label-numbers", "label-cards", "label-ids")]
        args = [self._c, known.version, c, s, len(touched), *touched, *carried]
        status, unset, version, *delta = self._run("cluster/catalogue", keys, args)
        latest = self._follow(known, version, delta)
        if self._writes == writes:
            self._read_at = generation
        return status, unset, latest

    def _follow(self, known, version, delta):
        """The cache as of ``version`` (or later), from the labels written since ``known``."""
        if not delta:
            return known
        with self._lock:
            latest = self._catalogue
            seq, whole, changes = int(delta[0]), delta[1], delta[2:]
            if not whole and latest.version >= version:
                return latest
            base = Catalogue(version, {}, {}, 0, b"") if whole else max(latest, known, key=lambda cat: cat.version)
            numbers, cards = dict(base.numbers), dict(base.cards)
            for label_id, n, card in zip(changes[::3], changes[1::3], changes[2::3]):
                cards.pop(numbers.pop(label_id, None), None)
                if n:
                    numbers[label_id], cards[n] = n, _card(card)
            self._catalogue = Catalogue(version, numbers, cards, seq, _live(cards, seq))
            return self._catalogue

    def _cache(self):
        """The cached catalogue, true as of now: Redis has reported no label write since
        it was read (copies.py: a report arrives before any request that comes after the
        write answered), or else brought up to date, one round trip. Without reports (a
        Redis that refuses them, a connection lost) that is each time."""
        if self.copies.unchanged(self._read_at):  # (None: no read to go by; the reports start)
            return self._catalogue
        return self._catalogue_step()[2]

    def _settled(self, c, s, carried, pending):
        """The catalogue's step for change ``s`` of a customer's set: the bits of every
        number its changes touched since the sweep last saw them follow (``pending``)
        follow the set. If a later change got there first, it settled them all, from a
        newer set, and this writes nothing. The cache, brought up to date; None when
        nothing is pending."""
        return self._catalogue_step(c, s, pending, carried)[2] if pending else None

    # -- a customer's labels -------------------------------------------------------------

    def _numbers(self, customer_id, change, label_ids):
        """(the cache, the numbers of ``label_ids`` in it); an attach naming no label is
        refused here, before anything is written."""
        known = self._cache()
        if not known.numbers.keys() >= set(label_ids):
            known = self._catalogue_step()[2]  # a label made a moment ago, its report not read yet
        numbers = [known.numbers[i] for i in label_ids if i in known.numbers]
        if change in ("attach", "replace") and len(numbers) < len(label_ids):
            if self._get_customer(customer_id) is None:
                raise NotFound("customer", customer_id)
            raise UnknownLabels([i for i in label_ids if i not in known.numbers])
        return known, numbers

    def _change_labels(self, customer_id, change, label_ids, cap, guard=""):
        op = f"{change}:{self._guard_count(customer_id, guard)}" if guard else change
        known, numbers = self._numbers(customer_id, change, label_ids)
        status, *rest = self._change_step(customer_id, op, cap, known, numbers)
        if status == "missing":
            raise NotFound("customer", customer_id)
        if status == "precondition":
            raise PreconditionFailed()
        if status == "cap":
            raise TooManyLabels(cap, rest[0], rest[1])
        c, s, carried, pending, _ = rest
        latest = self._settled(c, s, carried, pending) or known
        # A label deleted after the cache was read, and so after this request began, is
        # shown as it was: the change is the one that came before the delete (whose
        # detaching, or the sweep, takes its number off: catalogue.lua).
        return self._joined(latest, carried, also=known)

    def _read(self, customer_id):
        """A customer's labels, and whether a copy of them may be kept: not while the
        bits of a change of its set may not follow yet, which no report of its keys
        would tell when they do."""
        status, *rest = self._customer_step(customer_id, "get")
        if status == "missing":
            raise NotFound("customer", customer_id)
        c, s, carried, pending, _ = rest
        if not pending:
            return self._joined(self._cache(), carried), True
        status, unset, latest = self._catalogue_step(c, s, (), [n for n in pending if n in carried])
        return self._joined(latest, carried, hidden=set(unset)), status != "behind"

    @staticmethod
    def _joined(latest, carried, hidden=(), also=None):
        cards = latest.cards if also is None else {**also.cards, **latest.cards}
        found = sorted(cards[n] for n in carried if n in cards and n not in hidden)
        return '{"data":[' + ",".join(text for _, text in found) + "]}"

    def _guard_count(self, customer_id, guard):
        """The change count of the customer's set as read now, if its answer's tag passes
        ``guard``: the change then applies only to that same set. A change in flight is
        finished first (a read would not show it yet, so its answer would pass as the
        one before). Its cards are in another slot: a label renamed between the two
        steps is not caught."""
        status, *rest = self._customer_step(customer_id, "get")
        if status == "missing":
            raise NotFound("customer", customer_id)
        c, s, carried, pending, _ = rest
        latest = self._settled(c, s, carried, pending) or self._cache()
        check_guard(guard, labels_tag(self._joined(latest, carried)))
        return s

    # -- a label's customers, many at once: checked together, changed slot by slot ----------

    def _change_carriers(self, label_id, change, customer_ids, cap):
        known = self._cache()
        n = known.numbers.get(label_id)
        if n is None:
            raise NotFound("label", label_id)
        found = dict(
            zip(customer_ids, self._customers(customer_ids, lambda pipe, i: pipe.smembers(self._attached_key(i))))
        )
        unknown = [i for i, (flat, _) in found.items() if not flat]
        if unknown:
            raise CustomersRefused("unknown", unknown)
        attach = change == "attach"
        todo = [i for i, (_, carried) in found.items() if (str(n) in carried) != attach]
        full = [i for i in todo if attach and sum(m in known.cards for m in found[i][1]) >= cap]
        if full:
            raise CustomersRefused("full", full)
        # Each customer's own step, then the catalogue's: a change made meanwhile (the
        # customer deleted, or taken to the cap) leaves that customer as it is.
        changed = [i for i in todo if self._changed(i, change, n, cap, known)]
        if self._catalogue_step()[2].numbers.get(label_id) != n:
            raise NotFound("label", label_id)  # deleted (or made again) meanwhile: its number carries nothing
        with availability():
            count = self._redis.bitcount(self._key(f"carriers:{n}"))
        done = set(changed)
        return changed, [i for i in customer_ids if i not in done], count

    def _changed(self, customer_id, change, n, cap, known):
        """Attach or detach label number ``n``, both steps: whether the set changed."""
        status, *rest = self._change_step(customer_id, change, cap, known, [n])
        if status != "ok":
            return False
        self._settled(*rest[:4])
        return bool(rest[4])

    # -- labels: the single node's scripts; a delete detaches from each carrier ------------

    def _detach_dropped_labels(self):
        with availability():
            pending = self._redis.smembers(self._key("label-gc"))
        for n in pending:
            done = []
            while True:
                args = [self._c, -1, DETACH_BATCH, "sweep", n, *done]
                batch = self._run("cluster/carriers", [self._key(f"carriers:{n}")], args)
                if not batch:
                    break
                done, ids = batch[::2], [customer_id for customer_id in batch[1::2] if customer_id]
                self._call(lambda pipe: [pipe.srem(self._attached_key(i), n) for i in ids])

    # -- customers: their own slot, and the catalogue's index of them ----------------------

    def _index(self, op, customer_id, n="", *numbers):
        keys = [self._key("customers"), self._key("customer-seq")]
        return self._run("cluster/index", keys, [self._c, customer_id, op, n, *numbers])

    def _create_customer(self, customer):
        customer_id = customer["id"]
        n = self._index("reserve", customer_id)
        if not self._customer_step(customer_id, "create", n, *pairs(customer)):
            self._index("unmap", customer_id, n)
            raise Conflict("id", customer_id)
        self._index("add", customer_id, n)  # listed again: a delete of the same id may have unlisted it

    def _delete_customer(self, customer_id, guard=""):
        status, *rest = self._customer_step(customer_id, "delete:" + guard)
        if status == "missing":
            return False
        if status == "precondition":
            raise PreconditionFailed()
        self._unindex(customer_id, rest[0], rest[2])
        return True

    def _unindex(self, customer_id, c, carried):
        """Unlist a deleted customer and clear its bits; listed again if made again meanwhile."""
        self._index("drop", customer_id, c, *carried)
        with availability():
            again = self._redis.hget(self._customer_key(customer_id), "n")
        if again is not None:
            self._index("add", customer_id, again)

    def _list_customers(self, limit, after):
        found, start = [], "(" + after if after is not None else "-"
        while len(found) <= limit:
            with availability():
                ids = self._redis.zrangebylex(self._key("customers"), start, "+", 0, limit + 1 - len(found))
            if not ids:
                break
            # The index may list a customer being made or deleted: only those with keys count.
            found += [record(flat, CUSTOMER_FIELDS) for flat in self._customers(ids) if flat]
            start = "(" + ids[-1]
        return Page(found[:limit], found[limit - 1]["id"] if len(found) > limit else None)

    def _carriers(self, label_key, position, count):
        """(label number, [(customer number, customer fields)]) of up to ``count`` bits after
        ``position`` that the customer's own set confirms (a change may be half-way)."""
        batch = self._run("cluster/carriers", [label_key], [self._c, position, count, "read"])
        if batch is None:
            return None, None
        n, candidates = batch[0], list(zip(batch[1::2], batch[2::2]))
        ids = [customer_id for _, customer_id in candidates if customer_id]
        replies = iter(self._customers(ids, lambda pipe, i: pipe.sismember(self._attached_key(i), n)))
        checked = [(number, *next(replies)) if customer_id else (number, {}, 0) for number, customer_id in candidates]
        return n, [(number, flat, carries and int(flat["n"]) == number) for number, flat, carries in checked]

    def _label_customers(self, label_id, limit, after):
        found, position = [], after if after is not None else -1
        while len(found) <= limit:
            n, batch = self._carriers(self._label_key(label_id), position, limit + 1 - len(found))
            if n is None:
                return None
            if not batch:
                break
            found += [(number, record(flat, CUSTOMER_FIELDS)) for number, flat, carries in batch if carries]
            position = batch[-1][0]
        customers = [customer for _, customer in found[:limit]]
        return Page(customers, str(found[limit - 1][0]) if len(found) > limit else None)

    def _segment_prefix(self):
        return ""  # each customer's keys in a slot of its own: read below

    def _segment_records(self, entries):
        numbers, ids = entries[::2], entries[1::2]
        flats = self._customers(ids)
        # The index may name a customer being made or deleted: only those with keys count.
        return [(n, record(f, CUSTOMER_FIELDS)) for n, f in zip(numbers, flats) if f and int(f["n"]) == n]

    # -- the whole state: the catalogue in one step, customers slot by slot ---------------

    def _replace(self, labels, customers, mode="always", keys="all"):
        # The catalogue first: it holds the seed mark that 'once' checks.
        if not super()._replace(labels, customers, mode, keys="catalogue"):
            return False
        with availability():
            old = [
                key
                for kind in ("customer:*", "L:*", "pending:*")
                for key in self._redis.scan_iter(match=glob_pattern(self._p) + kind, count=BATCH)
            ]
        for start in range(0, len(old), BATCH):
            self._call(lambda pipe: [pipe.delete(key) for key in old[start : start + BATCH]])
        numbers = {label["id"]: n for n, (label, _) in enumerate(labels, 1)}
        for start in range(0, len(customers), BATCH):
            chunk = list(enumerate(customers[start : start + BATCH], start + 1))
            self._call(lambda pipe: self._write_customers(pipe, chunk, numbers))
        return True

    def _write_customers(self, pipe, chunk, numbers):
        """Each customer's own keys, numbered as the catalogue's script numbered them."""
        for number, (customer, label_ids) in chunk:
            fields = {field: value for field, value in customer.items() if value is not None}
            pipe.hset(self._customer_key(customer["id"]), mapping={**fields, "n": number})
            if label_ids:
                pipe.sadd(self._attached_key(customer["id"]), *(numbers[i] for i in label_ids))

    # -- the sweep, and the layout's step --------------------------------------------------

    def _sweep(self, older=None):
        """Label deletes, and changes of a customer whose catalogue step did not follow
        within ``older`` (PENDING_SECONDS) seconds."""
        super()._sweep()
        cutoff = time.time() - (PENDING_SECONDS if older is None else older)
        tags = list(slot_tags().values())
        for start in range(0, len(tags), BATCH):
            keys = [f"{self._p}pending:{{{tag}}}" for tag in tags[start : start + BATCH]]
            found = self._call(lambda pipe: [pipe.zrangebyscore(key, "-inf", cutoff, 0, BATCH) for key in keys])
            for entries in found:
                for entry in entries:
                    customer_id, c, *numbers = entry.split(" ")
                    status, *now = self._customer_step(customer_id, "get")
                    if status == "ok" and now[0] == c:
                        self._settled(c, *now[1:4])
                    else:  # deleted, and perhaps made again with another number
                        self._unindex(customer_id, c, numbers)
                    self._customer_step(customer_id, "settle", now[1] if status == "ok" else "", entry, c)

    def _bulk_extra_keys(self):
        """Every slot's pending zset: a load starts with nothing pending."""
        return [f"{self._p}pending:{{{tag}}}" for tag in slot_tags().values()]

    def _leave_layout_2(self, renew):
        """Layout 2 kept copies of the catalogue and left bits of customers that no
        longer carry a label: the copies go, and the bits follow the customers' sets."""
        with availability():
            copies = self._redis.scan_iter(match=glob_pattern(f"{self._p}{{{self._p}catalogue:") + "*", count=BATCH)
            self._call(lambda pipe: [pipe.delete(key) for key in [*copies, self._key("label-sync")]])
            label_ids = self._redis.hvals(self._key("label-ids"))
        for label_id in label_ids:
            n, position = None, -1
            while True:
                n, batch = self._carriers(self._label_key(label_id), position, BATCH)
                if not batch:
                    break
                stale = [number for number, _, carries in batch if not carries]
                self._call(lambda pipe: [pipe.setbit(self._key(f"carriers:{n}"), c, 0) for c in stale])
                position = batch[-1][0]
                renew()
