"""Export and load of a whole Redis store, in batches: what `flask fixtures` runs.

A store's one-step ``export()`` and ``replace()`` are one script each, fine for a mock's
small states but not for a million customers: a script holds Redis for as long as it
runs. Here every batch is a pipeline of small commands (at most BATCH customers), so
Redis serves other clients between them, and the state streams through: neither side
holds more than a batch (the loader's check keeps one 128-bit number per customer id).

A load first clears what the store holds, then writes labels, then customers in
batches. It is not one step: ``C loading`` marks a load under way, set first and
deleted by the last step, together with the layout and the catalogue's version. A load
that stops half-way leaves the mark, and the same load run again clears and finishes.
An export of a store that other clients change meanwhile is consistent customer by
customer, not as a whole.
"""

from . import layout
from .base import CUSTOMER_FIELDS, LABEL_FIELDS, customer_record, label_record, name_key, utcnow
from .redis_support import availability, card, record

#: Customers per pipeline: a few thousand small commands, each microseconds.
BATCH = 1000
#: Customers per number bucket (C customer-ids:<c div 128>).
BUCKET = 128
#: The catalogue's keys that a load or a replace writes anew (the customers' are found
#: from them); replace.lua takes them in this order.
CATALOGUE_KEYS = (
    "labels",
    "label-names",
    "label-ids",
    "label-numbers",
    "label-cards",
    "label-seq",
    "label-gc",
    "customers",
    "customer-seq",
)


def loading(store):
    """Whether a load is under way, or stopped half-way (its mark is there)."""
    with availability():
        return bool(store._redis.exists(store._key("loading")))


def count_customers(store):
    with availability():
        return store._redis.zcard(store._key("customers"))


# -- export -------------------------------------------------------------------------------


def export_labels(store):
    """Every label, by id (a catalogue holds thousands at most)."""
    with availability():
        ids = store._redis.zrange(store._key("labels"), 0, -1)
    flats = []
    for start in range(0, len(ids), BATCH):
        flats += store._call(lambda pipe: [pipe.hgetall(store._label_key(i)) for i in ids[start : start + BATCH]])
    return [record(flat, LABEL_FIELDS) for flat in flats if flat]


def export_customers(store):
    """Every customer with its labels' ids, oldest first: (customer, [label id]), a batch
    of numbers at a time."""
    with availability():
        names = store._redis.hgetall(store._key("label-ids"))  # number -> id, live labels
        last = int(store._redis.get(store._key("customer-seq")) or 0)
    per_trip = max(1, BATCH // BUCKET)
    for first in range(0, last // BUCKET + 1, per_trip):
        buckets = range(first, min(first + per_trip, last // BUCKET + 1))
        found = store._call(lambda pipe: [pipe.hgetall(store._key(f"customer-ids:{k}")) for k in buckets])
        numbered = sorted((int(n), customer_id) for bucket in found for n, customer_id in bucket.items())
        ids = [customer_id for _, customer_id in numbered]
        replies = store._customers(ids, lambda pipe, i: pipe.smembers(store._attached_key(i)))
        for (number, _), (flat, carried) in zip(numbered, replies):
            if flat and int(flat["n"]) == number:  # not deleted, nor made again since
                yield record(flat, CUSTOMER_FIELDS), sorted(names[n] for n in carried if n in names)


# -- load ---------------------------------------------------------------------------------


def load(store, labels, customers, progress=None):
    """Replace the store's state with ``labels`` (a list) and ``customers`` (an iterable
    of fixture customers, consistent: see mock.seed.Checker), in batches; ``progress(n)``
    is told of each batch of customers written. Returns the number of customers."""
    with availability():
        store._redis.set(store._key("loading"), utcnow())
    _clear(store)
    now = utcnow()
    numbers = _write_labels(store, [label_record(label, now) for label in labels])
    written, batch = 0, []
    for customer in customers:
        batch.append((customer_record(customer, now), list(dict.fromkeys(customer.get("labels", [])))))
        if len(batch) == BATCH:
            written = _write_customers(store, batch, written, numbers)
            batch = []
            if progress:
                progress(BATCH)
    written = _write_customers(store, batch, written, numbers)
    if progress and batch:
        progress(len(batch))
    _finish(store)
    return written


def _clear(store):
    """Delete the store's labels and customers, found from its own indexes (never a scan
    of the whole keyspace), a batch at a time; the indexes themselves go last."""
    with availability():
        label_ids = store._redis.zrange(store._key("labels"), 0, -1)
        last_label = int(store._redis.get(store._key("label-seq")) or 0)
        last_customer = int(store._redis.get(store._key("customer-seq")) or 0)
    keys = [store._label_key(i) for i in label_ids] + [store._key(f"carriers:{n}") for n in range(1, last_label + 1)]
    for k in range(last_customer // BUCKET + 1):
        keys += [store._key(f"customer-ids:{k}"), store._key(f"applied:{k}")]
    _unlink(store, keys)
    start = 0
    while True:
        with availability():
            ids = store._redis.zrange(store._key("customers"), start, start + BATCH - 1)
        _unlink(store, [key for i in ids for key in (store._customer_key(i), store._attached_key(i))])
        if len(ids) < BATCH:
            break
        start += BATCH
    _unlink(store, [*store._bulk_extra_keys(), *map(store._key, CATALOGUE_KEYS)])


def _unlink(store, keys):
    # UNLINK frees a big value (a zset of a million ids) off Redis's main thread.
    for start in range(0, len(keys), BATCH):
        store._call(lambda pipe: [pipe.unlink(key) for key in keys[start : start + BATCH]])


def _stored(fields):
    """A record's fields as its hash keeps them: null ones absent."""
    return {field: value for field, value in fields.items() if value is not None}


def _write_labels(store, labels):
    """The labels, numbered 1, 2, ... in the order given: {label id: number}."""
    numbers = {}

    def commands(pipe):
        for n, label in enumerate(labels, 1):
            key = name_key(label["name"])
            pipe.hset(store._label_key(label["id"]), mapping={**_stored(label), "key": key, "n": n})
            pipe.hset(store._key("label-cards"), n, card(label, key))
            pipe.hset(store._key("label-names"), key, label["id"])
            pipe.hset(store._key("label-ids"), n, label["id"])
            pipe.hset(store._key("label-numbers"), label["id"], n)
            pipe.zadd(store._key("labels"), {label["id"]: 0})
            numbers[label["id"]] = n
        pipe.set(store._key("label-seq"), len(labels))

    store._call(commands)
    return numbers


def _write_customers(store, batch, written, numbers):
    """One batch of customers, numbered after the ``written`` before them; the new count."""

    def commands(pipe):
        for number, (customer, label_ids) in enumerate(batch, written + 1):
            pipe.hset(store._customer_key(customer["id"]), mapping={**_stored(customer), "n": number})
            if label_ids:
                pipe.sadd(store._attached_key(customer["id"]), *(numbers[i] for i in label_ids))
            pipe.hset(store._key(f"customer-ids:{number // BUCKET}"), number, customer["id"])
            pipe.zadd(store._key("customers"), {customer["id"]: 0})
            for label_id in label_ids:
                pipe.setbit(store._key(f"carriers:{numbers[label_id]}"), number, 1)
        pipe.set(store._key("customer-seq"), written + len(batch))

    if batch:
        store._call(commands)
    return written + len(batch)


def _finish(store):
    """The last step, in one transaction (the catalogue's keys share a slot): the layout
    written, a new catalogue version whose log starts there (caches read it whole), and
    the load's mark gone."""
    with availability():
        version = store._redis.incr(store._key("version"))
    with availability(), store._redis.pipeline(transaction=True) as pipe:
        pipe.set(store._key("layout"), layout.LAYOUT)
        pipe.delete(store._key("label-log"))
        pipe.zadd(store._key("label-log"), {"": version})
        pipe.delete(store._key("loading"))
        pipe.execute()
