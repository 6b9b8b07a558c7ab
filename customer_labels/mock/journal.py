"""The request journal (mock mode): what each namespace was sent, and answered.

Every API request is recorded in its namespace's journal (``store.journal``),
bounded by MOCK_JOURNAL_SIZE entries and MOCK_JOURNAL_BYTES, the oldest dropped
first. Not recorded: the mock's own endpoints, the docs, health checks, metrics,
and CORS preflights (the browser's, not the code under test's). An entry never
holds the Authorization header, nor cookies.
"""

import functools
import json
import logging
import re
import time
from datetime import UTC, datetime

from flask import g, request

from ..logs import REQUEST_ID
from ..metrics import template
from ..server import ARRIVED, DEFERRED_WAIT
from ..store import BadNamespace, StoreUnavailable, get_store
from .prefer import UNTOUCHED

#: Bodies longer than this many characters are cut in an entry: an answer's, and a
#: request's that is not JSON (a JSON request body, at most 64 KiB, is kept whole).
BODY_CHARS = 4096
#: Headers an entry leaves out: they are secrets.
SECRETS = ("authorization", "proxy-authorization", "cookie")

log = logging.getLogger(__name__)


def is_api(path):
    return not path.startswith(UNTOUCHED) and request.method != "OPTIONS"


@functools.lru_cache(maxsize=256)
def path_pattern(path):
    """A compiled pattern of an API path or template: each ``{param}`` matches one segment."""
    parts = re.split(r"\{[^{}/]*\}", path)
    return re.compile("[^/]+".join(map(re.escape, parts)))


def matches(path, wanted):
    """Whether ``path`` is ``wanted``, a path or a template as /openapi.json writes them."""
    return path_pattern(wanted).fullmatch(path) is not None


def _operation():
    """ "METHOD /template" of the request's operation, or None for a path the API lacks."""
    if request.url_rule is None:
        return None
    return f"{request.method} {template(request.url_rule.rule)}"


def _body(raw):
    """(the body as JSON, None) or (None, its text cut at BODY_CHARS), or (None, None) if empty."""
    if not raw:
        return None, None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text), None
    except (ValueError, RecursionError):
        return None, text[:BODY_CHARS]


def _answer(response):
    """(the answer's body as JSON, or its text; whether it was cut)."""
    if response.is_streamed:
        return None, False
    text = response.get_data(as_text=True)
    if len(text) > BODY_CHARS:
        return text[:BODY_CHARS], True
    try:
        return (json.loads(text) if text else None), False
    except ValueError:
        return text, False


def _arrived():
    """(when the request arrived, as RFC 3339 text; seconds since, by the monotonic clock)."""
    # The server notes when the headers arrived; under Flask's test client, the first hook did.
    since = time.monotonic() - (request.environ.get(ARRIVED) or g.get("journal_started") or time.monotonic())
    when = datetime.fromtimestamp(time.time() - since, UTC).isoformat(timespec="milliseconds")
    return when.replace("+00:00", "Z"), since


def entry(response):
    """The journal entry of the current request, as JSON text (the store numbers it)."""
    body, body_text = _body(request.get_data(cache=True))
    answer, cut = _answer(response)
    waited = sum(request.environ.get(DEFERRED_WAIT) or ())
    fault = g.get("fault")
    arrived, since = _arrived()
    found = {
        "time": arrived,
        "method": request.method,
        "path": request.path,
        "query": {name: values[0] if len(values) == 1 else values for name, values in request.args.lists()},
        "headers": {name.lower(): value for name, value in request.headers.items() if name.lower() not in SECRETS},
        "body": body,
        "bodyText": body_text,
        "status": None if fault and fault.get("drop") else response.status_code,
        "responseBody": answer,
        "responseBodyTruncated": cut,
        "durationMs": round((since + waited) * 1000, 2),
        "requestId": request.environ.get(REQUEST_ID),
        "operation": _operation(),
        "fault": fault,
    }
    return json.dumps(found, separators=(",", ":"), ensure_ascii=False)


def init_app(app):
    max_entries, max_bytes = app.config["MOCK_JOURNAL_SIZE"], app.config["MOCK_JOURNAL_BYTES"]

    @app.before_request
    def note_arrival():
        g.journal_started = time.monotonic()

    @app.after_request
    def record(response):
        if not is_api(request.path):
            return response
        operation, dropped = _operation(), (g.get("fault") or {}).get("drop")
        covered = f"{operation} {response.status_code}" if operation and not dropped else None
        try:
            get_store(ensure_layout=False).journal.add(entry(response), covered, max_entries, max_bytes)
        except BadNamespace:
            pass  # answered 400: no namespace to record it in
        except StoreUnavailable as err:
            log.warning("request not journaled: %s", err.cause)
        return response
