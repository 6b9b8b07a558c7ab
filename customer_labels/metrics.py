"""Prometheus metrics, at GET /metrics: requests by route, method and status; request
time by route; every store call's time, and those that gave up (503s); GETs of a
customer's labels answered from copies and from Redis, and the times copies were dropped.

Each process counts in memory (``Tally``: a dict update under a lock, well under a
microsecond a request), and prometheus_client writes the text format from those
counts at a scrape. A server of several processes gives them a directory to share
(``share_across_processes``, before the processes are forked): each writes its counts
there about once a second, and /metrics adds up every process's file. A single
process (the in-memory store, or tests) also shows its process metrics (CPU, memory,
open files), which cannot be added up across processes.

Written by hand rather than with prometheus_client's multiprocess mode: that mode
writes every increment to a memory-mapped file under a lock, about 4 us a request
here, and the benchmark's ratios fell with it (docs/performance.md).
"""

import atexit
import bisect
import functools
import json
import os
import re
import shutil
import tempfile
import threading
import time

from flask import Blueprint, Response

from . import logs
from .auth import auth
from .store import copies, redis_support

#: The directory a server's processes share their counts in; unset for one process.
SHARED = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds between two writes of a process's counts to the shared directory.
WRITE_SECONDS = 1.0
#: Request time buckets (seconds): the API answers in milliseconds; a store that gives
#: up does so within 2 s.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
STORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.5)
#: The views' argument names, as the OpenAPI document names the parameters.
PARAMETERS = {"raw_id": "customerId", "label_id": "labelId"}

bp = Blueprint("metrics", __name__)


class Tally:
    """One process's counts since it started."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.requests = {}  # (route, method, status) -> count
        self.latency = {}  # route -> [count per bucket, ..., count above, sum]
        self.store = [0] * (len(STORE_BUCKETS) + 2)
        self.unavailable = 0
        self.changed = False
        #: The shared directory, read as the process starts counting (a forked process
        #: starts a tally of its own), and the thread that writes there.
        self.shared = os.environ.get(SHARED)
        self.writer = None

    def as_json(self):
        with self.lock:
            return {
                "requests": [[*key, count] for key, count in self.requests.items()],
                "latency": {route: list(counts) for route, counts in self.latency.items()},
                "store": list(self.store),
                "unavailable": self.unavailable,
                "copies": [copies.counts.copy, copies.counts.redis, copies.counts.dropped],
            }


_tally = Tally()


def _observe(counts, buckets, seconds):
    counts[bisect.bisect_left(buckets, seconds)] += 1
    counts[-1] += seconds


def _observe_request(environ, method, status, seconds):
    tally = _current()
    route = _route(environ)
    with tally.lock:
        key = (route, method, status)
        tally.requests[key] = tally.requests.get(key, 0) + 1
        counts = tally.latency.get(route)
        if counts is None:
            counts = tally.latency[route] = [0] * (len(REQUEST_BUCKETS) + 2)
        _observe(counts, REQUEST_BUCKETS, seconds)
        tally.changed = True


def _observe_store(seconds, gave_up):
    tally = _current()
    with tally.lock:
        _observe(tally.store, STORE_BUCKETS, seconds)
        tally.unavailable += gave_up
        tally.changed = True


def _current():
    """This process's tally; the first count in a process that shares its counts
    starts the thread that writes them."""
    if _tally.writer is None and _tally.shared:
        _tally.writer = threading.Thread(target=_write_now_and_then, name="metrics", daemon=True)
        _tally.writer.start()
    return _tally


def _forked():
    """A forked process counts from zero, and writes its own file."""
    global _tally
    _tally = Tally()


os.register_at_fork(after_in_child=_forked)


def _write_now_and_then():
    while True:
        time.sleep(WRITE_SECONDS)
        _write(_tally)


def _write(tally):
    """The process's counts to its file in the shared directory, whole or not at all."""
    if not tally.changed:
        return
    tally.changed = False
    path = os.path.join(tally.shared, f"tally-{tally.pid}.json")
    with open(path + ".new", "w") as file:
        json.dump(tally.as_json(), file)
    os.replace(path + ".new", path)


def share_across_processes(port):
    """Count in a fresh directory that every process of this server shares (unless
    PROMETHEUS_MULTIPROC_DIR names one already); called before the processes fork. Its
    name holds the server's ``port``: a killed server's is removed by the next server
    to start (server/run.py)."""
    if not os.environ.get(SHARED):
        directory = tempfile.mkdtemp(prefix=f"customer-labels-metrics-{port}-")
        os.environ[SHARED] = directory
        atexit.register(shutil.rmtree, directory, ignore_errors=True)


def init_app(app):
    if _observe_request not in logs.ANSWERED:
        logs.ANSWERED.append(_observe_request)
        redis_support.CALLED.append(_observe_store)
    app.register_blueprint(bp)


@functools.cache
def template(rule):
    """A Flask rule as the OpenAPI document writes its path: /labels/labels/{labelId}."""
    return re.sub(r"<(?:[^:>]*:)?([^>]+)>", lambda found: "{" + PARAMETERS.get(found[1], found[1]) + "}", rule)


def route_of(req):
    """The template of the route ``req`` matched, as /openapi.json writes it; None for
    a path the API lacks (or no request)."""
    rule = getattr(req, "url_rule", None)
    return None if rule is None else template(rule.rule)


def _route(environ):
    """The route's template, not the path: one series per route, whatever the ids.
    Read from the request Flask matched, which werkzeug keeps in the environ until
    the request ends (the answer starts before): no hook a request."""
    return route_of(environ.get("werkzeug.request")) or "(no route)"


def _tallies():
    """Every process's counts: this one's as they are, the others' as last written."""
    tally = _current()
    found = [tally.as_json()]
    if not tally.shared:
        return found
    for name in os.listdir(tally.shared):
        if name.startswith("tally-") and name.endswith(".json") and name != f"tally-{tally.pid}.json":
            with open(os.path.join(tally.shared, name)) as file:
                found.append(json.load(file))
    return found


def _families(tallies):
    from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

    requests = CounterMetricFamily(
        "customer_labels_requests", "HTTP requests answered", labels=["route", "method", "status"]
    )
    totals = {}
    for tally in tallies:
        for route, method, status, count in tally["requests"]:
            totals[(route, method, status)] = totals.get((route, method, status), 0) + count
    for key, count in sorted(totals.items()):
        requests.add_metric(list(key), count)
    latency = HistogramMetricFamily("customer_labels_request_seconds", "Time to answer a request", labels=["route"])
    routes = {}
    for tally in tallies:
        for route, counts in tally["latency"].items():
            routes[route] = [a + b for a, b in zip(routes.get(route, [0] * len(counts)), counts)]
    for route, counts in sorted(routes.items()):
        latency.add_metric([route], _buckets(REQUEST_BUCKETS, counts), counts[-1])
    store = HistogramMetricFamily("customer_labels_store_seconds", "Time of a store call")
    counts = [sum(values) for values in zip(*(tally["store"] for tally in tallies))]
    store.add_metric([], _buckets(STORE_BUCKETS, counts), counts[-1])
    unavailable = CounterMetricFamily("customer_labels_store_unavailable", "Store calls that gave up (503s)")
    unavailable.add_metric([], sum(tally["unavailable"] for tally in tallies))
    answered = CounterMetricFamily(
        "customer_labels_copies_answers", "GETs of a customer's labels, by what answered them", labels=["source"]
    )
    # A file an earlier release's process wrote has no "copies".
    copies_counts = [tally.get("copies", (0, 0, 0)) for tally in tallies]
    copy, redis, dropped = (sum(values) for values in zip(*copies_counts))
    answered.add_metric(["copy"], copy)
    answered.add_metric(["redis"], redis)
    drops = CounterMetricFamily(
        "customer_labels_copies_dropped", "Times every copy was dropped: a lost connection, other masters"
    )
    drops.add_metric([], dropped)
    return [requests, latency, store, unavailable, answered, drops]


def _buckets(bounds, counts):
    """Cumulative (le, count) pairs, as the text format writes a histogram."""
    total, pairs = 0, []
    for bound, count in zip((*map(str, bounds), "+Inf"), counts[:-1]):
        total += count
        pairs.append((bound, total))
    return pairs


@bp.get("/metrics")
@auth.login_required(role=["admin", "metrics"])
def metrics():
    """Every process's counts, in Prometheus's text format."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(_Counts())
    text = generate_latest(registry)
    if not _tally.shared:  # one process: its own process metrics too
        text += generate_latest(REGISTRY)
    return Response(text, content_type=CONTENT_TYPE_LATEST)


class _Counts:
    def collect(self):
        return _families(_tallies())
