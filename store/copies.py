"""Each process's copies of customers' labels, which Redis keeps true
(server-assisted client-side caching: RESP3 ``CLIENT TRACKING``).

Why: a GET of a customer's labels is most of the traffic, and reading them
from Redis is most of its cost (a script run, a round trip, the answer read).

How a copy is known to be true. One connection per process to each master asks it to
report every change of the keys such a GET reads (``BCAST`` mode, by key prefix:
Redis keeps no table of who read what); one Redis is one master, a cluster has
several, and each reports the changes of its own keys. Redis sends a change's report
in the same pass of its event loop as the change's answer. Before a GET answers from
a copy, it reads every report that has arrived (a ``poll``, no round trip), so it
shows every change whose report has arrived. A request that comes through HTTP after
a change was answered finds that report there: the answer's way to its client and
the new request's way back take far longer than the report's (docs/operations.md
gives the measurement, and when it could fail to hold). A copy read while a report
arrived is not kept: the report that would drop it may have come already.

The connections are checked (``settle``: a ``PING``, and every report ahead of
its ``PONG``) every ``READ_SECONDS``, which also reads the reports of a process
that serves no GETs: unread, they would pile up in Redis's memory. Copies are
used only while the last check is at most ``CHECKED_SECONDS`` old, and while
the masters reporting are the masters the client knows. When a connection fails
or the masters change (a failover, a master added), every copy goes and GETs
read Redis until each master's connection is open (tried at most every
``RETRY_SECONDS``). A Redis that refuses tracking (older than 6, or one that
forbids ``CLIENT``) is not asked again by this process.

``generation`` counts the times every copy went (a report of a key of ``everything``,
a lost or opened connection): a cluster's cached catalogue is true while it has not
moved since the catalogue was read (``unchanged``), even with no copies kept.
"""

import logging
import os
import threading
import time
import weakref

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException
from redis.retry import Retry

from .connection import FAIL_FAST_TIMEOUT

log = logging.getLogger(__name__)

#: Seconds between tries to open the tracking connection again.
RETRY_SECONDS = 5
#: Seconds between two checks of the connection (a PING and its PONG).
READ_SECONDS = 1
#: Copies are used only while the last check is at most this old: a connection
#: that died without a word (a NAT, a failover) stops them within that time.
CHECKED_SECONDS = 2.5
#: What a Redis, or a cluster, that cannot be reached raises.
FAILED = (redis.RedisError, RedisClusterException, OSError)
#: What a copy costs beyond its text (the dict's slot, the str object), in bytes.
OVERHEAD = 100

_all = weakref.WeakSet()


class Counts:
    """This process's count of GETs answered from a copy and from Redis, and of the
    times every copy was dropped (a lost connection, other masters): /metrics shows them."""

    def __init__(self):
        self.copy = self.redis = self.dropped = 0


#: This process's counts (a server's process has one store that keeps copies).
counts = Counts()


class Copies:
    """Copies of ``read()`` answers, each named by a tag, for up to ``budget`` bytes."""

    def __init__(self, masters, budget, prefixes, everything):
        """``masters()``: {name: connection pool} of each master the client knows now;
        ``prefixes``: the keys whose change drops one copy (the key after its prefix,
        less a final "}", is the copy's tag); ``everything``: keys whose change drops all."""
        self._masters = masters
        self.budget = budget
        self._prefixes = tuple(prefixes)
        self._everything = frozenset(everything)
        self._reset()
        _all.add(self)

    def _reset(self):
        self._lock = threading.Lock()
        # Counts the times every copy went: a report of a key of ``everything``, a lost
        # connection, a fork. It only grows, so that a count read before a fork (or a
        # lost connection) never passes for one read after.
        self.generation = getattr(self, "generation", 0) + 1
        self._copies = {}  # tag -> text, oldest first
        self._size = 0
        self._conns = {}  # master's name -> its reporting connection
        self._checked = float("-inf")  # when the latest PINGs whose PONGs all came were sent
        self._reports = 0  # reports read, and connections lost: a copy read across one is not kept
        self._retry_at = 0.0
        self._reader = None

    def get(self, tag, read):
        """The text of ``read()``, or the copy of it named ``tag`` if Redis has reported
        no change to it since. ``read()`` answers (text, whether it may be kept); errors
        of ``read`` are not kept."""
        with self._lock:
            usable = self._caught_up()
            found = self._copies.get(tag) if usable else None
            reports = self._reports
            if found is None:
                counts.redis += 1
            else:
                counts.copy += 1
        if found is not None:
            return found
        text, keep = read()  # outside the lock: other GETs go on meanwhile
        if not (usable and keep and self.budget):
            return text
        with self._lock:
            # Kept only if no report came meanwhile, and if the masters the read may have
            # reached (a cluster's client learns of a new one as it reads) all report.
            if self._reports == reports and self._conns and self._masters_known():
                self._keep(tag, text)
        return text

    def unchanged(self, since):
        """Whether Redis has reported no change of a key of ``everything`` since
        ``generation`` was ``since``: every report that has arrived is read, the
        connections were checked lately, and every master the client knows reports."""
        with self._lock:
            return self._caught_up() and self.generation == since and self._masters_known()

    def __len__(self):
        return len(self._copies)

    def _keep(self, tag, text):
        size = len(text) + OVERHEAD
        if size > self.budget:
            return
        while self._size + size > self.budget:
            self._drop(next(iter(self._copies)))  # the oldest
        self._copies[tag] = text
        self._size += size

    def _drop(self, tag):
        text = self._copies.pop(tag, None)
        if text is not None:
            self._size -= len(text) + OVERHEAD

    def _drop_all(self):
        self.generation += 1
        self._copies.clear()
        self._size = 0

    def _caught_up(self):
        """Whether the copies may be used: every report that has arrived is read, and
        the connections were checked lately."""
        if not self._conns and not self._open():
            return False
        try:
            for conn in self._conns.values():
                while conn.can_read(timeout=0):
                    conn.read_response(push_request=True)
        except FAILED as err:
            self._lost(err)
            return False
        return time.monotonic() - self._checked <= CHECKED_SECONDS

    def _masters_known(self):
        """Whether the masters the client knows are the ones that report."""
        try:
            return self._masters().keys() == self._conns.keys()
        except FAILED:
            return False

    def settle(self):
        """Read every report Redis has sent so far: a PING on each connection, and the
        reports ahead of its PONG. The connections' check, every READ_SECONDS: it also
        drops every copy when the client has come to know other masters (a failover,
        a master added), and the next GET opens a connection to each."""
        with self._lock:
            if not self._conns:
                return
            sent = time.monotonic()
            try:
                for conn in self._conns.values():
                    conn.send_command("PING")
                    # One reply at a time: redis-py reads the reports ahead of a reply
                    # by recursion, one level each, which thousands of them overflow.
                    while conn.read_response(push_request=True) != "PONG":
                        pass  # a report, which _report has read
            except FAILED as err:
                self._lost(err)
                return
            if self._masters_known():
                self._checked = sent
            else:
                self._lost("the masters changed")

    def _open(self):
        """Open a reporting connection to each master: whether all are open."""
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._retry_at = now + RETRY_SECONDS
        opened = {}
        prefixes = [word for prefix in (*self._prefixes, *self._everything) for word in ("PREFIX", prefix)]
        try:
            for name, pool in self._masters().items():
                opened[name] = conn = self._connection(pool)
                conn.connect()
                conn._parser.set_invalidation_push_handler(self._report)
                conn.send_command("CLIENT", "TRACKING", "ON", "BCAST", *prefixes)
                conn.read_response()
        except redis.ResponseError as err:
            log.warning("Redis refuses to report changes (%s): customers' labels are read from it each time", err)
            self._retry_at = float("inf")
            return self._close(opened)
        except FAILED:
            return self._close(opened)  # down: read Redis itself, which answers 503 meanwhile
        self._conns, self._checked = opened, time.monotonic()
        self.generation += 1  # nothing was reported before: what was read then may be stale
        if self._reader is None:
            self._reader = threading.Thread(target=_read_now_and_then, args=(weakref.ref(self),), daemon=True)
            self._reader.start()
        return True

    @staticmethod
    def _connection(pool):
        options = dict(
            pool.connection_kwargs,
            protocol=3,
            socket_timeout=FAIL_FAST_TIMEOUT,
            socket_connect_timeout=FAIL_FAST_TIMEOUT,
            health_check_interval=0,  # each PING is a check already
            retry=Retry(NoBackoff(), 0),  # a Redis that is down: the GET reads it, and waits there
        )
        return pool.connection_class(**options)

    @staticmethod
    def _close(conns):
        for conn in conns.values():
            conn.disconnect()
        return False

    def _lost(self, err):
        log.warning("copies of customers' labels dropped, Redis's reports stopped: %s", err)
        self._close(self._conns)
        self._conns = {}
        self._drop_all()
        self._reports += 1
        counts.dropped += 1

    def _report(self, message):
        """Redis's report of changed keys (None: every key, as after FLUSHDB)."""
        self._reports += 1
        keys = message[1]
        if keys is None or not self._everything.isdisjoint(keys):
            self._drop_all()
            return
        for key in keys:
            for prefix in self._prefixes:
                if key.startswith(prefix):
                    self._drop(key[len(prefix) :].removesuffix("}"))


def _read_now_and_then(ref):
    """Check ``ref()``'s connection every READ_SECONDS, until it is gone."""
    while (copies := ref()) is not None:
        try:
            copies.settle()
        except Exception:  # a fault of this code must not end the checks: reports would pile up in Redis
            log.exception("a check of the copies' connections failed")
            with copies._lock:
                copies._lost("the check failed")
        del copies
        time.sleep(READ_SECONDS)


def _forked():
    """A forked process has none of its parent's copies, and opens its own connection
    (the parent's socket must never be shared) and its own reader."""
    global counts
    counts = Counts()
    for copies in list(_all):
        copies._reset()


os.register_at_fork(after_in_child=_forked)
