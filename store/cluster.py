"""The Redis store on a Redis Cluster (REDIS_CLUSTER=true).

Each customer's keys share one slot, and the catalogue's keys (labels, and the
index of customers) share another. Whatever touches only one of them is the
single-node store's own script; what spans both is here (customers' own part in
cluster_customers.py), as steps of one slot each. How each promise is kept without
one step over both is in store/README.md. Requests read the catalogue's cards from
copies spread over the cluster (copies.py).
"""

from redis.cluster import RedisCluster

from .base import CUSTOMER_FIELDS, LABEL_FIELDS
from .cluster_customers import ClusterCustomers
from .copies import CatalogueCopies
from .errors import NotFound, TooManyLabels, UnknownLabels
from .redis_store import DETACH_BATCH, SCRIPTS, RedisStore, glob_pattern
from .redis_support import availability, record

#: Keys a replace deletes or writes per command batch on a cluster.
BATCH = 1000


class ClusterStore(ClusterCustomers, CatalogueCopies, RedisStore):
    SCRIPTS = SCRIPTS + tuple(
        f"cluster/{name}" for name in ("customer_labels", "mark", "answer", "copy", "customer", "index", "carriers")
    )

    def __init__(self, client, prefix="cl:"):
        super().__init__(client, prefix)
        self._init_copies()

    def _healthy(self):
        """Every master answers and sees the whole cluster as ok."""
        states = self._redis.cluster_info(target_nodes=RedisCluster.PRIMARIES)
        if "cluster_state" in states:  # one master: its own answer, not one per node
            states = {"": states}
        return all(state.get("cluster_state") == "ok" for state in states.values())

    # -- a customer's labels: numbers from a copy, the customer's step, marks, the answer ---

    def _labels_json(self, customer_id, change, label_ids, cap, again=True):
        self._repair_now_and_then()
        copy = self._copy_of(customer_id)
        numbers = self._copy_numbers(copy, label_ids) if label_ids and change != "get" else {}
        if change == "attach" and len(numbers) < len(label_ids):
            numbers = self._catalogue_numbers(customer_id, label_ids, numbers)
        keys = [self._customer_key(customer_id), self._attached_key(customer_id)]
        status, *rest = self._run("cluster/customer_labels", keys, [change, cap, *numbers.values()])
        if status == "cap" and self._drop_dead(customer_id, rest[2]):
            # Numbers of deleted labels not yet detached took room: try once more without them.
            status, *rest = self._run("cluster/customer_labels", keys, [change, cap, *numbers.values()])
        if status == "missing":
            raise NotFound("customer", customer_id)
        if status == "cap":
            raise TooManyLabels(cap, rest[0], rest[1])
        c, added, carried = rest
        # Only the catalogue decides whether a label is live: the mark step for the
        # labels just attached, and a look there for any the copy has no card of.
        dead = self._run("cluster/mark", [self._key("label-ids")], [self._c, c, *added]) if added else []
        if dead and again and self._renumbered([i for i, n in numbers.items() if n in dead]):
            # The copy lagged behind a label deleted and made again: its old number
            # goes, and the attach runs once more with the catalogue's numbers.
            self._forget_numbers(customer_id, dead)
            return self._labels_json(customer_id, change, label_ids, cap, again=False)
        shown = [n for n in carried if n not in dead]
        body, missing = self._copy_answer(copy, shown)
        if missing:
            live = self._label_ids(missing)
            dead += [n for n, label_id in zip(missing, live) if label_id is None]
            behind = [label_id for label_id in live if label_id is not None]
            for label_id in behind:  # the copy lags: bring it in line, and answer again
                self._sync_label(label_id)
            if behind:
                body, _ = self._copy_answer(copy, [n for n in shown if n not in dead])
        # A label deleted while this attached it, or left by a stopped process.
        self._forget_numbers(customer_id, dead)
        return body

    def _forget_numbers(self, customer_id, dead):
        if dead:
            with availability():
                self._redis.srem(self._attached_key(customer_id), *dead)

    def _label_ids(self, numbers):
        """The catalogue's label id for each number; None where the label is gone."""
        with availability():
            return self._redis.hmget(self._key("label-ids"), numbers) if numbers else []

    def _live_numbers(self, label_ids):
        """The catalogue's number for each live label of these ids."""
        with availability():
            found = self._redis.hmget(self._key("label-numbers"), label_ids) if label_ids else []
        return {label_id: n for label_id, n in zip(label_ids, found) if n is not None}

    def _renumbered(self, label_ids):
        """Whether any of these labels has a live number now (their copies are brought in line)."""
        live = self._live_numbers(label_ids)
        for label_id in live:
            self._sync_label(label_id)
        return bool(live)

    def _catalogue_numbers(self, customer_id, label_ids, known):
        """The numbers from the catalogue itself, when the copy knows fewer: it may lag."""
        numbers = self._live_numbers(label_ids)
        if len(numbers) < len(label_ids):
            if self._get_customer(customer_id) is None:
                raise NotFound("customer", customer_id)
            raise UnknownLabels([label_id for label_id in label_ids if label_id not in numbers])
        for label_id in numbers.keys() - known.keys():
            self._sync_label(label_id)
        return numbers

    def _drop_dead(self, customer_id, carried):
        """Take the numbers of deleted labels off a customer; whether there were any."""
        dead = [n for n, label_id in zip(carried, self._label_ids(carried)) if label_id is None]
        self._forget_numbers(customer_id, dead)
        return bool(dead)

    # -- labels: the catalogue's scripts, then the copies ---------------------------

    def _create_label(self, label, key):
        with self._syncing(label["id"]):
            super()._create_label(label, key)

    def _update_label(self, label_id, changes, new_key):
        with self._syncing(label_id):
            return super()._update_label(label_id, changes, new_key)

    def _delete_label(self, label_id):
        with self._syncing(label_id):
            deleted = self._drop_label(label_id)
        self._detach_dropped_labels()
        return deleted

    def _detach_dropped_labels(self):
        """Detach dropped labels from every customer the bitmap names, a batch at a time."""
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

    # -- the whole state: the catalogue in one step, customers slot by slot ---------

    def _export(self):
        keys = [self._key("labels"), self._key("customers"), self._key("label-ids")]
        labels, ids, numbered = self._run("export", keys, [self._c, self._p, "catalogue"])
        names = dict(zip(numbered[::2], numbered[1::2]))
        customers = []
        for flat, carried in self._customers(ids, lambda pipe, i: pipe.smembers(self._attached_key(i))):
            if flat:
                label_ids = [names[n] for n in carried if n in names]
                customers.append((int(flat["n"]), record(flat, CUSTOMER_FIELDS), label_ids))
        customers.sort(key=lambda entry: entry[0])
        labels = [record(flat, LABEL_FIELDS) for flat in labels]
        return labels, [(customer, label_ids) for _, customer, label_ids in customers]

    def _replace(self, labels, customers, mode="always", keys="all"):
        # The catalogue first: it holds the seed mark that 'once' checks.
        if not super()._replace(labels, customers, mode, keys="catalogue"):
            return False
        self._write_copies(labels)
        with availability():
            old = [
                key
                for kind in ("customer:*", "L:*")
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
