"""Every error answer of the service: RFC 9457 problem details, from one helper.

Auth errors, HTTP errors, bad input and store rules all end in ``problem()``,
so they share one shape, and nothing else ever writes an error body.
"""

import json
import logging
from http import HTTPStatus

from flask import Response, request
from werkzeug.exceptions import HTTPException

from .server import BODY_PROBLEM
from .settings import MAX_BODY_BYTES
from .store.errors import (
    Conflict,
    CustomersRefused,
    NotFound,
    PreconditionFailed,
    StoreUnavailable,
    TooLarge,
    TooManyLabels,
    UnknownLabels,
)
from .store.namespaces import BadNamespace

MEDIA_TYPE = "application/problem+json"
#: Seconds a client should wait after a 503.
RETRY_AFTER = "2"
#: What each status says when nothing more precise is known; the mock's forced
#: answers (Prefer: code=...) use the same words as the real ones.
DETAILS = {
    401: "Send a valid token as 'Authorization: Bearer TOKEN'.",
    403: "This token's role may not do this.",
    404: "There is no such resource.",
    405: "This resource does not support that method; see the Allow header.",
    413: f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.",
    429: "This token has made too many requests of this kind (reads or writes); retry after Retry-After seconds.",
    500: "The service met an unexpected error.",
    503: "The store did not answer. Try again shortly: attach and detach are safe to repeat.",
}
log = logging.getLogger(__name__)


def problem(status, detail, *, type="about:blank", title=None, headers=None, **extensions):
    """A problem+json response. Extension members are given as keyword arguments."""
    body = {
        "type": type,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extensions,
    }
    return Response(json.dumps(body), status, headers=headers, mimetype=MEDIA_TYPE)


class Problem(Exception):
    """Raised anywhere in a request to answer with ``problem(*args, **kwargs)``."""

    def __init__(self, status, detail, **kwargs):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kwargs = kwargs


def _body_problem():
    """Answer the problem the server found with the body, before any view runs."""
    found = request.environ.get(BODY_PROBLEM)
    if found is not None:
        raise Problem(*found)


def init_app(app):
    """Send every error the app can meet through ``problem()``."""
    app.before_request(_body_problem)
    for error, handler in HANDLERS.items():
        app.register_error_handler(error, handler)


def _raised_problem(err):
    return problem(err.status, err.detail, **err.kwargs)


def _http_error(err):
    # Keep headers such as Allow on a 405; the body is ours, never HTML.
    headers = [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]
    return problem(err.code, DETAILS.get(err.code, err.description), headers=headers)


def _not_found(err):
    return problem(404, f"{err.kind.capitalize()} {err.ident!r} does not exist.")


def _conflict(err):
    return problem(409, f"The {err.field} {err.value!r} is already taken.")


def _unknown_labels(err):
    errors = [{"path": f"/labels/{i}", "message": "names no label"} for i in err.positions]
    return problem(
        422,
        "These labels do not exist, so nothing was attached: " + ", ".join(err.label_ids),
        title="Unknown labels",
        errors=errors,
        unknownLabels=err.label_ids,
    )


def _too_many_labels(err):
    detail = (
        f"A customer holds at most {err.cap} labels; it has {err.attached} and this "
        f"would add {err.adding}, so nothing was attached."
    )
    errors = [{"path": "/labels", "message": f"would pass the cap of {err.cap} labels"}]
    return problem(422, detail, title="Too many labels", errors=errors)


def _customers_refused(err):
    unknown = err.reason == "unknown"
    message = "names no customer" if unknown else "carries as many labels as a customer may"
    detail = ("These customers do not exist" if unknown else "These customers are at the label cap") + (
        ", so nothing was changed: " + ", ".join(err.customer_ids)
    )
    errors = [{"path": f"/customers/{i}", "message": message} for i in err.positions]
    key = "unknownCustomers" if unknown else "fullCustomers"
    title = "Unknown customers" if unknown else "Too many labels"
    return problem(422, detail, title=title, errors=errors, **{key: err.customer_ids})


def _precondition_failed(err):
    detail = "The resource changed since the ETag in If-Match was read, so nothing was changed: read it again."
    return problem(412, detail)


def _too_large(err):
    detail = (
        f"The state is too large for one step: {err.what}. Move a state of this size with the CLI, "
        "in batches: flask --app app fixtures export FILE, and fixtures load FILE."
    )
    return problem(422, detail, title="State too large")


def _bad_namespace(err):
    return problem(400, "A mock namespace is 1 to 64 of A-Z, a-z, 0-9, '_', '.' and '-'.")


def _store_unavailable(err):
    # One line with the cause; no traceback, since nothing here is a bug.
    log.warning("store unavailable: %s", err.cause)
    return problem(503, DETAILS[503], headers={"Retry-After": RETRY_AFTER})


def _unexpected(err):
    # The cause goes to the log; the client never sees a stack trace.
    log.exception("unhandled error")
    return problem(500, DETAILS[500])


#: Each error the app can meet, and the problem it answers with.
HANDLERS = {
    Problem: _raised_problem,
    HTTPException: _http_error,
    NotFound: _not_found,
    Conflict: _conflict,
    UnknownLabels: _unknown_labels,
    TooManyLabels: _too_many_labels,
    CustomersRefused: _customers_refused,
    PreconditionFailed: _precondition_failed,
    TooLarge: _too_large,
    BadNamespace: _bad_namespace,
    StoreUnavailable: _store_unavailable,
    Exception: _unexpected,
}
