"""Rate limits per token (RATE_LIMIT), on the ``limits`` library, counted in the store's Redis.

Reads (GET, HEAD) and writes (POST, PUT, PATCH, DELETE) are counted apart, per token,
in fixed windows that every process shares. Auth counts a request once it has found
the caller (``count``), so a missing or unknown token is a 401 and never counted, and a
429 comes before the role's 403.

``limits`` parses the setting and keeps the counts in memory; on Redis, one script
here adds one to the count and returns when its window ends, so the check and the
headers cost one round trip. Flask-Limiter, which wraps ``limits`` for Flask, was
measured first: it works out which limits apply anew on every request, about 240 us
of Python a request on this project's machine, and asks Redis two more times for the
headers; the benchmark's throughput fell to 0.58 of the service's without limits
(docs/performance.md).

The counts use a client that gives up fast and pauses after a failure, so that while
Redis does not answer, requests go through uncounted (fail open) and still get the
store's own 503 within 2 s.
"""

import logging
import math
import time

from flask import current_app, request
from limits import parse_many
from limits.storage import MemoryStorage
from redis import RedisError
from werkzeug.exceptions import TooManyRequests

from .settings import ConfigError
from .store.connection import make_script

#: Counted apart: each kind has its own limit and its own count.
KINDS = {"reads": ("GET", "HEAD"), "writes": ("POST", "PUT", "PATCH", "DELETE")}
#: Never counted: what platforms and scrapers poll, and what describes the API.
EXEMPT_PATHS = ("/healthz", "/readyz", "/metrics", "/openapi.json")
EXEMPT_PREFIX = "/docs"
#: The headers a counted answer carries.
HEADERS = ("RateLimit-Policy", "RateLimit", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
#: Seconds the counts are not asked for after Redis failed to answer: meanwhile
#: requests go through uncounted, without waiting for Redis first.
PAUSE_SECONDS = 5
EXTENSION = "customer_labels.rate_limits"
#: The environ key of the request's count: (kind, limit, count, when the window ends).
COUNTED = "customer_labels.rate_count"

log = logging.getLogger(__name__)


def read_setting(raw):
    """RATE_LIMIT as {kind: limit}: ``600/minute`` (reads and writes, each) or
    ``reads:600/minute,writes:60/minute`` (a kind left out is not limited)."""
    text = raw.strip()
    if ":" not in text:
        found = dict.fromkeys(KINDS, text)
    else:
        found = {}
        for item in text.split(","):
            name, _, limit = item.strip().partition(":")
            if name not in KINDS or name in found:
                raise ConfigError("RATE_LIMIT", f"{item.strip()!r} is not reads:LIMIT or writes:LIMIT, each once")
            found[name] = limit.strip()
    items = {}
    for name, limit in found.items():
        try:
            parsed = parse_many(limit)
        except ValueError:
            parsed = []
        if len(parsed) != 1:
            raise ConfigError("RATE_LIMIT", f"{limit!r} is not one limit such as 600/minute or 100 per 10 seconds")
        items[name] = parsed[0]
    return items


def init_app(app, counting_client):
    """Count the app's requests per token, when RATE_LIMIT is set. ``counting_client(app)``
    gives a client of the store's Redis (``store.counting_client``), or None: counted in memory."""
    if not app.config.get("RATE_LIMIT"):
        return
    limits = read_setting(app.config["RATE_LIMIT"])
    client = counting_client(app)
    counts = RedisCounts(client, app.config["REDIS_KEY_PREFIX"]) if client else MemoryCounts()
    app.extensions[EXTENSION] = ({method: (kind, limits[kind]) for kind in limits for method in KINDS[kind]}, counts)
    app.after_request(_headers)


def count(caller):
    """Count the request of ``caller`` (a known token) against its kind's limit; past
    it, raise 429. Requests to exempt paths, and of kinds without a limit, are not counted."""
    found = current_app.extensions.get(EXTENSION)
    if found is None:
        return
    by_method, counts = found
    limited = by_method.get(request.method)
    path = request.path
    if limited is None or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIX):
        return
    kind, limit = limited
    counted = counts.add(limit.key_for(caller.name, kind), limit.get_expiry())
    if counted is None:
        return  # Redis did not answer: let it through, uncounted
    request.environ[COUNTED] = (kind, limit, *counted)
    if counted[0] > limit.amount:
        raise TooManyRequests()


def _headers(response):
    """The counted limit's state on the answer; Retry-After on a 429."""
    counted = request.environ.get(COUNTED)
    if counted is None:
        return response
    kind, limit, number, ends = counted
    remaining = max(0, limit.amount - number)
    seconds = max(0, math.ceil(ends - time.time()))
    response.headers["RateLimit-Policy"] = f'"{kind}";q={limit.amount};w={limit.get_expiry()}'
    response.headers["RateLimit"] = f'"{kind}";r={remaining};t={seconds}'
    response.headers["RateLimit-Limit"] = str(limit.amount)
    response.headers["RateLimit-Remaining"] = str(remaining)
    response.headers["RateLimit-Reset"] = str(seconds)
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, seconds))
    return response


class MemoryCounts(MemoryStorage):
    """Counts in this process (a store in memory lives in one process too)."""

    def add(self, key, expiry):
        """One more for ``key``: (the count, when its window ends)."""
        return self.incr(key, expiry), self.get_expiry(key)


class RedisCounts:
    """Counts in Redis, shared by every process: one round trip a request."""

    ADD = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = ARGV[1] * 1000
end
return {count, ttl}
"""

    def __init__(self, client, prefix):
        self._add = make_script(client, self.ADD)
        self._prefix = f"{prefix}rate:"
        self._paused_until = 0.0

    def add(self, key, expiry):
        """One more for ``key``: (the count, when its window ends); None when Redis did
        not answer, and for PAUSE_SECONDS after, without asking it."""
        if time.monotonic() < self._paused_until:
            return None
        try:
            number, ttl_ms = self._add([self._prefix + key], [expiry])
        except RedisError as err:
            self._paused_until = time.monotonic() + PAUSE_SECONDS
            log.warning("rate limits not counted for %s s: %s", PAUSE_SECONDS, err)
            return None
        return int(number), time.time() + int(ttl_ms) / 1000
