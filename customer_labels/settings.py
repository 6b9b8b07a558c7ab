"""The service's settings: their defaults, and reading them from the environment.

Every value is checked here, at start, so that a wrong one stops the service
with one line naming it, instead of failing a request later.
"""

import logging
import os
from urllib.parse import urlsplit

#: Every setting the app reads, with its default. The README's table lists the same.
DEFAULTS = {
    # Where data lives: redis://, rediss://, unix:// or memory:// (the default).
    # REDIS_TLS_URL, when set, is used instead of REDIS_URL.
    "REDIS_URL": "memory://",
    # Prefix of every Redis key, so that several services can share one Redis.
    "REDIS_KEY_PREFIX": "cl:",
    # Whether REDIS_URL names one node of a Redis Cluster (redis:// or rediss:// only).
    "REDIS_CLUSTER": False,
    # Whether a rediss:// server's certificate is verified. Managed Redis often
    # has a self-signed one: turning this off must be a decision, so it is a setting.
    "REDIS_TLS_VERIFY": True,
    # Connections each process may open to Redis (per node on a cluster); a request
    # waits up to store.connection.POOL_TIMEOUT (0.5 s) for a free one.
    "REDIS_MAX_CONNECTIONS": 20,
    # Megabytes of customers' labels each process keeps copies of, which Redis keeps
    # true (client-side caching, store/copies.py); 0: none.
    "REDIS_CACHE_MB": 8,
    # "token:role" or "sha256:<hex>:role", comma-separated. Unset means the dev
    # tokens in dev mode, and no start otherwise.
    "API_TOKENS": None,
    # One token for one role each, beside API_TOKENS: what a platform's generated
    # secrets fill in (app.json), since a generator cannot write token:role pairs.
    "READER_TOKEN": None,
    "EDITOR_TOKEN": None,
    "ADMIN_TOKEN": None,
    # A token that may read /metrics and nothing else: the scraper's.
    "METRICS_TOKEN": None,
    # Requests per token: "600/minute" (reads and writes, counted apart) or
    # "reads:600/minute,writes:60/minute". Unset: no limit (rate_limits.py).
    "RATE_LIMIT": None,
    # Level of the JSON log on stdout.
    "LOG_LEVEL": "INFO",
    # True only for `python app.py`, the local mock; never for the Procfile's web line.
    "DEV_MODE": False,
    # The mock's extras (fixtures, admin API, namespaces, Prefer, docs). None: as DEV_MODE.
    "MOCK_MODE": None,
    # A fixture file (JSON or YAML) the mock starts from, and resets to.
    "SEED_FILE": None,
    # "min-max": every request waits a random time in this range (mock mode).
    "MOCK_LATENCY_MS": None,
    # Seconds after which an idle namespace is dropped (mock mode).
    "MOCK_NAMESPACE_TTL": 3600,
    # Each namespace's request journal keeps at most this many entries, and bytes
    # (mock mode); the oldest go first.
    "MOCK_JOURNAL_SIZE": 1000,
    "MOCK_JOURNAL_BYTES": 2 * 1024 * 1024,
    # Where unexpected errors are reported (Sentry's DSN); unset, nowhere (reports.py).
    "SENTRY_DSN": None,
    # Origins that browsers may call from, comma-separated ("*": any). None: none,
    # or in mock mode any http://localhost:* and http://127.0.0.1:* origin.
    "CORS_ORIGINS": None,
}

#: Settings read from the environment that are not app config: the server's
#: (see server_settings) and REDIS_TLS_URL (see from_env).
PROCESS_SETTINGS = ("PORT", "WEB_CONCURRENCY", "WEB_THREADS", "WEB_MAX_CONNECTIONS", "REDIS_TLS_URL")
#: Server processes when WEB_CONCURRENCY is unset: one per core the process may
#: use, and one more, so that a process waiting for the GIL leaves no core idle
#: (measured: docs/performance.md); at most 4, about 50 MB each, since a small
#: host's core count says little about its memory.
DEFAULT_PROCESSES = min(len(os.sched_getaffinity(0)) + 1, 4)
#: The server's settings: (default, lowest, highest).
SERVER_NUMBERS = {
    "PORT": (5000, 1, 65535),
    # Processes; without Redis there is one, since the in-memory store lives in it.
    "WEB_CONCURRENCY": (DEFAULT_PROCESSES, 1, 64),
    # Threads per process that run requests (a request waiting on Redis holds one).
    "WEB_THREADS": (4, 1, 64),
    # Open connections per process; more wait in the listen queue.
    "WEB_MAX_CONNECTIONS": (1000, 16, 100_000),
}

#: Request bodies above this are refused with 413.
MAX_BODY_BYTES = 64 * 1024
#: Outside dev mode a plain token must be at least this long.
MIN_TOKEN_LENGTH = 16
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the service must not start."""

    def __init__(self, setting, problem):
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


def _flag(name, raw):
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"{raw!r} is not a yes or no (use true or false)")


def whole_number(name, raw, low, high):
    """``raw`` as an int from ``low`` to ``high``, or ConfigError."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit() and low <= int(raw) <= high):
        raise ConfigError(name, f"{raw!r} is not a whole number from {low} to {high}")
    return int(raw)


def log_level(raw):
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"{raw!r} is not one of {', '.join(LOG_LEVELS)}")
    return logging.getLevelName(level)


def _log_level_name(raw):
    log_level(raw)
    return raw.strip().upper()


def _origins(raw):
    return [origin.strip() for origin in raw.split(",") if origin.strip()]


#: How each setting read from the environment is checked and converted: a
#: function of the raw text that returns the value or raises ConfigError.
READERS = {
    "REDIS_KEY_PREFIX": str,
    "API_TOKENS": str,
    "READER_TOKEN": str.strip,
    "EDITOR_TOKEN": str.strip,
    "ADMIN_TOKEN": str.strip,
    "METRICS_TOKEN": str.strip,
    "REDIS_CLUSTER": lambda raw: _flag("REDIS_CLUSTER", raw),
    "REDIS_TLS_VERIFY": lambda raw: _flag("REDIS_TLS_VERIFY", raw),
    "REDIS_MAX_CONNECTIONS": lambda raw: whole_number("REDIS_MAX_CONNECTIONS", raw, 1, 10000),
    "REDIS_CACHE_MB": lambda raw: whole_number("REDIS_CACHE_MB", raw, 0, 4096),
    "LOG_LEVEL": _log_level_name,
    "MOCK_MODE": lambda raw: _flag("MOCK_MODE", raw),
    "SEED_FILE": str.strip,
    "MOCK_LATENCY_MS": lambda raw: latency_range(raw),
    "MOCK_NAMESPACE_TTL": lambda raw: whole_number("MOCK_NAMESPACE_TTL", raw, 1, 30 * 86400),
    "MOCK_JOURNAL_SIZE": lambda raw: whole_number("MOCK_JOURNAL_SIZE", raw, 1, 100_000),
    # At least what the largest entry takes: a 64 KiB body, 64 KiB of headers, and more.
    "MOCK_JOURNAL_BYTES": lambda raw: whole_number("MOCK_JOURNAL_BYTES", raw, 256 * 1024, 1024**3),
    "CORS_ORIGINS": _origins,
    "SENTRY_DSN": lambda raw: sentry_dsn(raw),
    "RATE_LIMIT": lambda raw: rate_limit(raw),
}


def sentry_dsn(raw):
    """A Sentry DSN: http(s)://<public key>@<host>/<project id>."""
    dsn = raw.strip()
    parts = urlsplit(dsn)
    if parts.scheme not in ("http", "https") or not parts.username or not parts.hostname or not parts.path.strip("/"):
        raise ConfigError("SENTRY_DSN", "is not a DSN: https://<public key>@<host>/<project id>")
    return dsn


def rate_limit(raw):
    """RATE_LIMIT, checked (rate_limits.read_setting, which knows the notation)."""
    from .rate_limits import read_setting

    read_setting(raw)
    return raw.strip()


def from_env(environ=None):
    """The settings that are set in the environment (blank counts as unset), checked."""
    environ = os.environ if environ is None else environ
    raw = {name: value for name, value in environ.items() if value.strip()}
    found = {name: read(raw[name]) for name, read in READERS.items() if name in raw}
    url = raw.get("REDIS_TLS_URL") or raw.get("REDIS_URL")
    if url:
        found["REDIS_URL"] = url.strip()
    return found


def latency_range(raw):
    """(min, max) milliseconds from "min-max" (or a single number)."""
    low, _, high = raw.strip().partition("-")
    low = whole_number("MOCK_LATENCY_MS", low, 0, 60000)
    high = whole_number("MOCK_LATENCY_MS", high, 0, 60000) if high else low
    if high < low:
        raise ConfigError("MOCK_LATENCY_MS", f"{raw!r}: the first number must not be larger than the second")
    return low, high


def _number(environ, name):
    default, low, high = SERVER_NUMBERS[name]
    return whole_number(name, environ.get(name, "").strip() or str(default), low, high)


def server_settings(environ=None):
    """The server's settings, checked: keyword arguments of ``server.serve``."""
    environ = os.environ if environ is None else environ
    app_settings = from_env(environ)
    in_memory = app_settings.get("REDIS_URL", DEFAULTS["REDIS_URL"]).startswith("memory:")
    processes, threads = _number(environ, "WEB_CONCURRENCY"), _number(environ, "WEB_THREADS")
    return {
        "port": _number(environ, "PORT"),
        # The in-memory store lives in one process: two would each keep their own labels.
        "processes": 1 if in_memory else processes,
        # The in-memory store never waits: requests run on the event loop, no thread needed.
        "threads": 0 if in_memory else threads,
        "connections": _number(environ, "WEB_MAX_CONNECTIONS"),
        "log_level": app_settings.get("LOG_LEVEL", DEFAULTS["LOG_LEVEL"]),
    }
