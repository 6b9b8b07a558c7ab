"""The app factory and the entry points.

``create_app(config=None)`` makes an app. ``main()`` runs the local mock (dev
mode: ``python app.py`` or ``python -m customer_labels``); the Procfile's
``python -m customer_labels.server`` serves ``app``, which ``__getattr__``
below makes on first use.
"""

import functools
import sys
from urllib.parse import urlsplit

from flask import Flask, Request
from flask.sessions import NullSession, SessionInterface

from . import api, auth, logs, metrics, mock, problems, rate_limits, reports, settings, store
from .server import BODY_BOUNDED


class _Flask(Flask):
    """Flask, remembering which functions need no async wrapper.

    Flask and Flask-HTTPAuth ask ``ensure_sync`` about the same few functions
    five times a request, and each answer costs an ``inspect`` call.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync = {}

    def ensure_sync(self, func):
        found = self._sync.get(func)
        if found is None:
            found = super().ensure_sync(func)
            if len(self._sync) < 1024:  # views, hooks and callbacks: a fixed set
                self._sync[func] = found
        return found


class _Request(Request):
    """Flask's request. A body this project's server read whole, and bounded for every
    framing (server/bridge.py), is read as it is: through MAX_CONTENT_LENGTH werkzeug
    would wrap it in a limited stream of its own, about 12 µs a request with a body.
    Under any other server the limit holds as usual."""

    @property
    def max_content_length(self):
        if BODY_BOUNDED in self.environ and self._max_content_length is None:
            return None
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value):
        self._max_content_length = value


class _NoSessions(SessionInterface):
    """No cookie sessions: the API is stateless and sets no cookie. Flask's default
    looks for a signing key and makes a new empty session on every request (about
    3 µs); this hands out one that refuses writes, as Flask's own does without a key."""

    null = NullSession()

    def open_session(self, app, request):
        return self.null

    def save_session(self, app, session, response):
        pass


def create_app(config=None):
    """An app from the defaults, then the environment, then ``config``."""
    app = _Flask(__name__)
    app.request_class = _Request
    app.session_interface = _NoSessions()
    app.config.from_mapping(settings.DEFAULTS)
    app.config.update(settings.from_env())
    app.config["MAX_CONTENT_LENGTH"] = settings.MAX_BODY_BYTES
    app.config.update(config or {})
    if app.config["MOCK_MODE"] is None:
        app.config["MOCK_MODE"] = app.config["DEV_MODE"]
    # Never Flask's debug mode (FLASK_DEBUG would turn it on): it shows
    # tracebacks and, under `flask run`, an interactive console.
    app.config["DEBUG"] = False
    app.json.sort_keys = False  # fields in the documented order

    logs.init_app(app)
    problems.init_app(app)
    reports.init_app(app)
    store.init_app(app)
    auth.init_app(app)
    rate_limits.init_app(app, store.counting_client)
    api.init_app(app)
    metrics.init_app(app)
    mock.init_app(app)
    return app


def _configure_logs():
    """JSON logging at LOG_LEVEL, set up before the app is made, so that what its
    start logs (a store that does not answer yet, a layout migration) is JSON too."""
    logs.configure(settings.from_env().get("LOG_LEVEL", settings.DEFAULTS["LOG_LEVEL"]))


@functools.cache
def _production_app():
    _configure_logs()
    return create_app()


@functools.cache
def _dev_app():
    return create_app({"DEV_MODE": True})


def __getattr__(name):
    # `app` (for `flask --app app ...` and WSGI servers) is made on first use,
    # not at import, so that importing this module (as the tests do) starts no
    # app. `dev_app` is the same in dev mode, for `flask --app app:dev_app ...`.
    if name == "app":
        return _production_app()
    if name == "dev_app":
        return _dev_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _where(url):
    """The store URL with any password hidden."""
    password = urlsplit(url).password
    return url.replace(f":{password}@", ":***@") if password else url


def main():
    """Run the local mock: dev mode, 127.0.0.1:$PORT, in memory unless REDIS_URL is set."""
    from .server import run

    try:
        found = settings.server_settings()
        _configure_logs()
        app = _dev_app()
        run.claim_port("127.0.0.1", found["port"])  # before the banner names the port
    except settings.ConfigError as err:
        sys.exit(f"error: {err}")
    print(f"Customer Labels (dev mode) on http://127.0.0.1:{found['port']}, store {_where(app.config['REDIS_URL'])}")
    if not any(app.config[name] for name in ("API_TOKENS", *auth.ROLE_TOKENS)):
        print("API_TOKENS is unset, so these tokens work: " + auth.DEV_TOKENS.replace(",", ", "))
    run.serve(app, host="127.0.0.1", **found)
