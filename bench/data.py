"""Filling a Redis for a benchmark, quickly, and measuring memory per attachment."""

import random
import uuid

from customer_labels.store import LABEL_CAP, RedisStore
from customer_labels.store.base import customer_record, utcnow

LABELS = [f"label-{i}" for i in range(50)]
EMAIL = "c@example.com"


def fill(client, prefix, customers, labels=LABELS, per_customer=5, seed=1):
    """Make ``labels`` and ``customers`` through the store's own scripts, pipelined;
    give each customer ``per_customer`` random labels. Returns the customer ids."""
    store = RedisStore(client, prefix)
    for label_id in labels:
        store.create_label({"id": label_id, "name": label_id.replace("-", " ").title()})
    ids = customer_ids(customers, seed)
    now = utcnow()
    _pipelined(
        store,
        "create_customer",
        ids,
        lambda cid: store._create_customer_call(
            customer_record({"id": cid, "name": "Customer", "email": "c@example.com"}, now)
        ),
    )
    if per_customer:
        attach(store, ids, labels, per_customer, seed)
    return store, ids


def customer_ids(customers, seed=1):
    """The same random UUIDs every run."""
    return [str(uuid.UUID(int=random.Random(seed + i).getrandbits(128), version=4)) for i in range(customers)]


def attach(store, ids, labels, per_customer, seed=1):
    rng = random.Random(seed)
    _pipelined(
        store,
        "customer_labels",
        ids,
        lambda cid: store._labels_call(cid, "attach", rng.sample(labels, per_customer), LABEL_CAP),
    )


def _pipelined(store, script_name, items, keys_and_args, batch=1000):
    script = store._scripts[script_name]
    client = store._redis
    client.script_load(script.script)
    for start in range(0, len(items), batch):
        with client.pipeline(transaction=False) as pipe:
            for item in items[start : start + batch]:
                keys, args = keys_and_args(item)
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            pipe.execute()


def plain_sets(client, customers, per_customer=5, seed=1):
    """The naive layout, for comparison: sets of 36-character ids in both directions."""
    rng = random.Random(seed)
    labels = [str(uuid.UUID(int=i, version=4)) for i in range(50)]
    ids = customer_ids(customers, seed)
    for start in range(0, customers, 1000):
        with client.pipeline(transaction=False) as pipe:
            for cid in ids[start : start + 1000]:
                chosen = rng.sample(labels, per_customer)
                pipe.sadd(f"plain:customer:{cid}", *chosen)
                for label in chosen:
                    pipe.sadd(f"plain:label:{label}", cid)
            pipe.execute()


def used_memory(client):
    return client.info("memory")["used_memory"]


def memory_per_attachment(client, customers):
    """(service, plain sets) bytes per attachment: the growth of used_memory while
    ``customers`` existing customers each get 5 of 50 labels."""
    client.flushall()
    store, ids = fill(client, "mem:", customers, per_customer=0)
    before = used_memory(client)
    attach(store, ids, LABELS, 5)
    service = (used_memory(client) - before) / (customers * 5)
    client.flushall()
    before = used_memory(client)
    plain_sets(client, customers)
    plain = (used_memory(client) - before) / (customers * 5)
    client.flushall()
    return service, plain
