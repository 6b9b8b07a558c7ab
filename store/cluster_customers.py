"""Customers on a Redis Cluster: each one's own slot, and the catalogue's index of
them (the listing by id, and number -> id), kept in line by steps of one slot each.

The index may name a customer for a moment before its keys are made, or after
they are deleted; readers check those keys (see store/README.md).
"""

from .base import CUSTOMER_FIELDS, Page
from .errors import Conflict
from .redis_support import availability, pairs, record


class ClusterCustomers:
    """The customers' side of ClusterStore."""

    def _customers(self, ids, also=None):
        """Each customer's hash (empty when it does not exist) and, with ``also``, another reply of it."""

        def commands(pipe):
            for customer_id in ids:
                pipe.hgetall(self._customer_key(customer_id))
                if also:
                    also(pipe, customer_id)

        replies = self._call(commands)
        return list(zip(replies[::2], replies[1::2])) if also else replies

    def _index(self, op, customer_id, n=""):
        keys = [self._key("customers"), self._key("customer-seq")]
        return self._run("cluster/index", keys, [self._c, customer_id, op, n])

    def _create_customer(self, customer):
        customer_id = customer["id"]
        keys = [self._customer_key(customer_id), self._attached_key(customer_id)]
        n = self._index("reserve", customer_id)
        if not self._run("cluster/customer", keys, ["create", n, *pairs(customer)]):
            self._index("unmap", customer_id, n)
            raise Conflict("id", customer_id)
        # Listed again: a delete of the same id may have unlisted it meanwhile.
        self._index("add", customer_id, n)

    def _delete_customer(self, customer_id):
        keys = [self._customer_key(customer_id), self._attached_key(customer_id)]
        n = self._run("cluster/customer", keys, ["delete"])
        if not n:
            return False
        self._index("drop", customer_id, n)
        # A create of the same id, between the two steps above, is listed again.
        with availability():
            again = self._redis.hget(self._customer_key(customer_id), "n")
        if again is not None:
            self._index("add", customer_id, again)
        return True

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

    def _label_customers(self, label_id, limit, after):
        found, position = [], after if after is not None else -1
        while len(found) <= limit:
            args = [self._c, position, limit + 1 - len(found), "read"]
            batch = self._run("cluster/carriers", [self._label_key(label_id)], args)
            if batch is None:
                return None
            n, candidates = batch[0], list(zip(batch[1::2], batch[2::2]))
            if not candidates:
                break
            # The bitmap may name customers that have since detached the label or
            # been deleted: each one's own keys decide.
            ids = [customer_id for _, customer_id in candidates if customer_id]
            replies = iter(self._customers(ids, lambda pipe, i: pipe.sismember(self._attached_key(i), n)))
            for number, customer_id in candidates:
                flat, carries = next(replies) if customer_id else ({}, False)
                if flat and carries:
                    found.append((number, record(flat, CUSTOMER_FIELDS)))
            position = candidates[-1][0]
        customers = [customer for _, customer in found[:limit]]
        return Page(customers, str(found[limit - 1][0]) if len(found) > limit else None)
