"""The service's settings: their defaults, and reading them from the environment."""

import os

#: Every setting, with its default. The README's settings table lists the same.
DEFAULTS = {
    # Where data lives: redis://, rediss://, unix:// or memory:// (the default).
    "REDIS_URL": "memory://",
    # Prefix of every Redis key, so that several services can share one Redis.
    "REDIS_KEY_PREFIX": "cl:",
    # "token:role,token:role"; unset means the dev tokens in dev mode, and no start otherwise.
    "API_TOKENS": None,
    # True only for `python app.py`, the local mock; never under gunicorn.
    "DEV_MODE": False,
}

#: Request bodies above this are refused with 413.
MAX_BODY_BYTES = 64 * 1024


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the service must not start."""

    def __init__(self, setting, problem):
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


def from_env(environ=None):
    """The settings that are set in the environment (blank counts as unset)."""
    environ = os.environ if environ is None else environ
    names = ("REDIS_URL", "REDIS_KEY_PREFIX", "API_TOKENS")
    return {name: environ[name] for name in names if environ.get(name, "").strip()}


def port(environ=None):
    """The port from PORT, for `python app.py` (gunicorn reads PORT itself)."""
    environ = os.environ if environ is None else environ
    raw = environ.get("PORT", "").strip() or "5000"
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) < 65536):
        raise ConfigError("PORT", f"{raw!r} is not a port number (1 to 65535)")
    return int(raw)
