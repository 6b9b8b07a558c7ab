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
from ..metrics import route_of
from ..server import ARRIVED, DEFERRED_WAIT
from ..store import BadNamespace, StoreUnavailable, get_store
from .prefer import UNTOUCHED

#: A path segment that is a template's parameter.
PARAMETER = re.compile(r"\{[^{}/]*\}")
#: Bodies longer than this many characters are cut in an entry: an answer's, and a
#: request's that is not JSON (a JSON request body, at most 64 KiB, is kept whole).
BODY_CHARS = 4096
#: The environ key of when the mock's middleware first saw the request (monotonic).
STARTED = "customer_labels.mock.started"
#: Answers the app writes as JSON.
JSON_TYPES = ("application/json", "application/problem+json")
#: One encoder for every entry: json.dumps with options makes a new one each call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
#: Headers an entry leaves out: they are secrets.
SECRETS = ("authorization", "proxy-authorization", "cookie")

log = logging.getLogger(__name__)


def is_api(req):
    """Whether ``req`` (a request, not its proxy) is one of the API's: recorded, and faulted."""
    return not req.path.startswith(UNTOUCHED) and req.method != "OPTIONS"


@functools.lru_cache(maxsize=256)
def path_pattern(path):
    """A compiled pattern of an API path or template: a segment that is a ``{param}``
    matches any one segment; anything else, itself. Whole segments only, so that
    matching takes time in proportion to the path, whatever a template holds."""
    segments = ("[^/]+" if PARAMETER.fullmatch(part) else re.escape(part) for part in path.split("/"))
    return re.compile("/".join(segments))


def matches(path, wanted):
    """Whether ``path`` is ``wanted``, a path or a template as /openapi.json writes them."""
    return path_pattern(wanted).fullmatch(path) is not None


def _operation(req):
    """The request's operation as "METHOD /template", or None for a path the API lacks."""
    route = route_of(req)
    return None if route is None else f"{req.method} {route}"


def _headers(environ):
    """The request's headers, names in lower case, secrets left out."""
    found = {}
    for key, value in environ.items():
        if key[:5] == "HTTP_":
            name = key[5:].replace("_", "-").lower()
            if name not in SECRETS:
                found[name] = value
    if environ.get("CONTENT_TYPE"):
        found["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH", "0") not in ("", "0"):
        found["content-length"] = environ["CONTENT_LENGTH"]
    return found


def _body(raw):
    """(the body as JSON, None) or (None, its text cut at BODY_CHARS), or (None, None) if empty."""
    if not raw:
        return None, None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text), None
    except (ValueError, RecursionError):
        return None, text[:BODY_CHARS]


def _answer(response, malformed):
    """The answer's body as the JSON text of the entry's field, and whether it was cut.
    The app's own JSON answers go in as they are: parsing and writing them again cost
    more than the rest of the request."""
    if response.is_streamed:
        return "null", False
    raw = response.get_data()
    if not raw:
        return "null", False
    if len(raw) <= BODY_CHARS and response.mimetype in JSON_TYPES and not malformed:
        return raw.decode().strip(), False
    text = raw.decode("utf-8", "replace")
    if len(text) > BODY_CHARS:
        return json.dumps(text[:BODY_CHARS], ensure_ascii=False), True
    try:
        json.loads(text)
        return text.strip(), False
    except ValueError:
        return json.dumps(text, ensure_ascii=False), False


_second = (None, "")


def _rfc3339(epoch):
    """Epoch seconds as RFC 3339 text, UTC, milliseconds (the text of each second kept)."""
    global _second
    whole, second = int(epoch), _second  # one tuple, replaced whole: threads never see half
    if second[0] != whole:
        second = _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{second[1]}.{int((epoch - whole) * 1000):03d}Z"


def entry(req, response, fault, operation):
    """The journal entry of request ``req``, as JSON text (the store numbers it)."""
    environ = req.environ
    has_body = environ.get("CONTENT_LENGTH", "0") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ
    body, body_text = _body(req.get_data(cache=True)) if has_body else (None, None)
    answer, cut = _answer(response, fault is not None and fault["malformed"])
    # When the server had the headers; under Flask's test client, when the mock first saw it.
    since = time.monotonic() - environ.get(ARRIVED, environ[STARTED])
    found = {
        "time": _rfc3339(time.time() - since),
        "method": req.method,
        "path": req.path,
        "query": {k: v[0] if len(v) == 1 else v for k, v in req.args.lists()} if environ.get("QUERY_STRING") else {},
        "headers": _headers(environ),
        "body": body,
        "bodyText": body_text,
        "status": None if fault and fault["drop"] else response.status_code,
        "responseBodyTruncated": cut,
        "durationMs": round((since + sum(environ.get(DEFERRED_WAIT) or ())) * 1000, 2),
        "requestId": environ.get(REQUEST_ID),
        "operation": operation,
        "fault": fault,
    }
    return f'{_ENCODER.encode(found)[:-1]},"responseBody":{answer}}}'


def init_app(app):
    max_entries, max_bytes = app.config["MOCK_JOURNAL_SIZE"], app.config["MOCK_JOURNAL_BYTES"]

    @app.after_request
    def record(response):
        req, ctx = request._get_current_object(), g._get_current_object()  # once: each proxied lookup costs
        if not is_api(req):
            return response
        fault = ctx.get("fault")
        operation = _operation(req)
        covered = f"{operation} {response.status_code}" if operation and not (fault and fault["drop"]) else None
        try:
            journal = ctx.get("journal") or get_store(ensure_layout=False).journal
            journal.add(entry(req, response, fault, operation), covered, max_entries, max_bytes)
        except BadNamespace:
            pass  # answered 400: no namespace to record it in
        except StoreUnavailable as err:
            log.warning("request not journaled: %s", err.cause)
        return response
