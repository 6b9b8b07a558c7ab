"""The Redis store. Each change is one Lua script, so atomic; each request on a
customer's labels is one script and one round trip. A label's update reads the
label first, to build its card in Python (the one encoder), and its script
applies the change only over the state it read (``_update_label``).

The key layout, and why it is so (memory), is in store/README.md.
"""

import contextlib
import re
from importlib import resources

import redis

from . import bulk, layout
from .base import COUNTED_LABEL_FIELDS, CUSTOMER_FIELDS, LABEL_CAP, LABEL_FIELDS, Page, Store, name_key
from .connection import make_script
from .copies import Copies
from .errors import (
    Conflict,
    CustomersRefused,
    NotFound,
    PreconditionFailed,
    StoreUnavailable,
    TooLarge,
    TooManyLabels,
    UnknownLabels,
)
from .journal import RedisJournal
from .redis_support import availability, card, change_args, pairs, record

#: The scripts in lua/, by name; a cluster store adds those in lua/cluster/.
SCRIPTS = (
    "create_label",
    "create_customer",
    "update_label",
    "update_customer",
    "delete_label",
    "detach_carriers",
    "delete_customer",
    "page",
    "label",
    "carriers_page",
    "customer_labels",
    "change_carriers",
    "segment",
    "replace",
)
#: What scripts start with: lua/cards.lua for those that answer with a customer's labels,
#: lua/tags.lua for those that check If-Match, lua/change_set.lua for those that change a
#: customer's set (the rules of attach, detach and replace).
INCLUDES = {
    "customer_labels": ("cards", "tags", "change_set"),
    "update_label": ("tags",),
    "delete_label": ("tags",),
    "update_customer": ("tags",),
    "delete_customer": ("tags",),
    "cluster/customer": ("tags", "change_set"),
}
#: The catalogue's keys a replace is given (replace.lua), in its order.
REPLACE_KEYS = ("seeded", *bulk.CATALOGUE_KEYS, "layout", "version", "label-log")
#: Every label write bumps ``version`` and notes the label in ``label-log``: what
#: a cluster's processes bring their cached catalogue up to date from (cluster.py).
LOGGED = ("version", "label-log")
#: How often a label update reads again when another write came between its read and its change.
UPDATE_TRIES = 10
#: Carriers detached per script while a label is deleted: each script stays
#: in the low milliseconds, so Redis keeps serving everyone else between them.
DETACH_BATCH = 500
#: The most customers a store's one-step replace (a snapshot, a reset) clears: its
#: script holds Redis for as long as it runs, a few milliseconds at this size. A larger
#: state is replaced by `flask fixtures load`, in batches (bulk.py).
ONE_STEP_CUSTOMERS = 10_000
#: Customer numbers a segment of labels.none alone reads a script (segment.lua), 64
#: buckets of the index: about a millisecond.
SEGMENT_WALK = 8192
#: Seconds a sweeping process holds ``sweep-lock``: one that dies frees it after this.
SWEEP_LOCK_SECONDS = 300


def catalogue_prefix(prefix):
    """Where the catalogue's keys live: one hash tag, so they share one cluster slot."""
    return f"{prefix}{{{prefix}catalogue}}:"


class RedisStore(Store):
    SCRIPTS = SCRIPTS
    #: Whether Redis's reports of changes are taken even with no copies kept (a cluster:
    #: they tell its cached catalogue whether a label changed).
    CATALOGUE_REPORTS = False
    #: Whether this store object has seen its data in the current layout.
    _layout_ready = False

    def __init__(self, client, prefix="cl:", catalogue=None, copies=0):
        """``client`` is a redis-py client made with ``decode_responses=True``.

        Customers' keys start with ``prefix``, the catalogue's with ``catalogue``
        (by default ``catalogue_prefix(prefix)``; see store/README.md). With
        ``copies``, a process keeps copies of customers' labels, up to that many
        bytes, which Redis keeps true (copies.py)."""
        if not client.get_encoder().decode_responses:
            raise ValueError("RedisStore needs a client with decode_responses=True")
        self._redis = client
        self._p = prefix
        self._c = catalogue or catalogue_prefix(prefix)
        self._scripts = {name: make_script(client, _lua(name)) for name in self.SCRIPTS}
        self.journal = RedisJournal(client, self._c)
        # What a GET of a customer's labels reads: the customer's hash and set, and the cards.
        tags = (self._customer_key("}"), self._attached_key("}"))
        prefixes = [key[: key.index("{") + 1] for key in tags]
        watched = copies or self.CATALOGUE_REPORTS
        self.copies = Copies(self._masters, copies, prefixes, [self._key("label-cards")]) if watched else None

    def _masters(self):
        """{name: connection pool} of each master: one Redis is one."""
        return {"": self._redis.connection_pool}

    def _run(self, script, keys, args):
        with availability():
            return self._scripts[script](keys=keys, args=args)

    def _call(self, commands):
        """Run ``commands(pipe)`` in a pipeline, which a cluster splits by node; the replies."""
        with availability(), self._redis.pipeline(transaction=False) as pipe:
            commands(pipe)
            return pipe.execute()

    def _customers(self, ids, also=None):
        """Each customer's hash (empty when it does not exist) and, with ``also``, another reply of it."""

        def commands(pipe):
            for customer_id in ids:
                pipe.hgetall(self._customer_key(customer_id))
                if also:
                    also(pipe, customer_id)

        replies = self._call(commands)
        return list(zip(replies[::2], replies[1::2])) if also else replies

    def _bulk_extra_keys(self):
        """Keys beyond the catalogue's and the customers' that a load deletes (store/bulk.py)."""
        return []

    def _hash(self, key):
        with availability():
            return self._redis.hgetall(key)

    def check(self):
        try:
            with availability():
                self.ensure_layout()
                return self._healthy()
        except (redis.RedisError, StoreUnavailable, layout.NewerLayout):
            return False

    def ensure_layout(self, wait=0.0):
        if not self._layout_ready:
            layout.migrate(self, wait)
            self._layout_ready = True

    def _rewrite_card(self, label_id):
        """Write a label's card again, from its hash, under its name's name key as this
        release makes it (a layout step). False when another label holds that key: this
        one keeps its own, and both stay."""
        with contextlib.suppress(NotFound):  # deleted meanwhile
            key = name_key(self._hash(self._label_key(label_id)).get("name", ""))
            try:
                self._update_label(label_id, {}, key)
            except Conflict:
                self._update_label(label_id, {}, None)
                return False
        return True

    def _leave_layout_2(self, renew):
        """What layout 2 left that layout 3 does not keep: nothing, on one Redis."""

    def _healthy(self):
        return bool(self._redis.ping())

    # -- keys (see store/README.md) ------------------------------------------------

    def _key(self, name):
        """A key of the catalogue (labels, and the index of customers)."""
        return self._c + name

    def _label_key(self, label_id):
        return f"{self._c}label:{label_id}"

    def _customer_key(self, customer_id):
        return f"{self._p}customer:{{{_tag(customer_id)}}}"

    def _attached_key(self, customer_id):
        return f"{self._p}L:{{{_tag(customer_id)}}}"

    # -- labels ----------------------------------------------------------------

    def _create_label(self, label, key):
        keys = [
            self._label_key(label["id"]),
            *map(self._key, ("labels", "label-names", "label-ids", "label-seq", "label-cards", "label-numbers")),
            *map(self._key, LOGGED),
        ]
        taken = self._run("create_label", keys, [label["id"], key, card(label, key), *pairs(label)])
        if taken != "ok":
            raise Conflict(taken, label[taken])

    def _get_label(self, label_id):
        flat = self._run("label", [self._label_key(label_id)], [self._c])
        return record(flat, COUNTED_LABEL_FIELDS) if flat else None

    def _update_label(self, label_id, changes, new_key, guard=""):
        # The card is built here, from the label as read plus the changes (one
        # encoder); the script applies both unless the label changed meanwhile.
        keys = [self._label_key(label_id), *map(self._key, ("label-names", "label-cards", *LOGGED))]
        for _ in range(UPDATE_TRIES):
            flat = self._hash(keys[0])
            if not flat:
                raise NotFound("label", label_id)
            label = {**record(flat, LABEL_FIELDS), **changes}
            after = card(label, new_key or flat["key"])
            args = [label_id, flat.get("v", "0"), new_key or "", after, guard, *change_args(changes)]
            status = self._run("update_label", [*keys, self._key(f"carriers:{flat['n']}")], args)
            if isinstance(status, list):  # ['ok', how many customers carry it]
                return {**label, "customerCount": status[1]}
            if status == "missing":
                raise NotFound("label", label_id)
            if status == "name":
                raise Conflict("name", label["name"])
            if status == "precondition":
                raise PreconditionFailed()
        raise StoreUnavailable(f"label {label_id!r} kept changing while it was updated")

    def _delete_label(self, label_id, guard=""):
        deleted = self._drop_label(label_id, guard)
        self._detach_dropped_labels()
        return deleted

    def _drop_label(self, label_id, guard=""):
        """The first step: out of the catalogue, so nothing can see or attach it."""
        keys = [
            self._label_key(label_id),
            *map(self._key, ("label-names", "labels", "label-ids", "label-gc", "label-cards", "label-numbers")),
            *map(self._key, LOGGED),
        ]
        number = self._run("delete_label", keys, [label_id, guard, self._c])
        if number == -1:
            raise PreconditionFailed()
        return number != 0

    def _detach_dropped_labels(self):
        """The second: detach dropped labels from their carriers, a batch a script.

        This finishes any label whose detaching a stopped process left undone too.
        """
        with availability():
            pending = self._redis.smembers(self._key("label-gc"))
        for n in pending:
            keys = [self._key(f"carriers:{n}"), self._key("label-gc")]
            while not self._run("detach_carriers", keys, [self._c, self._p, n, DETACH_BATCH]):
                pass

    def sweep(self, **options):
        """Finish what processes that stopped left half-done (``_sweep``), one process at
        a time across every host: False, doing nothing, while another one sweeps."""
        lock = self._redis.lock(self._key("sweep-lock"), timeout=SWEEP_LOCK_SECONDS, blocking=False)
        with availability():
            if not lock.acquire():
                return False
        try:
            self._sweep(**options)
        finally:
            with contextlib.suppress(redis.exceptions.LockError, StoreUnavailable), availability():
                lock.release()  # or it expires by itself
        return True

    def _sweep(self):
        """Label deletes whose carriers were not all detached."""
        self._detach_dropped_labels()

    def _page(self, keys, limit, after, head, tail, fields, counted=""):
        start = "(" + after if after is not None else "-"
        flats = self._run("page", keys, [start, limit + 1, head, tail, counted])
        records = [record(flat, fields) for flat in flats[:limit]]
        return Page(records, records[-1]["id"] if len(flats) > limit else None)

    def _list_labels(self, limit, after):
        labels = self._key("labels")
        return self._page([labels], limit, after, self._key("label:"), "", COUNTED_LABEL_FIELDS, counted=self._c)

    def _label_customers(self, label_id, limit, after):
        args = [self._c, self._p, after if after is not None else -1, limit + 1]
        status, *found = self._run("carriers_page", [self._label_key(label_id)], args)
        if status == "missing":
            return None
        customers = [record(flat, CUSTOMER_FIELDS) for _, flat in found[:limit]]
        return Page(customers, str(found[limit - 1][0]) if len(found) > limit else None)

    def _change_carriers(self, label_id, change, customer_ids, cap):
        keys = [self._label_key(label_id), self._key("label-cards")]
        status, *rest = self._run("change_carriers", keys, [self._c, self._p, change, cap, *customer_ids])
        if status == "missing":
            raise NotFound("label", label_id)
        if status != "ok":
            raise CustomersRefused(status, rest[0])
        return rest

    # -- customers ---------------------------------------------------------------

    def _create_customer(self, customer):
        if self._run("create_customer", *self._create_customer_call(customer)) != "ok":
            raise Conflict("id", customer["id"])

    def _create_customer_call(self, customer):
        """create_customer.lua's keys and arguments (the benchmarks pipeline the script)."""
        keys = [self._customer_key(customer["id"]), self._key("customers"), self._key("customer-seq")]
        return keys, [self._c, customer["id"], *pairs(customer)]

    def _get_customer(self, customer_id):
        flat = self._hash(self._customer_key(customer_id))
        return record(flat, CUSTOMER_FIELDS) if flat else None

    def _update_customer(self, customer_id, changes, guard=""):
        flat = self._run("update_customer", [self._customer_key(customer_id)], [guard, *change_args(changes)])
        if not flat:
            raise NotFound("customer", customer_id)
        if flat == "precondition":
            raise PreconditionFailed()
        return record(flat, CUSTOMER_FIELDS)

    def _delete_customer(self, customer_id, guard=""):
        keys = [self._customer_key(customer_id), self._attached_key(customer_id), self._key("customers")]
        deleted = self._run("delete_customer", keys, [self._c, customer_id, guard])
        if deleted == -1:
            raise PreconditionFailed()
        return deleted == 1

    def _list_customers(self, limit, after):
        return self._page([self._key("customers")], limit, after, f"{self._p}customer:{{", "}", CUSTOMER_FIELDS)

    def _count_customers(self):
        return bulk.count_customers(self)

    # -- segments: set algebra over the carriers bitmaps (lua/segment.lua) -------------

    def _segment_run(self, clauses, position, count, customers):
        keys = [self._key(name) for name in ("label-numbers", "customers", "customer-seq")]
        ids = [*clauses["all"], *clauses["any"], *clauses["none"]]
        args = [self._c, customers, position, count, len(clauses["all"]), len(clauses["any"]), SEGMENT_WALK, *ids]
        status, *rest = self._run("segment", keys, args)
        if status == "unknown":
            raise UnknownLabels(rest[0])
        return rest

    def _segment(self, clauses, limit, after):
        found, position = [], int(after) if after is not None else -1
        while len(found) <= limit:
            want = limit + 1 - len(found)
            going_on, *entries = self._segment_run(clauses, position, want, self._segment_prefix())
            found += self._segment_records(entries)
            if len(entries) == 2 * want:  # full, unless the cluster's check dropped some
                position = entries[-2]
            elif going_on != -1:  # a walk that stopped part-way
                position = going_on
            else:
                break
        customers = [customer for _, customer in found[:limit]]
        return Page(customers, str(found[limit - 1][0]) if len(found) > limit else None)

    def _segment_prefix(self):
        """segment.lua's customer key prefix: it reads each customer where it can."""
        return self._p

    def _segment_records(self, entries):
        """[(number, customer)] from segment.lua's page."""
        return [(number, record(flat, CUSTOMER_FIELDS)) for number, flat in zip(entries[::2], entries[1::2])]

    def _segment_count(self, clauses):
        return self._segment_run(clauses, "count", 0, "")[0]

    # -- a customer's labels -------------------------------------------------------

    def _labels_json(self, customer_id, change, label_ids, cap, guard=""):
        if change != "get":
            return self._change_labels(customer_id, change, label_ids, cap, guard)
        if self.copies is None:
            return self._read(customer_id)[0]
        return self.copies.get(_tag(customer_id), lambda: self._read(customer_id))

    def _read(self, customer_id):
        """A customer's labels, and whether a copy of them may be kept."""
        return self._labels_script(customer_id, "get", (), LABEL_CAP), True

    def _change_labels(self, customer_id, change, label_ids, cap, guard=""):
        return self._labels_script(customer_id, change, label_ids, cap, guard)

    def _labels_script(self, customer_id, change, label_ids, cap, guard=""):
        status, *rest = self._run("customer_labels", *self._labels_call(customer_id, change, label_ids, cap, guard))
        if status == "missing":
            raise NotFound("customer", customer_id)
        if status == "precondition":
            raise PreconditionFailed()
        if status == "unknown":
            raise UnknownLabels(rest[0])
        if status == "cap":
            raise TooManyLabels(cap, rest[0], rest[1])
        return rest[0]

    def _labels_call(self, customer_id, change, label_ids, cap, guard=""):
        """customer_labels.lua's keys and arguments (the benchmarks pipeline the script)."""
        keys = [
            self._customer_key(customer_id),
            self._attached_key(customer_id),
            self._key("label-numbers"),
            self._key("label-cards"),
        ]
        return keys, [self._c, change, cap, guard, *label_ids]

    # -- the whole state ---------------------------------------------------------------

    def export_parts(self):
        # In batches (bulk.py): a state of any size, Redis never held for long.
        return bulk.export_labels(self), bulk.export_customers(self)

    def _replace(self, labels, customers, mode="always", keys="all"):
        args = [self._c, self._p, mode, keys, layout.LAYOUT, ONE_STEP_CUSTOMERS, len(labels)]
        for label, key in labels:
            fields = pairs(label)
            args += [label["id"], key, card(label, key), len(fields) // 2, *fields]
        args.append(len(customers))
        for customer, label_ids in customers:
            fields = pairs(customer)
            args += [customer["id"], len(fields) // 2, *fields, len(label_ids), *label_ids]
        done = self._run("replace", [self._key(name) for name in REPLACE_KEYS], args)
        if done == -1:
            raise TooLarge(f"a state of more than {ONE_STEP_CUSTOMERS:,} customers", ONE_STEP_CUSTOMERS)
        return done == 1

    # -- namespaces --------------------------------------------------------------------

    def namespace(self, name):
        # One hash tag for the whole namespace: on a cluster it lives in one
        # slot, so every script works there as on a single Redis.
        prefix = f"{self._p}ns:{{{name}}}:"
        return RedisStore(self._redis, prefix, catalogue=prefix)

    def seed_once(self, state):
        return self._replace(*self._records(state), mode="once")

    def forget(self):
        self._replace([], [], mode="forget")
        self.journal.forget()

    def note_namespace_use(self, name, when):
        with availability():
            self._redis.zadd(self._key("namespaces"), {name: when})

    def pop_idle_namespaces(self, before):
        with availability(), self._redis.pipeline(transaction=True) as pipe:
            pipe.zrangebyscore(self._key("namespaces"), "-inf", f"({before}")
            pipe.zremrangebyscore(self._key("namespaces"), "-inf", f"({before}")
            idle, _ = pipe.execute()
        return idle


def _lua(name):
    lua = resources.files(__package__) / "lua"
    return "".join((lua / f"{part}.lua").read_text() for part in (*INCLUDES.get(name, ()), name))


def _tag(customer_id):
    """The id as its keys' hash tag. A tag ends at the first "}", so an id holding
    one would split a customer's keys over slots; no customer has such an id
    (ids are UUIDs), and this keeps the lookup of one in a single slot."""
    return customer_id.replace("}", "%7D")


def glob_pattern(prefix):
    """The prefix as a SCAN pattern: glob characters escaped."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", prefix)
