"""Logging: every record one JSON line on stdout, one line per request, request ids.

``configure()`` is called once per process, by the entry points (the server's
config and ``python app.py``); ``create_app`` leaves process-wide logging
alone, so tests and embedding apps keep their own.

The per-request work (request id, the log line, the headers every answer
carries) is one WSGI middleware rather than Flask hooks: it runs on every
request, so it touches only the WSGI environ, which is much cheaper.
"""

import json
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

#: An incoming X-Request-ID is kept when it looks like an id: bounded, and no
#: spaces or control characters that could forge log lines.
#: The environ key of the request's id, for what else reports it (reports.py).
REQUEST_ID = "customer_labels.request_id"
#: The environ key of the route's template, once Flask has matched one (metrics.py).
ROUTE = "customer_labels.route"
#: Called with (route, method, status, seconds) as each answer starts: the metrics.
ANSWERED = []
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._~:/+=-]{1,128}")
#: Where auth leaves the caller's role in the WSGI environ, for the log line.
ROLE = "customer_labels.role"
#: On every answer: data for one caller, never sniffed as another type, never cached.
SAFE_HEADERS = [("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")]

access_log = logging.getLogger("customer_labels.access")


def formatter():
    """The JSON formatter of every log line."""
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
    )


def configure(level="INFO", stream=None):
    """Send all logging, at ``level`` and up, to ``stream`` (stdout) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Werkzeug's dev server logs each request in its own format; ours does it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _access.update(handler=handler)


#: The handler request lines are written through, once configure() has run.
_access = {"handler": None}


def write_line(fields):
    """Log a request's line, as JSON, the way the log handler writes its own lines.

    The request line is the hot path: python-json-logger formats every other
    line, but a LogRecord and its formatting cost several times what this
    costs on every request. ``fields`` hold text, whole numbers, finite floats
    and None. The handler's lock keeps lines whole.
    """
    handler = _access["handler"]
    if handler is None:  # logging set up by someone else (tests, embedding): go through it
        access_log.info("request", extra=fields)
        return
    text = _LINE_HEAD + "".join([f', "{key}": {_json(value)}' for key, value in fields.items()])
    text += f', "time": "{_now()}"}}\n'
    with handler.lock:
        handler.stream.write(text)
        handler.flush()


_LINE_HEAD = f'{{"level": "INFO", "logger": "{access_log.name}", "message": "request"'
#: A JSON string literal of a str, escaped to ASCII (the json module's own C function).
_quote = json.encoder.encode_basestring_ascii


def _json(value):
    if value is None:
        return "null"
    return _quote(value) if isinstance(value, str) else repr(value)


_second = [None, ""]  # the last whole second seen, and its ISO 8601 text


def _now():
    """The time as datetime.isoformat() writes it in UTC, the second's text made once a second."""
    now = time.time()
    whole = int(now)
    if whole != _second[0]:
        _second[:] = whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{_second[1]}.{int((now - whole) * 1_000_000):06d}+00:00"


def init_app(app):
    app.wsgi_app = RequestLog(app.wsgi_app)


class RequestLog:
    """WSGI middleware: gives every request an id, echoes it, adds the safe
    headers, and logs one line when the answer starts."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
        environ[REQUEST_ID] = request_id
        method, path = environ.get("REQUEST_METHOD"), environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")

        def start(status, headers, exc_info=None):
            headers.append(("X-Request-ID", request_id))
            headers.extend(SAFE_HEADERS)
            for answered in ANSWERED:
                answered(environ.get(ROUTE), method, status[:3], time.perf_counter() - started)
            if access_log.isEnabledFor(logging.INFO):
                write_line(
                    {
                        "method": method,
                        "path": path,
                        "status": int(status[:3]),
                        "durationMs": round((time.perf_counter() - started) * 1000, 2),
                        "requestId": request_id,
                        "role": environ.get(ROLE),
                    }
                )
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)
