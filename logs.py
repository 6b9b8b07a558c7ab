"""Logging: every record one JSON line on stdout, one line per request, request ids.

``configure()`` is called once per process, by the entry points (gunicorn's
config and ``python app.py``); ``create_app`` leaves process-wide logging
alone, so tests and embedding apps keep their own.
"""

import logging
import re
import sys
import time
import uuid

from flask import g, request
from pythonjsonlogger.json import JsonFormatter

#: An incoming X-Request-ID is kept when it looks like an id: bounded, and no
#: spaces or control characters that could forge log lines.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._~:/+=-]{1,128}")

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


def init_app(app):
    """Give every request an id, echo it back, and log one line when it ends."""

    @app.before_request
    def start():
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def finish(response):
        response.headers["X-Request-ID"] = g.request_id
        caller = g.get("caller")
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "durationMs": round((time.perf_counter() - g.started) * 1000, 2),
                "requestId": g.request_id,
                "role": caller.role if caller else None,
            },
        )
        return response
