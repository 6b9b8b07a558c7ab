"""Prometheus metrics, at GET /metrics: requests by route, method and status; request
time by route; every store call's time, and those that gave up (503s).

A server of several processes counts in all of them: ``share_across_processes()``
gives prometheus_client a directory to count in (its multiprocess mode), before the
app is made and the processes are forked, and /metrics adds up every process's
files. A single process (the in-memory store, or tests) counts in memory, and also
shows its process metrics (CPU, memory, open files), which the multiprocess mode has
no way to add up.

prometheus_client chooses where it counts when it is first imported, so it is
imported by ``init_app``, never at this module's import.
"""

import atexit
import functools
import os
import re
import shutil
import tempfile

from flask import Blueprint, Response, request

from . import logs
from .auth import auth
from .logs import ROUTE
from .store import redis_support

#: prometheus_client's setting: the directory its processes count in.
SHARED = "PROMETHEUS_MULTIPROC_DIR"
#: Request time buckets (seconds): the API answers in milliseconds; a store that gives
#: up does so within 2 s.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
STORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.5)

#: The views' argument names, as the OpenAPI document names the parameters.
PARAMETERS = {"raw_id": "customerId", "label_id": "labelId"}

bp = Blueprint("metrics", __name__)
#: The metric objects, made once per process by ``init_app``.
_made = {}
#: (route, method, status) -> (its request counter, its route's latency histogram).
_series = {}


def share_across_processes():
    """Count in a fresh directory that every process of this server shares (unless
    PROMETHEUS_MULTIPROC_DIR names one already); called before the app is made."""
    if not os.environ.get(SHARED):
        directory = tempfile.mkdtemp(prefix="customer-labels-metrics-")
        os.environ[SHARED] = directory
        atexit.register(shutil.rmtree, directory, ignore_errors=True)


def init_app(app):
    if not _made:
        from prometheus_client import Counter, Histogram

        _made["requests"] = Counter("customer_labels_requests", "HTTP requests answered", ["route", "method", "status"])
        _made["latency"] = Histogram(
            "customer_labels_request_seconds", "Time to answer a request", ["route"], buckets=REQUEST_BUCKETS
        )
        _made["store"] = Histogram("customer_labels_store_seconds", "Time of a store call", buckets=STORE_BUCKETS)
        _made["unavailable"] = Counter("customer_labels_store_unavailable", "Store calls that gave up (503s)")
        # Where prometheus_client counts was fixed as it was imported, just now.
        _made["shared"] = os.environ.get(SHARED)
        logs.ANSWERED.append(_observe_request)
        redis_support.CALLED.append(_observe_store)
    app.register_blueprint(bp)


def _observe_request(route, method, status, seconds):
    # Each series' child, looked up once: labels() takes a lock and checks its values.
    key = (route, method, status)
    series = _series.get(key)
    if series is None:
        shown = route or "(no route)"
        series = _series[key] = (_made["requests"].labels(shown, method, status), _made["latency"].labels(shown))
    series[0].inc()
    series[1].observe(seconds)


def _observe_store(seconds, gave_up):
    _made["store"].observe(seconds)
    if gave_up:
        _made["unavailable"].inc()


@functools.cache
def template(rule):
    """A Flask rule as the OpenAPI document writes its path: /labels/labels/{labelId}."""
    return re.sub(r"<(?:[^:>]*:)?([^>]+)>", lambda found: "{" + PARAMETERS.get(found[1], found[1]) + "}", rule)


@bp.before_app_request
def _note_route():
    # The route's template, not the path: one series per route, whatever the ids.
    request.environ[ROUTE] = template(request.url_rule.rule) if request.url_rule else None


@bp.get("/metrics")
@auth.login_required(role=["admin", "metrics"])
def metrics():
    """Every process's counts, in Prometheus's text format."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

    if _made["shared"]:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=_made["shared"])
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
