"""The HTTP API: one blueprint per group of endpoints.

Views stay thin: read the request (``inputs``), make one store call, shape
the answer. Rules live in ``store``; errors become problems in ``problems``.
"""

import re

from flask import request
from flask_cors import CORS

from ..rate_limits import HEADERS as RATE_LIMIT_HEADERS
from . import customer_labels, customers, health, labels, meta

#: Any http://localhost or http://127.0.0.1 origin, whatever the port: the
#: mock's default, for a frontend's dev server.
LOCAL_ORIGINS = [re.compile(r"^http://localhost(:\d+)?$"), re.compile(r"^http://127\.0\.0\.1(:\d+)?$")]


def init_app(app):
    for module in (labels, customers, customer_labels, meta, health):
        app.register_blueprint(module.bp)
    app.after_request(_no_content_no_type)
    _cors(app)


def _no_content_no_type(response):
    """A 204 or 304 has no body, so no Content-Type (Flask would say text/html)."""
    if response.status_code in (204, 304):
        response.headers.pop("Content-Type", None)
    return response


def _cors(app):
    """Let browsers on the allowed origins call the API (flask-cors).

    Preflights need no token; Flask-HTTPAuth lets OPTIONS through.
    """
    origins = app.config["CORS_ORIGINS"]
    if origins is None and app.config["MOCK_MODE"]:
        origins = LOCAL_ORIGINS
    if not origins:
        return
    CORS(
        app,
        origins="*" if "*" in origins else origins,
        allow_headers=[
            "Authorization",
            "Content-Type",
            "If-Match",
            "If-None-Match",
            "Prefer",
            "X-Mock-Namespace",
            "X-Request-ID",
        ],
        expose_headers=["X-Request-ID", "ETag", "Location", "Retry-After", "Preference-Applied", "WWW-Authenticate"]
        + list(RATE_LIMIT_HEADERS),
        max_age=600,
    )
    # flask-cors works out its headers for every response (about 20 µs); a
    # request with no Origin header is not a browser's cross-origin one and
    # needs none (answers are no-store, so no cache needs Vary either). Its
    # after-request hook is the one it just added: call it only when needed.
    hook = app.after_request_funcs[None].pop()
    app.after_request(lambda response: hook(response) if "HTTP_ORIGIN" in request.environ else response)
