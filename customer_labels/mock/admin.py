"""The admin API of the mock, under /__admin/, on the caller's namespace: reset and
snapshot its state, read and clear its request journal, add and clear fault rules,
and read which operations it was asked (contract coverage)."""

import json
import re

from flask import Blueprint, current_app

from ..api.inputs import invalid_query, json_body, page_args, single
from ..auth import auth
from ..problems import Problem
from ..schemas import openapi
from ..settings import MAX_BODY_BYTES
from ..store import get_namespaces, get_store
from ..store.errors import TooLarge
from . import faults, seed
from .journal import matches

#: Journal entries read from the store at a time while a page is filtered.
CHUNK = 200
#: The journal's filters: (pattern, what it must be). The method's and path's patterns
#: are the ones /openapi.json publishes; the status is its integer range, 100 to 599.
_PUBLISHED = {param["name"]: param["schema"] for param in openapi.JOURNAL_FILTERS}
FILTERS = {
    "method": (re.compile(_PUBLISHED["method"]["pattern"].strip("^$")), "must be an HTTP method"),
    "path": (
        re.compile(_PUBLISHED["path"]["pattern"].strip("^$")),
        "must be an API path or path template, starting with /",
    ),
    "status": (re.compile(r"[1-5][0-9][0-9]"), "must be a status, 100 to 599"),
}

bp = Blueprint("admin", __name__, url_prefix="/__admin")


@bp.post("/reset")
@auth.login_required(role="admin")
def reset():
    """Back to the seed (SEED_FILE), or to empty without one; the journal and the
    fault rules emptied too."""
    store = get_store()
    store.replace(get_namespaces().seed or {})
    store.journal.clear()
    store.journal.clear_faults()
    return "", 204


@bp.get("/snapshot")
@auth.login_required(role="admin")
def get_snapshot():
    """The whole state, in fixture form: at most what a PUT may send back (MAX_BODY_BYTES),
    read no further than that."""
    pieces, size = [], 0
    for piece in seed.text(*get_store().export_parts()):
        size += len(piece.encode())
        if size > MAX_BODY_BYTES:
            raise TooLarge(f"a snapshot of more than {MAX_BODY_BYTES // 1024} KiB", MAX_BODY_BYTES)
        pieces.append(piece)
    return current_app.response_class("".join(pieces), mimetype="application/json")


@bp.put("/snapshot")
@auth.login_required(role="admin")
def put_snapshot():
    """Replace the whole state with a fixture; a bad one changes nothing."""
    state = json_body("fixture")
    try:
        seed.check(state, source="body")
    except seed.SeedError as err:
        detail = "; ".join(f"{e['path']}: {e['message']}" for e in err.errors)
        raise Problem(422, detail, title="Invalid fixture", errors=err.errors) from None
    get_store().replace(state)
    return "", 204


def _journal():
    """The caller's namespace's journal and fault rules (they need no data layout)."""
    return get_store(ensure_layout=False).journal


def _filters():
    """(limit, cursor, {filter: value}) from the query; one 400 naming every bad parameter."""
    errors = []
    try:
        limit, after = page_args(cursor="number")
    except Problem as problem:
        errors, (limit, after) = problem.kwargs["errors"], (None, None)
    wanted = {}
    for name, (pattern, message) in FILTERS.items():
        value = single(name, errors)
        if value is None:
            continue
        if pattern.fullmatch(value):
            wanted[name] = value.upper() if name == "method" else int(value) if name == "status" else value
        else:
            errors.append({"parameter": name, "message": message})
    if errors:
        raise invalid_query(errors)
    return limit, after, wanted


def _wanted(entry, wanted):
    return (
        wanted.get("method", entry["method"]) == entry["method"]
        and wanted.get("status", entry["status"]) == entry["status"]
        and ("path" not in wanted or matches(entry["path"], wanted["path"]))
    )


@bp.get("/requests")
@auth.login_required(role="admin")
def list_requests():
    """The namespace's journal, newest first, filtered, a page at a time."""
    limit, after, wanted = _filters()
    journal, found = _journal(), []
    before = int(after) if after is not None else None
    while len(found) <= limit:
        texts = journal.entries(before, CHUNK)
        if not texts:
            break
        entries = [json.loads(text) for text in texts]
        found += [entry for entry in entries if _wanted(entry, wanted)]
        before = int(entries[-1]["id"])
    more = len(found) > limit
    return {"data": found[:limit], "nextCursor": found[limit - 1]["id"] if more else None}


@bp.delete("/requests")
@auth.login_required(role="admin")
def clear_requests():
    _journal().clear()
    return "", 204


@bp.post("/faults")
@auth.login_required(role="admin")
def add_fault():
    rule = faults.rule_from(json_body("fault-rule"))
    journal = _journal()
    if len(journal.faults()) >= faults.MAX_RULES:  # every API request reads them all
        detail = f"A namespace holds at most {faults.MAX_RULES} fault rules; clear them first."
        raise Problem(422, detail, title="Too many fault rules", errors=[{"path": "", "message": detail}])
    text = json.dumps(rule, separators=(",", ":"))
    fault_id = journal.add_fault(text, rule["times"])
    return faults.listed(fault_id, text, rule["times"], 0), 201


@bp.get("/faults")
@auth.login_required(role="admin")
def list_faults():
    """The namespace's fault rules, oldest (the first to apply) first."""
    return {"data": [faults.listed(*fault) for fault in _journal().faults()]}


@bp.delete("/faults")
@auth.login_required(role="admin")
def clear_faults():
    _journal().clear_faults()
    return "", 204


@bp.get("/coverage")
@auth.login_required(role="admin")
def get_coverage():
    """How many answers of each status each operation gave in this namespace: the
    contract coverage a consumer's tests reached (the pytest plugin adds them up)."""
    operations = {}
    for key, count in sorted(_journal().coverage().items()):
        operation, _, status = key.rpartition(" ")
        operations.setdefault(operation, {})[status] = count
    return {"operations": operations}
