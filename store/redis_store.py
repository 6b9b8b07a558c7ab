"""The Redis store. Every change is one Lua script, so it is atomic and one round trip.

Key layout, each key starting with the configured prefix P (default ``cl:``):

===================================  ======  ============================================
key                                  type    holds
===================================  ======  ============================================
P labels                             zset    every label id, score 0 (ordered by id)
P label-names                        hash    casefolded name -> label id (unique names)
P label:<labelId>                    hash    the label's fields, plus ``key``, its name key
P label-customers:<labelId>          zset    ids of the customers carrying it, score 0
P customers                          zset    every customer id, score 0
P customer:{<customerId>}            hash    the customer's fields
P customer-labels:{<customerId>}     set     ids of the labels the customer carries
===================================  ======  ============================================

A null field (a label's description, a customer's email) is an absent hash field.
Each kind of key has its own word before the colon, so no id, whatever
characters a request puts in it, can name a key of another kind.
The braces are a hash tag: all keys of one customer share one cluster slot.
"""

import re
from contextlib import contextmanager
from importlib import resources

import redis
from redis.exceptions import OutOfMemoryError, ReadOnlyError

from .base import LABEL_CAP, Page, Store
from .errors import Conflict, NotFound, StoreUnavailable, TooManyLabels, UnknownLabels

SCRIPTS = (
    "create_record",
    "update_record",
    "delete_label",
    "delete_customer",
    "page",
    "customer_labels",
    "export",
    "replace",
)
LABEL_FIELDS = ("id", "name", "color", "description", "createdAt", "updatedAt")
CUSTOMER_FIELDS = ("id", "name", "email", "createdAt", "updatedAt")


#: Replies that mean "not now" rather than "wrong": no connection, a timeout,
#: a replica or a loading server, a full or failing disk, or full memory.
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, ReadOnlyError, OutOfMemoryError)
UNAVAILABLE_REPLIES = ("MISCONF", "MASTERDOWN", "LOADING", "TRYAGAIN", "CLUSTERDOWN")


@contextmanager
def _availability():
    """Turn Redis being down, hung or unable to write into StoreUnavailable."""
    try:
        yield
    except UNAVAILABLE as err:
        raise StoreUnavailable(err) from err
    except redis.ResponseError as err:
        if str(err).startswith(UNAVAILABLE_REPLIES):
            raise StoreUnavailable(err) from err
        raise


def _record(stored, fields):
    """A record from a hash: HGETALL's dict, or the flat [field, value, ...] list
    that a script gets. Absent fields are null."""
    if isinstance(stored, list):
        stored = dict(zip(stored[::2], stored[1::2]))
    return {field: stored.get(field) for field in fields}


def _pairs(record):
    """HSET arguments for the record's non-null fields."""
    return [part for field, value in record.items() if value is not None for part in (field, value)]


class RedisStore(Store):
    def __init__(self, client, prefix="cl:"):
        """``client`` is a redis-py client made with ``decode_responses=True``."""
        if not client.get_encoder().decode_responses:
            raise ValueError("RedisStore needs a client with decode_responses=True")
        self._redis = client
        self._p = prefix
        lua = resources.files(__package__) / "lua"
        self._scripts = {
            name: client.register_script((lua / f"{name}.lua").read_text()) for name in SCRIPTS
        }

    def _run(self, script, keys, args):
        with _availability():
            return self._scripts[script](keys=keys, args=args)

    def _hash(self, key):
        with _availability():
            return self._redis.hgetall(key)

    def check(self):
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    # -- keys ----------------------------------------------------------------

    def _label_key(self, label_id):
        return f"{self._p}label:{label_id}"

    def _carriers_key(self, label_id):
        return f"{self._p}label-customers:{label_id}"

    def _customer_key(self, customer_id):
        return f"{self._p}customer:{{{customer_id}}}"

    def _attached_key(self, customer_id):
        return f"{self._p}customer-labels:{{{customer_id}}}"

    # -- labels ----------------------------------------------------------------

    def _create_label(self, label, key):
        keys = [self._label_key(label["id"]), self._p + "labels", self._p + "label-names"]
        taken = self._run("create_record", keys, [label["id"], key, *_pairs(label), "key", key])
        if taken != "ok":
            raise Conflict(taken, label[taken])

    def _get_label(self, label_id):
        flat = self._hash(self._label_key(label_id))
        return _record(flat, LABEL_FIELDS) if flat else None

    def _update_label(self, label_id, changes, new_key):
        keys = [self._label_key(label_id), self._p + "label-names"]
        flat = self._update(keys, label_id, changes, new_key, "label")
        return _record(flat, LABEL_FIELDS)

    def _update(self, keys, ident, changes, new_key, kind):
        nulls = [field for field, value in changes.items() if value is None]
        args = [ident, new_key or "", len(nulls), *nulls, *_pairs(changes)]
        status, *rest = self._run("update_record", keys, args)
        if status == "missing":
            raise NotFound(kind, ident)
        if status == "name":
            raise Conflict("name", changes["name"])
        return rest[0]

    def _delete_label(self, label_id):
        keys = [
            self._label_key(label_id),
            self._p + "label-names",
            self._p + "labels",
            self._carriers_key(label_id),
        ]
        return self._run("delete_label", keys, [self._p, label_id]) == 1

    def _page(self, keys, limit, after, head, tail, fields):
        start = "(" + after if after is not None else "-"
        status, *flats = self._run("page", keys, [start, limit + 1, head, tail])
        if status == "missing":
            return None
        records = [_record(flat, fields) for flat in flats[:limit]]
        return Page(records, records[-1]["id"] if len(flats) > limit else None)

    def _list_labels(self, limit, after):
        keys = [self._p + "labels"]
        return self._page(keys, limit, after, self._p + "label:", "", LABEL_FIELDS)

    def _label_customers(self, label_id, limit, after):
        keys = [self._carriers_key(label_id), self._label_key(label_id)]
        return self._page(keys, limit, after, self._p + "customer:{", "}", CUSTOMER_FIELDS)

    # -- customers ---------------------------------------------------------------

    def _create_customer(self, customer):
        keys = [self._customer_key(customer["id"]), self._p + "customers"]
        if self._run("create_record", keys, [customer["id"], "", *_pairs(customer)]) != "ok":
            raise Conflict("id", customer["id"])

    def _get_customer(self, customer_id):
        flat = self._hash(self._customer_key(customer_id))
        return _record(flat, CUSTOMER_FIELDS) if flat else None

    def _update_customer(self, customer_id, changes):
        keys = [self._customer_key(customer_id)]
        flat = self._update(keys, customer_id, changes, None, "customer")
        return _record(flat, CUSTOMER_FIELDS)

    def _delete_customer(self, customer_id):
        keys = [
            self._customer_key(customer_id),
            self._attached_key(customer_id),
            self._p + "customers",
        ]
        return self._run("delete_customer", keys, [self._p, customer_id]) == 1

    def _list_customers(self, limit, after):
        keys = [self._p + "customers"]
        return self._page(keys, limit, after, self._p + "customer:{", "}", CUSTOMER_FIELDS)

    # -- a customer's labels -------------------------------------------------------

    def _labels_script(self, customer_id, mode, label_ids):
        keys = [self._customer_key(customer_id), self._attached_key(customer_id)]
        args = [self._p, customer_id, mode, LABEL_CAP, *label_ids]
        status, *rest = self._run("customer_labels", keys, args)
        if status == "missing":
            raise NotFound("customer", customer_id)
        if status == "unknown":
            raise UnknownLabels(rest[0])
        if status == "cap":
            raise TooManyLabels(LABEL_CAP, rest[0], rest[1])
        return [_record(flat, LABEL_FIELDS) for flat in rest]

    def _customer_labels(self, customer_id):
        return self._labels_script(customer_id, "get", [])

    def _attach(self, customer_id, label_ids):
        return self._labels_script(customer_id, "attach", label_ids)

    def _detach(self, customer_id, label_ids):
        return self._labels_script(customer_id, "detach", label_ids)

    # -- the whole state ---------------------------------------------------------------

    def _export(self):
        labels, customers = self._run("export", [self._p + "labels", self._p + "customers"], [self._p])
        return (
            [_record(flat, LABEL_FIELDS) for flat in labels],
            [(_record(flat, CUSTOMER_FIELDS), label_ids) for flat, label_ids in customers],
        )

    def _replace(self, labels, customers, mode="always"):
        glob = re.sub(r"([*?\[\]\\])", r"\\\1", self._p)
        args = [self._p, glob, mode, len(labels)]
        for label, key in labels:
            pairs = _pairs(label)
            args += [label["id"], key, len(pairs) // 2, *pairs]
        args.append(len(customers))
        for customer, label_ids in customers:
            pairs = _pairs(customer)
            args += [customer["id"], len(pairs) // 2, *pairs, len(label_ids), *label_ids]
        return self._run("replace", [], args) == 1

    # -- namespaces --------------------------------------------------------------------

    def namespace(self, name):
        return RedisStore(self._redis, f"{self._p}ns:{name}:")

    def seed_once(self, state):
        return self._replace(*self._records(state), mode="once")

    def forget(self):
        self._replace([], [], mode="forget")

    def note_namespace_use(self, name, when):
        with _availability():
            self._redis.zadd(self._p + "namespaces", {name: when})

    def pop_idle_namespaces(self, before):
        with _availability(), self._redis.pipeline(transaction=True) as pipe:
            pipe.zrangebyscore(self._p + "namespaces", "-inf", f"({before}")
            pipe.zremrangebyscore(self._p + "namespaces", "-inf", f"({before}")
            idle, _ = pipe.execute()
        return idle
