"""Reading a request: its JSON body, its page parameters and its path ids.

Problems found here are raised only after the resource the request is about
has been looked up, because a missing resource (404) outranks a bad body or
query (400, 422).
"""

import contextlib
import json
import math
import re
import sys

from flask import request

from .. import schemas
from ..problems import Problem
from ..schemas import openapi
from ..store import NotFound, UnknownLabels
from ..store.base import CLAUSES, SEGMENT_LABELS, unique

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: A cursor is where the page before ended: the last id of a listing by id, or
#: the last number of a listing by age. Any string of the form is a position.
CURSORS = {kind: re.compile(pattern.strip("^$")) for kind, pattern in openapi.CURSORS.items()}
DEFAULT_LIMIT, MAX_LIMIT = openapi.DEFAULT_LIMIT, openapi.MAX_LIMIT
LABEL_ID = re.compile(openapi.PATH_PARAMETERS["labelId"]["pattern"].strip("^$"))


def customer_id(raw):
    """A customer id from the path. Customer ids are UUIDs: anything else names no customer."""
    if not UUID.fullmatch(raw):
        raise NotFound("customer", raw)
    return raw.lower()


def _reject(problem, owner):
    """Raise ``problem``, unless ``owner()`` finds the resource missing first."""
    if owner is not None:
        owner()
    raise problem


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def _int(text):
    """A JSON integer. Python refuses to read one of over 4,300 digits (a guard against
    slow conversions), but it is still JSON: it stands as the largest float instead, so
    that it fails its field's schema, a 422 naming the field, rather than the whole body."""
    return int(text) if len(text) <= 4300 else sys.float_info.max


def _float(text):
    """A JSON number with a fraction or exponent; past the float range, the largest float
    (JSON has no infinity, and the validator would show one as null)."""
    number = float(text)
    return number if math.isfinite(number) else math.copysign(sys.float_info.max, number)


#: The body's parser, made once: ``json.loads`` with these hooks builds a decoder on
#: every call (about 3 µs of a request).
_DECODER = json.JSONDecoder(parse_constant=_no_constants, parse_int=_int, parse_float=_float)


def _parse(data):
    """``json.loads(data)`` with the hooks above: bytes in any of JSON's encodings."""
    return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))


def json_body(schema, owner=None):
    """The body parsed as JSON, whatever its Content-Type, and valid under ``schema``.

    ``owner`` is called before a 400 or 422 is raised; it raises NotFound when
    the resource the request is about does not exist.
    """
    try:
        # Any Content-Type: curl sends form-encoded by default.
        data = request.get_data()
        body = _parse(data)
        # A lone surrogate parses, but is no text that can be stored. Only an escape
        # ("\ud800") or bytes past ASCII (json reads UTF-8, -16 and -32 with surrogatepass)
        # can make one, so plain ASCII bodies skip the check (about 2 µs a request).
        if b"\\" in data or not data.isascii():
            json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError, UnicodeError):
        _reject(Problem(400, "The request body must be a JSON document."), owner)
    errors = schemas.errors(schema, body)
    if errors:
        _reject(invalid_body(errors), owner)
    return body


def invalid_body(errors):
    """The 422 for a body's ``errors``, each {path, message}."""
    detail = "; ".join(f"{e['path'] or '/'}: {e['message']}" for e in errors)
    return Problem(422, detail, title="Invalid body", errors=errors)


def invalid_query(errors):
    """The 400 for the query's ``errors``, each {parameter, message}."""
    detail = "; ".join(f"{e['parameter']} {e['message']}" for e in errors)
    return Problem(400, detail, title="Invalid query", errors=errors)


def page_args(cursor="id", owner=None):
    """``(limit, after)`` from the ``limit`` and ``cursor`` query parameters."""
    limit, after, errors = _page_args(cursor)
    if errors:
        _reject(invalid_query(errors), owner)
    return limit, after


def segment_args(paged=True):
    """A segment's clauses from ``labels.all``, ``labels.any`` and ``labels.none``
    ({clause: [label id]}, or None when none is given), and for a listing the page:
    ``(clauses, limit, after)``, the cursor by number for a segment, by id without.
    One 400 names every bad parameter."""
    errors, clauses = [], {}
    for clause in CLAUSES:
        values = request.args.getlist(f"labels.{clause}")
        if values:  # given more than once: one list
            ids = ",".join(values).split(",")
            clauses[clause] = unique(ids)
            if not all(LABEL_ID.fullmatch(i) for i in ids):
                message = "must be label ids separated by commas"
                errors.append({"parameter": f"labels.{clause}", "message": message})
    if sum(map(len, clauses.values())) > SEGMENT_LABELS:
        message = f"name at most {SEGMENT_LABELS} label ids in all"
        errors.append({"parameter": "labels", "message": message})
    limit, after, page_errors = _page_args("number" if clauses else "id") if paged else (None, None, [])
    if errors or page_errors:
        raise invalid_query(errors + page_errors)
    return clauses or None, limit, after


@contextlib.contextmanager
def filter_labels(clauses):
    """A segment's unknown labels as the 400 of its query: each parameter that names one."""
    try:
        yield
    except UnknownLabels as err:
        errors = [
            {"parameter": f"labels.{clause}", "message": f"names no label: {label_id}", "label": label_id}
            for clause, ids in clauses.items()
            for label_id in ids
            if label_id in err.label_ids
        ]
        raise invalid_query(errors) from None


def single(name, errors):
    """Query parameter ``name``, or None. One given more than once is refused (noted in
    ``errors``) rather than read as one of its values: which one the client meant is
    not for the service to guess."""
    values = request.args.getlist(name)
    if len(values) > 1:
        errors.append({"parameter": name, "message": "must be given at most once"})
        return None
    return values[0] if values else None


def _page_args(cursor):
    errors = []
    limit = DEFAULT_LIMIT
    raw_limit = single("limit", errors)
    if raw_limit is not None:
        if raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit) <= MAX_LIMIT:
            limit = int(raw_limit)
        else:
            message = f"must be a whole number from 1 to {MAX_LIMIT}"
            errors.append({"parameter": "limit", "message": message})
    after = single("cursor", errors)
    if after is not None and not CURSORS[cursor].fullmatch(after):
        message = "is not a cursor this service gave out"
        errors.append({"parameter": "cursor", "message": message})
    return limit, after, errors


def page(result):
    """The response body for a store Page."""
    return {"data": result.items, "nextCursor": result.next_after}
