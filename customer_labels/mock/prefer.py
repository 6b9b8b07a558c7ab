"""Forced answers and latency, for testing a client's error paths (mock mode).

``Prefer: code=503`` answers with that status and a problem body like the
real one, and changes nothing; ``Prefer: delay=250`` holds the answer back
250 ms; MOCK_LATENCY_MS=min-max adds a random wait to every API request.
Under the server the wait comes after the request is handled, on the event
loop, so that a waiting request holds no thread; elsewhere (Flask's test
client) the request sleeps first. Answers say
what they applied in ``Preference-Applied`` (RFC 7240).
"""

import random
import time
from http import HTTPStatus

from flask import g, request

from ..auth import auth
from ..problems import DETAILS, RETRY_AFTER, Problem
from ..server import DEFERRED_WAIT

#: The statuses a client may force, and what else their real answers carry.
FORCEABLE = {
    401: {"headers": {"WWW-Authenticate": auth.authenticate_header()}},
    403: {},
    404: {},
    422: {"title": "Invalid body"},
    500: {},
    503: {"headers": {"Retry-After": RETRY_AFTER}},
}
MAX_DELAY_MS = 60000
#: Not API requests: the mock's own endpoints, the docs, the health checks and metrics.
UNTOUCHED = ("/__admin/", "/docs", "/openapi.json", "/healthz", "/readyz", "/metrics")


def forced(code, why):
    """The Problem a client forced (``why``: "Prefer: code=503", "a fault rule"): the
    status with a body and headers like the real answer's."""
    extra = dict(FORCEABLE.get(code, {}))
    if code == 422:
        extra["errors"] = [{"path": "", "message": f"forced by {why}"}]
        detail = f"The body does not match the schema (forced by {why})."
    elif code == 429:
        extra["headers"] = {"Retry-After": RETRY_AFTER}
        detail = DETAILS[429]
    else:
        detail = DETAILS.get(code) or f"{HTTPStatus(code).phrase} (forced by {why})."
    return Problem(code, detail, **extra)


def hold_back(milliseconds):
    """Delay the answer: on the server's event loop, which holds no thread, or (Flask's
    test client) by sleeping now."""
    deferred = request.environ.get(DEFERRED_WAIT)
    if deferred is None:
        time.sleep(milliseconds / 1000)
    else:
        deferred.append(milliseconds / 1000)


def preferences(headers):
    """{name: value} from every Prefer header; RFC 7240 names are case-insensitive."""
    found = {}
    for header in headers:
        for item in header.split(","):
            name, _, value = item.split(";")[0].strip().partition("=")
            if name:
                found[name.strip().lower()] = value.strip().strip('"')
    return found


def _wanted(prefs):
    """(code or None, delay ms); Problem 400 for values the mock cannot honour."""
    code = None
    if "code" in prefs:
        if not (prefs["code"].isdigit() and int(prefs["code"]) in FORCEABLE):
            allowed = ", ".join(map(str, FORCEABLE))
            raise Problem(400, f"Prefer: code= must be one of {allowed}.", title="Invalid Prefer header")
        code = int(prefs["code"])
    delay = 0
    if "delay" in prefs:
        if not (prefs["delay"].isdigit() and int(prefs["delay"]) <= MAX_DELAY_MS):
            raise Problem(400, f"Prefer: delay= must be 0 to {MAX_DELAY_MS} ms.", title="Invalid Prefer header")
        delay = int(prefs["delay"])
    return code, delay


def init_app(app):
    latency = app.config.get("MOCK_LATENCY_MS")

    @app.before_request
    def apply_preferences():
        environ = request.environ
        if ("HTTP_PREFER" not in environ and not latency) or environ["REQUEST_METHOD"] == "OPTIONS":
            return None
        if request.path.startswith(UNTOUCHED):
            return None
        # A fault rule that matched wins over Prefer (MOCK_LATENCY_MS still applies).
        prefs = preferences(request.headers.getlist("Prefer")) if g.get("fault") is None else {}
        code, delay = _wanted(prefs)
        applied = [f"delay={delay}"] if "delay" in prefs else []
        wait = delay + (random.uniform(*latency) if latency else 0)
        if wait:
            hold_back(wait)
        if code is not None:
            applied.append(f"code={code}")
        g.preference_applied = ", ".join(applied)
        if code is not None:
            raise forced(code, f"Prefer: code={code}")
        return None

    @app.after_request
    def say_what_was_applied(response):
        if g.get("preference_applied"):
            response.headers["Preference-Applied"] = g.preference_applied
        return response
