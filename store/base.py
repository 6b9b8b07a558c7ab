"""The store interface: every rule of the API is stated here, once, for every backend.

A backend implements the small ``_``-prefixed primitives; each one must be
atomic, so that no other request ever sees a half-made change. The rules a
primitive must keep are in its docstring; the values they use (the label cap,
the default color, a label's fields and how it is written as JSON) are the
constants and functions of this module, which every backend takes from here.
"""

import abc
import hashlib
import json
import unicodedata
import uuid
from collections import namedtuple
from datetime import UTC, datetime

from .errors import CustomersRefused, NotFound, PreconditionFailed, TooManyLabels, UnknownLabels

#: A customer holds at most this many labels.
LABEL_CAP = 250
#: The color a label gets when it is created without one.
DEFAULT_COLOR = "#9e9e9e"
#: The last customer number a Redis bitmap can hold (its largest bit offset): a
#: label-customers cursor at or past it has no customer after it.
LAST_NUMBER = 2**32 - 1

#: What a create may set; the rest (timestamps) is the store's.
CREATE_LABEL = ("id", "name", "color", "description")
CREATE_CUSTOMER = ("id", "name", "email")
#: A label's and a customer's fields, in the order the API shows them.
LABEL_FIELDS = ("id", "name", "color", "description", "createdAt", "updatedAt")
#: A label as the Labels endpoints answer it: how many customers carry it, too (a
#: customer's labels, and fixtures, leave the count out).
COUNTED_LABEL_FIELDS = (*LABEL_FIELDS, "customerCount")
CUSTOMER_FIELDS = ("id", "name", "email", "createdAt", "updatedAt")
#: A segment's clauses: customers carrying every label of "all", at least one of "any"
#: and none of "none".
CLAUSES = ("all", "any", "none")
#: The most label ids a segment may name, in all its clauses together.
SEGMENT_LABELS = 20

#: One page of a listing ordered by id; ``next_after`` is the last id of the
#: page when more items follow, else None.
Page = namedtuple("Page", "items next_after")


def utcnow():
    """The current time as an RFC 3339 UTC timestamp with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def name_key(name):
    """What makes two label names the same: they are unique case-insensitively, and
    whatever Unicode form they are written in ("é" as one character or two, NFC)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def sort_labels(labels):
    """A customer's labels in the order every backend answers with: by name
    case-insensitively (names are unique by name key, so that decides)."""
    return sorted(labels, key=lambda label: (name_key(label["name"]), label["id"]))


def label_json(label):
    """A label as JSON text, as the API shows it: the one encoder of the label
    cards that backends join a customer's labels from."""
    return json.dumps({field: label.get(field) for field in LABEL_FIELDS}, separators=(",", ":"))


# -- ETags: sha1 digests of what the answer shows (lua/tags.lua makes the same) ---------


def _sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


def labels_tag(text):
    """A customer's labels' tag: of the answer's JSON text (``labels_json``)."""
    return _sha1(text)


def label_tag(label):
    """A label's tag: of its JSON (``label_json``), a space, and its ``customerCount``."""
    return _sha1(f"{label_json(label)} {label['customerCount']}")


def customer_tag(customer):
    """A customer's tag: of each field as its length in bytes, ':' and its value, or '-'."""
    values = (customer.get(field) for field in CUSTOMER_FIELDS)
    return _sha1("".join("-" if v is None else f"{len(v.encode())}:{v}" for v in values))


def guard_of(if_match):
    """A store's guard from If-Match: '' for none, '*' for any, else the strong tags
    given, separated by spaces ('-', which no tag equals, when there are none)."""
    if if_match is None:
        return ""
    return "*" if if_match == "*" else " ".join(if_match) or "-"


def check_guard(guard, tag):
    """PreconditionFailed unless ``tag`` (the resource's now) passes ``guard``."""
    if guard not in ("", "*") and tag not in guard.split(" "):
        raise PreconditionFailed()


def unique(ids):
    """The ids in their first-seen order, each once."""
    return list(dict.fromkeys(ids))


def label_record(fields, now):
    """A whole label from the fields given, with the defaults for the rest."""
    return {
        "id": fields.get("id") or uuid.uuid4().hex,
        "name": fields["name"],
        "color": fields.get("color", DEFAULT_COLOR).lower(),
        "description": fields.get("description"),
        "createdAt": fields.get("createdAt", now),
        "updatedAt": fields.get("updatedAt", now),
    }


def customer_record(fields, now):
    """A whole customer from the fields given, with the defaults for the rest."""
    return {
        "id": (fields.get("id") or str(uuid.uuid4())).lower(),
        "name": fields["name"],
        "email": fields.get("email"),
        "createdAt": fields.get("createdAt", now),
        "updatedAt": fields.get("updatedAt", now),
    }


def _name_positions(err, ids, named):
    """Name on ``err`` every place in the request's ``ids`` that holds one of the ids it
    names (its attribute ``named``). A function the callers' ``except`` calls, not a
    context manager: a generator one cost about 1.5 µs of every attach."""
    found = set(getattr(err, named))
    err.positions = [i for i, ident in enumerate(ids) if ident in found]


def _clauses(clauses):
    """Every clause, each id once."""
    return {clause: unique(clauses.get(clause, ())) for clause in CLAUSES}


class Store(abc.ABC):
    """Labels, customers, and which labels each customer carries."""

    #: Whether the data outlives the process (a store in memory ends with it).
    SHARED = True
    #: The mock's request journal and fault rules for this store's namespace, kept
    #: where the store keeps its data (journal.py); each backend sets it.
    journal = None

    # -- health ------------------------------------------------------------

    @abc.abstractmethod
    def check(self):
        """True when the backend answers (and its data is in the layout this code reads)."""

    @abc.abstractmethod
    def ensure_layout(self, wait=0.0):
        """Bring stored data to the layout this code reads, before serving from it
        (store/layout.py); waits up to ``wait`` seconds for another process that
        migrates, then raises StoreUnavailable."""

    # -- labels --------------------------------------------------------------

    def create_label(self, fields):
        label = label_record({k: v for k, v in fields.items() if k in CREATE_LABEL}, utcnow())
        self._create_label(label, name_key(label["name"]))
        return {**label, "customerCount": 0}  # a new label: even one made again with an old id

    def get_label(self, label_id):
        label = self._get_label(label_id)
        if label is None:
            raise NotFound("label", label_id)
        return label

    def update_label(self, label_id, changes, if_match=None):
        """``if_match``: None, "*" or the tags of If-Match (strong ones): PreconditionFailed,
        changing nothing, unless the label's tag is one of them (after NotFound)."""
        changes = dict(changes, updatedAt=utcnow())
        if "color" in changes:
            changes["color"] = changes["color"].lower()
        new_key = name_key(changes["name"]) if "name" in changes else None
        return self._update_label(label_id, changes, new_key, guard_of(if_match))

    def delete_label(self, label_id, if_match=None):
        """Delete a label and detach it from every customer, in one step."""
        if not self._delete_label(label_id, guard_of(if_match)):
            raise NotFound("label", label_id)

    def list_labels(self, limit, after=None):
        return self._list_labels(limit, after)

    def label_customers(self, label_id, limit, after=None):
        """The customers that carry a label, oldest first; ``after`` is an opaque
        position from the previous page."""
        if after is not None and int(after) >= LAST_NUMBER:
            self.get_label(label_id)  # still a 404 for a label that does not exist
            return Page([], None)
        page = self._label_customers(label_id, limit, after)
        if page is None:
            raise NotFound("label", label_id)
        return page

    def change_carriers(self, label_id, change, customer_ids):
        """Attach ("attach") a label to many customers, or detach it ("detach"), all or
        none: CustomersRefused ("unknown") names every customer that does not exist, and
        ("full") every one an attach would take past LABEL_CAP. Customers that already
        carry it (or, to detach, do not) are left as they are. NotFound for no such label.
        What changed: {"changed": [id], "unchanged": [id], "customerCount": n}."""
        ids = [customer_id.lower() for customer_id in customer_ids]
        try:
            changed, unchanged, count = self._change_carriers(label_id, change, unique(ids), LABEL_CAP)
        except CustomersRefused as err:
            _name_positions(err, ids, "customer_ids")
            raise
        return {"changed": changed, "unchanged": unchanged, "customerCount": count}

    # -- customers -------------------------------------------------------------

    def create_customer(self, fields):
        customer = customer_record({k: v for k, v in fields.items() if k in CREATE_CUSTOMER}, utcnow())
        self._create_customer(customer)
        return customer

    def get_customer(self, customer_id):
        customer = self._get_customer(customer_id)
        if customer is None:
            raise NotFound("customer", customer_id)
        return customer

    def update_customer(self, customer_id, changes, if_match=None):
        return self._update_customer(customer_id, dict(changes, updatedAt=utcnow()), guard_of(if_match))

    def delete_customer(self, customer_id, if_match=None):
        """Delete a customer together with the labels it carries."""
        if not self._delete_customer(customer_id, guard_of(if_match)):
            raise NotFound("customer", customer_id)

    def list_customers(self, limit, after=None):
        return self._list_customers(limit, after)

    # -- segments: customers by the labels they carry ------------------------------

    def segment(self, clauses, limit, after=None):
        """The customers that ``clauses`` ({"all"|"any"|"none": [label id]}, at least one
        id) select, oldest first, paged like a label's customers. UnknownLabels names
        every id that is no label."""
        clauses = _clauses(clauses)
        if after is not None and int(after) >= LAST_NUMBER:
            self._segment_count(clauses)  # still UnknownLabels for a label that does not exist
            return Page([], None)
        return self._segment(clauses, limit, after)

    def count_customers(self, clauses=None):
        """How many customers ``clauses`` select; with none, how many there are."""
        clauses = _clauses(clauses or {})
        return self._segment_count(clauses) if any(clauses.values()) else self._count_customers()

    # -- a customer's labels ---------------------------------------------------

    def labels_json(self, customer_id, change="get", label_ids=(), if_match=None):
        """The customer's labels after ``change``, as the API's JSON body
        ``{"data": [label, ...]}``, in ``sort_labels`` order, each label as
        ``label_json`` writes it. The one path for get, attach and detach:

        - "get" changes nothing;
        - "attach" adds existing labels, all or none: UnknownLabels names every
          id that is no label, TooManyLabels when the customer would pass
          LABEL_CAP; ids already attached are ignored;
        - "detach" takes labels off; ids not attached, or naming no label, are ignored;
        - "replace" makes the customer carry exactly ``label_ids`` (none: no labels),
          all or none as attach is.

        NotFound when there is no such customer, before anything else; then
        PreconditionFailed unless the answer's tag before passes ``if_match`` (as
        ``update_label``'s).
        """
        distinct, guard = unique(label_ids), guard_of(if_match)
        if change == "replace" and len(distinct) > LABEL_CAP:
            check_guard(guard, labels_tag(self.labels_json(customer_id)))  # a 404, then a 412, first
            raise TooManyLabels(LABEL_CAP, 0, len(distinct))
        try:
            return self._labels_json(customer_id, change, distinct, LABEL_CAP, guard)
        except UnknownLabels as err:
            _name_positions(err, label_ids, "label_ids")
            raise

    # -- the whole state, for fixtures and snapshots -------------------------

    def export(self):
        """Everything: labels by id, and customers, oldest first, with their labels' ids.

        ``replace(export())`` gives back exactly the same state, customers'
        order of creation (which orders a label's customers) included.
        """
        labels, customers = self.export_parts()
        return {"labels": labels, "customers": [dict(customer, labels=label_ids) for customer, label_ids in customers]}

    @abc.abstractmethod
    def export_parts(self):
        """What ``export`` gives, as (every label, by id; an iterator of (customer, its
        labels' ids sorted), oldest first), so that a state too large to hold can be written."""

    def replace(self, state):
        """Replace everything with ``state``, in one step, as one fixture file gives it.

        The state must be consistent (see ``mock.seed.check``): unique ids and
        names, and customers carrying only labels it defines.
        """
        self._replace(*self._records(state))

    @staticmethod
    def _records(state):
        """([(label, name key)], [(customer, [label id])]) for ``_replace``, defaults filled in."""
        now = utcnow()
        labels = [label_record(label, now) for label in state.get("labels", [])]
        customers = [
            (customer_record(customer, now), unique(customer.get("labels", [])))
            for customer in state.get("customers", [])
        ]
        return [(label, name_key(label["name"])) for label in labels], customers

    def clear(self):
        """Remove every label and customer."""
        self._replace([], [])

    # -- namespaces: separate states side by side (mock mode) -------------------

    @abc.abstractmethod
    def namespace(self, name):
        """A store of the same backend for namespace ``name`` (a checked name)."""

    @abc.abstractmethod
    def seed_once(self, state):
        """``replace(state)`` unless this store was seeded before; True if it seeded."""

    @abc.abstractmethod
    def forget(self):
        """Clear everything, the journal too, and forget it was ever seeded."""

    @abc.abstractmethod
    def note_namespace_use(self, name, when):
        """Record that namespace ``name`` was used at ``when`` (epoch seconds)."""

    @abc.abstractmethod
    def pop_idle_namespaces(self, before):
        """The namespaces last used before ``before``, no longer recorded as used."""

    # -- what a backend implements -------------------------------------------
    # Each primitive is atomic. Those that change a customer's labels raise
    # NotFound, UnknownLabels or TooManyLabels before changing anything.

    @abc.abstractmethod
    def _create_label(self, label, key):
        """Store a new label; Conflict when its id or name key is taken."""

    @abc.abstractmethod
    def _get_label(self, label_id):
        """The label, or None."""

    @abc.abstractmethod
    def _update_label(self, label_id, changes, new_key, guard=""):
        """Apply changes (new_key set when the name changes); the label after. With a
        ``guard`` (``guard_of``), PreconditionFailed unless the label's tag passes it:
        every primitive that takes one checks it in the same atomic step, after NotFound."""

    @abc.abstractmethod
    def _delete_label(self, label_id, guard=""):
        """Delete and detach everywhere; False when there was no such label."""

    @abc.abstractmethod
    def _list_labels(self, limit, after):
        """A Page of labels with ids after ``after``."""

    @abc.abstractmethod
    def _label_customers(self, label_id, limit, after):
        """A Page of the label's customers, oldest first, or None when there is no such label.

        ``after`` and the page's ``next_after`` are the decimal number of a
        customer in the order of creation."""

    @abc.abstractmethod
    def _change_carriers(self, label_id, change, customer_ids, cap):
        """``change_carriers`` for distinct lower-case ids: (changed ids, unchanged ids,
        how many customers carry the label after), in request order."""

    @abc.abstractmethod
    def _create_customer(self, customer):
        """Store a new customer; Conflict when its id is taken."""

    @abc.abstractmethod
    def _get_customer(self, customer_id):
        """The customer, or None."""

    @abc.abstractmethod
    def _update_customer(self, customer_id, changes, guard=""):
        """Apply changes; the customer after."""

    @abc.abstractmethod
    def _delete_customer(self, customer_id, guard=""):
        """Delete with its labels; False when there was no such customer."""

    @abc.abstractmethod
    def _list_customers(self, limit, after):
        """A Page of customers with ids after ``after``."""

    @abc.abstractmethod
    def _count_customers(self):
        """How many customers there are."""

    @abc.abstractmethod
    def _segment(self, clauses, limit, after):
        """A Page of the customers ``clauses`` select, oldest first, after the customer
        numbered ``after`` (a decimal string, or None); UnknownLabels for ids of no label."""

    @abc.abstractmethod
    def _segment_count(self, clauses):
        """How many customers ``clauses`` (at least one id) select; UnknownLabels as ``_segment``."""

    @abc.abstractmethod
    def _labels_json(self, customer_id, change, label_ids, cap, guard=""):
        """``labels_json`` for distinct ``label_ids``, in one atomic step, the
        answer joined from the labels' ready-made JSON (``label_json``)."""

    @abc.abstractmethod
    def _replace(self, labels, customers):
        """Replace everything with [(label, name key)] and [(customer, [label id])]."""
