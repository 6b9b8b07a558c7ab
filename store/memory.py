"""The in-memory store: same rules as Redis, for the local mock and for tests.

One lock guards everything, so each primitive is atomic across threads.
Records are copied on the way in and out, so no caller shares our state.
"""

import bisect
import threading

from .base import Page, Store, check_guard, customer_tag, label_json, label_tag, labels_tag, name_key
from .errors import Conflict, CustomersRefused, NotFound, TooManyLabels, UnknownLabels
from .journal import MemoryJournal


class SortedIds:
    """A sorted list of ids with keyset pagination."""

    def __init__(self):
        self._ids = []

    def add(self, ident):
        i = bisect.bisect_left(self._ids, ident)
        if i == len(self._ids) or self._ids[i] != ident:
            self._ids.insert(i, ident)

    def discard(self, ident):
        i = bisect.bisect_left(self._ids, ident)
        if i < len(self._ids) and self._ids[i] == ident:
            del self._ids[i]

    def page(self, limit, after):
        """Up to ``limit`` ids after ``after``, and the id to continue after."""
        start = bisect.bisect_right(self._ids, after) if after is not None else 0
        ids = self._ids[start : start + limit + 1]
        more = len(ids) > limit
        ids = ids[:limit]
        return ids, (ids[-1] if more else None)

    def __iter__(self):
        return iter(list(self._ids))

    def __len__(self):
        return len(self._ids)


class MemoryStore(Store):
    SHARED = False

    def __init__(self):
        self._lock = threading.RLock()
        self._empty()
        self._seeded = False
        self._namespace_use = {}  # name -> epoch seconds
        self.journal = MemoryJournal()

    def _empty(self):
        self._labels = {}  # label id -> label
        self._cards = {}  # label id -> (name key, label_json(label)), for answers
        self._label_ids = SortedIds()
        self._names = {}  # name key -> label id
        self._customers = {}  # customer id -> customer, oldest first
        self._customer_ids = SortedIds()
        self._numbers = {}  # customer id -> number, in order of creation
        self._by_number = {}  # number -> customer id
        self._customer_seq = 0
        self._attached = {}  # customer id -> set of label ids
        self._carriers = {}  # label id -> SortedIds of customer numbers

    def check(self):
        return True

    def ensure_layout(self, wait=0.0):
        """Nothing to do: no data outlives the process."""

    # -- labels ----------------------------------------------------------------

    def _create_label(self, label, key):
        with self._lock:
            if label["id"] in self._labels:
                raise Conflict("id", label["id"])
            if key in self._names:
                raise Conflict("name", label["name"])
            self._labels[label["id"]] = dict(label)
            self._cards[label["id"]] = (key, label_json(label))
            self._names[key] = label["id"]
            self._label_ids.add(label["id"])
            self._carriers[label["id"]] = SortedIds()

    def _counted(self, label_id):
        return {**self._labels[label_id], "customerCount": len(self._carriers[label_id])}

    def _get_label(self, label_id):
        with self._lock:
            return self._counted(label_id) if label_id in self._labels else None

    def _update_label(self, label_id, changes, new_key, guard=""):
        with self._lock:
            label = self._labels.get(label_id)
            if label is None:
                raise NotFound("label", label_id)
            check_guard(guard, label_tag(self._counted(label_id)))
            if new_key is not None:
                if self._names.get(new_key, label_id) != label_id:
                    raise Conflict("name", changes["name"])
                del self._names[name_key(label["name"])]
                self._names[new_key] = label_id
            label.update(changes)
            self._cards[label_id] = (name_key(label["name"]), label_json(label))
            return self._counted(label_id)

    def _delete_label(self, label_id, guard=""):
        with self._lock:
            if label_id not in self._labels:
                return False
            check_guard(guard, label_tag(self._counted(label_id)))
            label = self._labels.pop(label_id)
            del self._cards[label_id]
            del self._names[name_key(label["name"])]
            self._label_ids.discard(label_id)
            for number in self._carriers.pop(label_id):
                self._attached[self._by_number[number]].discard(label_id)
            return True

    def _list_labels(self, limit, after):
        with self._lock:
            ids, next_after = self._label_ids.page(limit, after)
            return Page([self._counted(i) for i in ids], next_after)

    def _label_customers(self, label_id, limit, after):
        with self._lock:
            carriers = self._carriers.get(label_id)
            if carriers is None:
                return None
            numbers, next_after = carriers.page(limit, int(after) if after is not None else None)
            customers = [dict(self._customers[self._by_number[n]]) for n in numbers]
            return Page(customers, str(next_after) if next_after is not None else None)

    def _change_carriers(self, label_id, change, customer_ids, cap):
        with self._lock:
            if label_id not in self._labels:
                raise NotFound("label", label_id)
            unknown = [i for i in customer_ids if i not in self._customers]
            if unknown:
                raise CustomersRefused("unknown", unknown)
            attach = change == "attach"
            changed = [i for i in customer_ids if (label_id in self._attached[i]) != attach]
            full = [i for i in changed if attach and len(self._attached[i]) >= cap]
            if full:
                raise CustomersRefused("full", full)
            for customer_id in changed:
                self._change(customer_id, change, [label_id], cap)
            done = set(changed)
            return changed, [i for i in customer_ids if i not in done], len(self._carriers[label_id])

    # -- customers ---------------------------------------------------------------

    def _create_customer(self, customer):
        with self._lock:
            if customer["id"] in self._customers:
                raise Conflict("id", customer["id"])
            self._customers[customer["id"]] = dict(customer)
            self._customer_ids.add(customer["id"])
            self._customer_seq += 1
            self._numbers[customer["id"]] = self._customer_seq
            self._by_number[self._customer_seq] = customer["id"]
            self._attached[customer["id"]] = set()

    def _get_customer(self, customer_id):
        with self._lock:
            customer = self._customers.get(customer_id)
            return dict(customer) if customer else None

    def _update_customer(self, customer_id, changes, guard=""):
        with self._lock:
            customer = self._customers.get(customer_id)
            if customer is None:
                raise NotFound("customer", customer_id)
            check_guard(guard, customer_tag(customer))
            customer.update(changes)
            return dict(customer)

    def _delete_customer(self, customer_id, guard=""):
        with self._lock:
            if customer_id not in self._customers:
                return False
            check_guard(guard, customer_tag(self._customers[customer_id]))
            del self._customers[customer_id]
            self._customer_ids.discard(customer_id)
            number = self._numbers.pop(customer_id)
            del self._by_number[number]
            for label_id in self._attached.pop(customer_id):
                self._carriers[label_id].discard(number)
            return True

    def _list_customers(self, limit, after):
        with self._lock:
            ids, next_after = self._customer_ids.page(limit, after)
            return Page([dict(self._customers[i]) for i in ids], next_after)

    def _count_customers(self):
        with self._lock:
            return len(self._customers)

    # -- segments ---------------------------------------------------------------------

    def _selected(self, clauses):
        """The numbers of the customers ``clauses`` select."""
        unknown = [i for ids in clauses.values() for i in ids if i not in self._labels]
        if unknown:
            raise UnknownLabels(unknown)
        carriers = {i: set(self._carriers[i]) for ids in clauses.values() for i in ids}
        selected = set(self._by_number)
        if clauses["all"]:
            selected.intersection_update(*(carriers[i] for i in clauses["all"]))
        if clauses["any"]:
            selected &= set().union(*(carriers[i] for i in clauses["any"]))
        return selected.difference(*(carriers[i] for i in clauses["none"]))

    def _segment(self, clauses, limit, after):
        with self._lock:
            after = int(after) if after is not None else -1
            numbers = sorted(n for n in self._selected(clauses) if n > after)[: limit + 1]
            customers = [dict(self._customers[self._by_number[n]]) for n in numbers[:limit]]
            return Page(customers, str(numbers[limit - 1]) if len(numbers) > limit else None)

    def _segment_count(self, clauses):
        with self._lock:
            return len(self._selected(clauses))

    # -- a customer's labels -------------------------------------------------------

    def _labels_of(self, customer_id):
        attached = self._attached.get(customer_id)
        if attached is None:
            raise NotFound("customer", customer_id)
        return attached

    def _labels_json(self, customer_id, change, label_ids, cap, guard=""):
        with self._lock:
            if guard:
                check_guard(guard, labels_tag(self._answer(customer_id)))
            self._change(customer_id, change, label_ids, cap)
            return self._answer(customer_id)

    def _answer(self, customer_id):
        # Each label's JSON is kept ready in _cards: the answer is a join.
        cards = sorted(self._cards[i] for i in self._labels_of(customer_id))
        return '{"data":[' + ",".join(text for _, text in cards) + "]}"

    def _change(self, customer_id, change, label_ids, cap):
        """Attach, detach or replace (or, for "get", only check the customer exists)."""
        attached = self._labels_of(customer_id)
        if change == "attach":
            unknown = [i for i in label_ids if i not in self._labels]
            if unknown:
                raise UnknownLabels(unknown)
            new = [i for i in label_ids if i not in attached]
            if len(attached) + len(new) > cap:
                raise TooManyLabels(cap, len(attached), len(new))
            for label_id in new:
                attached.add(label_id)
                self._carriers[label_id].add(self._numbers[customer_id])
        elif change == "detach":
            for label_id in label_ids:
                if label_id in attached:
                    attached.discard(label_id)
                    self._carriers[label_id].discard(self._numbers[customer_id])
        elif change == "replace":
            self._replace_labels(customer_id, attached, label_ids, cap)

    def _replace_labels(self, customer_id, attached, label_ids, cap):
        """Exactly ``label_ids``: unknown ones refused before anything changes."""
        unknown = [i for i in label_ids if i not in self._labels]
        if unknown:
            raise UnknownLabels(unknown)
        keep = set(label_ids)
        self._change(customer_id, "detach", [i for i in attached if i not in keep], cap)
        self._change(customer_id, "attach", label_ids, cap)

    # -- the whole state -------------------------------------------------------------

    def export_parts(self):
        with self._lock:  # a copy, taken in one step
            labels = sorted((dict(label) for label in self._labels.values()), key=lambda label: label["id"])
            customers = [(dict(c), sorted(self._attached[i])) for i, c in self._customers.items()]
        return labels, iter(customers)

    def _replace(self, labels, customers):
        with self._lock:
            self._empty()
            for label, key in labels:
                self._create_label(label, key)
            for customer, label_ids in customers:
                self._create_customer(customer)
                for label_id in label_ids:
                    self._attached[customer["id"]].add(label_id)
                    self._carriers[label_id].add(self._numbers[customer["id"]])

    # -- namespaces --------------------------------------------------------------------

    def namespace(self, name):
        return MemoryStore()

    def seed_once(self, state):
        with self._lock:
            if self._seeded:
                return False
            self.replace(state)
            self._seeded = True
            return True

    def forget(self):
        with self._lock:
            self._empty()
            self._seeded = False
        self.journal.forget()

    def note_namespace_use(self, name, when):
        with self._lock:
            self._namespace_use[name] = when

    def pop_idle_namespaces(self, before):
        with self._lock:
            idle = [name for name, when in self._namespace_use.items() if when < before]
            for name in idle:
                del self._namespace_use[name]
            return idle
