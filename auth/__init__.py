"""Bearer tokens with roles, on Flask-HTTPAuth.

Routes declare ``@auth.login_required(role=...)``; Flask-HTTPAuth answers 401
(no or unknown token) and 403 (role too low) before the view runs. Between the
two, a known token's request is counted against RATE_LIMIT (429).
"""

import inspect

from flask import current_app, request
from flask_httpauth import HTTPTokenAuth
from werkzeug.datastructures import Authorization

from .. import rate_limits
from ..logs import ROLE
from ..problems import DETAILS, problem
from ..settings import MIN_TOKEN_LENGTH, ConfigError
from .tokens import DEV_TOKENS, ROLES, Caller, TokenTable, roles_of

__all__ = ["DEV_TOKENS", "ROLES", "ROLE_TOKENS", "Caller", "auth", "get_tokens", "init_app"]

EXTENSION = "customer_labels.tokens"


class _TokenAuth(HTTPTokenAuth):
    """Flask-HTTPAuth's token auth, for plain functions only.

    Its ``ensure_sync`` asks the current app, three times a request, whether the
    callback or view it is about to call is a coroutine function (about 3 µs a
    request). Here none is, and ``login_required`` checks each view as it wraps it.
    Only the Authorization header is read (``header`` is never set here).
    """

    def ensure_sync(self, f):
        return f

    def get_auth(self):
        # The header as werkzeug parses it for ``request.authorization``, read from the
        # environ at once rather than through the request's header mapping (about 2 µs).
        auth = Authorization.from_header(request.environ.get("HTTP_AUTHORIZATION"))
        return auth if auth is not None and auth.type == self.scheme.lower() else None

    def login_required(self, f=None, role=None, optional=None):
        wrap = super().login_required(role=role, optional=optional)

        def checked(view):
            if inspect.iscoroutinefunction(view):
                raise TypeError(f"{view.__name__}: async views are not supported")
            return wrap(view)

        return checked(f) if f is not None else checked


# The auth object holds no app state, so routes can use its decorators at
# import time; the tokens themselves live on each app (see init_app).
auth = _TokenAuth(scheme="Bearer", realm="customer-labels")


#: The settings that each give one token for one role.
ROLE_TOKENS = {f"{role.upper()}_TOKEN": role for role in ROLES}
#: The scraper's token: its role, off the ladder, may read /metrics and nothing else.
OTHER_TOKENS = {"METRICS_TOKEN": "metrics"}


def init_app(app):
    """Read API_TOKENS and the one-per-role tokens; in dev mode, with none of them set,
    the documented dev tokens."""
    spec = app.config.get("API_TOKENS")
    one_per_role = {name: (app.config[name], role) for name, role in ROLE_TOKENS.items() if app.config.get(name)}
    dev = app.config.get("DEV_MODE")
    if not spec and not one_per_role:
        if not dev:
            raise ConfigError(
                "API_TOKENS",
                "is not set; outside dev mode it is required, as token:role[,token:role...]"
                " (or set READER_TOKEN, EDITOR_TOKEN, ADMIN_TOKEN)",
            )
        spec = DEV_TOKENS
    one_per_role.update({name: (app.config[name], role) for name, role in OTHER_TOKENS.items() if app.config.get(name)})
    # Short tokens are for the local mock only.
    app.extensions[EXTENSION] = TokenTable.parse(spec, 0 if dev else MIN_TOKEN_LENGTH, one_per_role)


def get_tokens():
    """The current app's token table."""
    return current_app.extensions[EXTENSION]


@auth.verify_token
def verify_token(token):
    caller = get_tokens().find(token)
    if caller is not None:
        request.environ[ROLE] = caller.role  # for the request's log line, 403s included
        # Counted once the token is known and before its role is checked: 401, 429, 403.
        rate_limits.count(caller)
    return caller


@auth.get_user_roles
def get_user_roles(caller):
    return roles_of(caller)


@auth.error_handler
def auth_error(status):
    # Flask-HTTPAuth adds WWW-Authenticate to a 401 that lacks one.
    return problem(status, DETAILS[status])
