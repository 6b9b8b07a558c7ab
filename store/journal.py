"""What the mock keeps besides the data, per namespace: the request journal, the
count of answers per operation (contract coverage), and fault rules.

Entries and rules arrive as JSON text, made by ``customer_labels.mock``; here they
are kept, bounded, and handed back. Each namespace's store has one
(``Store.journal``). In Redis they live beside the namespace's other keys (one
slot on a cluster), so that every process serving the namespace shares them; each
change is one script or one transaction.

Entries are numbered as they are added (their ``id``), newest first. The numbers
kept are consecutive, since only the oldest are ever dropped, so a page after a
cursor starts at a computed position, not a search.
"""

import functools
import threading
from collections import Counter
from importlib import resources

from .connection import make_script
from .redis_support import availability

#: The keys of a namespace's journal (see store/README.md).
KEYS = ("journal", "journal-meta", "coverage", "faults", "fault-uses")


def numbered(seq, entry):
    """The entry's JSON text with its number first, as the id."""
    return f'{{"id":"{seq}",{entry[1:]}'


class MemoryJournal:
    def __init__(self):
        self._lock = threading.Lock()
        self.forget()

    # The entries are a list, oldest first, whose first ``_head`` are dropped ones: entry
    # number s is at s - _first, so a page is a slice, however long the journal.

    def add(self, entry, operation, max_entries, max_bytes):
        """Keep ``entry`` (a JSON object's text), dropping the oldest past either bound;
        count ``operation`` ("METHOD /path status", or None) for coverage."""
        with self._lock:
            text = numbered(self._first + len(self._texts), entry)
            self._texts.append(text)
            self._bytes += len(text.encode())
            while len(self._texts) - self._head > max(max_entries, 1) or (
                self._bytes > max_bytes and len(self._texts) - self._head > 1
            ):
                self._bytes -= len(self._texts[self._head].encode())
                self._texts[self._head] = None
                self._head += 1
            if self._head > 1024 and 2 * self._head > len(self._texts):
                del self._texts[: self._head]
                self._first, self._head = self._first + self._head, 0
            if operation:
                self._coverage[operation] += 1

    def entries(self, before, count):
        """Up to ``count`` entries' texts, newest first, of those numbered below
        ``before`` (None: from the newest)."""
        with self._lock:
            top = len(self._texts) - 1 if before is None else min(len(self._texts), before - self._first) - 1
            return [self._texts[i] for i in range(top, max(top - count, self._head - 1), -1)]

    def clear(self):
        """Every entry; numbers go on from where they were."""
        with self._lock:
            self._first, self._texts, self._head, self._bytes = self._first + len(self._texts), [], 0, 0

    def coverage(self):
        """{"METHOD /path status": how many answers}."""
        with self._lock:
            return dict(self._coverage)

    def add_fault(self, rule, times):
        """Keep a fault rule (JSON text), usable ``times`` times (None: until cleared); its id."""
        with self._lock:
            self._fault_seq += 1
            self._faults[str(self._fault_seq)] = [rule, times, 0]
            return str(self._fault_seq)

    def faults(self):
        """[(id, rule, uses left or None, uses so far)], oldest first."""
        with self._lock:
            return [(fault_id, rule, left, used) for fault_id, (rule, left, used) in self._faults.items()]

    def take_fault(self, fault_ids):
        """Use the first of ``fault_ids`` (oldest first) that has a use left: its id, or None."""
        with self._lock:
            for fault_id in fault_ids:
                fault = self._faults.get(fault_id)
                if fault is not None and (fault[1] is None or fault[1] > 0):
                    if fault[1] is not None:
                        fault[1] -= 1
                    fault[2] += 1
                    return fault_id
            return None

    def clear_faults(self):
        with self._lock:
            self._faults.clear()

    def forget(self):
        """Everything, numbers and coverage too: the namespace is dropped."""
        with self._lock:
            self._texts, self._first, self._head, self._bytes = [], 1, 0, 0
            self._fault_seq = 0
            self._coverage = Counter()
            self._faults = {}


@functools.cache
def _lua(name):
    return (resources.files(__package__) / "lua" / "journal" / f"{name}.lua").read_text()


class RedisJournal:
    """The same, in the Redis of the store whose keys start with ``prefix``."""

    def __init__(self, client, prefix):
        self._redis = client
        self._keys = [prefix + name for name in KEYS]
        self._scripts = {name: make_script(client, _lua(name)) for name in ("add", "page", "take_fault")}

    def _run(self, script, keys, args):
        with availability():
            return self._scripts[script](keys=keys, args=args)

    def add(self, entry, operation, max_entries, max_bytes):
        self._run("add", self._keys[:3], [entry, max_entries, max_bytes, operation or ""])

    def entries(self, before, count):
        return self._run("page", self._keys[:1], [-1 if before is None else before, count])

    def clear(self):
        journal, meta = self._keys[:2]
        with availability(), self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(journal)
            pipe.hset(meta, "bytes", 0)
            pipe.execute()

    def coverage(self):
        with availability():
            return {operation: int(count) for operation, count in self._redis.hgetall(self._keys[2]).items()}

    def add_fault(self, rule, times):
        meta, faults, uses = self._keys[1], self._keys[3], self._keys[4]
        with availability():
            fault_id = str(self._redis.hincrby(meta, "fault-seq", 1))
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(faults, fault_id, rule)
                pipe.hset(uses, mapping={f"{fault_id}:used": 0, **({f"{fault_id}:left": times} if times else {})})
                pipe.execute()
        return fault_id

    def faults(self):
        with availability(), self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._keys[3])
            pipe.hgetall(self._keys[4])
            rules, uses = pipe.execute()
        found = []
        for fault_id in sorted(rules, key=int):
            left, used = uses.get(f"{fault_id}:left"), int(uses.get(f"{fault_id}:used", 0))
            found.append((fault_id, rules[fault_id], None if left is None else int(left), used))
        return found

    def take_fault(self, fault_ids):
        return self._run("take_fault", self._keys[3:], fault_ids) if fault_ids else None

    def clear_faults(self):
        with availability():
            self._redis.delete(*self._keys[3:])

    def forget(self):
        with availability():
            self._redis.delete(*self._keys)
