"""The mock: what frontend developers and other services' tests get on top of
the API. On by default in dev mode (`python app.py`); under the Procfile's web line only with
MOCK_MODE=1.

- fixtures: SEED_FILE at start, and the `flask fixtures` commands (any mode);
- the admin API under /__admin/ (reset, snapshot);
- namespaces: X-Mock-Namespace or a /__ns/<name>/ path prefix;
- the request journal, and fault rules (journal.py, faults.py);
- Prefer: code=... and delay=..., and MOCK_LATENCY_MS;
- the API explorer at /docs.
"""

import time

from ..settings import ConfigError
from ..store import namespaces_of
from ..store.namespaces import NAMESPACE
from . import admin, cli, docs, faults, journal, prefer, seed
from .journal import STARTED

MOCK_ONLY = ("SEED_FILE", "MOCK_LATENCY_MS")


def init_app(app):
    cli.init_app(app)
    if not app.config["MOCK_MODE"]:
        for name in MOCK_ONLY:
            if app.config.get(name):
                raise ConfigError(name, "only works in mock mode (MOCK_MODE=1)")
        return
    if app.config.get("SEED_FILE"):
        try:
            state = seed.read(app.config["SEED_FILE"])
        except seed.SeedError as err:
            raise ConfigError("SEED_FILE", str(err)) from None
        namespaces = namespaces_of(app)
        namespaces.seed = state
        namespaces.default.replace(state)
    app.register_blueprint(admin.bp)
    journal.init_app(app)
    faults.init_app(app)  # before Prefer, which a matching rule wins over
    prefer.init_app(app)
    docs.init_app(app)
    app.wsgi_app = NamespacePath(app.wsgi_app)


class NamespacePath:
    """WSGI middleware: names the request's namespace.

    ``/__ns/<name>/labels/labels`` is ``/labels/labels`` in namespace <name>,
    so that a base URL alone isolates a test double; Location headers keep
    the prefix. Without one, the X-Mock-Namespace header names it.
    """

    PREFIX = "/__ns/"

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        environ[STARTED] = time.monotonic()  # for the journal, where no server noted ARRIVED
        path = environ.get("PATH_INFO", "")
        if path.startswith(self.PREFIX):
            name, _, rest = path[len(self.PREFIX) :].partition("/")
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.PREFIX + name
            environ["PATH_INFO"] = "/" + rest
            environ[NAMESPACE] = name
        elif "HTTP_X_MOCK_NAMESPACE" in environ:  # an empty one too: a bad name, not none
            environ[NAMESPACE] = environ["HTTP_X_MOCK_NAMESPACE"]
        return self.wsgi_app(environ, start_response)
